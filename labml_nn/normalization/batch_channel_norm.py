r"""
---
title: Batch-Channel Normalization
summary: >
  An annotated PyTorch implementation of batch-channel normalization: a batch normalization with
  estimated statistics followed by a channel (group) normalization, for training with micro-batches.
---

# Batch-Channel Normalization

This is a PyTorch implementation of batch-channel normalization (BCN) from the paper
[Micro-Batch Training with Batch-Channel Normalization and Weight Standardization](https://arxiv.org/abs/1903.10520),
whose later version is titled
[Rethinking Normalization and Elimination Singularity in Neural Networks](https://arxiv.org/abs/1911.09738).
(The official code is at [github.com/joe-siyuan-qiao/Batch-Channel-Normalization](https://github.com/joe-siyuan-qiao/Batch-Channel-Normalization).)

[Group normalization](group_norm.html) works with one image per GPU, but it only looks at one
example at a time, so a channel can end up almost never active across the data set (the paper calls
such channels close to an *elimination singularity*) without anything noticing.
Batch normalization looks at the whole batch and keeps every channel's mean and variance in check,
but needs large batches.
BCN applies both, one after the other:

* a batch normalization, which centres and scales each channel with statistics of the batch;
* then a *channel normalization*, a [group normalization](group_norm.html) of the result.

## Estimated statistics for micro-batches

With one or two examples per batch the batch statistics are too noisy to normalize with.
In the micro-batch setting the first step normalizes with the running averages
$\hat{\mu}$, $\hat{\sigma}^2$ instead, even while training.
They are updated with the batch's mean $\mu_{\mathcal{B}}$ and variance $\sigma^2_{\mathcal{B}}$ at
every training step (no gradient flows through them), and then used:

\begin{align}
\hat{\mu} &\leftarrow (1 - r) \hat{\mu} + r \mu_{\mathcal{B}} \qquad
\hat{\sigma}^2 \leftarrow (1 - r) \hat{\sigma}^2 + r \sigma^2_{\mathcal{B}} \\
\dot{X}_{b,k,l} &= \gamma_k \frac{X_{b,k,l} - \hat{\mu}_k}{\sqrt{\hat{\sigma}^2_k + \epsilon}} + \beta_k \\
Y &= \operatorname{GN}(\dot{X})
\end{align}

Because the running averages move slowly, the statistics that a micro-batch sees are those of the
many batches before it; the per-example group normalization then keeps the forward pass well scaled.
In the large-batch setting (`estimate=False`) the first step is a plain
[batch normalization](batch_norm.html).

(The official code measures $\sigma^2_{\mathcal{B}}$ around the old $\hat{\mu}$ and gives the
channel normalization one gain and bias per group; we use the batch's own mean and a gain and bias
per channel, as in group normalization.)
BCN is designed to be used with [weight standardization](weight_standardization.html) on the
convolutions.
"""

import torch
from torch import nn

from labml_nn.normalization.batch_norm import BatchNorm
from labml_nn.normalization.group_norm import GroupNorm


class EstimatedBatchNorm(nn.Module):
    r"""
    ## Batch normalization with estimated statistics

    * `channels` is the number of channels $C$
    * `eps` is $\epsilon$
    * `momentum` is $r$, the weight of the new batch in the estimates
    * `affine` learns the per-channel $\gamma$ and $\beta$
    """

    def __init__(self, channels: int, *, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        super().__init__()
        if channels < 1:
            raise ValueError(f"Invalid `channels` = {channels!r}: it must be a positive integer")
        if not 0. <= momentum <= 1.:
            raise ValueError(f"Invalid `momentum` = {momentum!r}: it must be in [0, 1]")
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        if self.affine:
            self.scale = nn.Parameter(torch.ones(channels))
            self.shift = nn.Parameter(torch.zeros(channels))
        # $\hat{\mu}$ and $\hat{\sigma}^2$
        self.register_buffer('exp_mean', torch.zeros(channels))
        self.register_buffer('exp_var', torch.ones(channels))

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, channels, *]`"""
        x_shape = x.shape
        batch_size = x_shape[0]
        # `[batch_size, channels, L]`
        x = x.view(batch_size, self.channels, -1)
        # Update the estimates with the batch's statistics, without gradients
        if self.training:
            with torch.no_grad():
                # $\mu_{\mathcal{B}}$, `[channels]`
                mean = x.mean(dim=[0, 2])
                # $\sigma^2_{\mathcal{B}}$, `[channels]`
                var = ((x - mean.view(1, -1, 1)) ** 2).mean(dim=[0, 2])
                self.exp_mean.lerp_(mean, self.momentum)
                self.exp_var.lerp_(var, self.momentum)
        # Normalize with the estimates $\hat{\mu}$ and $\hat{\sigma}^2$
        x_norm = (x - self.exp_mean.view(1, -1, 1)) / torch.sqrt(self.exp_var + self.eps).view(1, -1, 1)
        if self.affine:
            x_norm = self.scale.view(1, -1, 1) * x_norm + self.shift.view(1, -1, 1)
        return x_norm.view(x_shape)


class BatchChannelNorm(nn.Module):
    r"""
    ## Batch-channel normalization

    * `channels` is the number of channels $C$
    * `groups` is the number of groups $G$ of the channel normalization
    * `eps` is $\epsilon$ of both steps
    * `momentum` is the momentum of the batch statistics' running averages
    * `estimate` uses the estimated statistics (micro-batches) instead of a plain batch normalization
    """

    def __init__(self, channels: int, groups: int, *, eps: float = 1e-5, momentum: float = 0.1,
                 estimate: bool = True):
        super().__init__()
        if estimate:
            self.batch_norm = EstimatedBatchNorm(channels, eps=eps, momentum=momentum)
        else:
            self.batch_norm = BatchNorm(channels, eps=eps, momentum=momentum)
        self.channel_norm = GroupNorm(groups, channels, eps=eps)

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, channels, *]`"""
        return self.channel_norm(self.batch_norm(x))
