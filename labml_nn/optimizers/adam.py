r"""
---
title: Adam and AdamW Optimizers
summary: >
  An annotated PyTorch implementation of the Adam optimizer with bias correction, a discussion of
  its effective step size, and AdamW through decoupled weight decay.
notebook: run
---

# Adam and AdamW Optimizers

This is a PyTorch implementation of the optimizer from the paper
[Adam: A Method for Stochastic Optimization](https://arxiv.org/abs/1412.6980), and of its variant with
decoupled weight decay, AdamW, from
[Decoupled Weight Decay Regularization](https://arxiv.org/abs/1711.05101).
(The Adam paper released no official code; AdamW's official code, in Lua Torch, is at
[github.com/loshchil/AdamW-and-SGDW](https://github.com/loshchil/AdamW-and-SGDW).)

Adam keeps two exponential moving averages per parameter: $m_t$ of the gradient (the direction) and
$v_t$ of the squared gradient (the typical size of the gradient of that coordinate).
The step divides the first by the square root of the second, so every coordinate moves by roughly
the learning rate whatever the scale of its gradients:

\begin{align}
m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
\hat{m}_t &= \frac{m_t}{1 - \beta_1^t} \qquad \hat{v}_t = \frac{v_t}{1 - \beta_2^t} \\
\theta_t &= \theta_{t-1} - \eta \frac{\hat{m}_t}{\sqrt{\hat{v}_t} + \epsilon}
\end{align}

## Bias correction

Both averages start at zero, so early on they are biased towards zero: after $t$ steps of a constant
gradient $g$, $m_t = (1 - \beta_1^t) g$.
Dividing by $1 - \beta_1^t$ (and $1 - \beta_2^t$ for $v_t$) removes this bias exactly for a constant
gradient.
Without the correction of $v_t$ the first steps would be far too large, because $v_t$ (with
$\beta_2$ close to one) is much slower to grow than $m_t$.

## Effective step size

Ignoring $\epsilon$, the update is

$$\Delta \theta_t = - \eta \cdot \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m_t}{\sqrt{v_t}}$$

When the gradients of a coordinate agree from step to step, $|m_t / \sqrt{v_t}|$ is about one, and
it is smaller when they are noisy and cancel in $m_t$.
So $\eta$ sets the typical distance a coordinate moves in one step, a scale-free *trust region* that
does not depend on the size of the loss or of the gradients.
The factor $\frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}$ tends to one as $t$ grows.

It is not a hard bound.
The Adam paper bounds the step (for large $t$) by

$$|\Delta \theta_t| \le \eta \frac{1 - \beta_1}{\sqrt{1 - \beta_2}} \quad \text{when } 1 - \beta_1 > \sqrt{1 - \beta_2},$$

and by $\eta$ otherwise.
With the usual $\beta_1 = 0.9$ and $\beta_2 = 0.999$ the first case holds ($0.1 > 0.032$) and the bound is
$3.16 \eta$.
It is reached by a sparse spike: a weight whose gradient has been zero for a long time has
$m = v = 0$, and a single gradient of $1$ then gives $m_t = 0.1$, $v_t = 0.001$ and a step of
$0.1 / \sqrt{0.001} = 3.16$ times the learning rate.
It does not stop there: $m$ decays faster than $\sqrt{v}$ over the following zero-gradient steps, so
the weight keeps moving.
Measured with `torch.optim.Adam` (float64, `lr=1e-3`, default betas, 10,000 zero gradients, one
gradient of $1$, then 2,000 zero gradients), the first step is $3.162 \eta$ and the total movement
$31.8 \eta$.
Rare tokens' embeddings are such weights.
We compute the update in the same order as `torch.optim.Adam`, dividing $\sqrt{v_t}$ by
$\sqrt{1 - \beta_2^t}$ before adding $\epsilon$, so that $\epsilon$ is added to $\sqrt{\hat{v}_t}$ as in
the equation above.

## AdamW

With *coupled* weight decay (L2 regularization, `weight_decouple=False`) the term $\lambda \theta$ is
added to the gradient and then divided by $\sqrt{\hat{v}_t}$ like the rest of it, so weights with
large gradients are barely decayed.
AdamW shrinks the weights directly instead, outside the adaptive scaling; see [`WeightDecay`](index.html).

Two conventions are in use for the size of that shrinking, and their $\lambda$ differ by orders of
magnitude.
The AdamW paper writes the learning rate as $\alpha$ times a schedule multiplier $\eta_t$, and
scales the decay by the schedule multiplier only:

$$\theta_t = \theta_{t-1} - \eta_t \Big(\alpha \frac{\hat{m}_t}{\sqrt{\hat{v}_t} + \epsilon} + \lambda_{\text{paper}} \theta_{t-1}\Big)$$

PyTorch (`torch.optim.AdamW`), and this page, multiply the decay by the whole learning rate
$\text{lr} = \eta_t \alpha$: $\theta \leftarrow (1 - \text{lr} \cdot \lambda_{\text{torch}}) \theta$.
The two agree when $\lambda_{\text{torch}} = \lambda_{\text{paper}} / \alpha$; for example the paper's
$\lambda_{\text{paper}} = 10^{-4}$ with $\alpha = 10^{-3}$ is `weight_decay=0.1` here.
With `absolute=True` the decay is $\theta \leftarrow (1 - \lambda) \theta$, independent of the learning rate
and of the schedule.
`AdamW` below is `Adam` with decoupled decay.

Both are built on [`GenericAdaptiveOptimizer`](index.html): `step_param` is the update of one tensor,
and `step_group` does the same on lists of tensors, one chunk at a time.
[Sophia](sophia.html) reuses the moving average of the gradient but replaces $\sqrt{v_t}$ with an
estimate of the curvature.
"""

import math
from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, iterate_chunks, count_steps


class Adam(GenericAdaptiveOptimizer):
    r"""
    ## Adam optimizer

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is the learning rate $\eta$
    * `betas` is the pair $(\beta_1, \beta_2)$
    * `eps` is $\epsilon$
    * `weight_decay` is the weight decay coefficient $\lambda$
    * `weight_decouple` makes the weight decay decoupled (AdamW) instead of added to the gradient
    * `absolute` makes the decoupled weight decay independent of the learning rate
    * `foreach` uses the multi-tensor `step_group` instead of the per-tensor `step_param`
    * `chunk_size` is the number of elements the multi-tensor path updates at a time
      (`None` picks one for the device, see [`chunk_numel`](index.html))
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0., *, weight_decouple: bool = False, absolute: bool = False,
                 foreach: bool = True, chunk_size: Optional[int] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps,
                        **WeightDecay(weight_decay, weight_decouple, absolute).defaults())
        super().__init__(params, defaults, foreach=foreach, chunk_size=chunk_size)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters"""
        super().check_group(group, group_index)
        WeightDecay.check_group(group, group_index)

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        """
        ### Initialize the state of a parameter
        """
        # The number of steps taken, $t$, for the bias correction
        state['step'] = 0
        # $m_0 = 0$
        state['m'] = torch.zeros_like(param, memory_format=torch.preserve_format)
        # $v_0 = 0$
        state['v'] = torch.zeros_like(param, memory_format=torch.preserve_format)

    def get_lr(self, group: Dict[str, Any], t: int) -> float:
        """
        ### The learning rate of step $t$

        It is `group['lr']`; the [schedule pages](adam_warmup.html) override this.
        """
        return group['lr']

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        eps = group['eps']
        beta1, beta2 = group['betas']
        m, v = state['m'], state['v']
        # $t$
        state['step'] += 1
        t = state['step']
        # $\eta$
        lr = self.get_lr(group, t)

        # Weight decay: decoupled (shrink $\theta$) or coupled (returns $g_t + \lambda \theta_{t-1}$)
        grad = WeightDecay.apply(param, grad, group, lr)
        # $m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$
        m.lerp_(grad, 1 - beta1)
        # $v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2$
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        # Bias corrections $1 - \beta_1^t$ and $1 - \beta_2^t$
        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        # $\sqrt{\hat{v}_t} + \epsilon = \sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon$
        denominator = (v.sqrt() / math.sqrt(bias_correction2)).add_(eps)
        # $\theta_t = \theta_{t-1} - \frac{\eta}{1 - \beta_1^t} \cdot \frac{m_t}{\sqrt{\hat{v}_t} + \epsilon}$
        param.addcdiv_(m, denominator, value=-lr / bias_correction1)

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters

        The same operations with `_foreach` calls, one chunk at a time.
        Parameters that skipped some steps (they had no gradient) have a different $t$, and so
        different bias corrections; we update the parameters of each $t$ together.
        """
        eps = group['eps']
        beta1, beta2 = group['betas']

        # Count the step and sort the parameters by $t$ (usually they all share one)
        by_step = count_steps(states)

        for t, indices in by_step.items():
            lr = self.get_lr(group, t)
            bias_correction1 = 1 - beta1 ** t
            bias_correction2 = 1 - beta2 ** t
            lists = [[params[i] for i in indices], [grads[i] for i in indices],
                     [states[i]['m'] for i in indices], [states[i]['v'] for i in indices]]
            for p, g, m, v in iterate_chunks(lists, self.chunk_numel(params[0].device)):
                g = WeightDecay.apply_foreach(p, g, group, lr)
                # $m_t$
                torch._foreach_lerp_(m, g, 1 - beta1)
                # $v_t$
                torch._foreach_mul_(v, beta2)
                torch._foreach_addcmul_(v, g, g, value=1 - beta2)
                # $\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon$
                denominator = torch._foreach_sqrt(v)
                torch._foreach_div_(denominator, math.sqrt(bias_correction2))
                torch._foreach_add_(denominator, eps)
                # $\theta_t$
                torch._foreach_addcdiv_(p, m, denominator, value=-lr / bias_correction1)


class AdamW(Adam):
    r"""
    ## AdamW optimizer

    Adam with decoupled weight decay, $\theta \leftarrow (1 - \eta \lambda) \theta$ before the Adam step.
    The arguments are those of `Adam`; the default weight decay is that of `torch.optim.AdamW`.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, *, absolute: bool = False, foreach: bool = True,
                 chunk_size: Optional[int] = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         weight_decouple=True, absolute=absolute, foreach=foreach, chunk_size=chunk_size)
