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

import bisect
import math
from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, iterate_chunks, count_steps


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
    * `chunk_size` is the number of elements the multi-tensor path updates at a time
      (`None` picks one for the device, see [`chunk_numel`](index.html))
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0., *, foreach: bool = True, chunk_size: Optional[int] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, **WeightDecay(weight_decay, weight_decouple=True).defaults())
        super().__init__(params, defaults, foreach=foreach, chunk_size=chunk_size)

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

        The same with `_foreach` calls, one chunk at a time (see [`iterate_chunks`](index.html)).
        The mask is normalised by its mean over the whole tensor, which is known only after every chunk
        of the tensor has been seen, so there are two passes over the chunks.
        The first updates $m_t$ and counts, in each piece of a tensor, the coordinates the mask keeps;
        the counts of a tensor's pieces add up to its count, and divided by its size they are its
        $\overline{\phi_t}$.
        The second builds the mask again from $m_t$ and $g_t$ and moves the parameters.
        """
        lr, eps = group['lr'], group['eps']
        beta1, beta2 = group['betas']
        chunk_size = self.chunk_numel(params[0].device)
        by_step = count_steps(states)
        for t, indices in by_step.items():
            lists = [[params[i] for i in indices], [grads[i] for i in indices],
                     [states[i]['m'] for i in indices], [states[i]['v'] for i in indices]]
            owner = _Owners(lists[2])
            # The number of coordinates kept, per tensor
            kept = torch.zeros(len(indices), dtype=torch.float64, device=params[0].device)
            for _, g, m, _ in iterate_chunks(lists, chunk_size):
                # $m_t$
                torch._foreach_lerp_(m, g, 1 - beta1)
                # The counts of the pieces (a sum, because the mask is 0 or 1)
                counts = torch.stack([x.sum() for x in _mask(m, g)]).to(torch.float64)
                kept.index_add_(0, owner.index(m), counts)
            # $-\eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} / \max(\overline{\phi_t}, 10^{-3})$ per tensor,
            # as Python numbers (one wait for a GPU per step)
            numel = torch.tensor([float(x.numel()) for x in lists[0]], dtype=torch.float64, device=kept.device)
            means = (kept / numel).clamp_(min=1e-3).tolist()
            step_size = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
            values = [-step_size / mean for mean in means]
            for p, g, m, v in iterate_chunks(lists, chunk_size):
                WeightDecay.apply_foreach(p, g, group)
                # $v_t$
                torch._foreach_mul_(v, beta2)
                torch._foreach_addcmul_(v, g, g, value=1 - beta2)
                # $m_t \odot \phi_t$
                masked = _mask(m, g)
                torch._foreach_mul_(masked, m)
                # $\sqrt{v_t} + \epsilon$
                denominator = torch._foreach_sqrt(v)
                torch._foreach_add_(denominator, eps)
                # $\theta_t$, with the division by the mean of the mask in each piece's factor
                torch._foreach_addcdiv_(p, masked, denominator, [values[j] for j in owner.owners(m)])


def _mask(m: List[torch.Tensor], g: List[torch.Tensor]) -> List[torch.Tensor]:
    r"""
    $\phi_t = \mathbb{1}[m_t \odot g_t > 0]$ for lists of tensors: the sign of the product, with $-1$
    raised to $0$
    """
    mask = torch._foreach_mul(m, g)
    torch._foreach_sign_(mask)
    torch._foreach_clamp_min_(mask, 0.)
    return mask


class _Owners:
    """
    Which tensor of a list each chunk piece belongs to: a piece is a view into one of the tensors, so
    its first element lies in that tensor's memory
    """

    def __init__(self, tensors: List[torch.Tensor]):
        spans = sorted((t.data_ptr(), j) for j, t in enumerate(tensors) if t.numel() > 0)
        self.starts = [s for s, _ in spans]
        self.index_of = [j for _, j in spans]

    def owners(self, pieces: List[torch.Tensor]) -> List[int]:
        return [self.index_of[bisect.bisect_right(self.starts, x.data_ptr()) - 1] for x in pieces]

    def index(self, pieces: List[torch.Tensor]) -> torch.Tensor:
        return torch.tensor(self.owners(pieces), dtype=torch.long, device=pieces[0].device)
