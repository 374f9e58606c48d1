"""Tests of the experiment harness (labml_nn/experiments): config, run folder, checkpoints, metrics, progress,
stop requests and the divergence guard, on a tiny digits experiment (tests/harness_demo.py)."""

import csv
import dataclasses
import io
import json
import math
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
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


def run_demo(*args, timeout=300):
    return subprocess.run([sys.executable, str(DEMO), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, 'OMP_NUM_THREADS': '1'})


def one_line(text):
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def call(argv, capsys):
    code = demo.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def flags(out, *extra, steps=12):
    return ['--out', str(out), '--steps', str(steps), '--log-every', '3', '--eval-every', '6',
            '--checkpoint-every', '6', *extra]


# ## Configuration: unknown, conflicting and bad flags

@pytest.mark.parametrize('argv, expected', [
    (['--no-such-flag'], 'unrecognized arguments: --no-such-flag'),
    (['--steps', 'many'], "invalid int value: 'many'"),
    (['--device', 'tpu'], "invalid choice: 'tpu'"),
    (['--lr', '1e-3', '--lr', '1e-2'], '--lr is given more than once'),
    (['--resume', '--no-resume'], '--resume is given more than once'),
    (['--log-every', '0'], '--log-every must be positive, got 0'),
    (['--dropout', '1.5'], '--dropout must lie in [0, 1), got 1.5'),
])
def test_bad_flags_are_one_line(argv, expected, capsys, tmp_path):
    code, _, err = call(['--out', str(tmp_path / 'run'), *argv], capsys)
    assert code == 2
    assert expected in one_line(err)
    assert not (tmp_path / 'run').exists()


def test_flags_spellings_and_types():
    cfg = parse_config(demo.Config, ['--batch_size', '8', '--hidden', '4', '--no-resume', '--lr', '1e-2'])
    assert (cfg.batch_size, cfg.hidden, cfg.resume, cfg.lr) == (8, 4, False, 0.01)
    with pytest.raises(ExperimentError, match='--hidden must be a int'):
        demo.Config(hidden=2.5).validate()
    # A subclass that only changes a default keeps the base's rule and help
    assert demo.Config.__dataclass_fields__['steps'].metadata == {}
    from labml_nn.experiments.config import metadata
    assert metadata(demo.Config, 'steps')['on_resume'] == 'apply'
    with pytest.raises(ValueError, match='on_resume'):
        flag(1, on_resume='maybe')


# ## The rule on --resume

def test_changed_flag_on_resume_is_refused_or_recorded(tmp_path, capsys):
    out = tmp_path / 'run'
    assert call(flags(out), capsys)[0] == 0
    checkpoint = (out / 'checkpoint.pt').read_bytes()
    config = (out / 'config.json').read_text()
    # Flags the saved state depends on are refused, naming the flag and both values; nothing is changed
    for extra, name in [(['--beta1', '0.5'], '--beta1'), (['--hidden', '8'], '--hidden'), (['--seed', '1'], '--seed'),
                        (['--gamma', '0.5'], '--gamma')]:
        code, _, err = call(flags(out, '--resume', *extra, steps=18), capsys)
        assert code == 2
        line = one_line(err)
        assert f"{name} is " in line and "can't change on --resume" in line and 'was made with' in line
        assert (out / 'checkpoint.pt').read_bytes() == checkpoint
        assert (out / 'config.json').read_text() == config
    # Flags read afresh at every step are applied from the resumed step on, and recorded
    code, _, err = call(flags(out, '--resume', '--lr', '1e-3', '--dropout', '0.1', steps=18), capsys)
    assert code == 0, err
    saved = json.loads((out / 'config.json').read_text())
    assert saved['lr'] == 1e-3 and saved['dropout'] == 0.1 and saved['steps'] == 18
    assert saved['resumed'] == [{'step': 12, 'changed': {'steps': [12, 18], 'dropout': [0.2, 0.1],
                                                        'lr': [0.003, 0.001]}}]
    r = rows(out / 'metrics.csv')
    # The learning rate column shows the new value from step 13 on (decayed by gamma every 10 steps)
    assert float(r[3]['lr']) == pytest.approx(0.003 * 0.9)
    assert float(r[4]['lr']) == pytest.approx(0.001 * 0.9)
    # ...and the checkpoint's copy of the configuration is the new one too
    from labml_nn.experiments.checkpoint import load_checkpoint
    assert load_checkpoint(out / 'checkpoint.pt')['config']['lr'] == 1e-3


# ## The run folder

def test_second_run_into_a_locked_folder_refuses(tmp_path, capsys):
    out = tmp_path / 'run'
    with Run(tiny(out), name='harness_demo') as run:
        assert run.out == out
        # Another run into the same folder, while the first holds it
        code, _, err = call(flags(out), capsys)
        assert code == 2
        line = one_line(err)
        assert line.startswith(f'harness_demo: error: another run is using {out} (process {os.getpid()})')
        assert 'pass another --out' in line
        assert not (out / 'checkpoint.pt').exists()
    # Once the first run has ended, the folder is free
    assert call(flags(out), capsys)[0] == 0


@pytest.mark.slow
def test_a_real_second_process_is_refused(tmp_path):
    out = tmp_path / 'run'
    first = subprocess.Popen([sys.executable, str(DEMO), *flags(out, '--slow', '0.2', steps=1000)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, 'OMP_NUM_THREADS': '1'})
    try:
        assert 'starting' in first.stdout.readline()
        second = run_demo(*flags(out))
        assert second.returncode == 2
        assert f'another run is using {out} (process {first.pid})' in one_line(second.stderr)
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130


def test_out_that_is_not_a_writable_folder_is_one_line(tmp_path, capsys):
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    for out, expected in [(a_file, f'--out {a_file} is a file, not a folder'),
                          (a_file / 'sub', f"can't create the run folder {a_file / 'sub'} (Not a directory)"),
                          (Path('/proc/no_such_run'), "can't create the run folder /proc/no_such_run")]:
        code, _, err = call(flags(out), capsys)
        assert code == 2
        assert expected in one_line(err)


@pytest.mark.skipif(os.geteuid() == 0, reason='root can write into read-only folders')
def test_read_only_out_is_one_line(tmp_path, capsys):
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, _, err = call(flags(ro / 'run'), capsys)
        assert code == 2 and "can't create the run folder" in one_line(err)
    finally:
        ro.chmod(0o700)


# ## Checkpoints

def test_corrupt_checkpoints_are_refused_and_left_untouched(tmp_path, capsys):
    out = tmp_path / 'run'
    assert call(flags(out), capsys)[0] == 0
    path = out / 'checkpoint.pt'
    good = path.read_bytes()

    def refused(data, expected):
        path.write_bytes(data)
        code, _, err = call(flags(out, '--resume', steps=18), capsys)
        assert code == 2
        line = one_line(err)
        assert expected in line and 'it was left untouched' in line, line
        assert path.read_bytes() == data

    # Truncated: half of the file
    refused(good[:len(good) // 2], 'is damaged or not a checkpoint')
    # One bit flipped inside the bytes of a tensor: the first weight matrix, stored uncompressed in the zip
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        infos = [i for i in z.infolist() if '/data/' in i.filename]
        info = max(infos, key=lambda i: i.file_size)
    header = good[info.header_offset:info.header_offset + 30]
    name_len, extra_len = struct.unpack('<HH', header[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    flipped = bytearray(good)
    flipped[start + info.file_size // 2] ^= 0x10
    refused(bytes(flipped), 'is corrupt: the SHA-256 of its contents is')
    # Not ours, and another format version
    buf = io.BytesIO()
    torch.save({'something': 1}, buf)
    refused(buf.getvalue(), 'is not a checkpoint of this harness')
    buf = io.BytesIO()
    path.write_bytes(good)
    wrapped = torch.load(path, weights_only=True)
    torch.save({**wrapped, 'format': 1}, buf)
    refused(buf.getvalue(), 'has format 1, this code reads format 2')
    # The good checkpoint still resumes
    path.write_bytes(good)
    assert call(flags(out, '--resume', steps=18), capsys)[0] == 0


def test_digest_covers_every_tensor_byte_and_value():
    from labml_nn.experiments.checkpoint import digest
    state = {'w': torch.arange(6, dtype=torch.float32).reshape(2, 3), 'step': 3, 'b': torch.zeros(2,
                                                                                             dtype=torch.bfloat16)}
    d = digest(state)
    assert d == digest({k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in state.items()})
    w = state['w'].clone()
    w.view(torch.int32)[1, 1] ^= 1
    assert digest({**state, 'w': w}) != d
    assert digest({**state, 'step': 4}) != d
    assert digest({**state, 'w': state['w'].reshape(3, 2)}) != d
    assert digest({**state, 'b': torch.zeros(2, dtype=torch.float16)}) != d


def test_fresh_run_never_overwrites_a_checkpoint(tmp_path, capsys):
    out = tmp_path / 'run'
    assert call(flags(out), capsys)[0] == 0
    good = (out / 'checkpoint.pt').read_bytes()
    code, _, err = call(flags(out), capsys)
    assert code == 2 and 'already exists; pass --resume' in one_line(err)
    assert (out / 'checkpoint.pt').read_bytes() == good
    code, _, err = call(flags(tmp_path / 'empty', '--resume'), capsys)
    assert code == 2 and 'there is no checkpoint at' in one_line(err)


# ## Exact resume

def compare_runs(full, part):
    """Two finished run folders: same weights, optimizer, scheduler and data state, same metrics.csv apart from
    the timing columns"""
    from labml_nn.experiments.checkpoint import load_checkpoint
    from labml_nn.experiments.metrics import without_timing
    a, b = load_checkpoint(full / 'checkpoint.pt'), load_checkpoint(part / 'checkpoint.pt')
    assert a['step'] == b['step']
    for k, v in a['objects']['model'].items():
        assert torch.equal(v, b['objects']['model'][k]), k
    oa, ob = a['objects']['optimizer'], b['objects']['optimizer']
    assert oa['param_groups'] == ob['param_groups']
    for i, s in oa['state'].items():
        for k, v in s.items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(ob['state'][i][k])), (i, k)
    assert a['objects']['scheduler'] == b['objects']['scheduler']
    assert a['objects']['data']['epoch'] == b['objects']['data']['epoch']
    assert torch.equal(a['objects']['data']['generator'], b['objects']['data']['generator'])
    ra, rb = without_timing(rows(full / 'metrics.csv')), without_timing(rows(part / 'metrics.csv'))
    assert ra == rb
    return ra


@pytest.mark.parametrize('stop_at', [0, 4, 5, 7, 11])
def test_resume_after_ctrl_c_equals_an_uninterrupted_run(stop_at, tmp_path, capsys):
    # log_every=3 and eval/checkpoint every 6: a stop after steps 1, 5 or 8 leaves a half-made row of metrics
    full, part = tmp_path / 'full', tmp_path / 'part'
    assert call(flags(full), capsys)[0] == 0
    code, out, _ = call(flags(part, '--stop-at', str(stop_at)), capsys)
    assert code == 130 and f'Stopped at step {stop_at + 1}' in out
    r = rows(part / 'metrics.csv')
    # No row at the interrupted step (unless it was a row's step anyway)
    assert [int(x['step']) for x in r] == [s for s in (3, 6, 9, 12) if s <= stop_at + 1]
    code, _, err = call(flags(part, '--resume'), capsys)
    assert code == 0, err
    ra = compare_runs(full, part)
    assert [int(x['step']) for x in ra] == [3, 6, 9, 12]


@pytest.mark.slow
def test_resume_after_a_real_sigint_at_a_random_step(tmp_path):
    # The uninterrupted run, then the same run interrupted by SIGINT from outside at a random moment
    full, part = tmp_path / 'full', tmp_path / 'part'
    steps = 40
    common = ['--log-every', '3', '--eval-every', '8', '--checkpoint-every', '10', '--steps', str(steps)]
    assert run_demo('--out', str(full), *common).returncode == 0
    rng = random.Random()
    for attempt in range(3):
        shutil.rmtree(part, ignore_errors=True)
        delay = rng.uniform(0.05, 1.0)
        proc = subprocess.Popen([sys.executable, str(DEMO), '--out', str(part), *common, '--slow', '0.05'],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, 'OMP_NUM_THREADS': '1'})
        assert 'starting' in proc.stdout.readline()
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
        # Its output went to a pipe: plain lines, no terminal escape codes
        assert '\x1b' not in out and '\r' not in out
        if proc.returncode == 0:
            continue    # it finished before the signal came; try again with another delay
        assert proc.returncode == 130, err
        assert 'Traceback' not in err
        break
    else:
        pytest.fail('the run always finished before the signal')
    from labml_nn.experiments.checkpoint import load_checkpoint
    stopped = load_checkpoint(part / 'checkpoint.pt')['step']
    print(f'interrupted after {delay:.2f}s, at step {stopped}')
    assert 1 <= stopped < steps
    assert run_demo('--out', str(part), *common, '--resume').returncode == 0
    compare_runs(full, part)


# ## The divergence guard

def test_divergence_stops_with_one_line_before_writing_nan(tmp_path, capsys):
    out = tmp_path / 'run'
    code, _, err = call(flags(out, '--blow-up-at', '7'), capsys)
    assert code == 2
    line = one_line(err)
    assert re.fullmatch(r"harness_demo: error: step (8|9|10): loss is (nan|inf); the last good checkpoint is "
                        + re.escape(str(out / 'checkpoint.pt')) + r" \(step 6\); try a smaller --lr", line), line
    # Nothing non-finite was written: not in metrics.csv, not in the checkpoint, which is still the one of step 6
    r = rows(out / 'metrics.csv')
    assert all(math.isfinite(float(v)) for row in r for v in row.values() if v != '')
    from labml_nn.experiments.checkpoint import load_checkpoint
    state = load_checkpoint(out / 'checkpoint.pt')
    assert state['step'] == 6
    assert all(torch.isfinite(v).all() for v in state['objects']['model'].values())


def test_divergence_of_the_transformer_with_a_huge_lr(tmp_path, capsys):
    # The reported case: --lr 1e30 --grad-clip 0 died in torch.multinomial after writing NaN rows
    from labml_nn.transformers.basic import autoregressive_experiment as exp
    corpus = tmp_path / 'corpus.txt'
    corpus.write_text('It is cold. The king is fair, my lord.\n' * 40)
    argv = ['--data', str(corpus), '--out', str(tmp_path / 'run'), '--device', 'cpu', '--steps', '20',
            '--d-model', '16', '--heads', '2', '--d-ff', '32', '--n-layers', '1', '--seq-len', '8',
            '--batch-size', '4', '--warmup-steps', '1', '--log-every', '1', '--eval-every', '5',
            '--eval-windows', '4', '--sample-chars', '4', '--lr', '1e30', '--grad-clip', '0']
    code = exp.main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(r"error: step \d+: train_loss is (nan|inf); .*; try a smaller --lr$", one_line(err))
    r = rows(tmp_path / 'run' / 'metrics.csv') if (tmp_path / 'run' / 'metrics.csv').exists() else []
    assert all(math.isfinite(float(v)) for row in r for v in row.values() if v != '')


# ## Progress

def test_progress_without_a_terminal_is_plain_lines(tmp_path, capsys):
    # pytest's captured standard output is not a terminal, like a CI log or a pipe
    code, stdout, _ = call(flags(tmp_path / 'run'), capsys)
    assert code == 0
    assert '\x1b' not in stdout and '\r' not in stdout
    lines = stdout.splitlines()
    progress = [x for x in lines if x.startswith('step ')]
    assert [x.split()[1] for x in progress] == ['3/12', '6/12', '9/12', '12/12']
    assert all(' elapsed ' in x and ' left ' in x and ' loss ' in x and 'samples/s' in x for x in progress)
    assert 'valid_loss' in progress[1]


def test_progress_on_a_terminal_redraws_one_line(capsys):
    from labml_nn.experiments.progress import Progress
    clock = FakeClock()
    p = Progress(10, tty=True, clock=clock, redraw_s=0)
    p.begin()
    for done in range(1, 4):
        clock.now += 1
        p.step(done)
    p.row({'step': 3, 'loss': 1.5}, keep=True)
    out = capsys.readouterr().out
    assert out.count('\r') >= 3 and out.endswith('\n')
    assert 'step 3/10' in out and 'loss' in out and 'elapsed' in out and 'left 0:07' in out


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_time_left_follows_the_recent_steps():
    from labml_nn.experiments.progress import Progress
    clock = FakeClock()
    stream = io.StringIO()
    p = Progress(1200, tty=False, stream=stream, clock=clock, window=50)
    p.begin()
    # 400 steps of 1 s
    for done in range(1, 401):
        clock.now += 1.0
        p.step(done)
    assert p.text().endswith('elapsed 6:40  left 13:20')
    # A slow patch: 10 steps of 6 s; the window holds 40 steps of 1 s and 10 of 6 s: 2 s per step
    for done in range(401, 411):
        clock.now += 6.0
        p.step(done)
    assert p.time_left.seconds_per_step() == pytest.approx(2.0)
    assert p.text().endswith(f'left {790 * 2 // 60}:{790 * 2 % 60:02d}')
    # Back to 1 s per step: after 50 steps the slow patch has left the window
    for done in range(411, 461):
        clock.now += 1.0
        p.step(done)
    assert p.time_left.left(1200 - 460) == pytest.approx(740.0)
    assert p.text().endswith('elapsed 8:30  left 12:20')
    # The last step: nothing left, and more than an hour is h:mm:ss
    p.step(1200)
    assert p.text().endswith('left 0:00')
    from labml_nn.experiments.progress import format_duration
    assert format_duration(3725) == '1:02:05' and format_duration(59.6) == '1:00'


def test_time_left_of_a_resumed_run_counts_only_the_steps_to_go():
    from labml_nn.experiments.progress import Progress
    clock = FakeClock()
    p = Progress(100, start=90, tty=False, stream=io.StringIO(), clock=clock)
    p.begin()
    assert 'left ?' in p.text()
    for done in range(91, 95):
        clock.now += 0.5
        p.step(done)
    assert p.text().startswith('step 94/100') and p.text().endswith('left 0:03')


# ## Several processes

def torchrun(*args, timeout=600):
    return subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                           str(DEMO), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'})


@pytest.mark.slow
def test_two_processes_rank_0_writes_and_resume_is_exact(tmp_path):
    # Two processes (gloo on the CPU, each half of every batch); with dropout each has its own random stream.
    # (That two processes train like one is tested with the transformer in test_experiment.py.)
    full, part = tmp_path / 'full', tmp_path / 'part'
    r = torchrun(*flags(full))
    assert r.returncode == 0, r.stderr[-3000:]
    # Only rank 0 wrote and printed
    assert sorted(p.name for p in full.iterdir()) == ['.lock', 'checkpoint.pt', 'config.json', 'metrics.csv']
    assert r.stdout.count('harness_demo: starting') == 1 and r.stdout.count('step 12/12') == 1
    # A stop and a resume restore both processes' random states exactly
    r = torchrun(*flags(part, '--stop-at', '4'))
    assert 'Stopped at step 5' in r.stdout, r.stderr[-3000:]
    from labml_nn.experiments.checkpoint import load_checkpoint
    state = load_checkpoint(part / 'checkpoint.pt')
    assert state['step'] == 5 and len(state['ranks']) == 2
    assert not torch.equal(state['ranks'][0]['rng']['torch'], state['ranks'][1]['rng']['torch'])
    # Resuming with another number of processes is refused
    r = run_demo(*flags(part, '--resume'))
    assert r.returncode == 2 and 'written by 2 process(es)' in one_line(r.stderr)
    r = torchrun(*flags(part, '--resume'))
    assert r.returncode == 0, r.stderr[-3000:]
    compare_runs(full, part)


def test_rows_written_after_the_last_checkpoint_are_replaced_on_resume(tmp_path, capsys):
    # A run that stops without a checkpoint (here: it diverges at step 11) has written rows past its last
    # checkpoint (step 6); resuming from that checkpoint drops them and the file ends up as an uninterrupted run's
    full, part = tmp_path / 'full', tmp_path / 'part'
    assert call(flags(full), capsys)[0] == 0
    code, _, err = call(flags(part, '--blow-up-at', '10'), capsys)
    assert code == 2 and 'step 12: loss is' in err
    assert [int(r['step']) for r in rows(part / 'metrics.csv')] == [3, 6, 9]
    code, _, err = call(flags(part, '--resume', '--blow-up-at', '-1'), capsys)
    assert code == 0, err
    compare_runs(full, part)
