r"""
---
title: Generative Adversarial Networks (the original GAN)
summary: >
  The minimax game between a generator and a discriminator, the optimal discriminator, and the
  non-saturating generator loss, with small MLP networks for 2-D data.
---

# Generative Adversarial Networks

This is an implementation of the losses of
[Generative Adversarial Networks](https://arxiv.org/abs/1406.2661) (Goodfellow et al., 2014;
official code: [goodfeli/adversarial](https://github.com/goodfeli/adversarial), in Theano/pylearn2).

The generator $G$ turns noise $z \sim p(z)$ into samples; the discriminator $D(x) \in (0, 1)$ is the
probability it gives to $x$ being real.
They play

$$\min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_{\text{data}}}\big[\log D(x)\big]
 + \mathbb{E}_{z \sim p(z)}\big[\log\big(1 - D(G(z))\big)\big]$$

For a fixed $G$ with sample density $p_g$ the best discriminator is
$D^*(x) = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) + p_g(x)}$, and with it
$V(D^*, G) = 2 \, \text{JSD}(p_{\text{data}} \Vert p_g) - \log 4$: the generator minimises the
Jensen-Shannon divergence, which is smallest exactly when $p_g = p_{\text{data}}$.

## The losses

The discriminator maximises $V$, which is a binary cross-entropy with label 1 for real data and 0
for generated samples.
We let it output a *logit* $\ell(x)$, with $D(x) = \text{sigmoid}(\ell(x))$, and use
`binary_cross_entropy_with_logits`, which is accurate where $D$ is close to 0 or 1.

Early in training the discriminator easily rejects the generator's samples; then
$\log(1 - D(G(z)))$ is flat and gives the generator almost no gradient.
The paper therefore trains $G$ to maximise $\log D(G(z))$ instead, the *non-saturating* loss: it has
the same fixed point but strong gradients exactly when the generator is losing.
"""

import torch
import torch.nn.functional as F
from torch import nn


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    r"""
    ### Discriminator loss

    $-\frac{1}{m}\sum_i \Big[\log D(x^{(i)}) + \log\big(1 - D(G(z^{(i)}))\big)\Big]$; the logits are `[batch]` or `[batch, 1]`
    """
    return (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
            + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))


def generator_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    r"""
    ### Non-saturating generator loss

    $-\frac{1}{m}\sum_i \log D(G(z^{(i)}))$
    """
    return F.binary_cross_entropy_with_logits(logits_fake, torch.ones_like(logits_fake))


class MLPGenerator(nn.Module):
    """
    ### Generator for 2-D points

    `[batch, d_z]` noise to `[batch, d_data]` points
    """

    def __init__(self, d_z: int = 2, d_hidden: int = 128, d_data: int = 2, n_layers: int = 3):
        super().__init__()
        self.d_z = d_z
        layers = []
        for i in range(n_layers):
            layers += [nn.Linear(d_z if i == 0 else d_hidden, d_hidden), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(d_hidden, d_data))

    def forward(self, z: torch.Tensor):
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """
    ### Discriminator (or critic) for 2-D points

    `[batch, d_data]` points to `[batch]` logits (for a critic, scores)
    """

    def __init__(self, d_data: int = 2, d_hidden: int = 128, n_layers: int = 3):
        super().__init__()
        layers = []
        for i in range(n_layers):
            layers += [nn.Linear(d_data if i == 0 else d_hidden, d_hidden), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Linear(d_hidden, 1))

    def forward(self, x: torch.Tensor):
        return self.net(x).squeeze(-1)
