r"""
---
title: Instance Normalization
summary: >
  An annotated PyTorch implementation of instance normalization, which normalizes each channel of each
  image on its own, removing its contrast; used in style transfer.
---

# Instance Normalization

This is a PyTorch implementation of the layer from the paper
[Instance Normalization: The Missing Ingredient for Fast Stylization](https://arxiv.org/abs/1607.08022).
(The official code, in Lua Torch, is at [github.com/DmitryUlyanov/texture_nets](https://github.com/DmitryUlyanov/texture_nets).)

A style-transfer network should not care about the contrast of the content image.
Instance normalization removes it: every channel of every image is normalized over its own
spatial positions only.
For $X \in \mathbb{R}^{B \times C \times L}$ (positions flattened into $L$),

\begin{align}
\mu_{b,k} &= \frac{1}{L} \sum_{l} X_{b,k,l} \qquad
\sigma^2_{b,k} = \frac{1}{L} \sum_{l} (X_{b,k,l} - \mu_{b,k})^2 \\
Y_{b,k,l} &= \gamma_k \frac{X_{b,k,l} - \mu_{b,k}}{\sqrt{\sigma^2_{b,k} + \epsilon}} + \beta_k
\end{align}

It is [group normalization](group_norm.html) with one channel per group ($G = C$); that page says
what it shares with the other layers and what normalizing each channel alone gives up.
"""

import torch
from torch import nn


class InstanceNorm(nn.Module):
    r"""
    ## Instance normalization layer

    * `channels` is the number of channels $C$
    * `eps` is $\epsilon$
    * `affine` learns a per-channel scale $\gamma$ and shift $\beta$
      (`torch.nn.InstanceNorm2d` has `affine=False` by default; we keep it on, as in the paper's
      style networks)
    """

    def __init__(self, channels: int, *, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        if channels < 1:
            raise ValueError(f"Invalid `channels` = {channels!r}: it must be a positive integer")
        self.channels = channels
        self.eps = eps
        self.affine = affine
        if self.affine:
            self.scale = nn.Parameter(torch.ones(channels))
            self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor):
        """
        `x` is `[batch_size, channels, *]` with at least one spatial dimension
        """
        x_shape = x.shape
        batch_size = x_shape[0]
        if x_shape[1] != self.channels:
            raise ValueError(f"InstanceNorm: the input has {x_shape[1]} channels (dimension 1), "
                             f"the layer was built for {self.channels}")
        # `[batch_size, channels, L]`
        x = x.view(batch_size, self.channels, -1)
        # $\mu_{b,k}$, `[batch_size, channels, 1]`
        mean = x.mean(dim=-1, keepdim=True)
        # $\sigma^2_{b,k}$, `[batch_size, channels, 1]`
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        # Normalize
        x_norm = (x - mean) / torch.sqrt(var + self.eps)
        # $\gamma_k \hat{X} + \beta_k$
        if self.affine:
            x_norm = self.scale.view(1, -1, 1) * x_norm + self.shift.view(1, -1, 1)
        return x_norm.view(x_shape)
