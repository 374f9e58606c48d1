r"""
---
title: Weight Standardization
summary: >
  An annotated PyTorch implementation of weight standardization: each output channel's weights of a
  convolution are given zero mean and unit variance before they are used.
---

# Weight Standardization

This is a PyTorch implementation of weight standardization from the paper
[Micro-Batch Training with Batch-Channel Normalization and Weight Standardization](https://arxiv.org/abs/1903.10520).
(The official code is at [github.com/joe-siyuan-qiao/WeightStandardization](https://github.com/joe-siyuan-qiao/WeightStandardization).)

The normalization layers of this chapter normalize *activations*.
Weight standardization normalizes the *weights* instead: before a convolution is applied, the
weights of each output channel $i$ (all its $I = C_{\text{in}} \cdot k_h \cdot k_w$ input weights)
are shifted to mean zero and scaled to variance one,

\begin{align}
\mu_{W_{i,\cdot}} &= \frac{1}{I} \sum_{j=1}^{I} W_{i,j} \qquad
\sigma^2_{W_{i,\cdot}} = \frac{1}{I} \sum_{j=1}^{I} (W_{i,j} - \mu_{W_{i,\cdot}})^2 \\
\hat{W}_{i,j} &= \frac{W_{i,j} - \mu_{W_{i,\cdot}}}{\sqrt{\sigma^2_{W_{i,\cdot}} + \epsilon}}
\end{align}

and the convolution uses $\hat{W}$; the gradient flows back through the standardization to $W$.

The paper's argument is about the loss landscape: the standardized weights make the loss and its
gradients smoother (smaller Lipschitz constants), which is what batch normalization was found to do,
but without any dependence on the batch.
Weight standardization is meant to be paired with an activation normalization that works with tiny
batches, [group normalization](group_norm.html) or
[batch-channel normalization](batch_channel_norm.html).
"""

import torch
from torch import nn
import torch.nn.functional as F


def weight_standardization(weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""
    ## Standardize weights

    `weight` is `[out_channels, in_channels, *kernel_size]` (the first dimension is the output
    channel $i$; any other dimensions are flattened into the $I$ inputs).
    """
    # `[out_channels, I]`
    w = weight.reshape(weight.shape[0], -1)
    # $\mu_{W_{i,\cdot}}$, `[out_channels, 1]`
    mean = w.mean(dim=1, keepdim=True)
    # $\sigma^2_{W_{i,\cdot}}$, the biased variance, `[out_channels, 1]`
    var = ((w - mean) ** 2).mean(dim=1, keepdim=True)
    # $\hat{W}$
    w = (w - mean) / torch.sqrt(var + eps)
    return w.view(weight.shape)


class Conv2d(nn.Conv2d):
    r"""
    ## 2D convolution with weight standardization

    The arguments are those of `torch.nn.Conv2d`, plus `eps`, the $\epsilon$ of the standardization.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, *, eps: float = 1e-5, **kwargs):
        super().__init__(in_channels, out_channels, kernel_size, **kwargs)
        self.eps = eps

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, in_channels, height, width]`"""
        return F.conv2d(x, weight_standardization(self.weight, self.eps), self.bias,
                        self.stride, self.padding, self.dilation, self.groups)
