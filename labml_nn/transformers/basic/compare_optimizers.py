r"""
---
title: Comparing Sophia-G with AdamW
summary: >
  Trains the same small transformer with AdamW and with Sophia-G, tunes each
  one's learning rate over a small grid, and plots validation loss against steps
  and against training time.
---

# Comparing Sophia-G with AdamW

A fair comparison gives both optimizers the same model, data, seed, batches,
learning-rate schedule and step budget, and lets each have its best learning rate.
This script trains one run for every learning rate in `adamw_lrs` and for every
pair of a learning rate in `sophia_lrs` and a $\rho$ in `sophia_rhos`, through the
[AdamW](autoregressive_experiment.html) and [Sophia-G](with_sophia.html)
experiments. It picks the setting with the lowest final validation loss for each
optimizer, and then

* writes every validation point of every run to a CSV file,
* plots validation loss against steps and against training time (without
  validation and sampling) for both grids, the best run of each drawn thick,
* prints how many steps, and how much time, each run needs to reach the final
  validation loss of AdamW's best run, and how long AdamW's best run needs to
  reach the final loss of Sophia-G's best run.

```bash
python -m labml_nn.transformers.basic.compare_optimizers --device cuda
```

Each run keeps its own folder under `--out` with its metrics and checkpoint; a
second invocation with the same settings reuses finished runs and continues
unfinished ones, so an interrupted comparison can be picked up with the same
command. It runs in a single process.
The results we measured are on the [Sophia-G experiment's page](with_sophia.html).
"""

import csv
import json
import os
import sys
from dataclasses import dataclass, asdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from labml_nn.experiments.checkpoint import CHECKPOINT_NAME
from labml_nn.experiments.config import check_positive, flag, parse_config
from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.run_folder import CONFIG_NAME, atomic_write
from labml_nn.transformers.basic import autoregressive_experiment, with_sophia


@dataclass
class CompareConfig:
    """
    ## Configuration

    The shared settings of all runs. The model is smaller than the experiments'
    default so that the whole grid fits in a CPU budget.
    """
    steps: int = flag(600, help='training steps of every run')
    data: str = flag('', help='plain-text corpus; empty means Tiny Shakespeare')
    device: str = flag('auto', help='where to train', choices=['cpu', 'cuda', 'auto'])
    seed: int = flag(0, help='random seed, the same for every run')
    out: str = flag('runs/compare_optimizers', help='folder for the runs and the results')
    adamw_lrs: str = flag('4e-3,8e-3,1.6e-2', help='comma-separated AdamW learning rates')
    sophia_lrs: str = flag('5e-4,1e-3,2e-3', help='comma-separated Sophia-G learning rates')
    d_model: int = flag(96, help='width of the vectors')
    heads: int = flag(4, help='number of attention heads')
    d_ff: int = flag(384, help='hidden size of the feed-forward networks')
    n_layers: int = flag(2, help='number of transformer layers')
    seq_len: int = flag(64, help='characters of context')
    batch_size: int = flag(32, help='sequences per step')
    warmup_steps: int = flag(60, help='steps of learning-rate warm-up')
    eval_every: int = flag(25, help='steps between validations')
    eval_windows: int = flag(256, help='validation windows')
    hess_interval: int = flag(10, help="steps between Sophia-G's Hessian estimates")
    sophia_rhos: str = flag('0.04,1', help="comma-separated values of Sophia-G's rho; every one is tried with "
                                           "every Sophia-G learning rate")
    csv: str = flag('', help='results CSV; empty means OUT/sophia_vs_adamw.csv')
    png: str = flag('', help='plot; empty means OUT/sophia_vs_adamw.png')

    def validate(self):
        check_positive(self, 'steps', 'eval_every')

# The fields passed on unchanged to every run's configuration
SHARED = ('steps', 'data', 'device', 'seed', 'd_model', 'heads', 'd_ff', 'n_layers', 'seq_len', 'batch_size',
          'warmup_steps', 'eval_every', 'eval_windows')


def parse_list(text: str, flag: str) -> List[float]:
    try:
        values = [float(v) for v in text.split(',') if v.strip()]
    except ValueError:
        raise ExperimentError(f"--{flag} must be comma-separated numbers, got {text!r}") from None
    if not values or min(values) <= 0:
        raise ExperimentError(f"--{flag} must list at least one positive number, got {text!r}")
    return values


# A run of the grid: the optimizer, its learning rate, and for Sophia-G its rho
Setting = Tuple[str, float, Optional[float]]


def label(setting: Setting) -> str:
    optimizer, lr, rho = setting
    name = {'adamw': 'AdamW', 'sophia': 'Sophia-G'}[optimizer]
    return f"{name} lr={lr:g}" + (f" rho={rho:g}" if rho is not None else '')


def run_config(cfg: CompareConfig, setting: Setting):
    """
    ## One run's configuration

    The experiment's own configuration with the shared fields and the learning
    rate filled in. We validate rarely (at the end only, besides the regular grid)
    and sample little, since only the numbers matter here.
    """
    optimizer, lr, rho = setting
    shared = {k: getattr(cfg, k) for k in SHARED}
    out = str(Path(cfg.out) / (f'{optimizer}_lr{lr:g}' + (f'_rho{rho:g}' if rho is not None else '')))
    common = dict(shared, out=out, lr=lr, checkpoint_every=cfg.steps, log_every=cfg.eval_every, sample_chars=60)
    if optimizer == 'adamw':
        return autoregressive_experiment.Config(**common)
    return with_sophia.SophiaConfig(**common, hess_interval=cfg.hess_interval, rho=rho)


def run_one(cfg: CompareConfig, setting: Setting) -> List[Dict[str, float]]:
    """
    ## Train one run, or reuse it

    Returns the metric rows that have a validation loss.
    """
    run_cfg = run_config(cfg, setting)
    out = Path(run_cfg.out)
    if (out / CHECKPOINT_NAME).exists():
        # Only reuse a run that was made with exactly these settings
        saved = json.loads((out / CONFIG_NAME).read_text(encoding='utf-8'))
        wanted = asdict(run_cfg)
        diff = [k for k in wanted if k != 'resume' and saved.get(k) != wanted[k]]
        if diff:
            raise ExperimentError(f"{out} holds a run with another {diff[0]} ({saved.get(diff[0])!r}); "
                                  f"delete that folder or pass another --out")
        run_cfg.resume = True
    train = autoregressive_experiment.train if setting[0] == 'adamw' else with_sophia.train
    print(f"\n=== {label(setting)} -> {out}", flush=True)
    result = train(run_cfg)
    if result['interrupted']:
        raise KeyboardInterrupt
    return [r for r in result['rows'] if r.get('valid_loss', '') != '']


def first_reaching(rows: List[Dict[str, float]], target: float) -> Optional[Tuple[int, float]]:
    """The first validation point at or below `target`, as (step, training seconds)"""
    for r in rows:
        if r['valid_loss'] <= target:
            return int(r['step']), float(r['train_time_s'])
    return None


def plot(results: Dict[Setting, List[Dict[str, float]]], best: Dict[str, Setting], target: float,
         path: Path, title: str):
    """
    ## The plot

    Two panels sharing the loss axis: against steps and against training time.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    colors = {'adamw': 'tab:blue', 'sophia': 'tab:red'}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for setting, rows in sorted(results.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)):
        optimizer = setting[0]
        is_best = best[optimizer] == setting
        steps = [r['step'] for r in rows]
        times = [r['train_time_s'] for r in rows]
        losses = [r['valid_loss'] for r in rows]
        style = dict(color=colors[optimizer], linewidth=2.2 if is_best else 1.0, alpha=1.0 if is_best else 0.45,
                     linestyle='-' if is_best else '--',
                     label=label(setting) + (' (best)' if is_best else ''))
        axes[0].plot(steps, losses, **style)
        axes[1].plot(times, losses, **style)
    for ax in axes:
        ax.axhline(target, color='gray', linewidth=0.8, linestyle=':')
        ax.grid(alpha=0.3)
    axes[0].set_xlabel('step')
    axes[1].set_xlabel('training time (s)')
    axes[0].set_ylabel('validation loss (nats / character)')
    # Leave out the first, very high points so that the end of training is readable
    finals = [rows[-1]['valid_loss'] for rows in results.values()]
    axes[0].set_ylim(min(finals) - 0.05, max(finals) + 0.6)
    axes[1].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format='png', dpi=110), binary=True)
    plt.close(fig)


def compare(cfg: CompareConfig) -> Dict[str, object]:
    """
    ## Run the grid and summarise it
    """
    cfg.validate()
    if int(os.environ.get('WORLD_SIZE', '1')) > 1:
        raise ExperimentError("compare_optimizers runs in a single process; start it with python, not torchrun")
    grids: Dict[str, List[Setting]] = {
        'adamw': [('adamw', lr, None) for lr in parse_list(cfg.adamw_lrs, 'adamw-lrs')],
        'sophia': [('sophia', lr, rho) for rho in parse_list(cfg.sophia_rhos, 'sophia-rhos')
                   for lr in parse_list(cfg.sophia_lrs, 'sophia-lrs')]}
    results = {setting: run_one(cfg, setting) for settings in grids.values() for setting in settings}

    # The best setting of each optimizer, by final validation loss
    best = {opt: min(settings, key=lambda s: results[s][-1]['valid_loss']) for opt, settings in grids.items()}
    target = results[best['adamw']][-1]['valid_loss']

    # Every validation point of every run
    out = Path(cfg.out)
    csv_path = Path(cfg.csv) if cfg.csv else out / 'sophia_vs_adamw.csv'

    def write(f):
        writer = csv.writer(f)
        writer.writerow(['optimizer', 'lr', 'rho', 'best', 'step', 'train_time_s', 'train_loss', 'valid_loss'])
        for settings in grids.values():
            for setting in settings:
                opt, lr, rho = setting
                for r in results[setting]:
                    writer.writerow([opt, f'{lr:g}', '' if rho is None else f'{rho:g}', int(best[opt] == setting),
                                     int(r['step']), r['train_time_s'], f"{r['train_loss']:.4f}",
                                     f"{r['valid_loss']:.4f}"])

    atomic_write(csv_path, write)
    png_path = Path(cfg.png) if cfg.png else out / 'sophia_vs_adamw.png'
    title = (f"{cfg.n_layers} layers, d_model={cfg.d_model}, seq_len={cfg.seq_len}, batch {cfg.batch_size}, "
             f"{cfg.steps} steps, seed {cfg.seed}, device {cfg.device}; dotted line: AdamW's best final loss")
    plot(results, best, target, png_path, title)

    # ### The summary
    summary = {'target': target, 'best': {k: label(v) for k, v in best.items()}, 'runs': {}}
    print(f"\nResults (validation every {cfg.eval_every} steps), written to {csv_path} and {png_path}")
    for settings in grids.values():
        for setting in settings:
            rows = results[setting]
            reach = first_reaching(rows, target)
            summary['runs'][label(setting)] = {'final': rows[-1]['valid_loss'], 'reach': reach,
                                               'time': rows[-1]['train_time_s']}
            where = f"step {reach[0]} ({reach[1]:.1f}s)" if reach else "never"
            mark = ' (best)' if best[setting[0]] == setting else ''
            print(f"  {label(setting):28s} final validation loss {rows[-1]['valid_loss']:.4f} after "
                  f"{rows[-1]['train_time_s']:.1f}s of training; reaches AdamW's best final loss "
                  f"{target:.4f} at {where}{mark}")
    # The other way round: when does the best AdamW run get down to the best Sophia-G run's final loss?
    sophia_final = results[best['sophia']][-1]['valid_loss']
    reach = first_reaching(results[best['adamw']], sophia_final)
    summary['adamw_reaches_sophia'] = reach
    where = f"step {reach[0]} ({reach[1]:.1f}s)" if reach else "never"
    print(f"  {label(best['adamw'])} reaches {label(best['sophia'])}'s final loss {sophia_final:.4f} at {where}")
    return summary


def main(argv=None) -> int:
    try:
        cfg = parse_config(CompareConfig, argv, description='Compare Sophia-G with AdamW on the transformer '
                                                            'experiment.',
                           prog='python -m labml_nn.transformers.basic.compare_optimizers')
        compare(cfg)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 0
    except ExperimentError as e:
        print(f"compare_optimizers: error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("compare_optimizers: interrupted; run the same command again to continue", file=sys.stderr, flush=True)
        return 130
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
