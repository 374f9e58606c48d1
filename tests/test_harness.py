"""Tests of the experiment harness (labml_nn/experiments): config, run folder, checkpoints, metrics, progress,
stop requests and the divergence guard, on a tiny digits experiment (tests/harness_demo.py)."""

import csv
import dataclasses
import io
import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness_demo as demo  # noqa: E402
from labml_nn.experiments.config import RunConfig, flag, parse_config  # noqa: E402
from labml_nn.experiments.errors import ExperimentError, RunDiverged  # noqa: E402
from labml_nn.experiments.trainer import Run  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO = Path(__file__).resolve().parent / 'harness_demo.py'


def tiny(out, **changes):
    return dataclasses.replace(demo.Config(out=str(out), steps=12, log_every=3, eval_every=6, checkpoint_every=6),
                               **changes)


def rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_smoke_run_writes_its_folder(tmp_path):
    summary = demo.train(tiny(tmp_path / 'run'))
    assert summary['step'] == 12 and not summary['interrupted']
    names = sorted(p.name for p in (tmp_path / 'run').iterdir())
    assert names == ['.lock', 'checkpoint.pt', 'config.json', 'metrics.csv']
    r = rows(tmp_path / 'run' / 'metrics.csv')
    assert [int(x['step']) for x in r] == [3, 6, 9, 12]
    assert r[1]['valid_loss'] != '' and r[0]['valid_loss'] == ''
    assert float(r[-1]['valid_loss']) == pytest.approx(summary['valid_loss'])
    assert json.loads((tmp_path / 'run' / 'config.json').read_text())['steps'] == 12
