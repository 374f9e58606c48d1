r"""
---
title: Deep Q Networks (DQN)
summary: >
  An annotated PyTorch implementation of deep Q-learning with a target network and double Q-learning,
  weighted by prioritized replay, with an experiment on CartPole.
---

# Deep Q Networks (DQN)

This is a PyTorch implementation of the loss from
[Human-level control through deep reinforcement learning](https://www.nature.com/articles/nature14236)
(first as [Playing Atari with Deep Reinforcement Learning](https://arxiv.org/abs/1312.5602)), with
double Q-learning from
[Deep Reinforcement Learning with Double Q-learning](https://arxiv.org/abs/1509.06461).
(DeepMind's original Lua code, "DQN 3.0", is at [github.com/deepmind/dqn](https://github.com/deepmind/dqn);
the double Q-learning paper released none, and DeepMind's later JAX versions of both are in
[github.com/google-deepmind/dqn_zoo](https://github.com/google-deepmind/dqn_zoo).)
The [dueling network](model.html) and [prioritized replay](replay_buffer.html) have their own pages,
and the [experiment](experiment.html) puts them together on CartPole.

## Q-learning

The optimal action value $Q^*(s, a)$ is the return of taking $a$ in $s$ and acting optimally
afterwards.
It satisfies the Bellman equation

$$Q^*(s, a) = \mathbb{E}_{s'}\Big[r + \gamma \max_{a'} Q^*(s', a')\Big]$$

and Q-learning moves $Q(s, a)$ towards the right-hand side, estimated from one observed transition
$(s, a, r, s')$.
With a network $Q(s, a; \theta)$ this is a regression on the *target*
$y = r + \gamma \max_{a'} Q(s', a'; \theta)$, and two things make it unstable:

* consecutive transitions are strongly correlated: DQN stores them in a *replay buffer* and trains
  on random samples from it;
* the target moves with every update of $\theta$: DQN computes it with a *target network*
  $\theta^-$, a copy of $\theta$ that is refreshed only every few thousand steps.

## Double Q-learning

$\max_{a'} Q(s', a')$ of a noisy estimate is biased upwards: the maximum picks the actions whose
errors happen to be positive.
Double Q-learning decouples choosing the action from evaluating it: the online network chooses,
the target network evaluates,

$$y = r + \gamma \, Q\big(s', \operatorname*{arg\,max}_{a'} Q(s', a'; \theta); \theta^-\big)$$

and at a terminal $s'$ the target is just $r$.

## The loss

The regression uses the Huber loss (squared for small errors, linear for large ones, so that a
large error cannot produce a huge gradient), and with prioritized replay each sample is weighted by
its importance-sampling weight $w_i$:

$$\mathcal{L}(\theta) = \frac{1}{B} \sum_{i} w_i \, \mathcal{L}_\delta\big(Q(s_i, a_i; \theta) - y_i\big)$$

The errors $Q(s_i, a_i; \theta) - y_i$ are returned as well: they are the new priorities of the
samples.
"""

from typing import Tuple

import torch
from torch import nn
import torch.nn.functional as F


class QFuncLoss(nn.Module):
    r"""
    ## Double Q-learning loss

    * `gamma` is the discount $\gamma$
    """

    def __init__(self, gamma: float):
        super().__init__()
        if not 0. <= gamma <= 1.:
            raise ValueError(f"Invalid `gamma` = {gamma!r}: it must be in [0, 1]")
        self.gamma = gamma

    def forward(self, q: torch.Tensor, action: torch.Tensor, double_q: torch.Tensor,
                target_q: torch.Tensor, done: torch.Tensor, reward: torch.Tensor,
                weights: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        r"""
        * `q` is $Q(s; \theta)$, `[batch_size, n_actions]`
        * `action` is $a$, `[batch_size]`
        * `double_q` is $Q(s'; \theta)$, the online network on the next states, `[batch_size, n_actions]`
        * `target_q` is $Q(s'; \theta^-)$, the target network on the next states, `[batch_size, n_actions]`
        * `done` is $1$ where $s'$ is terminal, `[batch_size]`
        * `reward` is $r$, `[batch_size]`
        * `weights` are the importance-sampling weights $w_i$, `[batch_size]`

        Returns the errors $Q(s_i, a_i; \theta) - y_i$, `[batch_size]`, and the loss.
        """
        # $Q(s, a; \theta)$, `[batch_size]`
        q_sampled_action = q.gather(-1, action.to(torch.long).unsqueeze(-1)).squeeze(-1)
        # The target is a constant for the gradient
        with torch.no_grad():
            # $\operatorname{arg\,max}_{a'} Q(s', a'; \theta)$, chosen by the online network, `[batch_size]`
            best_next_action = torch.argmax(double_q, -1)
            # $Q(s', \operatorname{arg\,max}_{a'} Q(s', a'; \theta); \theta^-)$, evaluated by the target network
            best_next_q_value = target_q.gather(-1, best_next_action.unsqueeze(-1)).squeeze(-1)
            # $y = r + \gamma (1 - \text{done}) Q(s', \dots; \theta^-)$
            q_update = reward + self.gamma * best_next_q_value * (1 - done.float())
            # The errors, the new priorities
            td_error = q_sampled_action - q_update
        # Huber loss of each sample, weighted by $w_i$
        losses = F.smooth_l1_loss(q_sampled_action, q_update, reduction='none')
        loss = torch.mean(weights * losses)
        return td_error, loss
