r"""
---
title: Reinforcement Learning
summary: >
  Generalized advantage estimation, PPO with the clipped objective, and DQN with a target network,
  double Q-learning, a dueling head and prioritized replay; trained on CartPole.
---

# Reinforcement Learning

An agent observes a state $s_t$, takes an action $a_t$, receives a reward $r_t$ and the next state,
and must learn to act so as to maximize the discounted return
$\sum_{l \ge 0} \gamma^l r_{t+l}$.
The pages of this chapter cover the two main families of deep reinforcement learning:

* *Policy gradients.* Learn the policy $\pi_\theta(a | s)$ directly and make actions that turned
  out better than expected more likely.
  Read [generalized advantage estimation](gae.html) first (how "better than expected" is
  measured) and then [PPO](ppo/index.html), which takes several safe gradient steps per rollout.
* *Value-based.* Learn the action values $Q(s, a)$ and act greedily with respect to them.
  [DQN](dqn/index.html) learns $Q$ by bootstrapping from a target network; its pages add double
  Q-learning, the [dueling head](dqn/model.html) and
  [prioritized replay with a sum-tree](dqn/replay_buffer.html).

## CartPole and Atari

The experiments ([PPO](ppo/experiment.html), [DQN](dqn/experiment.html)) use CartPole from
[Gymnasium](https://gymnasium.farama.org): a pole on a cart, four numbers of state, two actions,
a reward of $1$ per step until the pole falls or 500 steps pass.
It is written in pure Python and trains in minutes on a CPU.
The classic benchmark criterion is an average return of at least 195 over 100 consecutive
episodes.

The same algorithms were introduced on Atari games, and the code carries over unchanged except for
the observation and the network that reads it:

* Observations are frames of $210 \times 160$ RGB pixels.
  The usual preprocessing converts them to $84 \times 84$ grey, repeats each action for 4 frames
  (taking the maximum of the last two, since some games flicker), and stacks the last 4 processed
  frames so that the network can see motion (Gymnasium's `AtariPreprocessing` and
  `FrameStackObservation` wrappers, with the `ale-py` package).
* The network starts with the convolutional trunk of the DQN paper
  ([`AtariTrunk`](dqn/model.html)) instead of a multi-layer perceptron.
* Rewards are clipped to $[-1, 1]$ so that one learning rate suits every game, and an episode
  is ended for training when a life is lost.
* The budgets grow accordingly: tens of millions of frames instead of tens of thousands of steps.
"""
