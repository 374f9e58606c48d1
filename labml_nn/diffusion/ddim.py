r"""
---
title: Denoising Diffusion Implicit Models (DDIM)
summary: >
  An annotated PyTorch implementation of the DDIM sampler, which takes a model trained with the
  DDPM loss and samples it in a few steps, deterministically when eta is zero.
---

# Denoising Diffusion Implicit Models (DDIM)

This is a PyTorch implementation of the sampler of
[Denoising Diffusion Implicit Models](https://arxiv.org/abs/2010.02502) (Song, Meng and Ermon, 2020;
official code: [ermongroup/ddim](https://github.com/ermongroup/ddim)).

The [DDPM](ddpm/index.html) loss only involves the marginals $q(x_t | x_0)$, never the steps
$q(x_t | x_{t-1})$ of the forward chain.
So any other process with the same marginals gives the same training objective, and a network
trained with DDPM can sample from all of them.
DDIM picks a family of such processes, indexed by the noise $\sigma_t$ of the reverse step, and
in which one can jump between any two steps $s < t$, not only from $t$ to $t - 1$.

## The update

From $x_t$, the network's noise $\epsilon_\theta(x_t, t)$ gives a prediction of the clean sample,

$$\hat{x}_0 = \frac{x_t - \sqrt{1 - \bar\alpha_t} \epsilon_\theta(x_t, t)}{\sqrt{\bar\alpha_t}}$$

and the step to an earlier step $s$ re-noises it to the level of $s$, with a part $\sigma_t$ of the
noise fresh and the rest pointing along $\epsilon_\theta$:

$$x_s = \sqrt{\bar\alpha_s} \hat{x}_0 + \sqrt{1 - \bar\alpha_s - \sigma_t^2} \epsilon_\theta(x_t, t) + \sigma_t z
\qquad
\sigma_t = \eta \sqrt{\frac{1 - \bar\alpha_s}{1 - \bar\alpha_t}} \sqrt{1 - \frac{\bar\alpha_t}{\bar\alpha_s}}$$

* With $\eta = 1$ and $s = t - 1$, $\sigma_t^2 = \tilde\beta_t$ and the step is the DDPM step with the
  posterior variance (the tests check this).
* With $\eta = 0$ there is no fresh noise: sampling is a deterministic map from $x_T$ to $x_0$, the
  same $x_T$ always gives the same sample, and neighbouring $x_T$ give similar samples.

We take $S$ steps $\tau_S > \dots > \tau_1$ evenly spaced over $1, \dots, T$; with $S = 50$ the
samples of a model trained with $T = 1000$ are close to those of the full chain, twenty times faster.
"""

from typing import Optional

import torch

from labml_nn.diffusion.ddpm import DDPM, gather


def ddim_timesteps(n_steps: int, n_sample_steps: int) -> torch.Tensor:
    r"""
    ## The sub-sequence $\tau$

    `n_sample_steps` indices evenly spaced in $0, \dots, T - 1$, always including $0$ (the last
    step, to $x_0$), in increasing order.
    """
    if isinstance(n_sample_steps, bool) or not isinstance(n_sample_steps, int) or not 1 <= n_sample_steps <= n_steps:
        raise ValueError(f"Invalid `n_sample_steps` = {n_sample_steps!r}: it must be an integer "
                         f"from 1 to the model's `n_steps` = {n_steps}")
    return torch.linspace(0, n_steps - 1, n_sample_steps).round().long()


class DDIMSampler:
    r"""
    ## DDIM sampler

    * `diffusion` is a trained [`DDPM`](ddpm/index.html) (its noise predictor and schedule)
    * `n_sample_steps` is $S$
    * `eta` is $\eta$: 0 for deterministic sampling, 1 for the DDPM-like amount of noise
    """

    def __init__(self, diffusion: DDPM, n_sample_steps: int = 50, eta: float = 0.):
        if not isinstance(eta, (int, float)) or isinstance(eta, bool) or eta < 0:
            raise ValueError(f"Invalid `eta` = {eta!r}: it must be a number >= 0")
        self.diffusion = diffusion
        self.eta = float(eta)
        self.timesteps = ddim_timesteps(diffusion.n_steps, n_sample_steps)

    def step(self, xt: torch.Tensor, t: int, s: int, cond: Optional[torch.Tensor] = None,
             z: Optional[torch.Tensor] = None) -> torch.Tensor:
        r"""
        ### One step from $x_t$ to $x_s$

        `t` and `s` are step indices with `s < t`; `s = -1` means $x_0$ ($\bar\alpha_s = 1$).
        """
        d = self.diffusion
        t_batch = torch.full((xt.shape[0],), t, dtype=torch.long, device=xt.device)
        # $\bar\alpha_t$ and $\bar\alpha_s$
        alpha_bar = gather(d.alpha_bar, t_batch, xt)
        alpha_bar_s = (gather(d.alpha_bar, torch.full_like(t_batch, s), xt) if s >= 0
                       else torch.ones_like(alpha_bar))
        # $\epsilon_\theta(x_t, t)$
        eps_theta = d.eps_model(xt, t_batch, cond)
        # $\hat{x}_0$
        x0 = (xt - (1. - alpha_bar).sqrt() * eps_theta) / alpha_bar.sqrt()
        # $\sigma_t$
        sigma = self.eta * ((1. - alpha_bar_s) / (1. - alpha_bar) * (1. - alpha_bar / alpha_bar_s)).sqrt()
        # The direction pointing to $x_t$, $\sqrt{1 - \bar\alpha_s - \sigma_t^2} \epsilon_\theta$
        # (clamped at zero against rounding when $\eta > 1$ makes it negative)
        direction = (1. - alpha_bar_s - sigma ** 2).clamp(min=0.).sqrt() * eps_theta
        x = alpha_bar_s.sqrt() * x0 + direction
        if self.eta > 0:
            if z is None:
                z = torch.randn_like(xt)
            x = x + sigma * z
        return x

    @torch.no_grad()
    def sample(self, shape, cond: Optional[torch.Tensor] = None, generator: Optional[torch.Generator] = None,
               device=None, x_T: Optional[torch.Tensor] = None, trajectory: bool = False):
        r"""
        ### Sampling

        From $x_T$ (drawn from `generator`, or given as `x_T`) through $\tau_S, \dots, \tau_1$ to $x_0$.
        """
        device, dtype = self.diffusion.device_dtype(device)
        x = (torch.randn(shape, generator=generator) if x_T is None else x_T).to(device, dtype)
        xs = [x]
        steps = self.timesteps.tolist()
        # Pairs $(\tau_i, \tau_{i-1})$ from the last, ending with $(\tau_1, -1)$
        for t, s in zip(reversed(steps), reversed([-1] + steps[:-1])):
            z = torch.randn(x.shape, generator=generator).to(device, dtype) if self.eta > 0 else None
            x = self.step(x, t, s, cond, z)
            if trajectory:
                xs.append(x)
        return (x, xs) if trajectory else x
