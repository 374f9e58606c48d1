r"""
---
title: CartPole environments for the experiments
summary: >
  A few CartPole environments from Gymnasium stepped side by side, with explicit episode ends for
  GAE and DQN, episode returns, and the evaluation over 100 episodes.
---

# CartPole environments

The [PPO](ppo/experiment.html) and [DQN](dqn/experiment.html) experiments collect experience from
several copies of Gymnasium's `CartPole-v1` at once.
We step them ourselves instead of using a vector environment, so that what happens at the end of
an episode is explicit:

* `terminated`: the pole fell or the cart left the track; the last state has no future, and its
  value is zero;
* `truncated`: the 500-step time limit; the state *had* a future, so algorithms bootstrap from its
  value (see [GAE](gae.html));
* in both cases we keep the last observation of the episode (`next_obs`) and reset that copy, so
  the observation the agent sees next is the first of a new episode.

Each copy is seeded (`seed`, `seed + 1`, ...) at its first reset, so a run is reproducible.

## Evaluation

The benchmark criterion for CartPole is an average return of at least 195 over 100 consecutive
episodes.
`evaluate` plays 100 episodes (one per copy of the environment, side by side, with their own
seeds) with a given policy and returns their returns.

## The record of a run

Both experiments keep the returns of the training episodes in their checkpoints (`EpisodeLog`) and
end the same way (`finish`): `returns.png` in the run folder, and a summary that is printed and
returned.
"""

import time
from typing import Callable, List, Tuple

import gymnasium as gym
import numpy as np
import torch

from labml_nn.experiments.trainer import Run


class CartPoles:
    """
    ## Several CartPole environments

    * `n_envs` is the number of copies
    * `seed` is the seed of the first copy
    """

    def __init__(self, n_envs: int, seed: int):
        if n_envs < 1:
            raise ValueError(f"Invalid `n_envs` = {n_envs!r}: it must be a positive integer")
        self.envs = [gym.make('CartPole-v1') for _ in range(n_envs)]
        # `[n_envs, 4]`
        self.obs = torch.tensor(np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(self.envs)]),
                                dtype=torch.float32)
        # The return of the running episode of each copy, and the returns of finished episodes
        self.running_return = [0.] * n_envs
        self.episode_returns: List[float] = []
        self.n_actions = self.envs[0].action_space.n
        self.obs_size = self.envs[0].observation_space.shape[0]

    def step(self, actions: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """
        Take `actions` (`[n_envs]`) and return `(reward, next_obs, terminated, done)`, each with the
        copies in the first dimension; `self.obs` then holds the observations to act on next.
        """
        rewards, next_obs, terminated, done, obs = [], [], [], [], []
        for i, (env, a) in enumerate(zip(self.envs, actions.tolist())):
            o, r, term, trunc, _ = env.step(a)
            self.running_return[i] += r
            rewards.append(r)
            next_obs.append(o)
            terminated.append(term)
            done.append(term or trunc)
            if term or trunc:
                # the episode is over: record its return and start the next one
                self.episode_returns.append(self.running_return[i])
                self.running_return[i] = 0.
                o, _ = env.reset()
            obs.append(o)
        self.obs = torch.tensor(np.stack(obs), dtype=torch.float32)
        return (torch.tensor(rewards, dtype=torch.float32), torch.tensor(np.stack(next_obs), dtype=torch.float32),
                torch.tensor(terminated), torch.tensor(done))

    def mean_return(self, last: int = 100) -> float:
        """The mean return of the last `last` finished episodes (`nan` before the first one ends)"""
        if not self.episode_returns:
            return float('nan')
        return float(np.mean(self.episode_returns[-last:]))


@torch.no_grad()
def evaluate(act: Callable[[torch.Tensor], torch.Tensor], n_episodes: int = 100, seed: int = 10_000) -> List[float]:
    """
    ## Returns of `n_episodes` episodes

    `act` maps observations `[n, 4]` to actions `[n]`.
    The episodes run side by side, one per environment, each to its end.
    """
    envs = [gym.make('CartPole-v1') for _ in range(n_episodes)]
    obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    returns = [0.] * n_episodes
    running = list(range(n_episodes))
    while running:
        actions = act(torch.tensor(np.stack([obs[i] for i in running]), dtype=torch.float32)).tolist()
        still = []
        for i, a in zip(running, actions):
            obs[i], r, term, trunc, _ = envs[i].step(a)
            returns[i] += r
            if not (term or trunc):
                still.append(i)
        running = still
    return returns


class EpisodeLog:
    """The returns of the finished training episodes, kept in the checkpoint"""

    def __init__(self, envs: CartPoles):
        self.envs = envs

    def state_dict(self):
        return {'episode_returns': list(self.envs.episode_returns)}

    def load_state_dict(self, state):
        self.envs.episode_returns = list(state['episode_returns'])


def plot_returns(run: Run, envs: CartPoles):
    """The returns of the training episodes and their mean over the last 100"""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    r = np.array(envs.episode_returns)
    if len(r):
        ax.plot(r, color='0.75', linewidth=0.6, label='training episode')
        mean = np.array([r[max(0, i - 99):i + 1].mean() for i in range(len(r))])
        ax.plot(mean, color='C0', label='mean of the last 100')
    ax.axhline(195, color='C3', linestyle='--', linewidth=0.8, label='195')
    ax.set_xlabel('training episode')
    ax.set_ylabel('return')
    ax.legend(loc='upper left', fontsize=8)
    fig.tight_layout()
    run.save_figure(fig, 'returns.png')
    plt.close(fig)


def finish(run: Run, envs: CartPoles, env_steps: int, started: float) -> dict:
    """Save `returns.png`, then print and return the run's summary"""
    plot_returns(run, envs)
    summary = run.summary()
    summary['env_steps'] = env_steps
    summary['episodes'] = len(envs.episode_returns)
    summary['wall_seconds'] = time.monotonic() - started
    run.print(f"eval_return {summary.get('eval_return')}  train_return {summary.get('train_return')}  "
              f"episodes {summary['episodes']}  env steps {summary['env_steps']:,}")
    return summary
