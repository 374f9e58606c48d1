r"""
---
title: A noise predictor for 2-D points
summary: >
  A small residual MLP that predicts the noise in a batch of 2-D points, conditioned on the
  diffusion step through the U-Net's time embedding.
---

# A noise predictor for 2-D points

On toy distributions in the plane (two moons, a Swiss roll, a ring of Gaussians) the data are
`[batch, 2]` points, and a U-Net has nothing to convolve.
This MLP plays the role of $\epsilon_\theta(x_t, t)$ in [DDPM](index.html): the point goes through
a few residual layers, and the [time embedding](../../unet/index.html) of $t$ (and optionally a class
embedding) is added to the hidden state before each of them.
The GAN and VAE experiments on the same toys use plain MLPs of a similar size.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.unet import TimeEmbedding


class MLPDenoiser(nn.Module):
    """
    * `d_data` is the dimension of a point (2)
    * `d_hidden` is the width of the hidden layers
    * `n_layers` is the number of residual layers
    * `n_classes` is the number of classes for a conditional model (0 for none); index `n_classes`
      means "no label"
    """

    def __init__(self, d_data: int = 2, d_hidden: int = 128, n_layers: int = 3, n_classes: int = 0):
        super().__init__()
        self.n_classes = n_classes
        self.time_emb = TimeEmbedding(d_hidden, 32)
        self.class_emb = nn.Embedding(n_classes + 1, d_hidden) if n_classes > 0 else None
        self.inp = nn.Linear(d_data, d_hidden)
        self.layers = nn.ModuleList([nn.Linear(d_hidden, d_hidden) for _ in range(n_layers)])
        self.out = nn.Linear(d_hidden, d_data)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: Optional[torch.Tensor] = None):
        # `x` is `[batch, d_data]`; the embedding is `[batch, d_hidden]`
        emb = self.time_emb(t)
        if self.class_emb is not None:
            emb = emb + self.class_emb(torch.full_like(t, self.n_classes) if cond is None else cond)
        # `[batch, d_hidden]`
        h = self.inp(x)
        for layer in self.layers:
            h = h + layer(F.silu(h + emb))
        # `[batch, d_data]`
        return self.out(F.silu(h))
