"""
`bench/optimizers.py --all` at a tiny size: every optimizer of the chapter is timed, each of ours that
`torch.optim` also has sits beside its counterpart in the Markdown table, and the state sizes are those
the optimizers keep.
"""

import importlib.util
import json
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    'bench_optimizers', Path(__file__).resolve().parent.parent / 'bench' / 'optimizers.py')
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_bench_all_tiny(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    bench.main(['--all', '--no-fused', '--tiny', '--rounds', '1', '--steps', '1', '--warmup', '0',
                '--json', str(out)])
    result = json.loads(out.read_text())
    rows = {r['name']: r for r in result['rows']}
    table = result['markdown_table']
    assert table in capsys.readouterr().out
    n = result['n_params']
    # Every optimizer of the chapter
    for name in ['Adam', 'AdamW', 'AMSGrad', 'RAdam', 'Adafactor', 'Adam fp32 master', 'Muon + AdamW', 'Lion',
                 'AdaBelief', 'Cautious AdamW', 'Schedule-Free AdamW', 'SOAP', 'Sophia']:
        assert any(line.startswith(f'| {name},') for line in table.splitlines()), name
    # Beside their torch.optim counterparts
    pairs = {'AMSGrad, multi-tensor': 'torch Adam amsgrad foreach=True',
             'RAdam, multi-tensor': 'torch RAdam foreach=True',
             'Adafactor, multi-tensor': 'torch Adafactor foreach=True',
             'Muon + AdamW, per-tensor': 'torch Muon + AdamW foreach=True',
             'Adam fp32 master, multi-tensor': 'torch AdamW foreach=True on fp32 copies',
             'Adam, multi-tensor': 'torch Adam foreach=True'}
    lines = {line.split(' | ')[0][2:]: line for line in table.splitlines()[2:]}
    for ours, theirs in pairs.items():
        assert f'| {theirs} |' in lines[ours], ours
        assert lines[ours].endswith('x |')
    # State in bytes: Adam-like 8 per parameter, AMSGrad 12, Lion 4, the master copy 12 (float32 m, v and
    # weights), Adafactor far less than one
    assert rows['AdamW, multi-tensor (ours)']['state_bytes'] == 8 * n
    assert rows['AMSGrad, multi-tensor (ours)']['state_bytes'] == 12 * n
    assert rows['Lion, multi-tensor (ours)']['state_bytes'] == 4 * n
    assert rows['Adam fp32 master, multi-tensor (ours)']['state_bytes'] == 12 * n
    assert rows['Adafactor, multi-tensor (ours)']['state_bytes'] < 0.5 * n
    # SOAP's state counts its matrices and bases, not only m and v
    assert rows['SOAP, batched (ours)']['state_bytes'] > 8 * n
    assert all(r['median_ms'] > 0 for r in result['rows'])
