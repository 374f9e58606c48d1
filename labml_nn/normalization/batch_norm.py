r"""
---
title: Batch Normalization
summary: >
  An annotated PyTorch implementation of batch normalization: normalizing each channel with the
  statistics of the mini-batch while training and with running averages at inference.
---

# Batch Normalization

This is a PyTorch implementation of the layer from the paper
[Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift](https://arxiv.org/abs/1502.03167).
(No official code was released with the paper; the tests compare ours with PyTorch's `nn.BatchNorm1d` and
`nn.BatchNorm2d`.)

The input of a layer keeps changing during training, because the layers before it keep changing.
Batch normalization fixes the first two moments of every channel: it subtracts the channel's mean
over the mini-batch and divides by its standard deviation, and then lets the network choose a
scale $\gamma$ and a shift $\beta$ of its own.
For an input $X \in \mathbb{R}^{B \times C \times L}$ (batch, channels, and any spatial positions
flattened into $L$), each channel $k$ is normalized over the $B \cdot L$ values it has in the batch:

\begin{align}
\mathbb{E}[x^{(k)}] &= \frac{1}{B L} \sum_{b, l} X_{b,k,l} \qquad
\operatorname{Var}[x^{(k)}] = \frac{1}{B L} \sum_{b, l} \big(X_{b,k,l} - \mathbb{E}[x^{(k)}]\big)^2 \\
\hat{X}_{b,k,l} &= \frac{X_{b,k,l} - \mathbb{E}[x^{(k)}]}{\sqrt{\operatorname{Var}[x^{(k)}] + \epsilon}} \\
Y_{b,k,l} &= \gamma_k \hat{X}_{b,k,l} + \beta_k
\end{align}

The gradient flows through $\mathbb{E}$ and $\operatorname{Var}$ too: the examples of a batch are
no longer independent, and the loss of one depends on the others.

## Training and inference

At inference there may be a single example, and its output should not depend on whichever batch it
came with.
So during training we also keep exponential moving averages of the mean and of the variance,

\begin{align}
\mu_{\text{run}} &\leftarrow (1 - m) \mu_{\text{run}} + m \, \mathbb{E}[x^{(k)}] \\
\sigma^2_{\text{run}} &\leftarrow (1 - m) \sigma^2_{\text{run}} + m \, \frac{B L}{B L - 1} \operatorname{Var}[x^{(k)}]
\end{align}

with momentum $m$, and in evaluation mode (`model.eval()`) we normalize with $\mu_{\text{run}}$ and
$\sigma^2_{\text{run}}$ instead of the batch's statistics.
The batch variance used to *normalize* is the biased one (divided by $B L$); the variance stored
in the running average is the unbiased estimate (divided by $B L - 1$), as in `torch.nn.BatchNorm2d`.

Batch statistics need large enough batches; with a few examples per batch they are noisy and the
train/eval gap grows.
[Layer](layer_norm.html), [instance](instance_norm.html) and [group](group_norm.html)
normalization avoid the batch dimension altogether.
"""

import torch
from torch import nn


class BatchNorm(nn.Module):
    r"""
    ## Batch normalization layer

    * `channels` is the number of channels $C$
    * `eps` is $\epsilon$, added to the variance for numerical stability
    * `momentum` is $m$, the weight of the new batch in the running averages
    * `affine` learns the scale $\gamma$ and shift $\beta$
    * `track_running_stats` keeps $\mu_{\text{run}}$ and $\sigma^2_{\text{run}}$; without them the
      batch's statistics are used in evaluation mode too
    """

    def __init__(self, channels: int, *, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        if channels < 1:
            raise ValueError(f"Invalid `channels` = {channels!r}: it must be a positive integer")
        if not 0. <= momentum <= 1.:
            raise ValueError(f"Invalid `momentum` = {momentum!r}: it must be in [0, 1]")
        if eps < 0:
            raise ValueError(f"Invalid `eps` = {eps!r}: it must be >= 0")
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        # $\gamma$ starts at one and $\beta$ at zero, so the layer starts as a plain normalization
        if self.affine:
            self.scale = nn.Parameter(torch.ones(channels))
            self.shift = nn.Parameter(torch.zeros(channels))
        # Running averages are buffers: saved in the state dict, not trained
        if self.track_running_stats:
            self.register_buffer('exp_mean', torch.zeros(channels))
            self.register_buffer('exp_var', torch.ones(channels))

    def forward(self, x: torch.Tensor):
        """
        `x` is `[batch_size, channels, *]`, where `*` is any number (even zero) of spatial dimensions
        """
        x_shape = x.shape
        batch_size = x_shape[0]
        if x_shape[1] != self.channels:
            raise ValueError(f"BatchNorm: the input has {x_shape[1]} channels (dimension 1), "
                             f"the layer was built for {self.channels}")
        # Flatten the spatial positions, `[batch_size, channels, L]`
        x = x.view(batch_size, self.channels, -1)

        # Use the batch's statistics while training, or when there are no running averages
        if self.training or not self.track_running_stats:
            # $\mathbb{E}[x^{(k)}]$ over the batch and the positions, `[channels]`
            mean = x.mean(dim=[0, 2])
            # $\operatorname{Var}[x^{(k)}]$, biased (divided by $B L$), `[channels]`
            var = ((x - mean.view(1, -1, 1)) ** 2).mean(dim=[0, 2])
            # Update the running averages, outside the graph
            if self.training and self.track_running_stats:
                # $B L$, the number of values of a channel
                n = x.shape[0] * x.shape[2]
                if n < 2:
                    raise ValueError(f"BatchNorm: training needs more than one value per channel, got input "
                                     f"of shape {list(x_shape)}; use a larger batch or GroupNorm")
                with torch.no_grad():
                    self.exp_mean.lerp_(mean, self.momentum)
                    # the unbiased variance $\frac{B L}{B L - 1} \operatorname{Var}[x^{(k)}]$
                    self.exp_var.lerp_(var * n / (n - 1), self.momentum)
        else:
            # $\mu_{\text{run}}$ and $\sigma^2_{\text{run}}$
            mean, var = self.exp_mean, self.exp_var

        # $\hat{X} = \frac{X - \mathbb{E}[x^{(k)}]}{\sqrt{\operatorname{Var}[x^{(k)}] + \epsilon}}$
        x_norm = (x - mean.view(1, -1, 1)) / torch.sqrt(var + self.eps).view(1, -1, 1)
        # $Y = \gamma \hat{X} + \beta$
        if self.affine:
            x_norm = self.scale.view(1, -1, 1) * x_norm + self.shift.view(1, -1, 1)

        # Back to the input's shape
        return x_norm.view(x_shape)
