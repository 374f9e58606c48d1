r"""
---
title: AdaBelief Optimizer
summary: >
  An annotated PyTorch implementation of AdaBelief: Adam whose second moment is the variance of the
  gradient around its moving average, so steps are large where the gradient is predictable.
---

# AdaBelief Optimizer

This is a PyTorch implementation of AdaBelief from the paper
[AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed Gradients](https://arxiv.org/abs/2010.07468)
(official code: [github.com/juntang-zhuang/Adabelief-Optimizer](https://github.com/juntang-zhuang/Adabelief-Optimizer)).

## The idea

[Adam](adam.html) divides the momentum $m_t$ by $\sqrt{v_t}$, the size of the gradients.
AdaBelief divides it by the size of the gradients' *surprise*: how far the gradient $g_t$ is from
$m_t$, the prediction (the "belief") of it:

\begin{align}
m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
s_t &= \beta_2 s_{t-1} + (1 - \beta_2) (g_t - m_t)^2 + \epsilon \\
\theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t} \cdot \frac{m_t}{\sqrt{s_t / (1 - \beta_2^t)} + \epsilon}
\end{align}

Where the gradient is large but steady (a steep, straight slope), Adam's $v_t$ grows with it and
its step stays about $\eta$, however steep the slope; AdaBelief's $s_t$ is small, so $m_t / \sqrt{s_t}$
is large and it takes a larger step.
Where the gradient changes quickly from step to step (high curvature, or noise), $s_t$ is large
and AdaBelief takes a small, careful step.
In a flat region, where the gradients are small and steady, both $v_t$ and $s_t$ are small and both
take large steps.
The paper argues that this combines Adam's fast convergence with SGD's generalisation, and
reports it on image classification, language modelling and GANs.

$\epsilon$ is added twice, as in the paper's algorithm and the official code: inside $s_t$, where it
accumulates in the state up to $\epsilon / (1 - \beta_2)$ and keeps $s_t$ away from zero when the
gradients are perfectly predictable, and to the denominator.
(The accumulation began as an in-place addition in the official code, which the authors kept and
wrote into the algorithm.)
The official code also offers a rectification (as [RAdam](radam.html)) and AMSGrad's maximum; we
implement the paper's plain algorithm, the official code with `rectify=False`, `amsgrad=False`.
Its default $\epsilon = 10^{-16}$ is the square of Adam's $10^{-8}$ (the official README's rule is
$\epsilon_\text{AdaBelief} \approx \epsilon_\text{Adam}^2$).
It is a square because it acts mainly inside $s_t$, under the square root: the part of
$s_t / (1 - \beta_2^t)$ that comes from $\epsilon$ is exactly $\epsilon / (1 - \beta_2)$ at every step, so the denominator is at least
$\sqrt{\epsilon / (1 - \beta_2)} \approx 3.2 \cdot 10^{-7}$ for the defaults, while the $\epsilon$ added
outside is negligible.
With $\epsilon = 10^{-8}$ that floor would be $3.2 \cdot 10^{-3}$; it dominates wherever the gradient's
deviations are smaller, and there AdaBelief steps like SGD with momentum (the official README
suggests $10^{-8}$ for tasks on which SGD beats Adam).
The weight decay is decoupled by default, as in the official code.
"""

import math
from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, iterate_chunks, count_steps


class AdaBelief(GenericAdaptiveOptimizer):
    r"""
    ## AdaBelief optimizer

    The arguments and defaults are those of the official `AdaBelief` (version 0.2) with
    `rectify=False` (its default is `True`) and `amsgrad=False`, options that are left out here:

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is the learning rate $\eta$
    * `betas` is the pair $(\beta_1, \beta_2)$
    * `eps` is $\epsilon$
    * `weight_decay` is the weight decay coefficient $\lambda$
    * `weight_decouple` chooses decoupled (`True`) or coupled decay
    * `fixed_decay` makes the decoupled decay independent of the learning rate
    * `foreach` uses the multi-tensor `step_group` instead of the per-tensor `step_param`
    * `chunk_size` is the number of elements the multi-tensor path updates at a time
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-16,
                 weight_decay: float = 0., weight_decouple: bool = True, fixed_decay: bool = False, *,
                 foreach: bool = True, chunk_size: Optional[int] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps,
                        **WeightDecay(weight_decay, weight_decouple, absolute=fixed_decay).defaults())
        super().__init__(params, defaults, foreach=foreach, chunk_size=chunk_size)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters"""
        super().check_group(group, group_index)
        WeightDecay.check_group(group, group_index)

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        """
        ### Initialize the state: $t = 0$, $m_0 = 0$, $s_0 = 0$
        """
        state['step'] = 0
        state['m'] = torch.zeros_like(param, memory_format=torch.preserve_format)
        state['s'] = torch.zeros_like(param, memory_format=torch.preserve_format)

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        lr, eps = group['lr'], group['eps']
        beta1, beta2 = group['betas']
        m, s = state['m'], state['s']
        state['step'] += 1
        t = state['step']
        # Weight decay, decoupled or coupled
        grad = WeightDecay.apply(param, grad, group)
        # $m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$
        m.lerp_(grad, 1 - beta1)
        # $g_t - m_t$
        surprise = grad - m
        # $s_t = \beta_2 s_{t-1} + (1 - \beta_2) (g_t - m_t)^2 + \epsilon$
        s.mul_(beta2).addcmul_(surprise, surprise, value=1 - beta2).add_(eps)
        # $\sqrt{s_t / (1 - \beta_2^t)} + \epsilon$
        denominator = (s.sqrt() / math.sqrt(1 - beta2 ** t)).add_(eps)
        # $\theta_t = \theta_{t-1} - \frac{\eta}{1 - \beta_1^t} \cdot \frac{m_t}{\sqrt{s_t / (1 - \beta_2^t)} + \epsilon}$
        param.addcdiv_(m, denominator, value=-lr / (1 - beta1 ** t))

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters

        The same with `_foreach` calls, one chunk at a time, grouped by $t$.
        """
        lr, eps = group['lr'], group['eps']
        beta1, beta2 = group['betas']
        by_step = count_steps(states)
        for t, indices in by_step.items():
            lists = [[params[i] for i in indices], [grads[i] for i in indices],
                     [states[i]['m'] for i in indices], [states[i]['s'] for i in indices]]
            for p, g, m, s in iterate_chunks(lists, self.chunk_numel(params[0].device)):
                g = WeightDecay.apply_foreach(p, g, group)
                torch._foreach_lerp_(m, g, 1 - beta1)
                surprise = torch._foreach_sub(g, m)
                torch._foreach_mul_(s, beta2)
                torch._foreach_addcmul_(s, surprise, surprise, value=1 - beta2)
                torch._foreach_add_(s, eps)
                denominator = torch._foreach_sqrt(s)
                torch._foreach_div_(denominator, math.sqrt(1 - beta2 ** t))
                torch._foreach_add_(denominator, eps)
                torch._foreach_addcdiv_(p, m, denominator, value=-lr / (1 - beta1 ** t))
