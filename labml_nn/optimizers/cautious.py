r"""
---
title: Cautious AdamW
summary: >
  An annotated PyTorch implementation of Cautious AdamW: AdamW that skips the coordinates where the
  momentum disagrees in sign with the current gradient.
---

# Cautious AdamW

This is a PyTorch implementation of the cautious variant of AdamW from the paper
[Cautious Optimizers: Improving Training with One Line of Code](https://arxiv.org/abs/2411.16085)
(official code: [github.com/kyleliang919/C-Optim](https://github.com/kyleliang919/C-Optim)).

## The idea

A momentum optimizer moves along $m_t$, an average of past gradients.
When the loss surface turns, $m_t$ still points the old way for a while, and on the coordinates where
it disagrees with the current gradient $g_t$ the step goes *uphill* for the current batch.
The cautious rule simply does not move those coordinates:

$$\phi_t = \mathbb{1}[m_t \odot g_t > 0]$$

and, so that the average size of the step stays the same, rescales the rest by the fraction of
coordinates kept (per tensor):

$$\theta_t = (1 - \eta \lambda) \theta_{t-1}
  - \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot
  \frac{m_t \odot \phi_t / \max(\overline{\phi_t}, 10^{-3})}{\sqrt{v_t} + \epsilon}$$

with $m_t$ and $v_t$ as in [Adam](adam.html) and $\overline{\phi_t}$ the mean of the mask.
The paper proves that the masked update still decreases the loss (for a small enough step) and keeps
the Hamiltonian-descent property of momentum methods; in its experiments the masked AdamW trains
LLaMA models faster at no extra cost.

The paper's mask compares the sign of the base optimizer's *update*,
$u_t = \hat{m}_t / (\sqrt{\hat{v}_t} + \epsilon)$, with that of the gradient; Adam's denominator is
positive, so $u_t$ has the sign of $m_t$, and the mask is $\mathbb{1}[m_t \odot g_t > 0]$.
The rescaling by $1 / \overline{\phi_t}$ follows the official code's current version; its first
version used $\text{numel} / (\sum \phi_t + 1)$.
The decay is decoupled and multiplied by the learning rate, as in the official `AdamW`.
$\epsilon$ is added to $\sqrt{v_t}$ before the bias correction, as in that `AdamW`'s per-tensor path
(`foreach=False`); its default multi-tensor path (`foreach=True`, since August 2025) adds $\epsilon$
after it, as `torch.optim.AdamW` does, to $\sqrt{v_t / (1 - \beta_2^t)}$.
Ours is therefore that version with $\epsilon$ replaced by $\epsilon / \sqrt{1 - \beta_2^t}$: the two
differ only while $\beta_2^t$ is not negligible (the first few thousand steps with $\beta_2 = 0.999$).
"""

import math
from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay


class CautiousAdamW(GenericAdaptiveOptimizer):
    r"""
    ## Cautious AdamW optimizer

    The arguments `lr`, `betas`, `eps` and `weight_decay`, and their defaults, are those of the official
    `AdamW` of C-Optim:

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is the learning rate $\eta$
    * `betas` is the pair $(\beta_1, \beta_2)$
    * `eps` is $\epsilon$
    * `weight_decay` is the decoupled weight decay $\lambda$, multiplied by the learning rate
    * `foreach` uses the multi-tensor `step_group` instead of the per-tensor `step_param`
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0., *, foreach: bool = True):
        defaults = dict(lr=lr, betas=betas, eps=eps, **WeightDecay(weight_decay, weight_decouple=True).defaults())
        super().__init__(params, defaults, foreach=foreach)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters"""
        super().check_group(group, group_index)
        WeightDecay.check_group(group, group_index)

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        """
        ### Initialize the state: $t = 0$, $m_0 = 0$, $v_0 = 0$
        """
        state['step'] = 0
        state['m'] = torch.zeros_like(param, memory_format=torch.preserve_format)
        state['v'] = torch.zeros_like(param, memory_format=torch.preserve_format)

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        lr, eps = group['lr'], group['eps']
        beta1, beta2 = group['betas']
        m, v = state['m'], state['v']
        state['step'] += 1
        t = state['step']
        # $\theta \leftarrow (1 - \eta \lambda) \theta$
        WeightDecay.apply(param, grad, group)
        # $m_t$ and $v_t$, as in Adam
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        # The mask $\phi_t = \mathbb{1}[m_t \odot g_t > 0]$
        mask = (m * grad > 0).to(grad.dtype)
        # $\phi_t / \max(\overline{\phi_t}, 10^{-3})$
        mask.div_(mask.mean().clamp_(min=1e-3))
        # The step size $\eta \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)$
        step_size = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        # $\theta_t = \theta - \text{step size} \cdot \frac{m_t \odot \phi_t / \max(\overline{\phi_t}, 10^{-3})}{\sqrt{v_t} + \epsilon}$
        param.addcdiv_(m * mask, v.sqrt().add_(eps), value=-step_size)

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters

        The same with `_foreach` calls. The mask is normalised per tensor, so the tensors are not
        cut into chunks; the means are computed for all tensors in one `_foreach_norm` call (the
        $L_1$ norm of a 0/1 mask is its count).
        """
        lr, eps = group['lr'], group['eps']
        beta1, beta2 = group['betas']
        by_step: Dict[int, List[int]] = {}
        for i, state in enumerate(states):
            state['step'] += 1
            by_step.setdefault(state['step'], []).append(i)
        for t, indices in by_step.items():
            p = [params[i] for i in indices]
            g = [grads[i] for i in indices]
            m = [states[i]['m'] for i in indices]
            v = [states[i]['v'] for i in indices]
            WeightDecay.apply_foreach(p, g, group)
            torch._foreach_lerp_(m, g, 1 - beta1)
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, g, g, value=1 - beta2)
            mask = [(mi * gi > 0).to(gi.dtype) for mi, gi in zip(m, g)]
            counts = torch._foreach_norm(mask, 1)
            scale = [(n / mi.numel()).clamp_(min=1e-3) for n, mi in zip(counts, mask)]
            torch._foreach_div_(mask, scale)
            torch._foreach_mul_(mask, m)
            denominator = torch._foreach_sqrt(v)
            torch._foreach_add_(denominator, eps)
            torch._foreach_addcdiv_(p, mask, denominator, value=-lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t))
