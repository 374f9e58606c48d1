r"""
---
title: Adam with Warm-up and Cosine Decay
summary: >
  An annotated PyTorch implementation of Adam with a linear warm-up followed by a cosine decay to a
  floor, the usual schedule of language-model pre-training.
---

# Adam with Warm-up and Cosine Decay

This is [Adam](adam.html) (or AdamW) with the schedule most language models are pre-trained with:
a linear [warm-up](adam_warmup.html) to $\eta$, then half a cosine period down to
$\eta_{\min} = r \eta$ at the last step $T$, then constant:

$$\eta_t = \begin{cases}
\eta \, t / \text{warmup} & t < \text{warmup} \\
\eta_{\min} + (\eta - \eta_{\min}) \cdot \frac{1}{2}\Big(1 + \cos\big(\pi \frac{t - \text{warmup}}{T - \text{warmup}}\big)\Big)
  & \text{warmup} \le t \le T \\
\eta_{\min} & t > T
\end{cases}$$

The cosine part comes from [SGDR: Stochastic Gradient Descent with Warm Restarts](https://arxiv.org/abs/1608.03983)
(official code: [github.com/loshchil/SGDR](https://github.com/loshchil/SGDR)), without the restarts;
SGDR has no warm-up; ours is the linear one of [Adam with warm-up](adam_warmup.html).
The cosine stays close to $\eta$ for a long time, then falls quickly, then flattens again near
$\eta_{\min}$: the first half of the decay is spent above $(\eta + \eta_{\min}) / 2$, where progress is
fast, and the end near $\eta_{\min}$, where the iterate settles into the minimum (the noise of the steps
shrinks with the learning rate).
The end matters: in language-model pre-training the loss drops sharply while the learning rate
goes to zero, as the runs of
[Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations](https://arxiv.org/abs/2405.18392)
show.
The price is that $T$ must be known in advance; stopping early leaves the learning rate high, and
[Schedule-Free](schedule_free.html) removes that requirement.
With the default $r = 0$ the decay is complete.
"""

import math
from typing import Any, Dict, Optional

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, _where
from labml_nn.optimizers.adam_warmup import AdamWarmup, check_steps


class AdamWarmupCosineDecay(AdamWarmup):
    r"""
    ## Adam with warm-up and cosine decay

    * `warmup` is the number of warm-up steps
    * `total_steps` is $T$, the step at which the decay ends
    * `min_lr_ratio` is $r = \eta_{\min} / \eta$, in $[0, 1]$

    The other arguments are those of [`Adam`](adam.html).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0., *,
                 warmup: int = 1000, total_steps: int = 10000, min_lr_ratio: float = 0.,
                 weight_decouple: bool = False, absolute: bool = False, foreach: bool = True,
                 chunk_size: Optional[int] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, warmup=warmup, total_steps=total_steps,
                        min_lr_ratio=min_lr_ratio, **WeightDecay(weight_decay, weight_decouple, absolute).defaults())
        GenericAdaptiveOptimizer.__init__(self, params, defaults, foreach=foreach, chunk_size=chunk_size)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters; `total_steps` $>$ `warmup`"""
        super().check_group(group, group_index)
        check_steps('total_steps', group['total_steps'], group_index, group['warmup'] + 1)
        r = group['min_lr_ratio']
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1:
            raise ValueError(f"Invalid `min_lr_ratio` = {r!r}{_where(group_index)}: it must be a number in [0, 1]")

    def get_lr(self, group: Dict[str, Any], t: int) -> float:
        r"""
        ### $\eta_t$
        """
        lr, warmup, total = group['lr'], group['warmup'], group['total_steps']
        # Linear warm-up
        if t < warmup:
            return lr * t / warmup
        # $\eta_{\min}$ after $T$
        lr_min = lr * group['min_lr_ratio']
        if t > total:
            return lr_min
        # $\eta_{\min} + (\eta - \eta_{\min}) \frac{1}{2}(1 + \cos(\pi \cdot \text{progress}))$
        progress = (t - warmup) / (total - warmup)
        return lr_min + (lr - lr_min) * 0.5 * (1 + math.cos(math.pi * progress))
