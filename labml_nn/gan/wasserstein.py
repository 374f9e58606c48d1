r"""
---
title: Wasserstein GAN, with weight clipping and with a gradient penalty
summary: >
  The Wasserstein GAN's critic and generator losses, the Lipschitz constraint enforced by clipping
  the critic's weights (WGAN) or by penalising its gradient norm (WGAN-GP).
---

# Wasserstein GAN

This page implements
[Wasserstein GAN](https://arxiv.org/abs/1701.07875) (Arjovsky, Chintala and Bottou, 2017;
official code: [martinarjovsky/WassersteinGAN](https://github.com/martinarjovsky/WassersteinGAN)) and
[Improved Training of Wasserstein GANs](https://arxiv.org/abs/1704.00028) (Gulrajani et al., 2017;
official code: [igul222/improved_wgan_training](https://github.com/igul222/improved_wgan_training)).

When the data and the generator's samples lie on thin, non-overlapping sets, as images do, the
Jensen-Shannon divergence of the [original GAN](original.html) is constant ($\log 2$) and gives the
generator no direction.
The *earth mover's* (Wasserstein-1) distance, the least total distance that mass has to move to turn
one distribution into the other, still shrinks smoothly as the two approach.
By the Kantorovich-Rubinstein duality,

$$W(p_{\text{data}}, p_g) = \sup_{\lVert f \rVert_L \le 1} \; \mathbb{E}_{x \sim p_{\text{data}}}\big[f(x)\big]
 - \mathbb{E}_{\tilde{x} \sim p_g}\big[f(\tilde{x})\big]$$

the supremum over 1-Lipschitz functions $f$.
A network $f$, the *critic*, is trained to reach this supremum; its output is a score, not a
probability, so there is no sigmoid.
The generator then minimises $-\mathbb{E}[f(G(z))]$.
The critic is trained more often than the generator (`n_critic` steps, 5 in both papers), so that it
stays close to its optimum.

The hard part is keeping $f$ Lipschitz.

## Weight clipping (WGAN)

After every critic update, clamp each weight into $[-c, c]$ ($c = 0.01$ in the paper).
A network with bounded weights is $K$-Lipschitz for some $K$, which only scales the distance.
The paper calls it "a clearly terrible way" to enforce the constraint: too small a $c$ makes gradients
vanish and too large a $c$ makes the critic slow to train; it recommends RMSProp with a small learning rate.

## Gradient penalty (WGAN-GP)

The optimal critic has gradient norm 1 almost everywhere on lines between data and generated
points, so WGAN-GP penalises the deviation of the gradient norm from 1 at random points
$\hat{x} = \epsilon x + (1 - \epsilon) \tilde{x}$ on those lines, $\epsilon \sim U[0, 1]$:

$$L = \mathbb{E}\big[f(\tilde{x})\big] - \mathbb{E}\big[f(x)\big]
 + \lambda \, \mathbb{E}_{\hat{x}}\Big[\big(\lVert \nabla_{\hat{x}} f(\hat{x}) \rVert_2 - 1\big)^2\Big]$$

with $\lambda = 10$ and Adam ($\beta_1 = 0$ or $0.5$, $\beta_2 = 0.9$) for images; on 2-D toys the
official code uses $\lambda = 0.1$, and [the experiment](experiment.html) shows why that matters.
The penalty is per sample, so the critic must not use batch normalization.
"""

from typing import Optional

import torch
from torch import nn


def critic_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    r"""
    ### Critic loss

    $\mathbb{E}\big[f(\tilde{x})\big] - \mathbb{E}\big[f(x)\big]$, minus the estimate of $W$
    """
    return scores_fake.mean() - scores_real.mean()


def generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    r"""
    ### Generator loss

    $-\mathbb{E}\big[f(G(z))\big]$
    """
    return -scores_fake.mean()


@torch.no_grad()
def clip_weights(critic: nn.Module, clip: float):
    r"""
    ### Weight clipping

    Clamp every parameter of the critic into $[-c, c]$, in place
    """
    if not clip > 0:
        raise ValueError(f"Invalid `clip` = {clip!r}: it must be positive")
    for p in critic.parameters():
        p.clamp_(-clip, clip)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     epsilon: Optional[torch.Tensor] = None) -> torch.Tensor:
    r"""
    ### Gradient penalty

    $\mathbb{E}_{\hat{x}}\Big[\big(\lVert \nabla_{\hat{x}} f(\hat{x}) \rVert_2 - 1\big)^2\Big]$ (without $\lambda$)

    * `real` and `fake` are `[batch, ...]`
    * `epsilon` is `[batch]` values in $[0, 1]$, drawn uniformly unless given
    """
    batch_size = real.shape[0]
    if epsilon is None:
        epsilon = torch.rand(batch_size, device=real.device, dtype=real.dtype)
    # $\epsilon$ broadcast over the sample's dimensions, `[batch, 1, ...]`
    epsilon = epsilon.view(-1, *([1] * (real.dim() - 1)))
    # $\hat{x} = \epsilon x + (1 - \epsilon) \tilde{x}$; the fake samples are treated as constants
    x_hat = (epsilon * real + (1. - epsilon) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    # $\nabla_{\hat{x}} f(\hat{x})$ for each sample; `create_graph` so that the penalty itself can be
    # differentiated with respect to the critic's parameters
    grad, = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    # $\lVert \nabla_{\hat{x}} f(\hat{x}) \rVert_2$ per sample, `[batch]`
    grad_norm = grad.reshape(batch_size, -1).norm(2, dim=1)
    return ((grad_norm - 1.) ** 2).mean()


def critic_step(critic: nn.Module, optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                clip: Optional[float] = None, gp_lambda: float = 0.) -> torch.Tensor:
    r"""
    ### One critic update

    The loss, plus $\lambda$ times the gradient penalty if `gp_lambda` $= \lambda > 0$, one optimizer
    step, then the weight clipping if `clip` $= c$ is given. Returns the loss without the penalty
    (minus the estimate of $W$).
    """
    optimizer.zero_grad(set_to_none=True)
    fake = fake.detach()
    loss = critic_loss(critic(real), critic(fake))
    total = loss + gp_lambda * gradient_penalty(critic, real, fake) if gp_lambda > 0 else loss
    total.backward()
    optimizer.step()
    if clip is not None:
        clip_weights(critic, clip)
    return loss.detach()
