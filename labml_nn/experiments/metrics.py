"""
---
title: metrics.csv, the same after an interruption
summary: >
  One row per logged step, with the training values averaged since the previous
  row; the rows and the half-filled averages are part of the checkpoint, so an
  interrupted and resumed run writes the same file as an uninterrupted one.
---

# `metrics.csv`, the same after an interruption

A run logs its training values at every step (`run.log(step, loss=...)`); the
file gets one row every `log_every` steps, at every validation and at the last
step. A row holds:

* `step`: the number of steps done (`step + 1` for the 0-based step that logged it);
* `samples` or `tokens`: how many the run has trained on so far, when the
  experiment passes that count;
* `train_time_s`: seconds spent training, without validation, sampling and
  checkpoints (a *timing* column);
* every training value, **averaged over the steps since the previous row** (and over
  the processes); a learning rate (a name `lr`, `lr_...` or `..._lr`) is the value
  at the row's step instead;
* the validation values logged at that step with `run.log_eval`, empty elsewhere;
* `samples_per_s` or `tokens_per_s`: throughput since the previous row (timing).

## Why the checkpoint holds the file

Suppose the user presses Ctrl-C at step 437 with `log_every = 10`. The row for
step 440 is half made: a sum of seven losses. If we wrote a row now, the file
would have a row at 437 that an uninterrupted run does not have, and the next
row would average three losses instead of ten. So on a stop we write no row;
instead the rows so far *and the half-made sums* go into the
[checkpoint](checkpoint.html), and the resumed run carries on adding to them.
Every column that is not a time measurement then equals the uninterrupted
run's, row for row.

The file itself is rewritten from those rows (atomically) at every validation,
every checkpoint and the end. A crash after a validation but before the next
checkpoint can leave rows in the file that the checkpoint doesn't have;
resuming rewrites the file from the checkpoint, so they disappear instead of
being doubled.
"""

import csv
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import torch

from labml_nn.experiments.run_folder import atomic_write

METRICS_NAME = 'metrics.csv'
# Logged counts: summed, and shown as a total and a rate
COUNTS = ('samples', 'tokens')

Number = Union[float, int, torch.Tensor]


def is_latest(name: str) -> bool:
    """Learning rates are recorded at the row's step, not averaged"""
    return name == 'lr' or name.startswith('lr_') or name.endswith('_lr')


class Metrics:
    """
    ## The rows and the half-made row
    """

    def __init__(self, path: Optional[Path]):
        """
        * `path` is the CSV file, or `None` in processes that don't write
        """
        self.path = path
        self.rows: List[Dict[str, Any]] = []
        # Column names, in the order they first appeared
        self.train_names: List[str] = []
        self.eval_names: List[str] = []
        self.count_names: List[str] = []
        # The half-made row: sums and counts of the averaged values, the latest values,
        # the counted samples or tokens since the last row, and the totals
        self.sums: Dict[str, Number] = {}
        self.n: Dict[str, int] = {}
        self.latest: Dict[str, float] = {}
        self.pending_counts: Dict[str, int] = {}
        self.totals: Dict[str, int] = {}
        self.train_time_s = 0.0

    def accumulate(self, values: Dict[str, Number]):
        """
        ### Add one step's values

        Tensors stay tensors (on their device) until the row is made, so that
        logging does not wait for the device at every step.
        """
        for name, value in values.items():
            if name in COUNTS:
                if name not in self.count_names:
                    self.count_names.append(name)
                self.pending_counts[name] = self.pending_counts.get(name, 0) + int(value)
                continue
            if name not in self.train_names:
                self.train_names.append(name)
            if isinstance(value, torch.Tensor):
                value = value.detach()
            if is_latest(name):
                self.latest[name] = float(value)
            elif name in self.sums:
                self.sums[name] = self.sums[name] + value
                self.n[name] += 1
            else:
                self.sums[name] = value
                self.n[name] = 1

    @property
    def has_pending(self) -> bool:
        return bool(self.n or self.latest or self.pending_counts)

    def take(self):
        """
        ### Hand over the half-made row and start a new one

        Returns `(sums, n, latest, counts)`; the caller adds the sums over the
        processes and divides.
        """
        taken = self.sums, self.n, self.latest, self.pending_counts
        self.sums, self.n, self.latest, self.pending_counts = {}, {}, {}, {}
        return taken

    def add_row(self, step: int, means: Dict[str, float], counts: Dict[str, int], interval_s: float):
        """
        ### Append a row

        * `step` is the number of steps done
        * `means` are the averaged (and latest) training values
        * `counts` are the samples or tokens since the previous row
        * `interval_s` is the training time since the previous row
        """
        self.train_time_s += interval_s
        row: Dict[str, Any] = {'step': step}
        for name, c in counts.items():
            self.totals[name] = self.totals.get(name, 0) + c
        for name in self.count_names:
            row[name] = self.totals.get(name, 0)
        row['train_time_s'] = round(self.train_time_s, 3)
        row.update(means)
        for name, c in counts.items():
            row[f'{name}_per_s'] = round(c / interval_s) if interval_s > 0 else ''
        self.rows.append(row)
        return row

    def add_eval(self, step: int, values: Dict[str, float]):
        """Put validation values into the row of `step` (the last row), making one if needed"""
        for name in values:
            if name not in self.eval_names:
                self.eval_names.append(name)
        if not self.rows or self.rows[-1]['step'] != step:
            self.rows.append({'step': step})
        self.rows[-1].update(values)

    @property
    def columns(self) -> List[str]:
        return (['step'] + self.count_names + ['train_time_s'] + self.train_names + self.eval_names +
                [f'{name}_per_s' for name in self.count_names])

    def flush(self):
        """Rewrite the whole file atomically (only in the writing process)"""
        if self.path is None:
            return
        columns = self.columns

        def write(f):
            writer = csv.DictWriter(f, fieldnames=columns, restval='')
            writer.writeheader()
            writer.writerows(self.rows)

        atomic_write(self.path, write)

    def state_dict(self) -> Dict[str, Any]:
        """Everything above, for the checkpoint"""
        return {'rows': [dict(r) for r in self.rows], 'train_names': list(self.train_names),
                'eval_names': list(self.eval_names), 'count_names': list(self.count_names),
                'sums': dict(self.sums), 'n': dict(self.n), 'latest': dict(self.latest),
                'pending_counts': dict(self.pending_counts), 'totals': dict(self.totals),
                'train_time_s': self.train_time_s}

    def load_state_dict(self, state: Dict[str, Any], device: Optional[torch.device] = None):
        self.rows = [dict(r) for r in state['rows']]
        self.train_names, self.eval_names = list(state['train_names']), list(state['eval_names'])
        self.count_names = list(state['count_names'])
        self.sums = {k: v.to(device) if isinstance(v, torch.Tensor) and device is not None else v
                     for k, v in state['sums'].items()}
        self.n, self.latest = dict(state['n']), dict(state['latest'])
        self.pending_counts, self.totals = dict(state['pending_counts']), dict(state['totals'])
        self.train_time_s = state['train_time_s']


def read_metrics(path: Path) -> List[Dict[str, float]]:
    """Read a `metrics.csv` back as a list of rows of numbers, with empty cells left out"""
    with open(path, newline='', encoding='utf-8') as f:
        return [{k: float(v) for k, v in row.items() if v != ''} for row in csv.DictReader(f)]


TIMING_COLUMNS = ('train_time_s', 'samples_per_s', 'tokens_per_s')


def without_timing(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The rows without the columns that measure time, for comparing two runs"""
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]


def is_finite(value: Any) -> bool:
    return isinstance(value, str) or math.isfinite(value)
