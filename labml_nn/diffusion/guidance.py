r"""
---
title: Classifier-Free Diffusion Guidance
summary: >
  Train one diffusion model both with and without class labels, then push its samples towards a
  class by extrapolating from the unconditional noise prediction to the conditional one.
---

# Classifier-Free Diffusion Guidance

This is an implementation of
[Classifier-Free Diffusion Guidance](https://arxiv.org/abs/2207.12598) (Ho and Salimans, 2022;
no official code was released).

A class-conditional diffusion model $\epsilon_\theta(x_t, t, c)$ samples each class, but its samples
are often only loosely of that class.
*Guidance* trades diversity for samples that are more clearly of their class.
Earlier work used the gradient of a separately trained classifier on noisy images;
classifier-free guidance needs only the diffusion model itself:

* **Training.** With probability $p_{\text{uncond}}$ the label is replaced by a "no label" class
  $\varnothing$ (we use index `n_classes`), so the same network learns
  $\epsilon_\theta(x_t, t, c)$ and $\epsilon_\theta(x_t, t, \varnothing)$.
* **Sampling.** The noise prediction is pushed away from the unconditional one, past the
  conditional one, by a guidance weight $w$:

$$\tilde\epsilon_\theta(x_t, t, c) = (1 + w) \epsilon_\theta(x_t, t, c) - w \epsilon_\theta(x_t, t, \varnothing)$$

Since $\epsilon_\theta$ is proportional to minus the score, $-\sqrt{1 - \bar\alpha_t}\nabla_{x_t} \log p(x_t | c)$,
this samples from a sharpened $p(x_t | c) \, p(c | x_t)^w$ (approximately), as if an implicit
classifier $p(c | x_t) \propto p(x_t | c) / p(x_t)$ were guiding it.
$w = 0$ is the plain conditional model.

`GuidedEps` wraps a conditional noise predictor; it has the same signature, so it plugs into the
[DDPM](ddpm/index.html) and [DDIM](ddim.html) samplers unchanged.
"""

from typing import Optional

import torch
from torch import nn


def drop_labels(labels: torch.Tensor, p_uncond: float, null_class: int,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    r"""
    ## Label dropout for training

    Replace each label by `null_class` ($\varnothing$) with probability `p_uncond`.
    """
    if not 0. <= p_uncond <= 1.:
        raise ValueError(f"Invalid `p_uncond` = {p_uncond!r}: it must be a probability in [0, 1]")
    drop = torch.rand(labels.shape, generator=generator).to(labels.device) < p_uncond
    return torch.where(drop, torch.full_like(labels, null_class), labels)


class GuidedEps(nn.Module):
    r"""
    ## The guided noise prediction

    * `eps_model` is a conditional $\epsilon_\theta(x_t, t, c)$ trained with `drop_labels`
    * `guidance_scale` is $w$
    * `null_class` is the index of $\varnothing$
    """

    def __init__(self, eps_model: nn.Module, guidance_scale: float, null_class: int):
        super().__init__()
        self.eps_model = eps_model
        self.w = guidance_scale
        self.null_class = null_class

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: Optional[torch.Tensor] = None):
        if cond is None:
            raise ValueError("`GuidedEps` needs class labels `cond`")
        # Both predictions in one batch: `[2 * batch, ...]`
        eps = self.eps_model(torch.cat([x, x]), torch.cat([t, t]),
                             torch.cat([cond, torch.full_like(cond, self.null_class)]))
        eps_cond, eps_uncond = eps.chunk(2)
        # $(1 + w) \epsilon_\theta(x_t, t, c) - w \epsilon_\theta(x_t, t, \varnothing)$
        return (1. + self.w) * eps_cond - self.w * eps_uncond
