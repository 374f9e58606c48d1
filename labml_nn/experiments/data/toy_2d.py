r"""
---
title: Two-dimensional toy distributions
summary: >
  Two moons, a Swiss roll and a ring of Gaussians: 2-D point clouds for
  generative models, sampled in pure PyTorch from a generator you pass.
---

# Two-dimensional toy distributions

A generative model of images is hard to judge by eye while it trains; a model of
points in the plane is easy: draw its samples over the data and look. These
three distributions each test something different:

* **Two moons**: two interleaved half circles. The model must put mass on two
  curved, separate pieces and none in between.
* **Swiss roll**: a spiral. One long, thin, curved piece whose arms lie close
  together, so blurring them together is visible at once.
* **Ring of Gaussians**: eight small Gaussian blobs evenly spaced on a circle.
  Separate modes: a model that drops some (mode collapse, the classic failure of
  GANs) shows gaps in the ring.

`sample_toy(name, n, generator)` returns `[n, 2]` float32 points, scaled to lie
roughly within $[-3, 3]^2$ and centred near the origin, so the same model and
learning rate work for all three. Every random number comes from `generator`,
so a seed fixes the data.
"""

import math
from typing import Callable, Dict

import torch

from labml_nn.experiments.errors import ExperimentError


def moons(n: int, generator: torch.Generator, noise: float = 0.1) -> torch.Tensor:
    r"""
    ### Two moons

    The upper moon is $(\cos t, \sin t)$ and the lower one $(1 - \cos t, \frac{1}{2} - \sin t)$
    for $t$ uniform in $[0, \pi]$, each point with Gaussian noise of standard deviation
    `noise`; then shifted to the origin and scaled by 1.5.
    """
    t = torch.rand(n, generator=generator) * math.pi
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    points = torch.stack([x, y], dim=1) + noise * torch.randn(n, 2, generator=generator)
    return (points - torch.tensor([0.5, 0.25])) * 1.5


def swiss_roll(n: int, generator: torch.Generator, noise: float = 0.05) -> torch.Tensor:
    r"""
    ### Swiss roll

    $(t \cos t, t \sin t) / 5$ for $t$ uniform in $[\frac{3}{2}\pi, \frac{9}{2}\pi]$ (two turns),
    plus Gaussian noise of standard deviation `noise`.
    """
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))
    points = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 5
    return points + noise * torch.randn(n, 2, generator=generator)


def ring(n: int, generator: torch.Generator, modes: int = 8, radius: float = 2.0, std: float = 0.1) -> torch.Tensor:
    r"""
    ### A ring of Gaussians

    Pick one of `modes` centres $r (\cos \frac{2\pi k}{K}, \sin \frac{2\pi k}{K})$ uniformly,
    add Gaussian noise of standard deviation `std`.
    """
    k = torch.randint(0, modes, (n,), generator=generator)
    angle = 2 * math.pi * k.float() / modes
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return centres + std * torch.randn(n, 2, generator=generator)


def ring_log_prob(x: torch.Tensor, modes: int = 8, radius: float = 2.0, std: float = 0.1) -> torch.Tensor:
    r"""
    ### The ring's exact log-density

    $\log p(x) = \log \frac{1}{K} \sum_k \mathcal{N}(x; \mu_k, \sigma^2 I)$, for `x` of shape
    `[n, 2]`; useful to score a model's samples or to train a model on the density.
    """
    angle = 2 * math.pi * torch.arange(modes, dtype=x.dtype, device=x.device) / modes
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    sq = ((x.unsqueeze(1) - centres) ** 2).sum(-1)
    log_n = -sq / (2 * std ** 2) - math.log(2 * math.pi * std ** 2)
    return torch.logsumexp(log_n, dim=1) - math.log(modes)


# The distributions by name
TOYS: Dict[str, Callable[[int, torch.Generator], torch.Tensor]] = {
    'moons': moons, 'swiss_roll': swiss_roll, 'ring': ring}


def sample_toy(name: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """
    ## `n` points of the distribution `name`, shape `[n, 2]`
    """
    if name not in TOYS:
        raise ExperimentError(f"unknown toy distribution {name!r}; use one of {', '.join(TOYS)}")
    if n < 0:
        raise ExperimentError(f"the number of points must not be negative, got {n}")
    return TOYS[name](n, generator).float()
