r"""
---
title: Rectified Adam (RAdam) Optimizer
summary: >
  An annotated PyTorch implementation of RAdam, which multiplies Adam's step by a rectification term
  that undoes the high variance of the adaptive learning rate in the first steps.
---

# Rectified Adam (RAdam)

This is a PyTorch implementation of RAdam from the paper
[On the Variance of the Adaptive Learning Rate and Beyond](https://arxiv.org/abs/1908.03265)
(official code: [github.com/LiyuanLucasLiu/RAdam](https://github.com/LiyuanLucasLiu/RAdam)).

## Why Adam needs a warm-up

In the first steps, [Adam](adam.html)'s $\hat{v}_t$ is an average of very few squared gradients.
Its inverse square root, the adaptive learning rate $1 / \sqrt{\hat{v}_t}$, is then a very noisy
quantity: after one step it is $1 / |g_1|$, which is unbounded when $g_1$ happens to be small.
Large, random steps at the start can push a model into a bad region that it never leaves: this is
the paper's explanation of why transformers need a learning-rate [warm-up](adam_warmup.html)
(there are others, listed on that page).

## The rectification

The paper treats the squared gradients as samples of a scaled $\chi^2$ distribution and asks how
many samples the exponential moving average is worth.
An EMA with rate $\beta_2$ behaves like a simple average of

$$\rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \qquad \rho_\infty = \frac{2}{1 - \beta_2} - 1$$

samples; $\rho_t$ grows from $1$ at $t = 1$ towards $\rho_\infty$ ($1999$ for $\beta_2 = 0.999$).
The variance of $1 / \hat{v}_t$ is then infinite while $\rho_t \le 4$, and the paper approximates the
variance of $1 / \sqrt{\hat{v}_t}$ (to first order) by $\rho_t / \big(2 (\rho_t - 2)(\rho_t - 4) \sigma^2\big)$,
which diverges at $\rho_t = 4$ and decreases as $\rho_t$ grows ($\sigma^2$ is the variance of the gradient).
Multiplying the adaptive step by

$$r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}$$

makes this approximate variance equal to the one it will have at the end ($r_t \to 1$), so the step
size no longer depends on how few samples the average has.

## The update

\begin{align}
m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
\theta_t &= \theta_{t-1} - \eta \, \frac{m_t}{1 - \beta_1^t} \cdot
  \begin{cases}
  r_t \dfrac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon} & \text{if } \rho_t > 5 \\
  1 & \text{otherwise}
  \end{cases}
\end{align}

While $\rho_t \le 5$ (the first $5$ steps with $\beta_2 = 0.999$) RAdam takes plain SGD-with-momentum
steps; then the adaptive step comes in, scaled down by $r_t$, which grows to one over the first few
thousand steps: a warm-up derived from $\beta_2$ instead of chosen by hand.
The paper switches at $\rho_t > 4$; we use $5$, as `torch.optim.RAdam` and the official code do,
and, like them, add $\epsilon$ to $\sqrt{v_t}$ before the bias correction.
(The official code's default, `degenerated_to_sgd=False`, skips these first steps instead: it updates
the moments but not the weights. It also always decouples the weight decay, and decays only on the
steps that move the weights; `decoupled_weight_decay=True` here is its decay after the first $5$ steps.)
Note that the SGD steps are not scale-free: their size is $\eta$ times the gradient, so with a
learning rate tuned for Adam they can be tiny or huge.
"""

import math
from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, iterate_chunks, count_steps


def rectification(t: int, beta2: float) -> Optional[float]:
    r"""
    ### The rectification term

    $r_t$, or `None` while $\rho_t \le 5$ (the adaptive step is not used yet)
    """
    # $\rho_\infty = \frac{2}{1 - \beta_2} - 1$
    rho_inf = 2 / (1 - beta2) - 1
    # $\rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}$
    rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
    if rho_t <= 5.:
        return None
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


class RAdam(GenericAdaptiveOptimizer):
    r"""
    ## RAdam optimizer

    The arguments are those of `torch.optim.RAdam`:

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
                 weight_decay: float = 0., decoupled_weight_decay: bool = False, *,
                 foreach: bool = True, chunk_size: Optional[int] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps,
                        **WeightDecay(weight_decay, decoupled_weight_decay).defaults())
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

        # Weight decay, decoupled or coupled
        grad = WeightDecay.apply(param, grad, group)
        # $m_t$ and $v_t$, as in Adam
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        # $r_t$
        r = rectification(t, beta2)
        if r is None:
            # SGD with momentum: $\theta_t = \theta_{t-1} - \eta \frac{m_t}{1 - \beta_1^t}$
            param.add_(m, alpha=-lr / (1 - beta1 ** t))
        else:
            # $\theta_t = \theta_{t-1} - \frac{\eta r_t \sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m_t}{\sqrt{v_t} + \epsilon}$
            param.addcdiv_(m, v.sqrt().add_(eps), value=-lr * r * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t))

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
            r = rectification(t, beta2)
            lists = [[params[i] for i in indices], [grads[i] for i in indices],
                     [states[i]['m'] for i in indices], [states[i]['v'] for i in indices]]
            for p, g, m, v in iterate_chunks(lists, self.chunk_numel(params[0].device)):
                g = WeightDecay.apply_foreach(p, g, group)
                torch._foreach_lerp_(m, g, 1 - beta1)
                torch._foreach_mul_(v, beta2)
                torch._foreach_addcmul_(v, g, g, value=1 - beta2)
                if r is None:
                    torch._foreach_add_(p, m, alpha=-lr / (1 - beta1 ** t))
                else:
                    denominator = torch._foreach_sqrt(v)
                    torch._foreach_add_(denominator, eps)
                    torch._foreach_addcdiv_(p, m, denominator,
                                            value=-lr * r * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t))
