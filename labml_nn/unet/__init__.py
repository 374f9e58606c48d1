r"""
---
title: A small U-Net for diffusion models
summary: >
  An annotated U-Net that predicts the noise in an image: sinusoidal time embeddings, residual
  blocks that add the time (and class) embedding, self-attention at low resolution, and skip
  connections between the two halves.
---

# A small U-Net for diffusion models

The U-Net ([U-Net: Convolutional Networks for Biomedical Image Segmentation](https://arxiv.org/abs/1505.04597))
is an encoder and a decoder with *skip connections*: the encoder halves the resolution a few
times, the decoder doubles it back, and each decoder level also receives the encoder's feature
map of the same size.
Coarse levels see the whole image, the skips carry the fine detail, and the output has the shape
of the input, which is what a noise predictor $\epsilon_\theta(x_t, t)$ needs.
(The official code, in Caffe, is on the authors'
[university page](https://lmb.informatik.uni-freiburg.de/people/ronneber/u-net/); DDPM's U-Net, in
TensorFlow, is `diffusion_tf/models/unet.py` of [github.com/hojonathanho/diffusion](https://github.com/hojonathanho/diffusion).)

[DDPM](../diffusion/ddpm/index.html) adds three things, which we keep:

* a *time embedding*: the step $t$ as sinusoids, through a small MLP, added inside every residual block,
  because the same network must denoise barely noisy and almost pure-noise inputs;
* *residual blocks* with group normalization (wide-ResNet style) instead of plain convolutions;
* *self-attention* at the low resolutions, so that distant pixels can exchange information.

For classifier-free guidance we also add an optional *class embedding* to the time embedding,
with one extra class, the "no label" class, index `n_classes`.

The sizes here suit 8x8 digits: two levels (8x8 and 4x4), 32 and 64 channels, attention at 4x4.
Shapes in the comments are `[batch, channels, height, width]`.
"""

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    r"""
    ## Sinusoidal embedding of the step

    As the positional encoding of the transformer: for $i < \frac{d}{2}$,

    $$PE_{t, i} = \sin\Big(\frac{t}{10000^{\frac{2i}{d}}}\Big) \qquad
    PE_{t, \frac{d}{2} + i} = \cos\Big(\frac{t}{10000^{\frac{2i}{d}}}\Big)$$

    * `t` is `[batch]` step indices, `dim` is $d$ (even); returns `[batch, dim]`
    """
    half = dim // 2
    freq = torch.exp(-math.log(10000.) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freq[None, :]
    return torch.cat([args.sin(), args.cos()], dim=1)


class TimeEmbedding(nn.Module):
    """
    ## Time embedding

    The sinusoids of `t` through a two-layer MLP, `[batch]` to `[batch, d_emb]`.
    The diffusion [MLP for 2-D points](../diffusion/ddpm/mlp.html) uses it too.
    """

    def __init__(self, d_emb: int, d_sin: Optional[int] = None):
        super().__init__()
        self.d_sin = d_sin or d_emb
        self.mlp = nn.Sequential(nn.Linear(self.d_sin, d_emb), nn.SiLU(), nn.Linear(d_emb, d_emb))

    def forward(self, t: torch.Tensor):
        return self.mlp(sinusoidal_embedding(t, self.d_sin).to(self.mlp[0].weight.dtype))


class ResidualBlock(nn.Module):
    r"""
    ## Residual block

    Two $3 \times 3$ convolutions, each after group normalization and SiLU; the embedding (time and
    class) is projected to the channels and added between them, so every block knows the noise level.
    A $1 \times 1$ convolution matches the channels of the shortcut when they change.
    """

    def __init__(self, in_channels: int, out_channels: int, d_emb: int, n_groups: int = 8, dropout: float = 0.):
        super().__init__()
        self.norm1 = nn.GroupNorm(n_groups, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb = nn.Linear(d_emb, out_channels)
        self.norm2 = nn.GroupNorm(n_groups, out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor):
        # `x` is `[batch, in_channels, height, width]`, `emb` is `[batch, d_emb]`
        h = self.conv1(F.silu(self.norm1(x)))
        # Add the embedding to every pixel: `[batch, out_channels, 1, 1]`
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return h + self.shortcut(x)


class AttentionBlock(nn.Module):
    r"""
    ## Self-attention over the pixels

    Each of the $h w$ positions is a token of `n_channels` features; one head of scaled dot-product
    attention, $\text{softmax}\big(\frac{Q K^\top}{\sqrt{C}}\big) V$, then a residual connection.
    """

    def __init__(self, n_channels: int, n_groups: int = 8):
        super().__init__()
        self.norm = nn.GroupNorm(n_groups, n_channels)
        self.qkv = nn.Conv2d(n_channels, 3 * n_channels, 1)
        self.out = nn.Conv2d(n_channels, n_channels, 1)

    def forward(self, x: torch.Tensor, emb: Optional[torch.Tensor] = None):
        batch, c, height, width = x.shape
        # $Q, K, V$, each `[batch, height * width, channels]`
        q, k, v = self.qkv(self.norm(x)).reshape(batch, 3, c, height * width).transpose(2, 3).unbind(1)
        # Attention weights `[batch, height * width, height * width]`
        attn = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        # `[batch, channels, height, width]`
        h = (attn @ v).transpose(1, 2).reshape(batch, c, height, width)
        return x + self.out(h)


class Downsample(nn.Module):
    """Halve the resolution with a stride-2 convolution"""

    def __init__(self, n_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(n_channels, n_channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, emb: Optional[torch.Tensor] = None):
        return self.conv(x)


class Upsample(nn.Module):
    """Double the resolution: nearest-neighbour, then a convolution"""

    def __init__(self, n_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(n_channels, n_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, emb: Optional[torch.Tensor] = None):
        return self.conv(F.interpolate(x, scale_factor=2, mode='nearest'))


class Level(nn.Module):
    """A residual block, followed by attention if `attention` is set"""

    def __init__(self, in_channels: int, out_channels: int, d_emb: int, attention: bool, dropout: float):
        super().__init__()
        self.res = ResidualBlock(in_channels, out_channels, d_emb, dropout=dropout)
        self.attn = AttentionBlock(out_channels) if attention else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor):
        return self.attn(self.res(x, emb))


class UNet(nn.Module):
    """
    ## U-Net

    * `image_channels` is the number of channels of the image (1 for digits)
    * `n_channels` is the width of the first level
    * `ch_mults` multiplies it at each level; the resolution halves between levels
    * `attention` says, per level, whether its blocks have self-attention
    * `n_blocks` is the number of residual blocks per level on the way down (one more on the way up)
    * `n_classes` is the number of classes for a conditional model, or 0 for an unconditional one
    * `dropout` is the dropout rate inside the residual blocks
    """

    def __init__(self, image_channels: int = 1, n_channels: int = 32, ch_mults: Sequence[int] = (1, 2),
                 attention: Sequence[bool] = (False, True), n_blocks: int = 1, n_classes: int = 0,
                 dropout: float = 0.):
        super().__init__()
        if len(ch_mults) != len(attention):
            raise ValueError(f"Invalid `attention` = {attention!r}: it needs one entry per level "
                             f"(`ch_mults` has {len(ch_mults)})")
        if n_channels % 8 != 0:
            raise ValueError(f"Invalid `n_channels` = {n_channels!r}: it must be a multiple of 8 (group norm)")
        d_emb = 4 * n_channels
        self.n_classes = n_classes
        self.time_emb = TimeEmbedding(d_emb, n_channels)
        # One extra embedding: index `n_classes` is "no label"
        self.class_emb = nn.Embedding(n_classes + 1, d_emb) if n_classes > 0 else None
        self.conv_in = nn.Conv2d(image_channels, n_channels, 3, padding=1)

        # The way down; `skips` records the channels of every feature map we keep for the way up
        self.down = nn.ModuleList()
        channels = n_channels
        skips = [channels]
        for i, (mult, attn) in enumerate(zip(ch_mults, attention)):
            out = n_channels * mult
            for _ in range(n_blocks):
                self.down.append(Level(channels, out, d_emb, attn, dropout))
                channels = out
                skips.append(channels)
            if i < len(ch_mults) - 1:
                self.down.append(Downsample(channels))
                skips.append(channels)

        # The bottom: residual, attention, residual
        self.mid = nn.ModuleList([ResidualBlock(channels, channels, d_emb, dropout=dropout),
                                  AttentionBlock(channels),
                                  ResidualBlock(channels, channels, d_emb, dropout=dropout)])

        # The way up: each block takes the concatenation with one kept feature map
        self.up = nn.ModuleList()
        for i, (mult, attn) in reversed(list(enumerate(zip(ch_mults, attention)))):
            out = n_channels * mult
            for _ in range(n_blocks + 1):
                self.up.append(Level(channels + skips.pop(), out, d_emb, attn, dropout))
                channels = out
            if i > 0:
                self.up.append(Upsample(channels))

        self.norm_out = nn.GroupNorm(8, channels)
        self.conv_out = nn.Conv2d(channels, image_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: Optional[torch.Tensor] = None):
        r"""
        * `x` is `[batch, image_channels, height, width]`, height and width divisible by
          $2^{\text{levels} - 1}$
        * `t` is `[batch]` step indices
        * `cond` is `[batch]` class labels (`n_classes` for "no label"), or `None`
        """
        # `[batch, d_emb]`
        emb = self.time_emb(t)
        if self.class_emb is not None:
            if cond is None:
                cond = torch.full_like(t, self.n_classes)
            emb = emb + self.class_emb(cond)
        elif cond is not None:
            raise ValueError("`cond` was given to a U-Net built with `n_classes` = 0")

        # `[batch, n_channels, height, width]`
        h = self.conv_in(x)
        hs = [h]
        for m in self.down:
            h = m(h, emb)
            hs.append(h)
        for m in self.mid:
            h = m(h, emb)
        for m in self.up:
            if isinstance(m, Upsample):
                h = m(h)
            else:
                h = m(torch.cat([h, hs.pop()], dim=1), emb)
        # `[batch, image_channels, height, width]`
        return self.conv_out(F.silu(self.norm_out(h)))
