r"""
---
title: Fuzzy Tiling Activation
summary: >
  An annotated PyTorch implementation of the fuzzy tiling activation, which expands each value into a
  sparse vector of overlapping tiles that still passes gradients.
---

# Fuzzy Tiling Activation (FTA)

This is a PyTorch implementation of the activation from the paper
[Fuzzy Tiling Activations: A Simple Approach to Learning Sparse Representations Online](https://arxiv.org/abs/1911.08068).
(We found no official code released with the paper.)

In online reinforcement learning, a network that updates its value estimate for one state tends to
change it for unrelated states as well (*interference*), because dense features are shared by all
states.
Sparse features, where each input activates only a few units, interfere less.
Classic *tile coding* gives sparse features by cutting the range of a value into bins and
outputting a one-hot vector of the bin it falls into, but a one-hot output has zero gradient almost
everywhere, so nothing before it can learn.
FTA makes the bins *fuzzy*: near the border of a bin the output decays linearly instead of
jumping, and the gradient flows there.

## Definition

Choose a range $[l, u]$ and a bin width $\delta$, which give the $k = (u - l) / \delta$ tile
positions

$$\mathbf{c} = (l, l + \delta, l + 2 \delta, \dots, u - \delta)$$

For a scalar input $z$, hard tiling is one minus an indicator of "$z$ is outside bin $i$", with
$\mathbf{1}_+(x) = 1$ if $x > 0$ and $0$ otherwise:

$$\phi(z) = 1 - \mathbf{1}_+\big(\max(\mathbf{c} - z, 0) + \max(z - \delta - \mathbf{c}, 0)\big)$$

The argument is $0$ inside bin $i$, $[c_i, c_i + \delta]$, and grows with the distance from it.
FTA replaces the indicator with the fuzzy indicator

$$I_{\eta,+}(x) = \mathbf{1}_+(\eta - x) \, x + \mathbf{1}_+(x - \eta)$$

which is $x$ for $x \le \eta$ and $1$ beyond; so

$$\phi_\eta(z) = 1 - I_{\eta,+}\big(\max(\mathbf{c} - z, 0) + \max(z - \delta - \mathbf{c}, 0)\big)$$

is $1$ in the input's own bin, falls linearly to $0$ over a distance $\eta$ around it, and is $0$
elsewhere.
With $\eta = 0$ it is hard tiling; with $\eta = \delta$ each input activates about three tiles.
Each input value becomes a vector of $k$ values, so the layer multiplies the number of features
by $k$.
Inputs outside $[l, u]$ activate the nearest tiles only partially or not at all, so FTA is usually
applied after a bounded function (the paper uses a tanh) or with a range wide enough for the data.
"""

import torch
from torch import nn


class FTA(nn.Module):
    r"""
    ## Fuzzy tiling activation

    * `lower_limit` is $l$ and `upper_limit` is $u$
    * `delta` is the bin width $\delta$; $(u - l) / \delta$ must be a whole number $k$
    * `eta` is the fuzziness $\eta \ge 0$
    """

    def __init__(self, lower_limit: float, upper_limit: float, delta: float, eta: float):
        super().__init__()
        if not upper_limit > lower_limit:
            raise ValueError(f"Invalid `upper_limit` = {upper_limit!r}: it must be greater than "
                             f"`lower_limit` = {lower_limit!r}")
        if delta <= 0 or abs((upper_limit - lower_limit) / delta - round((upper_limit - lower_limit) / delta)) > 1e-6:
            raise ValueError(f"Invalid `delta` = {delta!r}: it must be positive and divide "
                             f"upper_limit - lower_limit = {upper_limit - lower_limit!r} into whole bins")
        if eta < 0:
            raise ValueError(f"Invalid `eta` = {eta!r}: it must be >= 0")
        # $k$
        self.n_tiles = round((upper_limit - lower_limit) / delta)
        # $\mathbf{c} = (l, l + \delta, \dots, u - \delta)$, `[k]`
        self.register_buffer('c', lower_limit + delta * torch.arange(self.n_tiles, dtype=torch.float32))
        self.delta = delta
        self.eta = eta

    def fuzzy_i_plus(self, x: torch.Tensor):
        r"""
        $I_{\eta,+}(x) = \mathbf{1}_+(\eta - x) \, x + \mathbf{1}_+(x - \eta)$
        """
        return (x <= self.eta) * x + (x > self.eta)

    def forward(self, z: torch.Tensor):
        """
        `z` is `[*, features]`; the output is `[*, features * k]`, the $k$ tiles of each feature
        side by side
        """
        # `[*, features, 1]`, to broadcast against the $k$ tiles
        z = z.unsqueeze(-1)
        # $\max(\mathbf{c} - z, 0) + \max(z - \delta - \mathbf{c}, 0)$, `[*, features, k]`
        distance = torch.clamp(self.c - z, min=0) + torch.clamp(z - self.delta - self.c, min=0)
        # $\phi_\eta(z) = 1 - I_{\eta,+}(\cdot)$
        phi = 1. - self.fuzzy_i_plus(distance)
        # `[*, features * k]`
        return phi.flatten(-2)
