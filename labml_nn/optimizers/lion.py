r"""
---
title: Lion Optimizer
summary: >
  An annotated PyTorch implementation of Lion (EvoLved Sign Momentum), the optimizer found by a
  program search: the sign of an interpolation of momentum and gradient, with one state tensor.
---

# Lion Optimizer

This is a PyTorch implementation of Lion from the paper
[Symbolic Discovery of Optimization Algorithms](https://arxiv.org/abs/2302.06675)
(official code: [github.com/google/automl, folder `lion`](https://github.com/google/automl/tree/master/lion)).

The authors searched a space of small programs for an update rule that trains well, and simplified
the winner into

\begin{align}
c_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
\theta_t &= \theta_{t-1} - \eta \big(\operatorname{sign}(c_t) + \lambda \theta_{t-1}\big) \\
m_t &= \beta_2 m_{t-1} + (1 - \beta_2) g_t
\end{align}

## What is different from Adam

* **Every coordinate moves by exactly $\eta$** (plus the decay), except where $c_t = 0$, since
  $\operatorname{sign}(0) = 0$: a coordinate whose gradient has always been zero does not move.
  The sign has the same scale-freeness as Adam's $m / \sqrt{v}$, without the second moment: Lion
  keeps one tensor of state per parameter instead of two.
  Most of Adam's coordinates move much less than $\eta$ ($|\hat{m}_t / \sqrt{\hat{v}_t}| < 1$ when the
  gradients are noisy), so Lion's update has a larger norm than Adam's; the paper therefore uses a
  learning rate $3$–$10$ times smaller than AdamW's, and a weight decay $\lambda$ $3$–$10$ times
  larger, so that the decoupled decay $\eta \lambda$ stays about the same.
* **Two rates for one momentum.**
  The direction $c_t$ mixes the current gradient in with weight $1 - \beta_1 = 0.1$; the momentum that is
  carried on is a slower average ($\beta_2 = 0.99$).
  So the update reacts quickly to a new gradient, and the memory of the past is long.
  With $\beta_1 = \beta_2$ this is signed momentum (signSGD with momentum).
* **Decoupled weight decay**, multiplied by the learning rate as in PyTorch's AdamW
  (see [`WeightDecay`](index.html)).

The sign discards the magnitudes, so Lion prefers large batches, whose gradients are less noisy.
In the authors' ablation (ViT-B/16 on ImageNet) Lion's best batch size is $4096$ against AdamW's
$256$, it remains competitive at a batch size of $64$, and at $32\text{K}$ it beats AdamW by $2.5$
points of accuracy.
"""

from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, check_betas, check_non_negative, \
    iterate_chunks


class Lion(GenericAdaptiveOptimizer):
    r"""
    ## Lion optimizer

    The arguments and defaults are those of the official PyTorch version:

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is the learning rate $\eta$
    * `betas` is the pair $(\beta_1, \beta_2)$: the interpolation of the update and the rate of the momentum
    * `weight_decay` is the decoupled weight decay $\lambda$, multiplied by the learning rate
    * `foreach` uses the multi-tensor `step_group` instead of the per-tensor `step_param`
    * `chunk_size` is the number of elements the multi-tensor path updates at a time
    """

    def __init__(self, params, lr: float = 1e-4, betas=(0.9, 0.99), weight_decay: float = 0., *,
                 foreach: bool = True, chunk_size: Optional[int] = None):
        defaults = dict(lr=lr, betas=betas, **WeightDecay(weight_decay, weight_decouple=True).defaults())
        super().__init__(params, defaults, foreach=foreach, chunk_size=chunk_size)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        r"""Check the hyper-parameters (Lion has no $\epsilon$)"""
        check_non_negative('lr', group['lr'], group_index)
        check_betas(group['betas'], group_index)
        WeightDecay.check_group(group, group_index)

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        """
        ### Initialize the state: the momentum $m_0 = 0$
        """
        state['m'] = torch.zeros_like(param, memory_format=torch.preserve_format)

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        lr = group['lr']
        beta1, beta2 = group['betas']
        m = state['m']
        # $\theta \leftarrow (1 - \eta \lambda) \theta$
        WeightDecay.apply(param, grad, group)
        # $c_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$
        c = m.lerp(grad, 1 - beta1)
        # $\theta_t = (1 - \eta \lambda) \theta_{t-1} - \eta \operatorname{sign}(c_t)$
        param.add_(c.sign_(), alpha=-lr)
        # $m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t$
        m.lerp_(grad, 1 - beta2)

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters

        The same with `_foreach` calls, one chunk at a time.
        """
        lr = group['lr']
        beta1, beta2 = group['betas']
        ms = [s['m'] for s in states]
        for p, g, m in iterate_chunks([params, grads, ms], self.chunk_numel(params[0].device)):
            WeightDecay.apply_foreach(p, g, group)
            # $c_t$, then its sign
            c = torch._foreach_lerp(m, g, 1 - beta1)
            torch._foreach_sign_(c)
            torch._foreach_add_(p, c, alpha=-lr)
            # $m_t$
            torch._foreach_lerp_(m, g, 1 - beta2)
