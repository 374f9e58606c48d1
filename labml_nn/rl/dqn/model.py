r"""
---
title: Dueling Network
summary: >
  An annotated PyTorch implementation of the dueling network head, which estimates the state value and
  the action advantages separately, with trunks for CartPole and for Atari.
---

# Dueling Network

This is the network of the paper
[Dueling Network Architectures for Deep Reinforcement Learning](https://arxiv.org/abs/1511.06581),
used by [DQN](index.html).
(No official code was released with the paper; OpenAI Baselines' `deepq` has the same head behind its
`dueling` option, in [github.com/openai/baselines](https://github.com/openai/baselines).)

In many states the action does not matter much: when the pole is upright and centred, both pushes
are fine.
A plain Q-network must learn the value of every action in such states separately.
The dueling head splits $Q$ into a value of the state $V(s)$, shared by all actions, and an
advantage $A(s, a)$ of each action:

$$Q(s, a) = V(s) + \Big(A(s, a) - \frac{1}{|\mathcal{A}|} \sum_{a'} A(s, a')\Big)$$

Every update of any action's value improves $V(s)$ for all of them.
Subtracting the mean advantage makes the split identifiable: without it, adding a constant to $V$
and subtracting it from every $A$ would give the same $Q$.
(The paper also considers subtracting the maximum; the mean is what it uses, being more stable.)

Both parts read the same features.
For CartPole the features come from a small multi-layer perceptron, `MLPTrunk`; for Atari from the
convolutional trunk of the DQN paper, `AtariTrunk`, on four stacked $84 \times 84$ frames.
"""

import torch
from torch import nn


class MLPTrunk(nn.Module):
    """
    ## Features from a state vector

    * `obs_size` is the size of the observation and `hidden_size` that of the features
    """

    def __init__(self, obs_size: int, hidden_size: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_size, hidden_size), nn.ReLU(),
                                 nn.Linear(hidden_size, hidden_size), nn.ReLU())
        self.out_features = hidden_size

    def forward(self, obs: torch.Tensor):
        """`obs` is `[batch_size, obs_size]`; returns `[batch_size, hidden_size]`"""
        return self.net(obs)


class AtariTrunk(nn.Module):
    r"""
    ## Features from Atari frames

    Three convolutions of the Nature DQN paper and a linear layer to 512 features.
    The input is 4 stacked grey frames of $84 \times 84$ with values in $[0, 255]$.
    """

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            # `[batch_size, 32, 20, 20]`
            nn.Conv2d(4, 32, kernel_size=8, stride=4), nn.ReLU(),
            # `[batch_size, 64, 9, 9]`
            nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU(),
            # `[batch_size, 64, 7, 7]`
            nn.Conv2d(64, 64, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(7 * 7 * 64, 512), nn.ReLU())
        self.out_features = 512

    def forward(self, obs: torch.Tensor):
        """`obs` is `[batch_size, 4, 84, 84]`; returns `[batch_size, 512]`"""
        return self.net(obs / 255.)


class DuelingQNetwork(nn.Module):
    r"""
    ## Dueling Q-network

    * `trunk` computes the features (`MLPTrunk` or `AtariTrunk`)
    * `n_actions` is $|\mathcal{A}|$
    * `hidden_size` is the width of the value and advantage streams
    """

    def __init__(self, trunk: nn.Module, n_actions: int, hidden_size: int = 128):
        super().__init__()
        self.trunk = trunk
        # $V(s)$, `[batch_size, 1]`
        self.state_value = nn.Sequential(nn.Linear(trunk.out_features, hidden_size), nn.ReLU(),
                                         nn.Linear(hidden_size, 1))
        # $A(s, a)$, `[batch_size, n_actions]`
        self.action_value = nn.Sequential(nn.Linear(trunk.out_features, hidden_size), nn.ReLU(),
                                          nn.Linear(hidden_size, n_actions))

    def forward(self, obs: torch.Tensor):
        r"""`obs` is a batch of observations; returns $Q(s, \cdot)$, `[batch_size, n_actions]`"""
        h = self.trunk(obs)
        value = self.state_value(h)
        advantage = self.action_value(h)
        # $Q(s, a) = V(s) + A(s, a) - \frac{1}{|\mathcal{A}|} \sum_{a'} A(s, a')$
        return value + advantage - advantage.mean(dim=-1, keepdim=True)
