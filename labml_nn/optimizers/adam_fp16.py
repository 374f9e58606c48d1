r"""
---
title: Adam with FP32 Master Weights for FP16 and BF16 Models
summary: >
  An annotated PyTorch implementation of Adam for a model stored in float16 or bfloat16: the
  optimizer keeps a float32 copy of every weight, updates it, and copies it back rounded.
---

# Adam with FP32 Master Weights

A model stored in 16-bit floats takes half the memory and runs faster, but updating its weights in
16 bits loses the update.
This is [Adam](adam.html) with the remedy from
[Mixed Precision Training](https://arxiv.org/abs/1710.03740)
(no code was released with the paper; NVIDIA implemented it in
[github.com/NVIDIA/apex](https://github.com/NVIDIA/apex) as `apex.amp`, removed in 2025 in favour of
PyTorch's `torch.amp`, and as `FP16_Optimizer` in `apex.fp16_utils`, long deprecated): the
optimizer keeps a float32 *master copy* of every
16-bit weight, applies the update to it, and writes it back to the model rounded to 16 bits.

## Why 16-bit weights cannot take small steps

A float has a fixed number of significant bits: bfloat16 has 8, float16 has 11.
Near a weight $w$ neighbouring representable numbers are therefore $|w| \cdot 2^{-8}$ to
$|w| \cdot 2^{-7}$ apart in bfloat16 ($|w| \cdot 2^{-11}$ to $|w| \cdot 2^{-10}$ in float16), and an update
smaller than half that gap is rounded away: $w + \Delta = w$.
Adam's steps are about the learning rate, $10^{-4}$ to $10^{-3}$, and for a weight of size $1$ the gap in
bfloat16 is at least $2^{-8} \approx 0.004$: *every* step is lost, and the weight never changes
(`tests/test_optimizers_fp16.py` shows it).
The float32 master copy has 24 significant bits, so it accumulates the small steps, and the
16-bit weight changes once the accumulated change crosses a rounding boundary.

## What is kept in float32

* the master weights $\theta^{(32)}$;
* Adam's $m$ and $v$: $v$ holds squares of gradients, which underflow or overflow the 5-bit
  exponent of float16 easily;
* the gradient is converted to float32 before it is used.

The model's forward and backward passes still run in 16 bits, which is where the time and the
memory of activations go.
The optimizer state is then $4 + 4 + 4 = 12$ bytes per parameter, against $2$ for the weight itself
(plus a temporary float32 copy of the gradient during the step).

float16 has a narrow exponent range, so its small gradients underflow to zero in the backward
pass; training in float16 also needs *loss scaling* (multiply the loss by a large factor before
`backward()` and divide the gradients by it before the step), which is not part of this page.
bfloat16 has the exponent range of float32 and needs no loss scaling, only the master weights.

Parameters that are already float32 are updated as by [Adam](adam.html), without a copy.
"""

import math
from typing import Any, Dict, List

import torch

from labml_nn.optimizers import WeightDecay, iterate_chunks, count_steps
from labml_nn.optimizers.adam import Adam

LOW_PRECISION = (torch.float16, torch.bfloat16)


class AdamFP16(Adam):
    r"""
    ## Adam with master weights

    The arguments are those of [`Adam`](adam.html).
    """

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        r"""
        ### Initialize the state

        $t = 0$, and $m_0 = v_0 = 0$ in float32; for a 16-bit parameter also the master copy
        $\theta^{(32)}_0$, the parameter converted to float32.
        """
        state['step'] = 0
        state['m'] = torch.zeros_like(param, dtype=torch.float32, memory_format=torch.preserve_format)
        state['v'] = torch.zeros_like(param, dtype=torch.float32, memory_format=torch.preserve_format)
        if param.dtype in LOW_PRECISION:
            state['master'] = param.detach().to(torch.float32, copy=True)

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        if 'master' not in state:
            return super().step_param(state, group, grad, param)
        master = state['master']
        # Adam's update of the float32 master copy, with the gradient in float32
        super().step_param(state, group, grad.to(torch.float32), master)
        # $\theta^{(16)} \leftarrow \operatorname{round}(\theta^{(32)})$
        param.copy_(master)

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters

        The parameters of a list share a data type; for 16-bit ones, Adam's multi-tensor update runs
        on the master copies one chunk at a time: a chunk of gradients is converted to float32, the
        same chunk of the master copies updated and copied back into the 16-bit parameters.
        The float32 gradients never take more memory than a chunk.
        """
        if 'master' not in states[0]:
            return super().step_group(group, params, grads, states)
        eps = group['eps']
        beta1, beta2 = group['betas']
        by_step = count_steps(states)
        for t, indices in by_step.items():
            lr = self.get_lr(group, t)
            bias_correction1 = 1 - beta1 ** t
            bias_correction2 = 1 - beta2 ** t
            lists = [[params[i] for i in indices], [grads[i] for i in indices],
                     [states[i]['master'] for i in indices], [states[i]['m'] for i in indices],
                     [states[i]['v'] for i in indices]]
            for p16, g16, p, m, v in iterate_chunks(lists, self.chunk_numel(params[0].device)):
                # The gradient in float32
                g = [x.to(torch.float32) for x in g16]
                # Adam's update of the master copies, as in [`Adam.step_group`](adam.html)
                g = WeightDecay.apply_foreach(p, g, group, lr)
                torch._foreach_lerp_(m, g, 1 - beta1)
                torch._foreach_mul_(v, beta2)
                torch._foreach_addcmul_(v, g, g, value=1 - beta2)
                denominator = torch._foreach_sqrt(v)
                torch._foreach_div_(denominator, math.sqrt(bias_correction2))
                torch._foreach_add_(denominator, eps)
                torch._foreach_addcdiv_(p, m, denominator, value=-lr / bias_correction1)
                # $\theta^{(16)} \leftarrow \operatorname{round}(\theta^{(32)})$
                torch._foreach_copy_(p16, p)

    def load_state_dict(self, state_dict: Dict[str, Any]):
        """
        ### Load a saved state

        `torch.optim.Optimizer.load_state_dict` converts every floating-point state tensor to the data
        type of its parameter; the master copy and the moments must stay float32, so we put the
        saved float32 tensors back.
        """
        super().load_state_dict(state_dict)
        ids = [i for g in state_dict['param_groups'] for i in g['params']]
        params = [p for g in self.param_groups for p in g['params']]
        for i, p in zip(ids, params):
            for key, value in state_dict['state'].get(i, {}).items():
                if torch.is_tensor(value) and value.dtype == torch.float32:
                    self.state[p][key] = value.to(p.device, copy=True)
