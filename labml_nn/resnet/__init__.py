r"""
---
title: Deep Residual Learning (ResNet)
summary: >
  An annotated PyTorch implementation of residual networks: the residual block, the bottleneck block,
  projection shortcuts, and a ResNet built from them.
---

# Deep Residual Learning (ResNet)

This is a PyTorch implementation of the network from the paper
[Deep Residual Learning for Image Recognition](https://arxiv.org/abs/1512.03385).
(The authors' models are at [github.com/KaimingHe/deep-residual-networks](https://github.com/KaimingHe/deep-residual-networks).)

Stacking more layers should never make a network worse: the extra layers could learn the identity.
In practice, plain deep networks reach a *higher training error* than shallower ones: the
optimizer does not find that solution.
A residual block makes the identity the default.
Its layers learn a residual $\mathcal{F}(x)$ that is *added* to the input:

$$y = \operatorname{ReLU}\big(\mathcal{F}(x) + x\big)$$

If the best thing is to do nothing, the block only has to drive $\mathcal{F}$ to zero, which is
easy, and the gradient of the loss reaches earlier layers through the $+x$ path without passing
through the block's weights.

## Shortcuts that change shape

When a block halves the resolution (stride 2) or changes the number of channels, $x$ and
$\mathcal{F}(x)$ no longer have the same shape.
The shortcut is then a projection $W_s x$: a $1 \times 1$ convolution with the same stride,
followed by batch normalization,

$$y = \operatorname{ReLU}\big(\mathcal{F}(x) + W_s x\big)$$

## Bottleneck blocks

For the deeper networks (50 layers and more) the paper's block is a *bottleneck*: a $1 \times 1$
convolution reduces the channels (say from 256 to 64), a $3 \times 3$ convolution works on the
reduced width, and another $1 \times 1$ convolution restores them.
It costs about as much as a basic block of two $3 \times 3$ convolutions on 64 channels while
keeping a 256-channel residual stream.

Every convolution is followed by [batch normalization](../normalization/batch_norm.html).
A common refinement (used by the test below, and in many training recipes) starts the last
batch normalization of each block with $\gamma = 0$: every block is then the identity at
initialization, and the network starts as a shallow one.
"""

from typing import List, Optional

import torch
from torch import nn


class ShortcutProjection(nn.Module):
    r"""
    ## Projection shortcut $W_s x$

    * `in_channels` and `out_channels` are the channels of $x$ and of $\mathcal{F}(x)$
    * `stride` is the stride of the block's first convolution
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, in_channels, height, width]`"""
        return self.bn(self.conv(x))


def shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """The identity when shapes agree, otherwise a projection"""
    if stride != 1 or in_channels != out_channels:
        return ShortcutProjection(in_channels, out_channels, stride)
    return nn.Identity()


class ResidualBlock(nn.Module):
    r"""
    ## Residual block

    $\mathcal{F}$ is two $3 \times 3$ convolutions with batch normalization and a ReLU between them.

    * `in_channels` is the number of input channels
    * `out_channels` is the number of output channels
    * `stride` is the stride of the first convolution (2 halves the resolution)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut(in_channels, out_channels, stride)
        self.act2 = nn.ReLU()

    def residual(self, x: torch.Tensor):
        r"""$\mathcal{F}(x)$"""
        return self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, in_channels, height, width]`"""
        # $\operatorname{ReLU}(\mathcal{F}(x) + x)$ or $\operatorname{ReLU}(\mathcal{F}(x) + W_s x)$
        return self.act2(self.residual(x) + self.shortcut(x))


class BottleneckResidualBlock(nn.Module):
    r"""
    ## Bottleneck residual block

    $\mathcal{F}$ is a $1 \times 1$ convolution down to `bottleneck_channels`, a $3 \times 3$
    convolution (with the stride), and a $1 \times 1$ convolution up to `out_channels`.

    * `in_channels`, `bottleneck_channels`, `out_channels` are the channel counts
    * `stride` is the stride of the $3 \times 3$ convolution
    """

    def __init__(self, in_channels: int, bottleneck_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, bottleneck_channels, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(bottleneck_channels)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(bottleneck_channels, bottleneck_channels, kernel_size=3, stride=stride,
                               padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(bottleneck_channels)
        self.act2 = nn.ReLU()
        self.conv3 = nn.Conv2d(bottleneck_channels, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut(in_channels, out_channels, stride)
        self.act3 = nn.ReLU()

    def residual(self, x: torch.Tensor):
        r"""$\mathcal{F}(x)$"""
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        return self.bn3(self.conv3(x))

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, in_channels, height, width]`"""
        return self.act3(self.residual(x) + self.shortcut(x))


class ResNetBase(nn.Module):
    r"""
    ## ResNet

    A first convolution, then stages of residual blocks; the first block of every stage after the
    first halves the resolution.
    Returns the features averaged over the positions, `[batch_size, n_channels[-1]]`; add a
    linear layer for a classifier.

    * `n_blocks` is the number of blocks in each stage
    * `n_channels` is the number of output channels of each stage
    * `bottlenecks` is the bottleneck width of each stage, or `None` for basic blocks
    * `img_channels` is the number of channels of the image
    * `first_kernel_size` is the kernel size of the first convolution
    * `zero_init_residual` starts the last batch normalization of every block with $\gamma = 0$
    """

    def __init__(self, n_blocks: List[int], n_channels: List[int], bottlenecks: Optional[List[int]] = None,
                 img_channels: int = 3, first_kernel_size: int = 7, zero_init_residual: bool = False):
        super().__init__()
        if len(n_blocks) != len(n_channels) or (bottlenecks is not None and len(bottlenecks) != len(n_channels)):
            raise ValueError(f"Invalid `n_blocks` = {n_blocks!r}, `n_channels` = {n_channels!r}, "
                             f"`bottlenecks` = {bottlenecks!r}: one entry per stage in each")
        self.conv = nn.Conv2d(img_channels, n_channels[0], kernel_size=first_kernel_size,
                              padding=first_kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(n_channels[0])
        self.act = nn.ReLU()
        blocks: List[nn.Module] = []
        prev = n_channels[0]
        for stage, (n, channels) in enumerate(zip(n_blocks, n_channels)):
            for b in range(n):
                # Halve the resolution at the start of every stage but the first
                stride = 2 if stage > 0 and b == 0 else 1
                if bottlenecks is None:
                    blocks.append(ResidualBlock(prev, channels, stride))
                else:
                    blocks.append(BottleneckResidualBlock(prev, bottlenecks[stage], channels, stride))
                prev = channels
        self.blocks = nn.Sequential(*blocks)
        if zero_init_residual:
            for block in blocks:
                nn.init.zeros_(block.bn3.weight if bottlenecks is not None else block.bn2.weight)

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, img_channels, height, width]`"""
        x = self.act(self.bn(self.conv(x)))
        # `[batch_size, n_channels[-1], height', width']`
        x = self.blocks(x)
        # Global average pooling, `[batch_size, n_channels[-1]]`
        return x.mean(dim=[2, 3])
