r"""
---
title: AMSGrad Optimizer
year: 2018
summary: >
  An annotated PyTorch implementation of AMSGrad, Adam whose denominator never shrinks, and why that
  repairs Adam's convergence proof.
---

# AMSGrad Optimizer

This is a PyTorch implementation of AMSGrad from the paper
[On the Convergence of Adam and Beyond](https://arxiv.org/abs/1904.09237)
(Reddi, Kale and Kumar, ICLR 2018; the arXiv version was posted in 2019).
There is no official code; `torch.optim.Adam(amsgrad=True)` is the reference we test against.

## What goes wrong with Adam

[Adam](adam.html) divides the momentum by $\sqrt{v_t}$, the moving average of the squared gradients.
The paper builds a simple convex problem on which Adam converges to the *worst* feasible point.
A coordinate gets a large gradient rarely (say $+C$ once every three steps) and a small gradient of
the opposite sign the rest of the time ($-1$).
The large gradient is the informative one, but it also inflates $v_t$, so the step it causes is
divided by a large number; by the time the small gradients arrive, $v_t$ has decayed again and they
are divided by a small number.
Over a cycle the small, frequent, wrong-signed steps win.
This example is for $\beta_1 = 0$; the paper's Theorems 2 and 3 build other convex problems, online
and stochastic, on which Adam fails to converge for any $\beta_1 < \sqrt{\beta_2}$, which includes
the usual values.

The quantity that matters is the *effective learning rate* $\eta / \sqrt{v_t}$.
Plain SGD, and the convergence proofs of adaptive methods, need it not to grow: a coordinate should
not be allowed to take larger steps just because its recent gradients happened to be small.

## The fix: a running maximum

AMSGrad keeps the largest $v$ seen so far and divides by it instead:

\begin{align}
m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
v^{\max}_t &= \max(v^{\max}_{t-1}, v_t) \\
\theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t} \cdot
  \frac{m_t}{\sqrt{v^{\max}_t / (1 - \beta_2^t)} + \epsilon}
\end{align}

In the paper's algorithm, which has no bias correction, $v^{\max}_t$ never decreases, so the
effective learning rate $\eta / \sqrt{v^{\max}_t}$ of every coordinate never increases.
With the bias correction we use (below) the denominator is $\sqrt{v^{\max}_t / (1 - \beta_2^t)}$,
which still falls while $1 - \beta_2^t$ grows towards one, by up to $1 / \sqrt{1 - \beta_2} \approx 31.6$
for $\beta_2 = 0.999$.
For example, with one gradient of $1$ at the first step and gradients of $10^{-6}$ after it,
`torch.optim.Adam(amsgrad=True)` keeps $v^{\max}_t = 10^{-3}$ while its step per unit of
$m_t / (1 - \beta_1^t)$ grows from $\eta$ at $t = 1$ to $3.2 \eta$ at $t = 10$, $25 \eta$ at $t = 1000$
and $31 \eta$ at $t = 3000$ (measured in float64).
Once $\beta_2^t$ is negligible, the guarantee holds.
The price is one more tensor of state per parameter (three instead of two), and a coordinate that
once saw a huge gradient takes small steps for the rest of training.

The paper's algorithm has no bias correction; we follow `torch.optim.Adam(amsgrad=True)`, which
keeps Adam's corrections of $m_t$ and $v^{\max}_t$ (the maximum is taken over the uncorrected
$v_t$).
Everything else, including the coupled or decoupled weight decay (with PyTorch's convention: the
decoupled decay is multiplied by the learning rate), is [Adam](adam.html).
"""

import math
from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import WeightDecay, iterate_chunks, count_steps
from labml_nn.optimizers.adam import Adam


class AMSGrad(Adam):
    r"""
    ## AMSGrad optimizer

    The arguments are those of `torch.optim.Adam` (with `amsgrad=True`):

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is the learning rate $\eta$
    * `betas` is the pair $(\beta_1, \beta_2)$
    * `eps` is $\epsilon$
    * `weight_decay` is the weight decay coefficient $\lambda$
    * `decoupled_weight_decay` shrinks the weights directly (as AdamW) instead of adding
      $\lambda \theta$ to the gradient
    * `foreach` uses the multi-tensor `step_group` instead of the per-tensor `step_param`
    * `chunk_size` is the number of elements the multi-tensor path updates at a time
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0., *, decoupled_weight_decay: bool = False,
                 foreach: bool = True, chunk_size: Optional[int] = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         weight_decouple=decoupled_weight_decay, foreach=foreach, chunk_size=chunk_size)

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        r"""
        ### Initialize the state: Adam's $t$, $m$ and $v$, and $v^{\max}_0 = 0$
        """
        super().init_state(state, group, param)
        state['v_max'] = torch.zeros_like(param, memory_format=torch.preserve_format)

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        eps = group['eps']
        beta1, beta2 = group['betas']
        m, v, v_max = state['m'], state['v'], state['v_max']
        state['step'] += 1
        t = state['step']
        # $\eta$ (a schedule may change it)
        lr = self.get_lr(group, t)

        # Weight decay, decoupled or coupled
        grad = WeightDecay.apply(param, grad, group, lr)
        # $m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$
        m.lerp_(grad, 1 - beta1)
        # $v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2$
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        # $v^{\max}_t = \max(v^{\max}_{t-1}, v_t)$: the only line that differs from Adam
        torch.maximum(v_max, v, out=v_max)
        # $\sqrt{v^{\max}_t / (1 - \beta_2^t)} + \epsilon$
        denominator = (v_max.sqrt() / math.sqrt(1 - beta2 ** t)).add_(eps)
        # $\theta_t = \theta_{t-1} - \frac{\eta}{1 - \beta_1^t} \cdot \frac{m_t}{\sqrt{v^{\max}_t / (1 - \beta_2^t)} + \epsilon}$
        param.addcdiv_(m, denominator, value=-lr / (1 - beta1 ** t))

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters

        The same operations with `_foreach` calls, one chunk at a time, grouped by $t$ as in Adam.
        """
        eps = group['eps']
        beta1, beta2 = group['betas']
        by_step = count_steps(states)

        for t, indices in by_step.items():
            lr = self.get_lr(group, t)
            lists = [[params[i] for i in indices], [grads[i] for i in indices],
                     [states[i]['m'] for i in indices], [states[i]['v'] for i in indices],
                     [states[i]['v_max'] for i in indices]]
            for p, g, m, v, v_max in iterate_chunks(lists, self.chunk_numel(params[0].device)):
                g = WeightDecay.apply_foreach(p, g, group, lr)
                torch._foreach_lerp_(m, g, 1 - beta1)
                torch._foreach_mul_(v, beta2)
                torch._foreach_addcmul_(v, g, g, value=1 - beta2)
                # $v^{\max}_t$
                torch._foreach_maximum_(v_max, v)
                # $\sqrt{v^{\max}_t} + \epsilon \sqrt{1 - \beta_2^t}$: the step of `step_param` with numerator
                # and denominator multiplied by $\sqrt{1 - \beta_2^t}$, which saves a pass over the chunk
                denominator = torch._foreach_sqrt(v_max)
                torch._foreach_add_(denominator, eps * math.sqrt(1 - beta2 ** t))
                torch._foreach_addcdiv_(p, m, denominator, value=-lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t))
