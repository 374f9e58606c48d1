"""
The optimizer benchmark at a tiny size: every optimizer trains, the outputs are written, the best
setting is chosen on the validation split, the same seed gives every optimizer the same first
batch, and the sign-momentum control clips every coordinate that has a gradient.
"""

import csv

import pytest
import torch

from labml_nn.experiments.errors import ExperimentError
from labml_nn.optimizers import benchmark

from conftest import SHARED


def corpus(tmp_path) -> str:
    """Tiny Shakespeare when the shared data folder is there, otherwise a small text made here"""
    path = SHARED / 'data' / 'tiny_shakespeare.txt'
    if path.exists():
        return str(path)
    text = ''.join(f'Line {i}: the quick brown fox jumps over the lazy dog; ' + 'abcdefghij'[i % 10] * (i % 7) + '\n'
                   for i in range(400))
    (tmp_path / 'corpus.txt').write_text(text, encoding='utf-8')
    return str(tmp_path / 'corpus.txt')

TINY = ['--steps', '4', '--eval-every', '2', '--log-every', '2', '--warmup-steps', '2', '--d-model', '16',
        '--heads', '2', '--d-ff', '32', '--n-layers', '1', '--seq-len', '16', '--batch-size', '4',
        '--eval-windows', '8', '--hess-interval', '2']


@pytest.mark.slow
def test_tiny_benchmark_runs_every_optimizer(tmp_path):
    data = corpus(tmp_path)
    out = tmp_path / 'bench'
    assert benchmark.main(TINY + ['--seeds', '0,1', '--grid', 'tiny', '--data', data, '--out', str(out)]) == 0
    with open(out / 'summary.csv', newline='') as f:
        summary = list(csv.DictReader(f))
    assert {r['optimizer'] for r in summary} == set(benchmark.OPTIMIZERS)
    for r in summary:
        assert int(r['n_seeds']) == 2
        assert float(r['test_min']) <= float(r['test_mean']) <= float(r['test_max'])
    passes = {r['optimizer']: int(r['passes']) for r in summary}
    # 4 steps; Sophia-G adds a Hessian pass at steps 0 and 2
    assert passes['adamw'] == 4 and passes['sophia_g'] == 6 and passes['sign_momentum'] == 4
    assert (out / 'benchmark.png').stat().st_size > 0
    table = (out / 'benchmark.md').read_text(encoding='utf-8')
    assert table.count('\n') == len(benchmark.OPTIMIZERS) + 2
    # A second invocation reuses the finished runs
    assert benchmark.main(TINY + ['--seeds', '0,1', '--grid', 'tiny', '--data', data, '--out', str(out)]) == 0


def test_best_setting_is_chosen_on_validation(tmp_path):
    data = corpus(tmp_path)
    out = tmp_path / 'bench'
    assert benchmark.main(TINY + ['--optimizers', 'adamw', '--seeds', '0', '--data', data, '--out', str(out)]) == 0
    with open(out / 'results.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    finals = {float(r['lr']): float(r['valid_loss']) for r in rows if r['step'] == '4'}
    grid = benchmark.OPTIMIZERS['adamw'][0]
    # The whole grid ran, and at most `extend` more settings past its edges
    assert set(grid) <= set(finals) and len(finals) <= len(grid) + 3
    with open(out / 'summary.csv', newline='') as f:
        best = float(next(csv.DictReader(f))['lr'])
    assert best == min(finals, key=finals.get)
    # Each extension doubled (or halved) the rate at the edge the best sat on when it was added
    extra = sorted(set(finals) - set(grid))
    for lr in extra:
        assert lr > max(grid) or lr < min(grid)


def test_grid_grows_past_the_edge_of_its_best():
    inf = float('inf')
    # Best at the largest rate: try twice that rate
    assert benchmark.extend_grid({(1., None): 3., (2., None): 2.}, (2., None)) == [(4., None)]
    # Best at the smallest rate: try half
    assert benchmark.extend_grid({(1., None): 1., (2., None): 2.}, (1., None)) == [(0.5, None)]
    # Best inside the grid: done
    assert benchmark.extend_grid({(1., 0.1): 3., (2., 0.1): 1., (4., 0.1): 2.}, (2., 0.1)) == []
    # The edge is taken per rho: the best rate at rho 1 is the largest tried at rho 1
    finals = {(1., 0.1): 3., (8., 0.1): 3., (1., 1.): 2., (2., 1.): 1.}
    assert benchmark.extend_grid(finals, (2., 1.)) == [(4., 1.)]
    # Nothing diverged is never extended from: when every run diverged there is no best
    assert benchmark.extend_grid({(1., None): inf, (2., None): inf}, (1., None)) == []


def test_retime_repeats_the_best_runs_with_the_same_losses(tmp_path):
    data = corpus(tmp_path)
    out = tmp_path / 'bench'
    assert benchmark.main(TINY + ['--optimizers', 'adamw,sign_momentum', '--grid', 'tiny', '--seeds', '0',
                                  '--retime', '--data', data, '--out', str(out)]) == 0
    with open(out / 'timing.csv', newline='') as f:
        timing = list(csv.DictReader(f))
    assert {r['optimizer'] for r in timing} == {'adamw', 'sign_momentum'}
    # The same seed gives the same batches and weights, so the re-run reproduces the grid's losses
    assert all(float(r['loss_difference']) == 0 for r in timing)
    assert all(float(r['train_time_s']) > 0 for r in timing)
    table = (out / 'benchmark.md').read_text(encoding='utf-8')
    assert 'quiet run' in table


def test_sign_momentum_clips_everything():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = benchmark.OPTIMIZERS['sign_momentum'][2](model, 1e-3, None, 0., None)
    before = [q.detach().clone() for q in model.parameters()]
    model(torch.randn(8, 4)).pow(2).sum().backward()
    opt.step()
    # Every coordinate moves by exactly lr: the step is lr * sign(m)
    for q, b in zip(model.parameters(), before):
        assert torch.allclose((q.detach() - b).abs(), torch.full_like(b, 1e-3), rtol=1e-4)
    assert benchmark.clipped_fraction([opt]) == 1.


def test_bias_corrected_control_differs_only_by_the_correction():
    model = torch.nn.Linear(4, 3)
    opt = benchmark.SophiaBiasCorrectedH(benchmark.split_params(model, 0.), lr=1e-3, rho=0.04)
    model(torch.randn(8, 4)).pow(2).sum().backward()
    opt.update_hessian(8)
    g = opt.param_groups[0]
    # After one estimate with beta2 = 0.99, h is divided by 0.01: rho / 0.01
    assert abs(opt._rho(g) - 0.04 / (1 - 0.99)) < 1e-12


def test_a_diverged_run_counts_as_infinitely_bad(tmp_path):
    args = dict(zip([a[2:].replace('-', '_') for a in TINY[::2]], TINY[1::2]))
    cfg = benchmark.BenchConfig(**{k: int(v) for k, v in args.items()}, data=corpus(tmp_path),
                                out=str(tmp_path / 'bench'))
    cfg.validate()
    splits = benchmark.Splits(cfg)
    rows = benchmark.train_one(cfg, splits, 'sign_momentum', 1e30, None, 0)['rows']
    assert rows[-1]['valid_loss'] == float('inf')
    # It is recorded, so a second invocation does not train it again
    again = benchmark.train_one(cfg, splits, 'sign_momentum', 1e30, None, 0)['rows']
    assert again[-1]['valid_loss'] == float('inf')


def test_bad_flags():
    with pytest.raises(ExperimentError, match='--optimizers'):
        benchmark.BenchConfig(optimizers='adam,nope').validate()
    with pytest.raises(ExperimentError, match='--seeds'):
        benchmark.BenchConfig(seeds='a').validate()
