r"""
---
title: Group Normalization
summary: >
  An annotated PyTorch implementation of group normalization, which normalizes each example over groups
  of channels and works with any batch size.
---

# Group Normalization

This is a PyTorch implementation of the layer from the paper
[Group Normalization](https://arxiv.org/abs/1803.08494).
(The official code and models, in Caffe2, are in
[github.com/facebookresearch/Detectron](https://github.com/facebookresearch/Detectron), folder `projects/GN`.)

[Batch normalization](batch_norm.html) degrades with small batches, which is what detection and
segmentation models trained on large images can afford.
Group normalization, like [layer](layer_norm.html) and [instance](instance_norm.html)
normalization, takes its statistics from each example alone.
It splits the $C$ channels into $G$ groups of $C / G$ channels, and normalizes each group over its
channels and all spatial positions.
For $X \in \mathbb{R}^{B \times C \times L}$ and a group $g$ with the set of channels $\mathcal{S}_g$,

\begin{align}
\mu_{b,g} &= \frac{1}{(C / G) L} \sum_{k \in \mathcal{S}_g} \sum_{l} X_{b,k,l} \qquad
\sigma^2_{b,g} = \frac{1}{(C / G) L} \sum_{k \in \mathcal{S}_g} \sum_{l} (X_{b,k,l} - \mu_{b,g})^2 \\
Y_{b,k,l} &= \gamma_k \frac{X_{b,k,l} - \mu_{b,g}}{\sqrt{\sigma^2_{b,g} + \epsilon}} + \beta_k
\qquad k \in \mathcal{S}_g
\end{align}

The scale and shift stay per channel.
With $G = 1$ this is layer normalization over channels and positions (with per-channel affine
parameters), and with $G = C$ it is instance normalization.
Channels of a group are usually related (filters that respond to similar features), so normalizing
them together keeps their relative sizes, which instance normalization throws away.
"""

import torch
from torch import nn


class GroupNorm(nn.Module):
    r"""
    ## Group normalization layer

    * `groups` is the number of groups $G$
    * `channels` is the number of channels $C$, a multiple of $G$
    * `eps` is $\epsilon$
    * `affine` learns a per-channel scale $\gamma$ and shift $\beta$
    """

    def __init__(self, groups: int, channels: int, *, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        if groups < 1 or channels < 1 or channels % groups != 0:
            raise ValueError(f"Invalid `groups` = {groups!r}: the number of channels ({channels}) "
                             f"must be a positive multiple of the number of groups")
        self.groups = groups
        self.channels = channels
        self.eps = eps
        self.affine = affine
        if self.affine:
            self.scale = nn.Parameter(torch.ones(channels))
            self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor):
        """
        `x` is `[batch_size, channels, *]`
        """
        x_shape = x.shape
        batch_size = x_shape[0]
        if x_shape[1] != self.channels:
            raise ValueError(f"GroupNorm: the input has {x_shape[1]} channels (dimension 1), "
                             f"the layer was built for {self.channels}")
        # `[batch_size, groups, (C / G) * L]`: a group's channels and positions side by side
        x = x.reshape(batch_size, self.groups, -1)
        # $\mu_{b,g}$, `[batch_size, groups, 1]`
        mean = x.mean(dim=-1, keepdim=True)
        # $\sigma^2_{b,g}$, `[batch_size, groups, 1]`
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        # Normalize
        x_norm = (x - mean) / torch.sqrt(var + self.eps)
        # Back to `[batch_size, channels, L]` for the per-channel $\gamma_k$ and $\beta_k$
        x_norm = x_norm.view(batch_size, self.channels, -1)
        if self.affine:
            x_norm = self.scale.view(1, -1, 1) * x_norm + self.shift.view(1, -1, 1)
        return x_norm.view(x_shape)
