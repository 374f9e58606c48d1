r"""
---
title: Proximal Policy Optimization (PPO)
summary: >
  An annotated PyTorch implementation of PPO's clipped surrogate objective and clipped value loss,
  with an experiment on CartPole.
---

# Proximal Policy Optimization (PPO)

This is a PyTorch implementation of the losses from the paper
[Proximal Policy Optimization Algorithms](https://arxiv.org/abs/1707.06347).
(The authors' code is in [github.com/openai/baselines](https://github.com/openai/baselines), `ppo2`.)

A policy gradient method collects experience with the current policy $\pi_{\theta_{\text{old}}}$
and moves $\theta$ to make the actions with a positive [advantage](../gae.html) $\hat{A}_t$ more
likely.
Samples are expensive, so we would like to take many gradient steps on the same rollout; but after
the first few steps the policy is no longer the one that collected the data.
The ratio of probabilities

$$r_t(\theta) = \frac{\pi_\theta(a_t | s_t)}{\pi_{\theta_{\text{old}}}(a_t | s_t)}$$

corrects for that (importance sampling): $\mathbb{E}_t[r_t(\theta) \hat{A}_t]$ has the same gradient
as the policy-gradient objective at $\theta = \theta_{\text{old}}$, and it is a good surrogate as
long as $\pi_\theta$ stays close to $\pi_{\theta_{\text{old}}}$.
Maximizing it without a limit would push $r_t$ as far as it goes.
TRPO keeps the policies close with a constraint on their KL divergence; PPO does it with a clip:

$$\mathcal{L}^{\text{CLIP}}(\theta) = \mathbb{E}_t\Big[\min\big(r_t(\theta) \hat{A}_t,\
  \operatorname{clip}(r_t(\theta), 1 - \epsilon, 1 + \epsilon) \hat{A}_t\big)\Big]$$

For a positive advantage the objective stops growing once $r_t > 1 + \epsilon$, and for a negative
one once $r_t < 1 - \epsilon$, so there is no gradient that moves the policy further than
$\epsilon$ in the direction the sample favours.
Taking the minimum with the unclipped term keeps the objective a *lower* bound: a change that made
an action with a positive advantage *less* likely (or one with a negative advantage more likely)
is not clipped, and its full cost is felt.

The value function $V(s_t)$ that [GAE](../gae.html) needs is trained at the same time, to the
targets $R_t = \hat{A}_t + V_{\theta_{\text{old}}}(s_t)$; `ClippedValueFunctionLoss` clips its
change the same way, as the authors' code does.
The total loss also subtracts an entropy bonus that keeps the policy from becoming deterministic
too early:

$$\mathcal{L}(\theta) = -\mathcal{L}^{\text{CLIP}}(\theta) + c_1 \mathcal{L}^{\text{VF}}(\theta) - c_2 \, \mathbb{E}_t\big[\mathcal{H}\big(\pi_\theta(\cdot | s_t)\big)\big]$$

The [experiment](experiment.html) trains an agent on CartPole with these losses.
"""

import torch
from torch import nn


class ClippedPPOLoss(nn.Module):
    r"""
    ## Clipped surrogate loss $-\mathcal{L}^{\text{CLIP}}$

    The loss is the negative objective, since optimizers minimize.
    """

    def forward(self, log_pi: torch.Tensor, sampled_log_pi: torch.Tensor, advantage: torch.Tensor,
                clip: float) -> torch.Tensor:
        r"""
        * `log_pi` is $\log \pi_\theta(a_t | s_t)$, `[batch_size]`
        * `sampled_log_pi` is $\log \pi_{\theta_{\text{old}}}(a_t | s_t)$, recorded when acting, `[batch_size]`
        * `advantage` is $\hat{A}_t$, `[batch_size]`
        * `clip` is $\epsilon$
        """
        if not clip > 0:
            raise ValueError(f"Invalid `clip` = {clip!r}: it must be positive")
        # $r_t(\theta) = \exp(\log \pi_\theta - \log \pi_{\theta_{\text{old}}})$
        ratio = torch.exp(log_pi - sampled_log_pi)
        # $\operatorname{clip}(r_t(\theta), 1 - \epsilon, 1 + \epsilon)$
        clipped_ratio = ratio.clamp(min=1.0 - clip, max=1.0 + clip)
        # $\min(r_t \hat{A}_t, \operatorname{clip}(r_t) \hat{A}_t)$
        policy_reward = torch.min(ratio * advantage, clipped_ratio * advantage)
        # The fraction of samples whose ratio was clipped, for monitoring
        self.clip_fraction = (abs(ratio - 1.0) > clip).float().mean()
        return -policy_reward.mean()


class ClippedValueFunctionLoss(nn.Module):
    r"""
    ## Clipped value loss $\mathcal{L}^{\text{VF}}$

    $$\mathcal{L}^{\text{VF}}(\theta) = \frac{1}{2} \mathbb{E}_t\Big[\max\big((V_\theta(s_t) - R_t)^2,\
      (V^{\text{CLIP}}_\theta(s_t) - R_t)^2\big)\Big]$$

    where $V^{\text{CLIP}}_\theta(s_t) = V_{\theta_{\text{old}}}(s_t) + \operatorname{clip}\big(V_\theta(s_t) - V_{\theta_{\text{old}}}(s_t), -\epsilon, \epsilon\big)$:
    like the policy, the value may not move far from the one that produced the targets; the
    maximum makes this a pessimistic bound.
    """

    def forward(self, value: torch.Tensor, sampled_value: torch.Tensor, sampled_return: torch.Tensor,
                clip: float) -> torch.Tensor:
        r"""
        * `value` is $V_\theta(s_t)$, `sampled_value` is $V_{\theta_{\text{old}}}(s_t)$ and
          `sampled_return` is $R_t$, all `[batch_size]`
        * `clip` is $\epsilon$
        """
        # $V^{\text{CLIP}}_\theta(s_t)$
        clipped_value = sampled_value + (value - sampled_value).clamp(min=-clip, max=clip)
        # $\max$ of the two squared errors
        vf_loss = torch.max((value - sampled_return) ** 2, (clipped_value - sampled_return) ** 2)
        return 0.5 * vf_loss.mean()
