r"""
---
title: Adam with Learning-Rate Warm-up
summary: >
  An annotated PyTorch implementation of Adam with a linear learning-rate warm-up, and why
  transformers need one.
---

# Adam with Learning-Rate Warm-up

This is [Adam](adam.html) (or AdamW) with a learning rate that grows linearly from zero over the
first `warmup` steps:

$$\eta_t = \eta \cdot \min\Big(1, \frac{t}{\text{warmup}}\Big)$$

The warm-up has no paper of its own: [Attention Is All You Need](https://arxiv.org/abs/1706.03762)
used it with Adam (see the [Noam schedule](noam.html) for that paper's official code), and
[Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour](https://arxiv.org/abs/1706.02677) with
SGD and large batches.

## Why warm up

At the start of training three things make large steps dangerous at once:

* Adam's $\hat{v}_t$ is an average of very few squared gradients, so the scale of each coordinate's
  step is a noisy guess (this is what [RAdam](radam.html) analyses);
* the weights are random, the gradients are large and change direction quickly, and the loss
  surface is sharpest at the start;
* in a transformer with the layer norm after the residual addition (post-LN), the gradients of the
  layers near the output are much larger than those near the input at initialisation
  ([On Layer Normalization in the Transformer Architecture](https://arxiv.org/abs/2002.04745)).

A warm-up keeps the steps small until the statistics settle; with pre-LN transformers it can be
short, but it is still almost always used.
Warm-up alone keeps the learning rate at $\eta$ for the rest of training; the
[Noam schedule](noam.html) and [cosine decay](adam_warmup_cosine_decay.html) also decrease it.

The schedule is computed from the step count $t$ of each parameter inside `get_lr`, so no separate
scheduler object is needed and the schedule is saved with the optimizer's state.
The same learning rate multiplies the decoupled weight decay, as with a PyTorch scheduler.
"""

from typing import Any, Dict, Optional

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, _where
from labml_nn.optimizers.adam import Adam


def check_steps(name: str, value, group_index: Optional[int], minimum: int):
    """Raise a `ValueError` naming `name` unless `value` is an integer `>= minimum`"""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"Invalid `{name}` = {value!r}{_where(group_index)}: it must be an integer >= {minimum}")


class AdamWarmup(Adam):
    r"""
    ## Adam with warm-up

    * `warmup` is the number of warm-up steps

    The other arguments are those of [`Adam`](adam.html).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0., *, warmup: int = 1000, weight_decouple: bool = False,
                 absolute: bool = False, foreach: bool = True, chunk_size: Optional[int] = None):
        # Adam's defaults and the schedule's, stored in every parameter group
        defaults = dict(lr=lr, betas=betas, eps=eps, warmup=warmup,
                        **WeightDecay(weight_decay, weight_decouple, absolute).defaults())
        GenericAdaptiveOptimizer.__init__(self, params, defaults, foreach=foreach, chunk_size=chunk_size)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters; `warmup` $\\ge 0$"""
        super().check_group(group, group_index)
        check_steps('warmup', group['warmup'], group_index, 0)

    def get_lr(self, group: Dict[str, Any], t: int) -> float:
        r"""
        ### $\eta_t = \eta \min(1, t / \text{warmup})$
        """
        if t < group['warmup']:
            return group['lr'] * t / group['warmup']
        return group['lr']
