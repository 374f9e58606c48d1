r"""
---
title: Deep Convolutional GAN (DCGAN)
summary: >
  The DCGAN architecture: a generator of transposed convolutions and a discriminator of strided
  convolutions, with batch normalization, ReLU and leaky ReLU, sized for 8x8 digits.
---

# Deep Convolutional GAN (DCGAN)

This is an implementation of the networks of
[Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks](https://arxiv.org/abs/1511.06434)
(Radford, Metz and Chintala, 2015; official code: [Newmu/dcgan_code](https://github.com/Newmu/dcgan_code), in Theano).

The losses are those of the [original GAN](original.html); the paper's contribution is a set of
architecture rules under which convolutional GANs train stably:

* no pooling: the discriminator down-samples with strided convolutions and the generator
  up-samples with transposed (fractionally strided) convolutions;
* batch normalization in both networks, except at the generator's output and the discriminator's input;
* no fully connected hidden layers (here only the projection of $z$ and the last score);
* ReLU in the generator with $\tanh$ at its output (so images are scaled to $[-1, 1]$),
  leaky ReLU (slope 0.2) in the discriminator;
* Adam with learning rate $2 \cdot 10^{-4}$ and $\beta_1 = 0.5$.

Our digits are $8 \times 8$, so the generator starts from $2 \times 2$ and doubles twice.
Shapes in the comments are `[batch, channels, height, width]`.
"""

import torch
from torch import nn


class Generator(nn.Module):
    """
    * `d_z` is the dimension of the noise $z$
    * `n_channels` is the width of the last hidden layer (the first has four times as many)
    * `image_channels` is the number of channels of the images
    """

    def __init__(self, d_z: int = 32, n_channels: int = 32, image_channels: int = 1):
        super().__init__()
        self.d_z = d_z
        c = n_channels
        # $z$ to `[batch, 4c, 2, 2]`
        self.project = nn.Sequential(nn.Linear(d_z, 4 * c * 2 * 2, bias=False), nn.Unflatten(1, (4 * c, 2, 2)),
                                     nn.BatchNorm2d(4 * c), nn.ReLU())
        self.net = nn.Sequential(
            # `[batch, 2c, 4, 4]`
            nn.ConvTranspose2d(4 * c, 2 * c, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(),
            # `[batch, c, 8, 8]`
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            # `[batch, image_channels, 8, 8]` in $[-1, 1]$
            nn.Conv2d(c, image_channels, 3, padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor):
        # `z` is `[batch, d_z]`
        return self.net(self.project(z))


class Discriminator(nn.Module):
    """
    * `n_channels` is the width of the first layer
    * `batch_norm` adds batch normalization to the hidden layers (DCGAN); turn it off for
      [WGAN-GP](wasserstein.html), whose penalty is per sample
    * `image_channels` is the number of channels of the images
    """

    def __init__(self, n_channels: int = 32, batch_norm: bool = True, image_channels: int = 1):
        super().__init__()
        c = n_channels
        self.net = nn.Sequential(
            # `[batch, c, 4, 4]`, no normalization on the input layer
            nn.Conv2d(image_channels, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            # `[batch, 2c, 2, 2]`
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(2 * c) if batch_norm else nn.Identity(), nn.LeakyReLU(0.2),
            # One logit per image: `[batch]`
            nn.Flatten(), nn.Linear(2 * c * 2 * 2, 1))

    def forward(self, x: torch.Tensor):
        # `x` is `[batch, image_channels, 8, 8]`
        return self.net(x).squeeze(-1)
