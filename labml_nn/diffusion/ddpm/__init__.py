r"""
---
title: Denoising Diffusion Probabilistic Models (DDPM)
summary: >
  An annotated PyTorch implementation of DDPM: the forward noising process in closed form,
  the posterior of one reverse step, the simplified loss and the sampler.
---

# Denoising Diffusion Probabilistic Models (DDPM)

This is a PyTorch implementation of
[Denoising Diffusion Probabilistic Models](https://arxiv.org/abs/2006.11239) (Ho, Jain and Abbeel, 2020;
official code: [hojonathanho/diffusion](https://github.com/hojonathanho/diffusion), in TensorFlow).

A diffusion model learns to undo a fixed process that destroys data.
The *forward process* adds a little Gaussian noise at each of $T$ steps until nothing of the data is left;
a network learns the *reverse process*, one small denoising step at a time, and sampling runs it
from pure noise back to data.

## Forward process

With a variance schedule $\beta_1, \dots, \beta_T$ (small numbers, increasing),

$$q(x_t | x_{t-1}) = \mathcal{N}\big(x_t; \sqrt{1 - \beta_t} x_{t-1}, \beta_t \mathbf{I}\big)$$

Scaling by $\sqrt{1 - \beta_t}$ keeps the variance of the data near one.
A sum of independent Gaussian steps is Gaussian, so we can jump from $x_0$ to any $x_t$ at once.
With $\alpha_t = 1 - \beta_t$ and $\bar\alpha_t = \prod_{s=1}^t \alpha_s$,

$$q(x_t | x_0) = \mathcal{N}\big(x_t; \sqrt{\bar\alpha_t} x_0, (1 - \bar\alpha_t) \mathbf{I}\big)
\qquad \text{that is} \qquad x_t = \sqrt{\bar\alpha_t} x_0 + \sqrt{1 - \bar\alpha_t} \epsilon,
\quad \epsilon \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$$

## Reverse process

Given $x_0$, the step back from $x_t$ is Gaussian too (Bayes' rule on two Gaussians):

\begin{align}
q(x_{t-1} | x_t, x_0) &= \mathcal{N}\big(x_{t-1}; \tilde\mu_t(x_t, x_0), \tilde\beta_t \mathbf{I}\big) \\
\tilde\mu_t(x_t, x_0) &= \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1 - \bar\alpha_t} x_0
 + \frac{\sqrt{\alpha_t}(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t} x_t \\
\tilde\beta_t &= \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t} \beta_t
\end{align}

We do not know $x_0$ when sampling, so a network $\epsilon_\theta(x_t, t)$ predicts the noise $\epsilon$
that was added, and we put $x_0 = \frac{1}{\sqrt{\bar\alpha_t}}\big(x_t - \sqrt{1 - \bar\alpha_t}\epsilon_\theta\big)$
into $\tilde\mu_t$, which simplifies to

$$\mu_\theta(x_t, t) = \frac{1}{\sqrt{\alpha_t}} \Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}} \epsilon_\theta(x_t, t)\Big)
\qquad p_\theta(x_{t-1} | x_t) = \mathcal{N}\big(x_{t-1}; \mu_\theta(x_t, t), \sigma_t^2 \mathbf{I}\big)$$

The paper fixes $\sigma_t^2$ to $\beta_t$ or to $\tilde\beta_t$ and reports similar samples with both.

## The simplified loss

The evidence lower bound of this model is a sum of KL divergences between Gaussians, one per step,
each a weighted squared error between $\epsilon$ and $\epsilon_\theta$.
The paper drops the weights and trains on

$$L_{\text{simple}}(\theta) = \mathbb{E}_{t, x_0, \epsilon} \Big[ \big\lVert \epsilon -
 \epsilon_\theta\big(\sqrt{\bar\alpha_t} x_0 + \sqrt{1 - \bar\alpha_t} \epsilon, t\big) \big\rVert^2 \Big]$$

with $t$ uniform in $1, \dots, T$, which gives better samples than the bound itself.

The code counts steps from zero: index `t` of the tensors is step $t + 1$ of the paper, so
`alpha_bar[0]` is $\bar\alpha_1$ and the $\bar\alpha_0 = 1$ of the formulas is a special case.

The noise predictors are the [U-Net](../../unet/index.html) for images and a
[small MLP](mlp.html) for points in the plane; the experiments train them on 8x8 digits and 2-D toys.
[DDIM](../ddim.html) samples the same trained model in fewer steps.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def linear_beta_schedule(n_steps: int, beta_start: Optional[float] = None,
                         beta_end: Optional[float] = None) -> torch.Tensor:
    r"""
    ## Linear variance schedule

    The paper uses $T = 1000$ and $\beta_t$ from $10^{-4}$ to $0.02$.
    With fewer steps we scale both ends by $1000 / T$, so that the total noise
    $\sum_t \beta_t$, and so $\bar\alpha_T \approx 0$, stays about the same
    (for very few steps $\beta_T$ is capped at $0.999$).
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"Invalid `n_steps` = {n_steps!r}: it must be a positive integer")
    scale = 1000 / n_steps
    beta_start = 1e-4 * scale if beta_start is None else beta_start
    beta_end = min(0.02 * scale, 0.999) if beta_end is None else beta_end
    if not 0 < beta_start <= beta_end < 1:
        raise ValueError(f"Invalid `beta_start`, `beta_end` = {beta_start!r}, {beta_end!r}: "
                         f"they must satisfy 0 < beta_start <= beta_end < 1")
    return torch.linspace(beta_start, beta_end, n_steps, dtype=torch.float64)


def gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """
    Pick `values[t]` for each sample and shape it to broadcast over `like`
    (`[batch]` becomes `[batch, 1, 1, 1]` for images, `[batch, 1]` for points).
    """
    out = values.to(like.device)[t].to(like.dtype)
    return out.view(-1, *([1] * (like.dim() - 1)))


class DDPM(nn.Module):
    r"""
    ## Denoising diffusion

    * `eps_model` is $\epsilon_\theta(x_t, t, c)$: it takes `[batch, ...]` noisy samples, `[batch]`
      step indices and optional `[batch]` class labels $c$, and returns a tensor shaped like its input
    * `n_steps` is $T$
    * `betas` is the schedule $\beta_1, \dots, \beta_T$; the default is `linear_beta_schedule(n_steps)`
    * `variance` is the $\sigma_t^2$ of the reverse step: `'beta'` for $\beta_t$ or `'posterior'`
      for $\tilde\beta_t$

    The schedule is kept in float64 buffers; we cast the values we gather to the data type of $x$.
    """

    def __init__(self, eps_model: nn.Module, n_steps: int = 1000, betas: Optional[torch.Tensor] = None,
                 variance: str = 'beta'):
        super().__init__()
        if variance not in ('beta', 'posterior'):
            raise ValueError(f"Invalid `variance` = {variance!r}: it must be 'beta' or 'posterior'")
        self.eps_model = eps_model
        betas = linear_beta_schedule(n_steps) if betas is None else torch.as_tensor(betas, dtype=torch.float64)
        if betas.shape != (n_steps,):
            raise ValueError(f"Invalid `betas` of shape {tuple(betas.shape)}: it must have `n_steps` = {n_steps} values")
        self.n_steps = n_steps
        self.variance = variance
        # $\beta_t$
        self.register_buffer('beta', betas, persistent=False)
        # $\alpha_t = 1 - \beta_t$
        self.register_buffer('alpha', 1. - betas, persistent=False)
        # $\bar\alpha_t = \prod_{s=1}^t \alpha_s$
        self.register_buffer('alpha_bar', torch.cumprod(1. - betas, dim=0), persistent=False)
        # $\bar\alpha_{t-1}$, with $\bar\alpha_0 = 1$
        self.register_buffer('alpha_bar_prev', F.pad(self.alpha_bar[:-1], (1, 0), value=1.), persistent=False)
        # $\tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t} \beta_t$
        self.register_buffer('beta_tilde', (1. - self.alpha_bar_prev) / (1. - self.alpha_bar) * betas,
                             persistent=False)

    def q_xt_x0(self, x0: torch.Tensor, t: torch.Tensor):
        r"""
        ### Mean and variance of $q(x_t | x_0)$

        $\sqrt{\bar\alpha_t} x_0$ and $1 - \bar\alpha_t$
        """
        mean = gather(self.alpha_bar, t, x0).sqrt() * x0
        var = 1. - gather(self.alpha_bar, t, x0)
        return mean, var

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: Optional[torch.Tensor] = None) -> torch.Tensor:
        r"""
        ### Sample $x_t \sim q(x_t | x_0)$

        $x_t = \sqrt{\bar\alpha_t} x_0 + \sqrt{1 - \bar\alpha_t} \epsilon$
        """
        if eps is None:
            eps = torch.randn_like(x0)
        mean, var = self.q_xt_x0(x0, t)
        return mean + var.sqrt() * eps

    def q_posterior(self, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor):
        r"""
        ### Mean and variance of $q(x_{t-1} | x_t, x_0)$

        $\tilde\mu_t(x_t, x_0)$ and $\tilde\beta_t$
        """
        beta = gather(self.beta, t, xt)
        alpha = gather(self.alpha, t, xt)
        alpha_bar = gather(self.alpha_bar, t, xt)
        alpha_bar_prev = gather(self.alpha_bar_prev, t, xt)
        mean = (alpha_bar_prev.sqrt() * beta / (1. - alpha_bar) * x0
                + alpha.sqrt() * (1. - alpha_bar_prev) / (1. - alpha_bar) * xt)
        return mean, gather(self.beta_tilde, t, xt)

    def p_mean_var(self, xt: torch.Tensor, t: torch.Tensor, cond: Optional[torch.Tensor] = None):
        r"""
        ### Mean and variance of $p_\theta(x_{t-1} | x_t)$

        $\mu_\theta(x_t, t) = \frac{1}{\sqrt{\alpha_t}} \Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}} \epsilon_\theta(x_t, t)\Big)$
        and $\sigma_t^2$
        """
        eps_theta = self.eps_model(xt, t, cond)
        beta = gather(self.beta, t, xt)
        alpha = gather(self.alpha, t, xt)
        alpha_bar = gather(self.alpha_bar, t, xt)
        mean = (xt - beta / (1. - alpha_bar).sqrt() * eps_theta) / alpha.sqrt()
        var = beta if self.variance == 'beta' else gather(self.beta_tilde, t, xt)
        return mean, var

    def p_sample(self, xt: torch.Tensor, t: torch.Tensor, cond: Optional[torch.Tensor] = None,
                 z: Optional[torch.Tensor] = None) -> torch.Tensor:
        r"""
        ### One reverse step: sample $x_{t-1} \sim p_\theta(x_{t-1} | x_t)$

        $x_{t-1} = \mu_\theta(x_t, t) + \sigma_t z$ with $z \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$,
        and no noise on the last step (to $x_0$), whose mean is the sample.
        `t` is the same for the whole batch when sampling, but it may differ per sample.
        """
        mean, var = self.p_mean_var(xt, t, cond)
        if z is None:
            z = torch.randn_like(xt)
        # No noise where the step is the last one
        nonzero = (t > 0).to(xt.dtype).view(-1, *([1] * (xt.dim() - 1)))
        return mean + nonzero * var.sqrt() * z

    def device_dtype(self, device=None):
        """The device (unless given) and the data type of the noise predictor's parameters"""
        p = next(self.eps_model.parameters(), None)
        if p is None:
            return device if device is not None else self.beta.device, torch.get_default_dtype()
        return device if device is not None else p.device, p.dtype

    @torch.no_grad()
    def sample(self, shape, cond: Optional[torch.Tensor] = None, generator: Optional[torch.Generator] = None,
               device=None, trajectory: bool = False):
        r"""
        ### Sampling

        Start from $x_T \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$ of the given `shape` (`[batch, ...]`)
        and take all $T$ reverse steps.
        With `trajectory=True` it also returns the list of every $x_t$ (for the 2-D pictures).
        The noise is drawn on the CPU from `generator`, so a seed gives the same samples on any device.
        """
        device, dtype = self.device_dtype(device)
        x = torch.randn(shape, generator=generator).to(device, dtype)
        xs = [x]
        for i in reversed(range(self.n_steps)):
            t = torch.full((shape[0],), i, dtype=torch.long, device=device)
            z = torch.randn(shape, generator=generator).to(device, dtype)
            x = self.p_sample(x, t, cond, z)
            if trajectory:
                xs.append(x)
        return (x, xs) if trajectory else x

    def loss(self, x0: torch.Tensor, cond: Optional[torch.Tensor] = None,
             t: Optional[torch.Tensor] = None, eps: Optional[torch.Tensor] = None) -> torch.Tensor:
        r"""
        ### The simplified loss

        $\big\lVert \epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t} x_0 + \sqrt{1 - \bar\alpha_t} \epsilon, t) \big\rVert^2$,
        averaged over the batch and the elements.
        `t` and `eps` are drawn uniformly and from $\mathcal{N}(\mathbf{0}, \mathbf{I})$ unless given.
        """
        batch_size = x0.shape[0]
        # $t \sim \text{Uniform}(\{1, \dots, T\})$ (indices from $0$)
        if t is None:
            t = torch.randint(0, self.n_steps, (batch_size,), device=x0.device, dtype=torch.long)
        # $\epsilon \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$
        if eps is None:
            eps = torch.randn_like(x0)
        # $x_t$
        xt = self.q_sample(x0, t, eps)
        # $\epsilon_\theta(x_t, t)$
        eps_theta = self.eps_model(xt, t, cond)
        return F.mse_loss(eps_theta, eps)
