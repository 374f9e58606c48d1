r"""
---
title: Variational Auto-Encoder (VAE)
summary: >
  An annotated PyTorch implementation of the variational auto-encoder: the evidence lower bound,
  the reparameterisation trick, the closed-form KL term, and a digits model with a 2-D latent space.
---

# Variational Auto-Encoder (VAE)

This is a PyTorch implementation of
[Auto-Encoding Variational Bayes](https://arxiv.org/abs/1312.6114) (Kingma and Welling, 2013).
(The authors released no official code with the paper; PyTorch's own example, folder `vae` of
[github.com/pytorch/examples](https://github.com/pytorch/examples), is a common reference.)

A VAE is a latent-variable model: draw a code $z \sim p(z) = \mathcal{N}(\mathbf{0}, \mathbf{I})$,
then the data from a *decoder* $p_\theta(x | z)$, a distribution whose parameters a network
computes from $z$.
Sampling is two lines; learning is hard because $\log p_\theta(x) = \log \int p_\theta(x | z) p(z) dz$
is an integral over all codes.

## The evidence lower bound

An *encoder* $q_\phi(z | x) = \mathcal{N}\big(\mu_\phi(x), \text{diag}(\sigma_\phi^2(x))\big)$ guesses
which codes could have produced $x$.
For any such $q_\phi$,

$$\log p_\theta(x) \ge \mathcal{L}(\theta, \phi; x) =
\underbrace{\mathbb{E}_{q_\phi(z | x)}\big[\log p_\theta(x | z)\big]}_{\text{reconstruction}}
- \underbrace{D_{KL}\big(q_\phi(z | x) \,\Vert\, p(z)\big)}_{\text{keeps codes near the prior}}$$

and the gap is $D_{KL}\big(q_\phi(z | x) \Vert p_\theta(z | x)\big)$, so raising the bound both fits the
data and makes the encoder a better posterior.
We train both networks by gradient ascent on $\mathcal{L}$ (descent on $-\mathcal{L}$), averaged over
the data.

## The reparameterisation trick

The reconstruction term is an expectation over $z \sim q_\phi$, whose distribution depends on $\phi$;
a sample of $z$ has no gradient with respect to $\phi$.
Writing the sample as a deterministic function of $\phi$ and independent noise,

$$z = \mu_\phi(x) + \sigma_\phi(x) \odot \epsilon, \qquad \epsilon \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$$

moves the randomness out of the way: one sample of $\epsilon$ gives an unbiased estimate of the
term whose gradient flows through $\mu_\phi$ and $\sigma_\phi$.

## The KL term in closed form

Between a diagonal Gaussian and the standard normal, in $d$ dimensions,

$$D_{KL}\big(\mathcal{N}(\mu, \text{diag}(\sigma^2)) \,\Vert\, \mathcal{N}(\mathbf{0}, \mathbf{I})\big)
= \frac{1}{2} \sum_{j=1}^{d} \big(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\big)$$

so only the reconstruction term needs sampling.

## Decoders

* For digits (pixel values in $[0, 1]$) the decoder gives one logit per pixel and
  $\log p_\theta(x | z)$ is the (continuous) Bernoulli log-likelihood, minus the binary cross-entropy.
* For points in the plane it gives a mean and a log-variance per coordinate of a Gaussian.

With a 2-D latent space ($d = 2$) we can draw the whole space: the experiment plots where the
encoder puts each digit class and decodes a grid of codes.
"""

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    r"""
    ### $D_{KL}\big(\mathcal{N}(\mu, \text{diag}(\sigma^2)) \Vert \mathcal{N}(\mathbf{0}, \mathbf{I})\big)$

    `mu` and `log_var` ($\log \sigma^2$) are `[batch, d]`; returns `[batch]`
    """
    return 0.5 * (mu ** 2 + log_var.exp() - 1. - log_var).sum(dim=-1)


def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, eps: Optional[torch.Tensor] = None) -> torch.Tensor:
    r"""
    ### $z = \mu + \sigma \odot \epsilon$
    """
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + (0.5 * log_var).exp() * eps


def mlp(d_in: int, d_hidden: int, d_out: int, n_layers: int) -> nn.Sequential:
    """`n_layers` hidden layers of width `d_hidden` with SiLU activations"""
    layers = []
    for i in range(n_layers):
        layers += [nn.Linear(d_in if i == 0 else d_hidden, d_hidden), nn.SiLU()]
    layers.append(nn.Linear(d_hidden, d_out))
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """
    ## The model

    * `d_data` is the dimension of a data point (64 for flattened 8x8 digits, 2 for points)
    * `d_latent` is the dimension $d$ of $z$
    * `d_hidden`, `n_layers` are the width and depth of the encoder and decoder MLPs
    * `likelihood` is `'bernoulli'` (data in $[0, 1]$) or `'gaussian'`
    """

    def __init__(self, d_data: int, d_latent: int = 2, d_hidden: int = 256, n_layers: int = 2,
                 likelihood: str = 'bernoulli'):
        super().__init__()
        if likelihood not in ('bernoulli', 'gaussian'):
            raise ValueError(f"Invalid `likelihood` = {likelihood!r}: it must be 'bernoulli' or 'gaussian'")
        self.d_latent = d_latent
        self.likelihood = likelihood
        # The encoder outputs $\mu_\phi(x)$ and $\log \sigma_\phi^2(x)$
        self.encoder = mlp(d_data, d_hidden, 2 * d_latent, n_layers)
        # The decoder outputs logits, or a mean and a log-variance
        self.decoder = mlp(d_latent, d_hidden, d_data * (1 if likelihood == 'bernoulli' else 2), n_layers)

    def encode(self, x: torch.Tensor):
        r"""`x` is `[batch, d_data]`; returns $\mu$ and $\log \sigma^2$, each `[batch, d_latent]`"""
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        return mu, log_var

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r"""
        ### $\log p_\theta(x | z)$, `[batch]`
        """
        out = self.decoder(z)
        if self.likelihood == 'bernoulli':
            # $\sum_i x_i \log p_i + (1 - x_i) \log(1 - p_i)$ with $p_i = \text{sigmoid}(\text{logit}_i)$
            return -F.binary_cross_entropy_with_logits(out, x, reduction='none').sum(dim=-1)
        mean, log_var = out.chunk(2, dim=-1)
        # $\sum_i \log \mathcal{N}(x_i; \text{mean}_i, \sigma_i^2)$
        return -0.5 * ((x - mean) ** 2 / log_var.exp() + log_var + math.log(2 * math.pi)).sum(dim=-1)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        r"""
        ### $-\mathcal{L}$, averaged over the batch

        One sample of $z$ per data point.
        """
        mu, log_var = self.encode(x)
        z = reparameterize(mu, log_var)
        elbo = self.log_likelihood(x, z) - gaussian_kl(mu, log_var)
        return -elbo.mean()

    @torch.no_grad()
    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        r"""The mean of $p_\theta(x | z)$: pixel probabilities, or the Gaussian's mean"""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.likelihood == 'bernoulli' else out.chunk(2, dim=-1)[0]

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None, mean: bool = True) -> torch.Tensor:
        r"""
        `[n, d_data]` samples: $z \sim p(z)$, then the decoder's mean (`mean=True`, the usual way
        to show images) or a draw from $p_\theta(x | z)$
        """
        device = next(self.parameters()).device
        z = torch.randn(n, self.d_latent, generator=generator).to(device)
        if mean or self.likelihood == 'bernoulli':
            return self.decode_mean(z)
        m, log_var = self.decoder(z).chunk(2, dim=-1)
        return m + (0.5 * log_var).exp() * torch.randn(m.shape, generator=generator).to(device)
