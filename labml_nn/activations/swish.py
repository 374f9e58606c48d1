r"""
---
title: Swish and SiLU
summary: >
  An annotated PyTorch implementation of the Swish activation, x times a sigmoid of beta x, and of
  its special case SiLU.
---

# Swish and SiLU

Swish was found by an automated search over activation functions in
[Searching for Activation Functions](https://arxiv.org/abs/1710.05941);
with $\beta = 1$ it is the *sigmoid-weighted linear unit* (SiLU) proposed earlier in
[Sigmoid-Weighted Linear Units for Neural Network Function Approximation in Reinforcement Learning](https://arxiv.org/abs/1702.03118)
and in the [GELU](gelu.html) paper:

$$\operatorname{Swish}_\beta(x) = x \cdot \sigma(\beta x) = \frac{x}{1 + e^{-\beta x}}$$

Neither paper released official code; the reference implementations are TensorFlow's `tf.nn.swish`
and PyTorch's `torch.nn.functional.silu`, which the tests compare with.

The sigmoid acts as a soft gate on the input: close to $1$ for large positive $x$ (Swish is then
$\approx x$, like ReLU) and close to $0$ for large negative $x$ (Swish is then $\approx 0$).
Unlike ReLU it is smooth, and it is not monotonic: it dips below zero, to a minimum of about
$-0.28$ at $x \approx -1.28$ for $\beta = 1$, before returning to zero.
$\beta$ interpolates between the linear function $x / 2$ ($\beta = 0$) and ReLU ($\beta \to \infty$);
it can be a constant or a learned parameter.

The derivative is

$$\frac{d}{dx} \operatorname{Swish}_\beta(x) = \sigma(\beta x) + \beta x \, \sigma(\beta x) \big(1 - \sigma(\beta x)\big)$$

so negative inputs still receive (small) gradients.
"""

import torch
from torch import nn


class Swish(nn.Module):
    r"""
    ## Swish

    * `beta` is $\beta$
    * `learnable` makes $\beta$ a trained parameter (initialized to `beta`)
    """

    def __init__(self, beta: float = 1.0, *, learnable: bool = False):
        super().__init__()
        if learnable:
            self.beta = nn.Parameter(torch.tensor(float(beta)))
        else:
            # kept in double precision; it is cast to the input's type in `forward`
            self.register_buffer('beta', torch.tensor(float(beta), dtype=torch.float64))

    def forward(self, x: torch.Tensor):
        """`x` is a tensor of any shape; the function is applied element-wise"""
        # $x \cdot \sigma(\beta x)$
        return x * torch.sigmoid(self.beta.to(x.dtype) * x)


class SiLU(Swish):
    r"""
    ## SiLU

    Swish with a fixed $\beta = 1$: $x \cdot \sigma(x)$.
    """

    def __init__(self):
        super().__init__(1.0)
