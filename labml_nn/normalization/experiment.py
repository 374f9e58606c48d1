r"""
---
title: Comparing normalization layers on digits
summary: >
  A small convolutional classifier of scikit-learn's 8x8 digits, trained with each normalization
  layer of the chapter under the same protocol, on the experiment harness.
---

# Comparing normalization layers on digits

This experiment trains the same small convolutional network on scikit-learn's $8 \times 8$
handwritten digits (1,257 training, 270 validation and 270 test images; no download) with each
normalization layer of this chapter, and compares them.

```sh
.venv/bin/python -m labml_nn.normalization.experiment --norm group    # one layer
.venv/bin/python -m labml_nn.normalization.experiment --norm all      # all of them: table and plot
```

The network has three $3 \times 3$ convolutions (16, 32 and 32 channels), each followed by the
normalization and a ReLU, a $2 \times 2$ max-pooling after the second, an average over the
positions and a linear layer to the 10 classes.
Convolutions that are followed by a normalization have no bias (the normalization's shift takes
its place).
The variants (`--norm`):

* `none`: no normalization (the convolutions keep their biases);
* `batch`: [batch normalization](batch_norm.html);
* `layer`: [layer normalization](layer_norm.html) over channels and positions;
* `instance`: [instance normalization](instance_norm.html);
* `group`: [group normalization](group_norm.html) with 4 groups;
* `weight_std`: [weight-standardized](weight_standardization.html) convolutions with group normalization;
* `batch_channel`: weight-standardized convolutions with
  [batch-channel normalization](batch_channel_norm.html) (estimated statistics, 4 groups).

The protocol is the same for every variant: the same seeds (which fix the initial weights of the
layers the variants share and the order of the batches), Adam with the same learning rate,
batch size and number of steps, and the accuracy on the test split at the end (in evaluation
mode, so batch normalization uses its running statistics).
With `--norm all` every variant is trained with each of `--seeds` seeds, each run in its own
folder under `--out`, and the comparison writes `results.csv`, `results.md` (the table) and
`comparison.png` (validation loss against steps) into `--out`.
The results we measured are on the [chapter's page](index.html).
"""

import csv
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.experiments.config import RunConfig, check_positive, flag
from labml_nn.experiments.data.digits import load_digits
from labml_nn.experiments.data.sampler import ShuffledBatches
from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.normalization.batch_channel_norm import BatchChannelNorm
from labml_nn.normalization.batch_norm import BatchNorm
from labml_nn.normalization.group_norm import GroupNorm
from labml_nn.normalization.instance_norm import InstanceNorm
from labml_nn.normalization.layer_norm import LayerNorm
from labml_nn.normalization.weight_standardization import Conv2d as WSConv2d

NORMS = ['none', 'batch', 'layer', 'instance', 'group', 'weight_std', 'batch_channel']


@dataclass
class Config(RunConfig):
    """
    ## Configuration
    """
    steps: int = 400
    log_every: int = 50
    eval_every: int = 50
    checkpoint_every: int = 400
    device: str = flag('cpu', help='where to train (the network is tiny: cpu)', on_resume='apply',
                       choices=['cpu', 'cuda', 'auto'])
    norm: str = flag('group', help="the normalization, or 'all' to compare them", choices=NORMS + ['all'])
    seeds: int = flag(3, help="with --norm all: seeds per variant (0, 1, ...)")
    batch_size: int = flag(32, help='images per step')
    lr: float = flag(3e-3, help='learning rate', on_resume='apply')
    groups: int = flag(4, help='groups of group and batch-channel normalization')

    def validate(self):
        super().validate()
        check_positive(self, 'seeds', 'batch_size', 'lr', 'groups')
        if 16 % self.groups != 0:
            raise ExperimentError(f"--groups must divide 16 (the channels of the first convolution), got {self.groups}")


def make_norm(norm: str, channels: int, size: int, groups: int) -> nn.Module:
    r"""The normalization layer of a variant for `channels` channels of `size` $\times$ `size` positions"""
    if norm == 'none':
        return nn.Identity()
    if norm == 'batch':
        return BatchNorm(channels)
    if norm == 'layer':
        return LayerNorm([channels, size, size])
    if norm == 'instance':
        return InstanceNorm(channels)
    if norm in ('group', 'weight_std'):
        return GroupNorm(groups, channels)
    return BatchChannelNorm(channels, groups)


class Classifier(nn.Module):
    """
    ## The classifier
    """

    def __init__(self, norm: str, groups: int = 4):
        super().__init__()
        conv = WSConv2d if norm in ('weight_std', 'batch_channel') else nn.Conv2d
        bias = norm == 'none'
        layers: List[nn.Module] = []
        # `(in_channels, out_channels, size)`: 8x8 positions, then 4x4 after the pooling
        for i, (c_in, c_out, size) in enumerate([(1, 16, 8), (16, 32, 8), (32, 32, 4)]):
            layers += [conv(c_in, c_out, 3, padding=1, bias=bias), make_norm(norm, c_out, size, groups), nn.ReLU()]
            if i == 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, 1, 8, 8]`; returns the logits `[batch_size, 10]`"""
        return self.head(self.features(x).mean(dim=[2, 3]))


@torch.no_grad()
def accuracy_and_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Accuracy and cross-entropy in evaluation mode"""
    was_training = model.training
    model.eval()
    logits = model(x)
    model.train(was_training)
    return (logits.argmax(-1) == y).float().mean().item(), F.cross_entropy(logits, y).item()


def train(cfg: Config) -> dict:
    """
    ## Training one variant

    (`--norm all` calls `compare`.)
    """
    if cfg.norm == 'all':
        return compare(cfg)
    with Run(cfg, name=f'normalization_{cfg.norm}') as run:
        x, y = [t.to(run.device) for t in load_digits('train', seed=0)]
        vx, vy = [t.to(run.device) for t in load_digits('valid', seed=0)]
        tx, ty = [t.to(run.device) for t in load_digits('test', seed=0)]
        model = Classifier(cfg.norm, cfg.groups).to(run.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        batches = ShuffledBatches(len(y), cfg.batch_size, seed=cfg.seed)
        run.track(model=model, optimizer=optimizer, data=batches)
        for step in run.steps():
            idx = batches.next().to(run.device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log(step, loss=loss, samples=len(idx))
            if run.due(step, cfg.eval_every):
                valid_accuracy, valid_loss = accuracy_and_loss(model, vx, vy)
                run.log_eval(step, valid_loss=valid_loss, valid_accuracy=valid_accuracy)
        summary = run.summary()
        summary['test_accuracy'], summary['test_loss'] = accuracy_and_loss(model, tx, ty)
        run.print(f"{cfg.norm}: test accuracy {summary['test_accuracy']:.4f}")
        return summary


def compare(cfg: Config) -> Dict[str, Dict[str, float]]:
    """
    ## Comparing the variants

    Trains every variant with seeds `0 .. seeds - 1` and writes the table and the plot.
    """
    out = Path(cfg.out or 'runs/normalization_comparison')
    out.mkdir(parents=True, exist_ok=True)
    runs: Dict[str, List[dict]] = {}
    for norm in NORMS:
        for seed in range(cfg.seeds):
            started = time.monotonic()
            summary = train(replace(cfg, norm=norm, seed=seed, out=str(out / f'{norm}_s{seed}')))
            summary['wall_seconds'] = time.monotonic() - started
            runs.setdefault(norm, []).append(summary)
    # One row per variant: mean and spread over the seeds
    table: Dict[str, Dict[str, float]] = {}
    for norm, summaries in runs.items():
        acc = [s['test_accuracy'] for s in summaries]
        table[norm] = {'test_accuracy_mean': statistics.mean(acc), 'test_accuracy_min': min(acc),
                       'test_accuracy_max': max(acc),
                       'final_valid_loss_mean': statistics.mean(s['valid_loss'] for s in summaries),
                       'seconds_per_run': statistics.mean(s['wall_seconds'] for s in summaries)}
    with open(out / 'results.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['norm', *next(iter(table.values())).keys()])
        for norm, row in table.items():
            writer.writerow([norm, *(f'{v:.4f}' for v in row.values())])
    lines = ['| normalization | test accuracy (mean) | min | max | final validation loss | seconds per run |',
             '|---|---|---|---|---|---|']
    for norm, r in table.items():
        lines.append(f"| `{norm}` | {r['test_accuracy_mean']:.3f} | {r['test_accuracy_min']:.3f} | "
                     f"{r['test_accuracy_max']:.3f} | {r['final_valid_loss_mean']:.3f} | {r['seconds_per_run']:.1f} |")
    (out / 'results.md').write_text('\n'.join(lines) + '\n', encoding='utf-8')
    print('\n'.join(lines))
    plot(runs, out / 'comparison.png')
    return table


def plot(runs: Dict[str, List[dict]], path: Path):
    """Validation loss against steps, the mean over the seeds of each variant"""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for norm, summaries in runs.items():
        points: Dict[int, List[float]] = {}
        for s in summaries:
            for row in s['rows']:
                if row.get('valid_loss', '') != '':
                    points.setdefault(int(row['step']), []).append(float(row['valid_loss']))
        steps = sorted(points)
        ax.plot(steps, [statistics.mean(points[k]) for k in steps], marker='.', label=norm)
    ax.set_xlabel('step')
    ax.set_ylabel('validation loss')
    ax.set_yscale('log')
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
