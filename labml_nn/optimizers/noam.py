r"""
---
title: Noam Learning-Rate Schedule
summary: >
  An annotated PyTorch implementation of the Noam schedule of the original transformer: linear
  warm-up, then decay with the inverse square root of the step, scaled by the model width.
---

# Noam Learning-Rate Schedule

This is the learning-rate schedule of
[Attention Is All You Need](https://arxiv.org/abs/1706.03762) (official code: the
`noam` schedule of [github.com/tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor)),
named after one of its authors, on top of [Adam](adam.html):

$$\eta_t = \eta \cdot d_{\text{model}}^{-0.5} \cdot \min\big(t^{-0.5},\ t \cdot \text{warmup}^{-1.5}\big)$$

The two terms are equal at $t = \text{warmup}$: before, the rate grows linearly (a
[warm-up](adam_warmup.html)); after, it decays as $1 / \sqrt{t}$, the rate for which SGD on convex
problems has its classical guarantees.
The peak, at $t = \text{warmup}$, is $\eta / \sqrt{d_{\text{model}} \cdot \text{warmup}}$;
with the paper's $d_{\text{model}} = 512$, $\text{warmup} = 4000$ and $\eta = 1$ it is $7 \times 10^{-4}$.
Dividing by $\sqrt{d_{\text{model}}}$ gives wider models smaller steps.
$\eta$ is therefore a multiplier, not a learning rate; the paper used $\eta = 1$ with
$\beta_2 = 0.98$, $\epsilon = 10^{-9}$.

The $1 / \sqrt{t}$ tail never reaches zero: for a fixed budget of steps, a schedule that decays
to the end ([cosine](adam_warmup_cosine_decay.html) or linear) usually reaches a lower loss.
"""

from typing import Any, Dict, Optional

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, check_positive
from labml_nn.optimizers.adam_warmup import AdamWarmup


class Noam(AdamWarmup):
    r"""
    ## Adam with the Noam schedule

    * `d_model` is $d_{\text{model}}$
    * `warmup` is the number of warm-up steps, at least 1

    The other arguments are those of [`Adam`](adam.html); `lr` is the multiplier $\eta$, and the
    defaults of `lr`, `betas` and `eps` are the paper's.
    """

    def __init__(self, params, lr: float = 1., betas=(0.9, 0.98), eps: float = 1e-9, weight_decay: float = 0., *,
                 d_model: int = 512, warmup: int = 4000, weight_decouple: bool = False, absolute: bool = False,
                 foreach: bool = True, chunk_size: Optional[int] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, warmup=warmup, d_model=d_model,
                        **WeightDecay(weight_decay, weight_decouple, absolute).defaults())
        GenericAdaptiveOptimizer.__init__(self, params, defaults, foreach=foreach, chunk_size=chunk_size)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters; `warmup` $\\ge 1$ and `d_model` $> 0$"""
        super().check_group(group, group_index)
        check_positive('warmup', group['warmup'], group_index)
        check_positive('d_model', group['d_model'], group_index)

    def get_lr(self, group: Dict[str, Any], t: int) -> float:
        r"""
        ### $\eta_t = \eta \, d_{\text{model}}^{-0.5} \min(t^{-0.5}, t \cdot \text{warmup}^{-1.5})$
        """
        return group['lr'] * group['d_model'] ** -0.5 * min(t ** -0.5, t * group['warmup'] ** -1.5)
