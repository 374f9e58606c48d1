r"""
---
title: Generalized Advantage Estimation (GAE)
summary: >
  An annotated PyTorch implementation of generalized advantage estimation, which trades bias against
  variance in the advantage estimates of policy-gradient methods with one parameter lambda.
---

# Generalized Advantage Estimation (GAE)

This is a PyTorch implementation of the estimator from the paper
[High-Dimensional Continuous Control Using Generalized Advantage Estimation](https://arxiv.org/abs/1506.02438).
(No official code was released with the paper; the first author's TRPO in
[github.com/joschu/modular_rl](https://github.com/joschu/modular_rl) uses GAE, and OpenAI Baselines'
`ppo2` computes it as we do.)

A policy-gradient method such as [PPO](ppo/index.html) raises the probability of actions that
turned out better than expected.
"Better than expected" is the *advantage* $A(s_t, a_t) = Q(s_t, a_t) - V(s_t)$: the return after
taking $a_t$ minus the value of the state.
We do not know $Q$, so we estimate the advantage from the rewards we observed and a learned value
function $V$.

The *temporal-difference error*

$$\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$$

is a one-step estimate: it relies on $V$ after one reward, so it has low variance but is biased
wherever $V$ is wrong.
Summing $k$ of them gives the $k$-step estimate
$\hat{A}^{(k)}_t = \sum_{l=0}^{k-1} \gamma^l \delta_{t+l} = r_t + \gamma r_{t+1} + \dots + \gamma^{k-1} r_{t+k-1} + \gamma^k V(s_{t+k}) - V(s_t)$,
which trusts $V$ less and the sampled rewards more, so it is less biased and more noisy.
GAE averages all of them with weights $(1 - \lambda) \lambda^{k-1}$, which works out to

$$\hat{A}_t = \sum_{l=0}^{\infty} (\gamma \lambda)^l \delta_{t+l}
  \qquad \text{or, recursively,} \qquad
  \hat{A}_t = \delta_t + \gamma \lambda \hat{A}_{t+1}$$

With $\lambda = 0$ it is the TD error $\delta_t$; with $\lambda = 1$ it is the Monte-Carlo return
minus the value, $\sum_l \gamma^l r_{t+l} - V(s_t)$ (the values in between cancel).
Values around $\lambda = 0.95$ work well in practice.

## Episode ends and rollouts

We collect a rollout of $T$ steps from several environments and compute $\hat{A}_t$ backwards
from the last step with the recursion.
Two different things can happen at a step:

* the episode *terminates* (the pole fell): there is no $s_{t+1}$, so $V(s_{t+1})$ is replaced by
  zero in $\delta_t$;
* the episode *ends*, terminated or cut off by a time limit: the next step of the rollout belongs
  to a new episode, so the recursion must not carry $\hat{A}_{t+1}$ into $\hat{A}_t$.

A time limit is not a terminal state: the episode could have continued, so $\delta_t$ keeps
$\gamma V(s_{t+1})$ of the state where it was cut off.
The function therefore takes the value of the next state of *every* step, `next_values`, and two
masks.
"""

import torch


def gae(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
        terminated: torch.Tensor, done: torch.Tensor, gamma: float, lambda_: float) -> torch.Tensor:
    r"""
    ## Compute $\hat{A}_t$

    All arguments are `[n_envs, T]`:

    * `rewards` are $r_t$
    * `values` are $V(s_t)$
    * `next_values` are $V(s_{t+1})$, the value of the state after step $t$ (for a step that
      ended an episode, of its last state, not of the next episode's first)
    * `terminated` is $1$ where the episode terminated at step $t$ (no bootstrap)
    * `done` is $1$ where the episode ended at step $t$ for any reason (terminated or truncated)
    * `gamma` is the discount $\gamma$ and `lambda_` is $\lambda$

    Returns the advantages $\hat{A}_t$, `[n_envs, T]`; $\hat{A}_t + V(s_t)$ are the targets of the
    value function.
    """
    if not 0. <= gamma <= 1.:
        raise ValueError(f"Invalid `gamma` = {gamma!r}: it must be in [0, 1]")
    if not 0. <= lambda_ <= 1.:
        raise ValueError(f"Invalid `lambda_` = {lambda_!r}: it must be in [0, 1]")
    n_envs, n_steps = rewards.shape
    # $\delta_t = r_t + \gamma V(s_{t+1}) (1 - \text{terminated}_t) - V(s_t)$, `[n_envs, T]`
    delta = rewards + gamma * next_values * (1. - terminated.to(rewards.dtype)) - values
    # $\hat{A}_t$, filled from the last step backwards
    advantages = torch.zeros_like(rewards)
    # $\hat{A}_{T}$ beyond the rollout is zero: the last $\delta$ already bootstraps from $V(s_T)$
    last_advantage = torch.zeros(n_envs, dtype=rewards.dtype, device=rewards.device)
    for t in reversed(range(n_steps)):
        # $\hat{A}_t = \delta_t + \gamma \lambda (1 - \text{done}_t) \hat{A}_{t+1}$
        last_advantage = delta[:, t] + gamma * lambda_ * (1. - done[:, t].to(rewards.dtype)) * last_advantage
        advantages[:, t] = last_advantage
    return advantages
