r"""
---
title: DQN on CartPole
summary: >
  Training a CartPole agent with double DQN, a dueling network and prioritized replay on the
  experiment harness, with an epsilon-greedy policy and evaluation over 100 episodes.
---

# DQN on CartPole

This experiment trains an agent on `CartPole-v1` with [DQN](index.html): the double Q-learning
loss, a [dueling network](model.html) and [prioritized replay](replay_buffer.html).

```sh
.venv/bin/python -m labml_nn.rl.dqn.experiment --help    # every hyper-parameter
.venv/bin/python -m labml_nn.rl.dqn.experiment           # a few minutes on two CPU cores
```

One step of the run is one step of the environment:

* act $\epsilon$-greedily: a random action with probability $\epsilon$, otherwise
  $\operatorname*{arg\,max}_a Q(s, a; \theta)$; $\epsilon$ falls linearly from 1 to
  `final_epsilon` over the first `exploration_steps` steps;
* store the transition in the replay buffer; a time-limit truncation is stored as not done, since
  the state had a future;
* after `learning_starts` steps, every `train_every` steps, sample a mini-batch with priorities,
  take a gradient step on the weighted loss, and write the new priorities $|\delta_i|$ back;
  $\beta$ rises linearly from `beta_start` to 1 over the run;
* every `target_update` steps copy $\theta$ into the target network $\theta^-$.

Every `eval_every` steps the greedy policy ($\epsilon = 0$) plays 100 evaluation episodes;
`metrics.csv` records their mean, `eval_return`, and the mean return of the last 100 training
episodes, `train_return`.
At the end the run folder gets `returns.png`.

The replay buffer is not saved in checkpoints (it would make them large); a resumed run refills it
from new episodes.

## Results

We ran the default configuration, `python -m labml_nn.rl.dqn.experiment` (seed 0, 60,000 steps),
and, at the same time, one with a larger learning rate and a more frequent target update,
`--lr 1e-3 --target-update 250`.
Each took 14 minutes of wall-clock time, evaluations included, on a 2-core CPU container shared
with other jobs.
The mean returns of the 100 greedy evaluation episodes:

| steps | 10,000 | 20,000 | 30,000 | 40,000 | 50,000 | 60,000 |
|---|---|---|---|---|---|---|
| default | 116.7 | 135.6 | 191.2 | 131.7 | 500.0 | 483.6 |
| `--lr 1e-3 --target-update 250` | 119.9 | 205.8 | 484.7 | 500.0 | 323.1 | 98.8 |

With the default configuration the greedy policy averages 500 (every episode reaches the time
limit) at 50,000 steps and 483.6 at the end; the mean of 100 consecutive training episodes
(played with $\epsilon = 0.02$) first reaches 195 at the 420th of 454 episodes and ends at 262.9.
The faster configuration passes 195 already at 20,000 steps and is perfect at 40,000, and then
*collapses* to 98.8: an instability that DQN is known for, where updates that fit recent
transitions break what was learned before.
Over a longer run the default configuration may do the same; a common safeguard is to keep the
checkpoint with the best evaluation.
These are single seeds.

![Returns of the training episodes and their mean over the last 100, default configuration](returns.png)

## The same code on Atari

For Atari, use the preprocessed environments (see the [chapter's index](../index.html)) and the
[`AtariTrunk`](model.html) in the dueling network; the papers' settings are a buffer of a million
transitions, a target update every 10,000 parameter updates (in the Nature paper), learning
rates around $10^{-4}$ (with $\alpha = 0.6$, $\beta$ from $0.4$ to $1$ for prioritized replay),
$\epsilon$ annealed to $0.1$ or $0.01$ over a million frames, and tens of millions of frames.
"""

import random
import time
from dataclasses import dataclass

import torch
from torch import nn

from labml_nn.experiments.config import RunConfig, check_positive, check_range, flag
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.rl.cartpole import CartPoles, EpisodeLog, evaluate, finish
from labml_nn.rl.dqn import QFuncLoss
from labml_nn.rl.dqn.model import DuelingQNetwork, MLPTrunk
from labml_nn.rl.dqn.replay_buffer import ReplayBuffer


@dataclass
class Config(RunConfig):
    """
    ## Configuration

    A step is one step of the environment; `steps` is the number of them.
    """
    steps: int = 60_000
    log_every: int = 1000
    eval_every: int = 10_000
    checkpoint_every: int = 10_000
    device: str = flag('cpu', help='where to train (the network is tiny: cpu)', on_resume='apply',
                       choices=['cpu', 'cuda', 'auto'])
    lr: float = flag(5e-4, help='learning rate', on_resume='apply')
    gamma: float = flag(0.99, help='discount factor')
    batch_size: int = flag(64, help='transitions per gradient step')
    buffer_size: int = flag(50_000, help='replay buffer capacity')
    learning_starts: int = flag(1000, help='steps before the first gradient step')
    train_every: int = flag(2, help='environment steps per gradient step')
    target_update: int = flag(500, help='steps between copies into the target network')
    exploration_steps: int = flag(10_000, help='steps over which epsilon falls from 1')
    final_epsilon: float = flag(0.02, help='epsilon after exploration_steps')
    alpha: float = flag(0.6, help='prioritized replay alpha (0: uniform)')
    beta_start: float = flag(0.4, help='importance-sampling beta at the start (rises to 1)')
    hidden: int = flag(128, help='hidden units of the network')
    eval_episodes: int = flag(100, help='episodes per evaluation')

    def validate(self):
        super().validate()
        check_positive(self, 'lr', 'batch_size', 'buffer_size', 'train_every', 'target_update',
                       'exploration_steps', 'hidden', 'eval_episodes')
        check_range(self, 'gamma', 0., 1.)
        check_range(self, 'final_epsilon', 0., 1.)
        check_range(self, 'beta_start', 0., 1.)


def train(cfg: Config) -> dict:
    """
    ## Training
    """
    with Run(cfg, name='dqn_cartpole') as run:
        model = DuelingQNetwork(MLPTrunk(4, cfg.hidden), 2, cfg.hidden).to(run.device)
        # $\theta^-$
        target = DuelingQNetwork(MLPTrunk(4, cfg.hidden), 2, cfg.hidden).to(run.device)
        target.load_state_dict(model.state_dict())
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, foreach=True)
        envs = CartPoles(1, seed=cfg.seed * 1000 + 1)
        run.track(model=model, target=target, optimizer=optimizer, episodes=EpisodeLog(envs))
        buffer = ReplayBuffer(cfg.buffer_size, (4,), alpha=cfg.alpha)
        loss_fn = QFuncLoss(cfg.gamma)
        # Exploration draws from its own seeded generator
        explore = random.Random(cfg.seed)
        started = time.monotonic()

        def greedy(obs):
            return model(obs.to(run.device)).argmax(-1).cpu()

        for step in run.steps():
            # $\epsilon$, falling linearly to `final_epsilon`
            epsilon = max(cfg.final_epsilon, 1. - (1. - cfg.final_epsilon) * step / cfg.exploration_steps)
            obs = envs.obs
            if explore.random() < epsilon:
                action = torch.tensor([explore.randrange(2)])
            else:
                with torch.no_grad():
                    action = greedy(obs)
            reward, next_obs, terminated, _ = envs.step(action)
            # Only a real termination cuts the bootstrap; a time-limit truncation does not
            buffer.add(obs[0], int(action[0]), float(reward[0]), next_obs[0], bool(terminated[0]))

            if step >= cfg.learning_starts and (step - cfg.learning_starts) % cfg.train_every == 0:
                # $\beta$ rises linearly to one over the run
                beta = cfg.beta_start + (1. - cfg.beta_start) * step / cfg.steps
                batch = buffer.sample(cfg.batch_size, beta, generator=run.generator)
                b = {k: v.to(run.device) for k, v in batch.items()}
                q = model(b['obs'])
                with torch.no_grad():
                    double_q = model(b['next_obs'])
                    target_q = target(b['next_obs'])
                td_error, loss = loss_fn(q, b['action'], double_q, target_q, b['done'], b['reward'], b['weights'])
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 10.)
                optimizer.step()
                buffer.update_priorities(batch['index'], td_error.cpu())
                values = dict(loss=loss)
            else:
                values = {}
            # The mean return of the last 100 training episodes, once an episode has ended
            if envs.episode_returns:
                values['train_return'] = envs.mean_return()
            run.log(step, **values, epsilon=epsilon, samples=1)
            # $\theta^- \leftarrow \theta$
            if (step + 1) % cfg.target_update == 0:
                target.load_state_dict(model.state_dict())
            if run.due(step, cfg.eval_every):
                with torch.no_grad():
                    eval_returns = evaluate(greedy, cfg.eval_episodes, seed=10_000)
                run.log_eval(step, eval_return=sum(eval_returns) / len(eval_returns),
                             eval_min_return=min(eval_returns))

        return finish(run, envs, run.done, started)


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
