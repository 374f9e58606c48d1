r"""
---
title: PPO on CartPole
summary: >
  Training a CartPole agent with PPO and GAE on the experiment harness: rollouts from several
  environments, several epochs of clipped updates, evaluation over 100 episodes.
---

# PPO on CartPole

This experiment trains an agent on `CartPole-v1` with [PPO](index.html) and [GAE](../gae.html).

```sh
.venv/bin/python -m labml_nn.rl.ppo.experiment --help    # every hyper-parameter
.venv/bin/python -m labml_nn.rl.ppo.experiment           # about a minute on two CPU cores
```

One step of the run is one PPO update:

* collect `n_steps` steps from each of `n_envs` [CartPole environments](../cartpole.html) with the
  current policy, recording $\log \pi_{\theta_{\text{old}}}(a_t | s_t)$ and $V(s_t)$;
* compute the advantages $\hat{A}_t$ with GAE and the value targets $R_t = \hat{A}_t + V(s_t)$;
* for `epochs` epochs, shuffle the samples into `n_minibatches` mini-batches and take a gradient
  step on each with the loss
  $-\mathcal{L}^{\text{CLIP}} + c_1 \mathcal{L}^{\text{VF}} - c_2 \mathcal{H}$, with the advantages
  of the mini-batch normalized to zero mean and unit variance.

The learning rate and the clip range decrease linearly to zero over the run.
The policy and the value function are two small separate networks.
Every `eval_every` updates the policy plays 100 evaluation episodes (sampling its actions, as in
training); `metrics.csv` records their mean, `eval_return`, and the mean return of the last 100
training episodes, `train_return`.
At the end the run folder gets `returns.png`.

## Results

We ran the default configuration once, `python -m labml_nn.rl.ppo.experiment` (seed 0: 100 updates
of $8 \times 128$ steps, 102,400 environment steps, 557 training episodes).
It took 163 seconds of wall-clock time, evaluations included, on a 2-core CPU container shared with
other jobs.
The evaluations play 100 episodes, sampling the actions from the policy:

| update | environment steps | mean evaluation return | lowest | mean of the last 100 training episodes |
|---|---|---|---|---|
| 25 | 25,600 | 212.7 | 118 | 173.8 |
| 50 | 51,200 | 283.7 | 33 | 219.3 |
| 75 | 76,800 | 295.2 | 58 | 221.3 |
| 100 | 102,400 | 380.5 | 72 | 313.6 |

So the average over 100 episodes passes 195 within the first 25 updates for the evaluation, and
the mean of 100 consecutive training episodes (played while learning, with the policy of the
moment) first reaches 195 at the 258th episode and stays above it (its lowest value afterwards is 195.3).
This is one seed; other seeds take different paths.

![Returns of the training episodes and their mean over the last 100](returns.png)

## The same code on Atari

For Atari, replace the environments with the preprocessed Atari ones (see the
[chapter's index](../index.html)), the two multi-layer perceptrons with one convolutional trunk
shared by a policy and a value head, and use the paper's Atari settings (8 environments, 128
steps, 3 epochs of 4 mini-batches, $\epsilon = 0.1$, learning rate $2.5 \times 10^{-4}$, both
annealed, 10 million steps or 40 million frames).
"""

import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import Categorical

from labml_nn.experiments.config import RunConfig, check_positive, check_range, flag
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.rl.cartpole import CartPoles, EpisodeLog, evaluate, finish
from labml_nn.rl.gae import gae
from labml_nn.rl.ppo import ClippedPPOLoss, ClippedValueFunctionLoss


@dataclass
class Config(RunConfig):
    """
    ## Configuration

    A step is one update; `steps` is the number of updates.
    """
    steps: int = 100
    log_every: int = 5
    eval_every: int = 25
    checkpoint_every: int = 25
    device: str = flag('cpu', help='where to train (the networks are tiny: cpu)', on_resume='apply',
                       choices=['cpu', 'cuda', 'auto'])
    n_envs: int = flag(8, help='environments stepped side by side')
    n_steps: int = flag(128, help='steps per environment per rollout')
    epochs: int = flag(4, help='epochs over each rollout')
    n_minibatches: int = flag(4, help='mini-batches per epoch')
    lr: float = flag(1e-3, help='initial learning rate (annealed linearly to zero)', on_resume='apply')
    gamma: float = flag(0.99, help='discount factor')
    gae_lambda: float = flag(0.95, help='GAE lambda')
    clip: float = flag(0.2, help='initial clip range epsilon (annealed linearly to zero)')
    vf_weight: float = flag(0.5, help='weight c1 of the value loss')
    entropy_weight: float = flag(0.01, help='weight c2 of the entropy bonus')
    hidden: int = flag(64, help='hidden units of the policy and value networks')
    eval_episodes: int = flag(100, help='episodes per evaluation')

    def validate(self):
        super().validate()
        check_positive(self, 'n_envs', 'n_steps', 'epochs', 'n_minibatches', 'lr', 'clip', 'hidden',
                       'eval_episodes')
        check_range(self, 'gamma', 0., 1.)
        check_range(self, 'gae_lambda', 0., 1.)


class ActorCritic(nn.Module):
    """
    ## Policy and value networks
    """

    def __init__(self, obs_size: int, n_actions: int, hidden: int):
        super().__init__()
        # $\pi_\theta(\cdot | s)$ as logits, `[batch_size, n_actions]`
        self.policy = nn.Sequential(nn.Linear(obs_size, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                    nn.Linear(hidden, n_actions))
        # $V(s)$, `[batch_size, 1]`
        self.value = nn.Sequential(nn.Linear(obs_size, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                   nn.Linear(hidden, 1))

    def forward(self, obs: torch.Tensor):
        """`obs` is `[batch_size, obs_size]`; returns the action distribution and $V(s)$ `[batch_size]`"""
        return Categorical(logits=self.policy(obs)), self.value(obs).squeeze(-1)


def train(cfg: Config) -> dict:
    """
    ## Training
    """
    with Run(cfg, name='ppo_cartpole') as run:
        model = ActorCritic(4, 2, cfg.hidden).to(run.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, eps=1e-5)
        # Environments seeded from the run's seed (a resumed run starts new episodes)
        envs = CartPoles(cfg.n_envs, seed=cfg.seed * 1000 + 1)
        run.track(model=model, optimizer=optimizer, episodes=EpisodeLog(envs))
        ppo_loss, value_loss = ClippedPPOLoss(), ClippedValueFunctionLoss()
        batch_size = cfg.n_envs * cfg.n_steps
        minibatch_size = batch_size // cfg.n_minibatches
        started = time.monotonic()

        def act(obs):
            pi, _ = model(obs.to(run.device))
            return pi.sample().cpu()

        for step in run.steps():
            # Linear annealing of the learning rate and the clip range
            progress = 1. - step / cfg.steps
            for g in optimizer.param_groups:
                g['lr'] = cfg.lr * progress
            clip = cfg.clip * progress

            # ### Rollout, `[n_envs, n_steps, ...]`
            obs = torch.zeros(cfg.n_envs, cfg.n_steps, 4)
            next_obs = torch.zeros(cfg.n_envs, cfg.n_steps, 4)
            actions = torch.zeros(cfg.n_envs, cfg.n_steps, dtype=torch.long)
            log_pis = torch.zeros(cfg.n_envs, cfg.n_steps)
            rewards = torch.zeros(cfg.n_envs, cfg.n_steps)
            terminated = torch.zeros(cfg.n_envs, cfg.n_steps, dtype=torch.bool)
            done = torch.zeros(cfg.n_envs, cfg.n_steps, dtype=torch.bool)
            with torch.no_grad():
                for t in range(cfg.n_steps):
                    obs[:, t] = envs.obs
                    pi, _ = model(envs.obs.to(run.device))
                    a = pi.sample()
                    actions[:, t] = a.cpu()
                    log_pis[:, t] = pi.log_prob(a).cpu()
                    rewards[:, t], next_obs[:, t], terminated[:, t], done[:, t] = envs.step(a.cpu())
                # $V(s_t)$ and $V(s_{t+1})$ (of the episode's own next state), `[n_envs, n_steps]`
                values = model.value(obs.to(run.device)).squeeze(-1).cpu()
                next_values = model.value(next_obs.to(run.device)).squeeze(-1).cpu()
            # $\hat{A}_t$ and $R_t = \hat{A}_t + V(s_t)$
            advantages = gae(rewards, values, next_values, terminated, done, cfg.gamma, cfg.gae_lambda)
            returns = advantages + values

            # ### Updates on the rollout, flattened to `[batch_size, ...]`
            flat = [x.reshape(batch_size, *x.shape[2:]).to(run.device)
                    for x in (obs, actions, log_pis, advantages, returns, values)]
            for _ in range(cfg.epochs):
                order = torch.randperm(batch_size, generator=run.generator).to(run.device)
                for start in range(0, batch_size, minibatch_size):
                    idx = order[start:start + minibatch_size]
                    b_obs, b_actions, b_log_pis, b_adv, b_returns, b_values = [x[idx] for x in flat]
                    # Normalized advantages
                    b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)
                    pi, value = model(b_obs)
                    policy_loss = ppo_loss(pi.log_prob(b_actions), b_log_pis, b_adv, clip)
                    vf_loss = value_loss(value, b_values, b_returns, clip)
                    entropy = pi.entropy().mean()
                    loss = policy_loss + cfg.vf_weight * vf_loss - cfg.entropy_weight * entropy
                    optimizer.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                    optimizer.step()

            # The mean return of the last 100 training episodes, once an episode has ended
            returns_so_far = {'train_return': envs.mean_return()} if envs.episode_returns else {}
            run.log(step, policy_loss=policy_loss, value_loss=vf_loss, entropy=entropy,
                    clip_fraction=ppo_loss.clip_fraction, **returns_so_far,
                    lr=optimizer.param_groups[0]['lr'], samples=batch_size)
            if run.due(step, cfg.eval_every):
                eval_returns = evaluate(act, cfg.eval_episodes, seed=10_000)
                run.log_eval(step, eval_return=sum(eval_returns) / len(eval_returns),
                             eval_min_return=min(eval_returns))

        return finish(run, envs, run.done * batch_size, started)


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
