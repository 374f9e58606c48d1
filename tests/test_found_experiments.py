"""
Tests of the experiments of the normalization and reinforcement-learning chapters, at tiny sizes:
the run folder, the metrics, the figures, one-line errors, and (seeded) that learning improves the
return on CartPole.
"""

import csv

import pytest
import torch

from labml_nn.normalization import experiment as norm_experiment
from labml_nn.rl.dqn import experiment as dqn_experiment
from labml_nn.rl.ppo import experiment as ppo_experiment
from labml_nn.rl.cartpole import CartPoles, evaluate


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def eval_returns(summary):
    return [float(r['eval_return']) for r in summary['rows'] if r.get('eval_return', '') != '']


def test_cartpoles_episode_ends_and_evaluation():
    envs = CartPoles(2, seed=0)
    # always push left: episodes terminate quickly
    for _ in range(40):
        reward, next_obs, terminated, done = envs.step(torch.zeros(2, dtype=torch.long))
        assert torch.equal(terminated, done)
    assert len(envs.episode_returns) >= 2 and all(r < 40 for r in envs.episode_returns)
    returns = evaluate(lambda obs: torch.zeros(len(obs), dtype=torch.long), n_episodes=3)
    assert len(returns) == 3 and all(5 <= r < 40 for r in returns)
    # evaluation is seeded
    assert returns == evaluate(lambda obs: torch.zeros(len(obs), dtype=torch.long), n_episodes=3)


def test_ppo_learning_improves_the_return(tmp_path):
    cfg = ppo_experiment.Config(out=str(tmp_path / 'ppo'), steps=8, n_envs=4, eval_every=1, log_every=1,
                                eval_episodes=10, checkpoint_every=8)
    summary = ppo_experiment.train(cfg)
    returns = eval_returns(summary)
    assert len(returns) == 8
    # seeded: about 27 after the first update and about 50 after the eighth on our machine
    assert returns[-1] > 1.5 * returns[0]
    out = tmp_path / 'ppo'
    assert {'config.json', 'metrics.csv', 'checkpoint.pt', 'returns.png'} <= {p.name for p in out.iterdir()}
    assert float(rows(out / 'metrics.csv')[-1]['train_return']) > 0


def test_dqn_tiny_run_writes_its_folder(tmp_path):
    cfg = dqn_experiment.Config(out=str(tmp_path / 'dqn'), steps=300, learning_starts=100, log_every=100,
                                eval_every=300, checkpoint_every=300, eval_episodes=2, hidden=16,
                                exploration_steps=200, target_update=50)
    summary = dqn_experiment.train(cfg)
    assert summary['env_steps'] == 300 and len(eval_returns(summary)) == 1
    out = tmp_path / 'dqn'
    assert {'config.json', 'metrics.csv', 'checkpoint.pt', 'returns.png'} <= {p.name for p in out.iterdir()}
    assert 'loss' in rows(out / 'metrics.csv')[-1]


@pytest.mark.slow
def test_dqn_learning_improves_the_return(tmp_path):
    cfg = dqn_experiment.Config(out=str(tmp_path / 'dqn'), steps=2000, eval_every=500, log_every=500,
                                eval_episodes=10, checkpoint_every=2000, learning_starts=500,
                                exploration_steps=1000, target_update=100, lr=1e-3, hidden=64, seed=0,
                                train_every=1)
    returns = eval_returns(dqn_experiment.train(cfg))
    # seeded: the greedy policy of the untrained network (after 500 random steps) balances about 9 steps;
    # after 1,500 steps of learning it balances far longer
    assert returns[0] < 20
    assert max(returns[1:]) > 100


@pytest.mark.parametrize('norm', norm_experiment.NORMS)
def test_normalization_classifier_variants(norm):
    model = norm_experiment.Classifier(norm)
    x = torch.rand(4, 1, 8, 8)
    assert model(x).shape == (4, 10)
    # batch statistics only where the variant has them: in evaluation mode one image gives the same
    # logits alone as in a batch
    model.eval()
    torch.testing.assert_close(model(x[:1]), model(x)[:1])


def test_normalization_comparison_tiny(tmp_path):
    cfg = norm_experiment.Config(norm='all', seeds=1, steps=4, eval_every=2, log_every=2, out=str(tmp_path / 'cmp'))
    table = norm_experiment.train(cfg)
    assert set(table) == set(norm_experiment.NORMS)
    out = tmp_path / 'cmp'
    assert {'results.csv', 'results.md', 'comparison.png', 'group_s0'} <= {p.name for p in out.iterdir()}
    assert len(rows(out / 'results.csv')) == len(norm_experiment.NORMS)


def test_one_line_errors(capsys):
    assert norm_experiment.main(['--norm', 'sparkle']) == 2
    assert ppo_experiment.main(['--gamma', '1.5']) == 2
    assert dqn_experiment.main(['--nonsense', '1']) == 2
    err = capsys.readouterr().err
    assert err.count('error:') == 3
