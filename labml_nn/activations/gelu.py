r"""
---
title: GELU
summary: >
  An annotated PyTorch implementation of the Gaussian error linear unit, x times the Gaussian
  distribution function, in its exact form and with its tanh approximation.
---

# Gaussian Error Linear Unit (GELU)

This is the activation from the paper
[Gaussian Error Linear Units (GELUs)](https://arxiv.org/abs/1606.08415), used in BERT, GPT and most
transformers since.
(The official code is at [github.com/hendrycks/GELUs](https://github.com/hendrycks/GELUs).)

ReLU multiplies its input by a gate that is $1$ or $0$ depending on the sign of $x$.
GELU multiplies it by the *probability* that a standard normal variable is smaller than $x$:

$$\operatorname{GELU}(x) = x \cdot \Phi(x) = x \cdot \frac{1}{2} \Big(1 + \operatorname{erf}\big(x / \sqrt{2}\big)\Big)$$

where $\Phi$ is the cumulative distribution function of $\mathcal{N}(0, 1)$.
The paper motivates it as the expected value of a stochastic gate: keep $x$ with probability
$\Phi(x)$ and drop it otherwise, which gives $x \Phi(x)$ on average; larger inputs are more likely
to be kept.
Like [Swish](swish.html), it is smooth, close to ReLU away from zero, and slightly negative for
moderately negative inputs.

## The tanh approximation

When $\operatorname{erf}$ was slow, the paper approximated $\Phi$ with a tanh:

$$\operatorname{GELU}(x) \approx \frac{1}{2} x \Big(1 + \tanh\Big(\sqrt{2 / \pi} \, \big(x + 0.044715 \, x^3\big)\Big)\Big)$$

GPT-2 and BERT were trained with this form, so a pretrained model should be run with the form it
was trained with.
The two differ by less than $10^{-3}$ everywhere (the test measures the largest difference).
The paper also gives $x \sigma(1.702 x)$, which is [Swish](swish.html) with $\beta = 1.702$.
"""

import math

import torch
from torch import nn


def gelu(x: torch.Tensor) -> torch.Tensor:
    r"""
    ## Exact GELU

    $x \cdot \frac{1}{2} \big(1 + \operatorname{erf}(x / \sqrt{2})\big)$
    """
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    r"""
    ## Tanh approximation

    $\frac{1}{2} x \big(1 + \tanh(\sqrt{2 / \pi} (x + 0.044715 x^3))\big)$
    """
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class GELU(nn.Module):
    """
    ## GELU module

    * `approximate` is `'none'` for the exact form or `'tanh'` for the approximation, as in
      `torch.nn.GELU`
    """

    def __init__(self, approximate: str = 'none'):
        super().__init__()
        if approximate not in ('none', 'tanh'):
            raise ValueError(f"Invalid `approximate` = {approximate!r}: use 'none' or 'tanh'")
        self.approximate = approximate

    def forward(self, x: torch.Tensor):
        """`x` is a tensor of any shape"""
        return gelu(x) if self.approximate == 'none' else gelu_tanh(x)
