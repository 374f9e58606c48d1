"""Tests of the character-level experiments on the harness: the character corpus, training, Sophia's Hessian
estimate, checkpoints, multi-process runs, the handling of bad input, and the same losses as the code before the
harness. Everything runs at toy sizes on made-up text."""

import csv
import hashlib
import json
import math
import os
import random
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from labml_nn.experiments.checkpoint import load_checkpoint
from labml_nn.experiments.data import char_corpus as nlp
from labml_nn.experiments.data.char_corpus import CharTokenizer, TextDataset
from labml_nn.experiments.errors import ExperimentError
from labml_nn.optimizers.sophia import Sophia
from labml_nn.transformers.basic import autoregressive_experiment as adamw_exp
from labml_nn.transformers.basic import compare_optimizers, with_sophia

REPO = Path(__file__).resolve().parent.parent
SHAKESPEARE = REPO.parent / 'shared' / 'data' / 'tiny_shakespeare.txt'


def made_up_text(n_sentences: int = 600, seed: int = 0) -> str:
    """Simple sentences from a small grammar: enough structure for a tiny model to learn quickly."""
    rng = random.Random(seed)
    subjects = ['It is', 'The king is', 'My lord is', 'This night is', 'Her voice is']
    adjectives = ['cold', 'fair', 'dark', 'sweet', 'late', 'true']
    ends = ['.', '!', ', my lord.', ' and so am I.']
    return '\n'.join(f"{rng.choice(subjects)} {rng.choice(adjectives)}{rng.choice(ends)}"
                     for _ in range(n_sentences)) + '\n'


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / 'corpus.txt'
    path.write_text(made_up_text(), encoding='utf-8')
    return path


def tiny(cfg_cls, corpus, out, **changes):
    """A toy configuration of an experiment"""
    base = dict(steps=16, data=str(corpus), device='cpu', seed=0, out=str(out), d_model=32, heads=2, d_ff=64,
                n_layers=1, seq_len=16, batch_size=8, warmup_steps=2, log_every=1, eval_every=8, eval_windows=16,
                checkpoint_every=8, sample_chars=12, lr=3e-3)
    base.update(changes)
    return cfg_cls(**base)


# ## Data

def test_tokenizer_round_trip_and_unknown_characters():
    tok = CharTokenizer.from_text('hello world')
    assert tok.chars == ' dehlorw'
    ids = tok.encode('world hello')
    assert tok.decode(ids.tolist()) == 'world hello'
    with pytest.raises(ExperimentError, match="'z'"):
        tok.encode('zoo')


def test_dataset_windows_and_baseline():
    text = made_up_text(200)
    ds = TextDataset(text, seq_len=10, valid_fraction=0.2)
    assert len(ds.train) + len(ds.valid) == len(text)
    assert ds.tokenizer.decode(ds.valid.tolist()) == text[-len(ds.valid):]
    x, y = ds.train_batch(4, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 10)
    # Targets are the inputs shifted by one character
    torch.testing.assert_close(x[:, 1:], y[:, :-1])
    train_text = ds.tokenizer.decode(ds.train.tolist())
    for row_x, row_y in zip(x, y):
        window = ds.tokenizer.decode(row_x.tolist()) + ds.tokenizer.decode(row_y[-1:].tolist())
        assert window in train_text
    # The same generator state gives the same batch
    x2, _ = ds.train_batch(4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x, x2)
    # Validation windows are fixed and lie inside the validation split
    vx, vy = ds.valid_windows(5)
    torch.testing.assert_close(vx, ds.valid_windows(5)[0])
    assert vx[0].tolist() == ds.valid[:10].tolist() and vy[-1].tolist() == ds.valid[-10:].tolist()
    # The unigram baseline, computed directly
    counts = {c: train_text.count(c) + 1 for c in ds.tokenizer.chars}
    total = sum(counts.values())
    valid_text = text[-len(ds.valid):]
    expected = -sum(math.log(counts[c] / total) for c in valid_text) / len(valid_text)
    assert ds.unigram_loss() == pytest.approx(expected, rel=1e-9)


def test_dataset_rejects_empty_and_short_text():
    with pytest.raises(ExperimentError, match='empty'):
        TextDataset('', 8, 0.1)
    with pytest.raises(ExperimentError, match='seq_len=50 is too long'):
        TextDataset('abcdefghij' * 20, 50, 0.1)


@pytest.mark.skipif(not SHAKESPEARE.is_file(), reason='the shared Tiny Shakespeare copy is not here')
def test_tiny_shakespeare_copy():
    data = SHAKESPEARE.read_bytes()
    assert len(data) == 1_115_394
    assert hashlib.sha256(data).hexdigest() == nlp.TINY_SHAKESPEARE_SHA256
    ds = TextDataset(data.decode('utf-8'), 128, 0.1)
    assert ds.tokenizer.n_vocab == 65
    assert 3.2 < ds.unigram_loss() < 3.5


def test_find_corpus_order_and_download(tmp_path, chdir):
    source = tmp_path / 'source.txt'
    source.write_text('to be or not to be\n', encoding='utf-8')
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    work = tmp_path / 'work'
    work.mkdir()
    chdir(work)
    default = Path('data') / 'corpus.txt'
    # An explicit path wins, and must exist
    assert nlp.find_corpus(str(source), url='unused', sha256=sha, default=default) == source
    with pytest.raises(ExperimentError, match='does not exist'):
        nlp.find_corpus(str(tmp_path / 'missing.txt'), url='unused', sha256=sha, default=default)
    # A download whose checksum does not match leaves nothing behind
    with pytest.raises(ExperimentError, match='SHA-256'):
        nlp.find_corpus('', url=source.as_uri(), sha256='0' * 64, default=default)
    assert not default.exists() and list(default.parent.iterdir()) == []
    # Offline: one message saying where to put the file
    with pytest.raises(ExperimentError) as e:
        nlp.find_corpus('', url=(tmp_path / 'nowhere.txt').as_uri(), sha256=sha, default=default)
    assert str(default) in str(e.value) and '--data' in str(e.value)
    # A good download is saved at the default place and used from then on
    assert nlp.find_corpus('', url=source.as_uri(), sha256=sha, default=default) == default
    assert default.read_bytes() == source.read_bytes()
    assert nlp.find_corpus('', url='unused', sha256=sha, default=default) == default


# ## Training

def train_losses(result):
    return [r['train_loss'] for r in result['rows']]


@pytest.mark.parametrize('optimizer', ['adamw', 'sophia'])
def test_training_reduces_the_loss(optimizer, corpus, tmp_path):
    if optimizer == 'adamw':
        result = adamw_exp.train(tiny(adamw_exp.Config, corpus, tmp_path / 'run', steps=40, eval_every=40))
    else:
        result = with_sophia.train(tiny(with_sophia.SophiaConfig, corpus, tmp_path / 'run', steps=40, eval_every=40,
                                        hess_interval=5))
    losses = train_losses(result)
    assert len(losses) == 40 and result['step'] == 40 and not result['interrupted']
    assert losses[0] == pytest.approx(math.log(CharTokenizer.from_text(made_up_text()).n_vocab), abs=0.15)
    assert sum(losses[-5:]) / 5 < losses[0] - 1.0
    assert result['valid_loss'] < result['unigram_loss']
    assert result['sample'].startswith('It is ')
    # The run folder holds the configuration, the metrics, the checkpoint and the lock, nothing else
    assert sorted(p.name for p in (tmp_path / 'run').iterdir()) == ['.lock', 'checkpoint.pt', 'config.json',
                                                                    'metrics.csv']
    with open(tmp_path / 'run' / 'metrics.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [int(r['step']) for r in rows] == list(range(1, 41))
    assert list(rows[0]) == ['step', 'tokens', 'train_time_s', 'lr', 'train_loss', 'valid_loss', 'tokens_per_s']
    assert float(rows[-1]['valid_loss']) == pytest.approx(result['valid_loss'])


def test_gnb_estimate_changes_only_the_hessian():
    torch.manual_seed(0)
    model = adamw_exp.AutoregressiveTransformer(20, adamw_exp.Config(d_model=16, heads=2, d_ff=32, n_layers=1,
                                                                     seq_len=8))
    optimizer = with_sophia.make_sophia(with_sophia.SophiaConfig(), model)
    x = torch.randint(0, 20, (4, 8))
    y = torch.randint(0, 20, (4, 8))
    # A normal step first, so that the momentum is not zero
    torch.nn.functional.cross_entropy(model(x).reshape(-1, 20), y.reshape(-1)).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    m = {n: optimizer.state[p]['m'].clone() for n, p in model.named_parameters()}
    h = {n: optimizer.state[p]['h'].clone() for n, p in model.named_parameters()}

    with_sophia.estimate_hessian(model, optimizer, x, batch_tokens=x.numel())

    for n, p in model.named_parameters():
        assert torch.equal(p, params[n]), n
        assert p.grad is None, n
        assert torch.equal(optimizer.state[p]['m'], m[n]), n
        assert (optimizer.state[p]['h'] >= 0).all(), n
    assert any(not torch.equal(optimizer.state[p]['h'], h[n]) for n, p in model.named_parameters())


def test_gnb_estimate_matches_the_formula():
    # h = beta2 * h + (1 - beta2) * B * g * g, with g the gradient of the mean loss on the labels sampled
    # from the same random state
    torch.manual_seed(0)
    model = adamw_exp.AutoregressiveTransformer(12, adamw_exp.Config(d_model=16, heads=2, d_ff=32, n_layers=1,
                                                                     seq_len=6))
    cfg = with_sophia.SophiaConfig()
    optimizer = with_sophia.make_sophia(cfg, model)
    x = torch.randint(0, 12, (3, 6))
    torch.manual_seed(1)
    with_sophia.estimate_hessian(model, optimizer, x, batch_tokens=x.numel())
    torch.manual_seed(1)
    logits = model(x)
    y_hat = torch.multinomial(torch.softmax(logits.detach(), -1).reshape(-1, 12), 1).view(-1)
    grads = torch.autograd.grad(torch.nn.functional.cross_entropy(logits.reshape(-1, 12), y_hat),
                                list(model.parameters()))
    for p, g in zip(model.parameters(), grads):
        torch.testing.assert_close(optimizer.state[p]['h'], (1 - cfg.beta2) * x.numel() * g * g)


def test_gnb_estimate_is_unbiased_for_the_gauss_newton_diagonal():
    # The mean of many estimates B * g * g (each with fresh sampled labels) must approach the average over the
    # B tokens of diag(J^T S J), computed exactly from the Jacobian J of each token's logits and
    # S = diag(p) - p p^T. This pins down both the sampling and the factor B.
    torch.manual_seed(0)
    n_vocab = 5
    model = adamw_exp.AutoregressiveTransformer(n_vocab, adamw_exp.Config(d_model=8, heads=2, d_ff=16, n_layers=1,
                                                                          seq_len=3)).double()
    params = list(model.parameters())
    x = torch.randint(0, n_vocab, (2, 3))
    logits = model(x)
    probs = torch.softmax(logits, -1).detach()
    exact = [torch.zeros_like(p) for p in params]
    for b in range(2):
        for t in range(3):
            jac = [torch.autograd.grad(logits[b, t, c], params, retain_graph=True) for c in range(n_vocab)]
            s = torch.diag(probs[b, t]) - torch.outer(probs[b, t], probs[b, t])
            for i in range(len(params)):
                for c in range(n_vocab):
                    for d in range(n_vocab):
                        exact[i] += s[c, d] * jac[c][i] * jac[d][i] / x.numel()
    # With beta2 = 0 the Hessian state is the latest estimate itself
    optimizer = Sophia(params, betas=(0.9, 0.0))
    n = 400
    mean = [torch.zeros_like(p) for p in params]
    for _ in range(n):
        with_sophia.estimate_hessian(model, optimizer, x, batch_tokens=x.numel())
        for i, p in enumerate(params):
            mean[i] += optimizer.state[p]['h'] / n
    flat_exact, flat_mean = torch.cat([e.flatten() for e in exact]), torch.cat([m.flatten() for m in mean])
    assert flat_mean.sum().item() == pytest.approx(flat_exact.sum().item(), rel=0.1)
    assert torch.corrcoef(torch.stack([flat_exact, flat_mean]))[0, 1] > 0.95


class InterruptAt:
    """A `before_step` hook that presses Ctrl-C (sends SIGINT to this process) at one step,
    optionally after Sophia's Hessian estimate."""

    def __init__(self, step, hess_interval=None):
        self.step, self.hess_interval = step, hess_interval

    def __call__(self, step, model, optimizer, x, batch_tokens):
        if self.hess_interval and step % self.hess_interval == 0:
            with_sophia.estimate_hessian(model, optimizer, x, batch_tokens)
        if step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize('optimizer', ['adamw', 'sophia'])
def test_interrupt_and_resume_give_identical_losses(optimizer, corpus, tmp_path):
    # Dropout makes the global random state matter, and Sophia samples labels from it too
    if optimizer == 'adamw':
        cfg = tiny(adamw_exp.Config, corpus, tmp_path / 'full', steps=14, eval_every=7, dropout=0.1)
        make, hook = adamw_exp.make_adamw, InterruptAt(5)
        full = adamw_exp.train(cfg)
    else:
        cfg = tiny(with_sophia.SophiaConfig, corpus, tmp_path / 'full', steps=14, eval_every=7, dropout=0.1,
                   hess_interval=3)
        make, hook = with_sophia.make_sophia, InterruptAt(5, hess_interval=3)
        full = with_sophia.train(cfg)

    # The same run, interrupted by Ctrl-C during step 5: it finishes that step, saves and stops
    part_cfg = replace(cfg, out=str(tmp_path / 'part'))
    name = 'transformer_adamw' if optimizer == 'adamw' else 'transformer_sophia'
    first = adamw_exp.train(part_cfg, make_optimizer=make, before_step=hook, name=name)
    assert first['interrupted'] and first['step'] == 6
    assert load_checkpoint(tmp_path / 'part' / 'checkpoint.pt')['step'] == 6
    assert train_losses(first) == train_losses(full)[:6]

    # Resuming continues exactly as the uninterrupted run
    resumed = adamw_exp.train(replace(part_cfg, resume=True), make_optimizer=make,
                              before_step=InterruptAt(-1, hess_interval=hook.hess_interval), name=name)
    assert not resumed['interrupted'] and resumed['step'] == 14
    assert train_losses(resumed) == train_losses(full)
    assert [r.get('valid_loss') for r in resumed['rows']] == [r.get('valid_loss') for r in full['rows']]
    assert resumed['sample'] == full['sample']
    a = load_checkpoint(tmp_path / 'full' / 'checkpoint.pt')['objects']
    b = load_checkpoint(tmp_path / 'part' / 'checkpoint.pt')['objects']
    for k in a['model']:
        assert torch.equal(a['model'][k], b['model'][k]), k


def test_resume_of_a_finished_run_reports_its_loss(corpus, tmp_path):
    cfg = tiny(adamw_exp.Config, corpus, tmp_path / 'run', steps=4, eval_every=4)
    done = adamw_exp.train(cfg)
    again = adamw_exp.train(replace(cfg, resume=True))
    assert again['step'] == 4 and again['rows'] == done['rows']
    assert again['valid_loss'] == pytest.approx(done['valid_loss'])


def run_cli(module, *args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, '-m', module, *args], cwd=cwd or REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, 'PYTHONPATH': str(REPO)})


def tiny_flags(corpus, out, steps=8):
    return ['--data', str(corpus), '--out', str(out), '--device', 'cpu', '--steps', str(steps), '--d-model', '32',
            '--heads', '2', '--d-ff', '64', '--n-layers', '1', '--seq-len', '16', '--batch-size', '8',
            '--warmup-steps', '2', '--log-every', '1', '--eval-every', '4', '--eval-windows', '16',
            '--sample-chars', '12']


def with_flags(base, *extra):
    """`base` flags with those in `extra` replaced (a flag given twice is refused)"""
    extra = list(extra)
    given = {a for a in extra if a.startswith('--')}
    out, i = [], 0
    while i < len(base):
        if base[i] in given:
            i += 2
            continue
        out.append(base[i])
        i += 1
    return out + extra


def read_rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize('module', ['autoregressive_experiment', 'with_sophia'])
def test_two_process_run_matches_one_process(module, corpus, tmp_path, capsys):
    extra = ['--hess-interval', '2'] if module == 'with_sophia' else []
    module = f'labml_nn.transformers.basic.{module}'
    ddp = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                          '-m', module, *tiny_flags(corpus, tmp_path / 'ddp', steps=8), *extra],
                         cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={**os.environ, 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': '1'})
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    # Only rank 0 wrote, and it printed the result once
    assert sorted(p.name for p in (tmp_path / 'ddp').iterdir()) == ['.lock', 'checkpoint.pt', 'config.json',
                                                                   'metrics.csv']
    assert ddp.stdout.count('Finished at step 8') == 1
    main = with_sophia.main if 'sophia' in module else adamw_exp.main
    code, _, err = call_main(main, [*tiny_flags(corpus, tmp_path / 'single', steps=8), *extra], capsys)
    assert code == 0, err
    a, b = read_rows(tmp_path / 'ddp' / 'metrics.csv'), read_rows(tmp_path / 'single' / 'metrics.csv')
    assert len(a) == len(b) == 8
    # Each process takes half of every global batch, so with AdamW the gradients, and therefore the losses,
    # are those of the single process up to rounding. Sophia's sampled labels come from each process's own
    # random stream, so its Hessian estimates differ a little.
    tolerance = 1e-4 if 'sophia' not in module else 2e-2
    for ra, rb in zip(a, b):
        assert float(ra['train_loss']) == pytest.approx(float(rb['train_loss']), rel=tolerance)
    assert float(a[-1]['valid_loss']) == pytest.approx(float(b[-1]['valid_loss']), rel=tolerance)


# ## The command line and bad input

def call_main(main, argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_lists_every_flag(capsys):
    code, out, _ = call_main(with_sophia.main, ['--help'], capsys)
    assert code == 0
    for name in ('--steps', '--data', '--device', '--seed', '--out', '--resume', '--lr', '--rho',
                 '--hess-interval', '--d-model', '--checkpoint-every', '--prompt'):
        assert name in out
    code, out, _ = call_main(compare_optimizers.main, ['--help'], capsys)
    assert code == 0 and '--sophia-lrs' in out and '--adamw-lrs' in out


def one_line_error(code, err):
    assert code not in (0, None)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize('argv, expected', [
    (['--no-such-flag'], 'unrecognized arguments: --no-such-flag'),
    (['--steps', 'many'], "invalid int value: 'many'"),
    (['--device', 'tpu'], "invalid choice: 'tpu'"),
])
def test_bad_flags(argv, expected, capsys):
    code, _, err = call_main(adamw_exp.main, argv, capsys)
    assert expected in one_line_error(code, err)


def test_bad_input_is_one_line(corpus, tmp_path, capsys):
    def run(*argv, out='run'):
        return call_main(adamw_exp.main, with_flags(tiny_flags(corpus, tmp_path / out, steps=2), *argv), capsys)

    missing = str(tmp_path / 'missing.txt')
    assert f'data file {missing} does not exist' in one_line_error(*run('--data', missing)[::2])
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    assert 'is empty' in one_line_error(*run('--data', str(empty))[::2])
    assert 'seq_len=100000 is too long' in one_line_error(*run('--seq-len', '100000')[::2])
    binary = tmp_path / 'binary.bin'
    binary.write_bytes(b'\xff\xfe\x00abc')
    assert 'not UTF-8' in one_line_error(*run('--data', str(binary))[::2])
    assert '--steps must be positive' in one_line_error(*run('--steps', '0')[::2])
    assert 'divisible' in one_line_error(*run('--heads', '3')[::2])
    assert 'no checkpoint at' in one_line_error(*run('--resume')[::2])
    if not torch.cuda.is_available():
        assert 'no CUDA GPU' in one_line_error(*run('--device', 'cuda')[::2])
    assert 'not in the corpus' in one_line_error(*run('--prompt', 'Zebra')[::2])
    # None of these left a run folder with a checkpoint behind
    assert not (tmp_path / 'run' / 'checkpoint.pt').exists()


def test_checkpoints_are_never_overwritten_by_mistake(corpus, tmp_path, capsys):
    out = tmp_path / 'run'
    out.mkdir()
    # A damaged checkpoint is reported and left as it is
    (out / 'checkpoint.pt').write_bytes(b'not a checkpoint at all')
    code, _, err = call_main(adamw_exp.main, tiny_flags(corpus, out, steps=2) + ['--resume'], capsys)
    assert 'is damaged or not a checkpoint' in one_line_error(code, err)
    assert (out / 'checkpoint.pt').read_bytes() == b'not a checkpoint at all'
    # A file torch can load, but not one of ours
    torch.save({'something': 1}, out / 'checkpoint.pt')
    before = (out / 'checkpoint.pt').read_bytes()
    code, _, err = call_main(adamw_exp.main, tiny_flags(corpus, out, steps=2) + ['--resume'], capsys)
    assert 'not a checkpoint of this harness' in one_line_error(code, err)
    assert (out / 'checkpoint.pt').read_bytes() == before
    # A good checkpoint is not replaced by a fresh run, nor resumed with another model
    (out / 'checkpoint.pt').unlink()
    assert call_main(adamw_exp.main, tiny_flags(corpus, out, steps=2), capsys)[0] == 0
    good = (out / 'checkpoint.pt').read_bytes()
    code, _, err = call_main(adamw_exp.main, tiny_flags(corpus, out, steps=2), capsys)
    assert 'already exists; pass --resume' in one_line_error(code, err)
    code, _, err = call_main(adamw_exp.main, with_flags(tiny_flags(corpus, out, steps=4), '--resume', '--d-model',
                                                        '64'), capsys)
    assert "--d-model is 64 but the run in" in one_line_error(code, err)
    code, _, err = call_main(with_sophia.main, tiny_flags(corpus, out, steps=4) + ['--resume'], capsys)
    assert "written by the experiment 'transformer_adamw', not 'transformer_sophia'" in one_line_error(code, err)
    assert (out / 'checkpoint.pt').read_bytes() == good


@pytest.mark.slow
def test_cli_error_and_ctrl_c_in_a_real_process(corpus, tmp_path):
    # A fatal error: one line on stderr, exit status 1
    r = run_cli('labml_nn.transformers.basic.with_sophia', '--data', str(tmp_path / 'nope.txt'),
                '--out', str(tmp_path / 'x'), '--device', 'cpu')
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"python -m labml_nn.transformers.basic.with_sophia: error: data file {tmp_path / 'nope.txt'} does not "
        f"exist; pass --data with the path of a plain-text file, or leave --data out to use Tiny Shakespeare"]
    assert not (tmp_path / 'x').exists()

    # Ctrl-C: a checkpoint is saved, the process exits with status 130 and without a traceback
    out = tmp_path / 'run'
    proc = subprocess.Popen([sys.executable, '-m', 'labml_nn.transformers.basic.with_sophia',
                             *tiny_flags(corpus, out, steps=100000)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    # Wait until training has started
    seen = ''
    while 'train_loss' not in seen:
        chunk = proc.stdout.read(1)
        assert chunk, proc.stderr.read()
        seen += chunk
    proc.send_signal(signal.SIGINT)
    out_rest, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert 'Traceback' not in err
    assert 'continue with --resume' in out_rest
    state = load_checkpoint(out / 'checkpoint.pt')
    assert state['step'] >= 1
    rows = read_rows(out / 'metrics.csv')
    assert int(rows[-1]['step']) == state['step']


def test_compare_optimizers_writes_results(corpus, tmp_path, capsys):
    argv = ['--data', str(corpus), '--out', str(tmp_path / 'cmp'), '--device', 'cpu', '--steps', '12',
            '--adamw-lrs', '3e-3', '--sophia-lrs', '1e-3,3e-3', '--d-model', '32', '--heads', '2', '--d-ff', '64',
            '--n-layers', '1', '--seq-len', '16', '--batch-size', '8', '--warmup-steps', '2', '--eval-every', '4',
            '--eval-windows', '16']
    code, out, err = call_main(compare_optimizers.main, argv, capsys)
    assert code == 0, err
    rows = read_rows(tmp_path / 'cmp' / 'sophia_vs_adamw.csv')
    assert {(r['optimizer'], r['lr']) for r in rows} == {('adamw', '0.003'), ('sophia', '0.001'), ('sophia', '0.003')}
    assert [int(r['step']) for r in rows if r['optimizer'] == 'adamw'] == [4, 8, 12]
    assert sum(int(r['best']) for r in rows if r['step'] == '12') == 2
    assert (tmp_path / 'cmp' / 'sophia_vs_adamw.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert "reaches AdamW's best final loss" in out
    # Running it again reuses the finished runs and gives the same table
    code, _, _ = call_main(compare_optimizers.main, argv, capsys)
    assert code == 0
    again = read_rows(tmp_path / 'cmp' / 'sophia_vs_adamw.csv')
    assert [r['valid_loss'] for r in again] == [r['valid_loss'] for r in rows]
    # ...but not a run made with other settings
    code, _, err = call_main(compare_optimizers.main, with_flags(argv, '--seq-len', '12'), capsys)
    assert 'holds a run with another' in one_line_error(code, err)


# ## The same losses as before the harness

REFERENCE = Path(__file__).resolve().parent / 'fixtures' / 'harness_reference.json'


@pytest.mark.parametrize('optimizer', ['adamw', 'sophia'])
def test_same_losses_as_the_code_before_the_harness(optimizer, corpus, tmp_path):
    # tests/fixtures/harness_reference.json holds the rows that the experiments computed before they moved onto
    # the harness (commit 1f73408), on this made-up corpus with these configurations
    ref = json.loads(REFERENCE.read_text())[optimizer]
    if optimizer == 'adamw':
        result = adamw_exp.train(adamw_exp.Config(**ref['config'], data=str(corpus), out=str(tmp_path / 'run')))
    else:
        result = with_sophia.train(with_sophia.SophiaConfig(**ref['config'], data=str(corpus),
                                                            out=str(tmp_path / 'run')))
    assert [r['step'] for r in result['rows']] == [r['step'] for r in ref['rows']]
    for new, old in zip(result['rows'], ref['rows']):
        assert new['tokens'] == old['tokens']
        assert new['lr'] == pytest.approx(old['lr'], abs=1e-12)
        assert new['train_loss'] == pytest.approx(old['train_loss'], abs=1e-6)
        if old['valid_loss'] == '':
            assert 'valid_loss' not in new
        else:
            assert new['valid_loss'] == pytest.approx(old['valid_loss'], abs=1e-6)
    assert result['valid_loss'] == pytest.approx(ref['valid_loss'], abs=1e-6)
    assert result['sample'] == ref['sample']


def test_compare_optimizers_same_table_as_before_the_harness(corpus, tmp_path, capsys):
    ref = json.loads(REFERENCE.read_text())['compare']
    code, _, err = call_main(compare_optimizers.main, ['--data', str(corpus), '--out', str(tmp_path / 'cmp'),
                                                       *ref['argv_tail']], capsys)
    assert code == 0, err
    rows = [{k: v for k, v in r.items() if k != 'train_time_s'} for r in read_rows(tmp_path / 'cmp' /
                                                                                    'sophia_vs_adamw.csv')]
    assert len(rows) == len(ref['rows'])
    for new, old in zip(rows, ref['rows']):
        assert {k: v for k, v in new.items() if 'loss' not in k} == {k: v for k, v in old.items() if 'loss' not in k}
        for k in ('train_loss', 'valid_loss'):
            assert float(new[k]) == pytest.approx(float(old[k]), abs=1e-6)


def test_resume_refuses_optimizer_flags_and_records_the_learning_rate(corpus, tmp_path, capsys):
    # The reported fault: on --resume, --rho, --weight-decay and --beta1 silently kept the checkpoint's values while
    # config.json recorded the new ones, and --lr, --batch-size, --dropout were applied without a record
    out = tmp_path / 'run'
    base = tiny_flags(corpus, out, steps=2) + ['--hess-interval', '2']
    assert call_main(with_sophia.main, base, capsys)[0] == 0
    checkpoint = (out / 'checkpoint.pt').read_bytes()
    for flag, value in [('--rho', '0.5'), ('--weight-decay', '0.3'), ('--beta1', '0.5'), ('--beta2', '0.9'),
                        ('--eps', '1e-9'), ('--seq-len', '12'), ('--valid-fraction', '0.2')]:
        code, _, err = call_main(with_sophia.main, with_flags(base, '--resume', '--steps', '4', flag, value), capsys)
        line = one_line_error(code, err)
        assert f"{flag} is " in line and "can't change on --resume" in line, line
        assert (out / 'checkpoint.pt').read_bytes() == checkpoint
    code, _, err = call_main(with_sophia.main, with_flags(base, '--resume', '--steps', '4', '--lr', '1e-3',
                                                          '--batch-size', '4', '--dropout', '0.1'), capsys)
    assert code == 0, err
    saved = json.loads((out / 'config.json').read_text())
    assert (saved['lr'], saved['batch_size'], saved['dropout']) == (1e-3, 4, 0.1)
    assert saved['resumed'][-1] == {'step': 2, 'changed': {'steps': [2, 4], 'batch_size': [8, 4], 'dropout': [0.0, 0.1],
                                                           'lr': [0.002, 0.001]}}
    rows = read_rows(out / 'metrics.csv')
    assert [int(r['tokens']) for r in rows] == [128, 256, 320, 384]
