r"""
---
title: Energy distance between two sets of samples
summary: >
  The energy distance, a two-sample statistic that is zero exactly when two distributions are the
  same, which we use to score generative models on 2-D toy data.
---

# Energy distance between two sets of samples

To say whether a generative model learnt a 2-D toy distribution we compare its samples $Y$ with
samples $X$ of the data.
The likelihood is not available for a GAN, and a picture is not a number, so we use the
[energy distance](https://en.wikipedia.org/wiki/Energy_distance) (Székely and Rizzo; their own
implementation is the R package [energy](https://github.com/mariarizzo/energy), functions `edist` and
`eqdist.etest`):

$$D^2(X, Y) = 2 \mathbb{E}\lVert X - Y \rVert - \mathbb{E}\lVert X - X' \rVert - \mathbb{E}\lVert Y - Y' \rVert$$

where $X, X'$ are independent draws of one distribution and $Y, Y'$ of the other.
It is non-negative, and zero only when the two distributions are equal; unlike the distance to
the nearest neighbour, it also penalises a model that puts all its samples on a few data points.

With $n$ and $m$ samples we estimate the expectations by averages over all pairs (the
"V-statistic", which keeps the pairs of a point with itself at distance zero): a few thousand
points in the plane take a few milliseconds.
"""

import torch


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""
    $D^2$ between the samples `x` (`[n, d]`) and `y` (`[m, d]`), a scalar tensor
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"Invalid shapes {tuple(x.shape)} and {tuple(y.shape)}: "
                         f"`x` and `y` must be [n, d] and [m, d]")
    x, y = x.double(), y.double()
    # $\mathbb{E}\lVert X - Y \rVert$, $\mathbb{E}\lVert X - X' \rVert$ and $\mathbb{E}\lVert Y - Y' \rVert$
    xy = torch.cdist(x, y).mean()
    xx = torch.cdist(x, x).mean()
    yy = torch.cdist(y, y).mean()
    return 2 * xy - xx - yy
