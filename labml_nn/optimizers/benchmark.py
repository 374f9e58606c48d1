r"""
---
title: Benchmark of the Optimizers on a Character-Level Transformer
summary: >
  Trains the same small character-level transformer with every optimizer of the chapter, tunes each
  one's learning rate on a validation split, and reports the loss on a separate test split over several
  seeds, against steps, forward-backward passes and time.
---

# Benchmark of the Optimizers

This experiment trains one small transformer (the model of the
[transformer experiment](../transformers/basic/autoregressive_experiment.html)) on Tiny Shakespeare
with every optimizer of this chapter, under one protocol:

* **The same model, data and batches.** Every run of a seed starts from the same weights and
  sees the same batches in the same order.
* **A learning-rate grid per optimizer**, tuned with seed 0: the setting with the lowest final loss on the
  *validation* split wins. For Sophia-G the grid also covers $\rho$ (from 0.04 to 5), and every run logs
  the fraction of clipped coordinates, the quantity the Sophia authors suggest tuning $\rho$ by.
* **Grids that grow.** A best learning rate at the edge of its grid means the grid was too narrow
  for that optimizer, and a narrow grid would handicap it. So when the best rate is the largest (or
  smallest) one tried, the next run doubles (or halves) it, up to `--extend` times (3 by default).
* **Reported on a separate test split**, with the best setting run again for the other seeds: the
  table gives the mean and the spread (the smallest and largest value) over the seeds.
* **A fully decayed schedule**: a linear warm-up and a cosine decay to zero at the last step, for every
  optimizer except Schedule-Free, which is run at a constant learning rate (after its own warm-up), as
  it is meant to be, and evaluated at its averaged weights.
* **Three x-axes**: the loss against steps, against forward-backward passes (Sophia-G's Hessian estimate
  is one more pass every `hess_interval` steps), and against training time (validation excluded).
  The grid's runs share the machine with whatever else runs, so with `--retime` every optimizer's
  best setting is trained once more with seed 0, one after the other in one process, and the time
  axis comes from these runs. Run that step on a quiet machine; it also checks that a re-run gives
  the same losses.
* **Controls** for Sophia-G: *sign-momentum* is Sophia-G with every coordinate clipped (no Hessian
  estimate: $h = 0$, so every ratio clips and the step is $\eta \operatorname{sign}(m)$), and
  *Sophia-G, bias-corrected h* divides $h$ by $1 - \beta_2^n$ after $n$ estimates.

Muon is only for hidden matrices: the embeddings, the output layer and every vector are trained
by AdamW with the same schedule at a fixed learning rate, `MUON_ADAMW_LR`, the middle of AdamW's grid;
Muon uses `adjust_lr_fn='match_rms_adamw'`, so its grid is AdamW's.

```bash
python -m labml_nn.optimizers.benchmark                      # the grid, every seed
python -m labml_nn.optimizers.benchmark --retime             # then, on a quiet machine, the times
python -m labml_nn.optimizers.benchmark --steps 200 --d-model 64 --seeds 0,1,2   # reduced
```

It writes `results.csv` (one row per run and evaluation), `summary.csv`, `benchmark.md` (the table),
`benchmark.png` and, with `--retime`, `timing.csv` into `--out`; each run keeps its own run folder
below it, and a second invocation reuses the finished runs, so the grid can be split between
processes with `--optimizers` and gathered by one last invocation. The results we measured are on the [chapter's index page](index.html).
"""

import csv
import math
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.experiments.config import RunConfig, check_positive, flag
from labml_nn.experiments.data.char_corpus import TextDataset, find_corpus, read_text
from labml_nn.experiments.errors import ExperimentError, RunDiverged
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.optimizers.ada_belief import AdaBelief
from labml_nn.optimizers.adafactor import Adafactor
from labml_nn.optimizers.adam import AdamW
from labml_nn.optimizers.amsgrad import AMSGrad
from labml_nn.optimizers.cautious import CautiousAdamW
from labml_nn.optimizers.lion import Lion
from labml_nn.optimizers.muon import Muon
from labml_nn.optimizers.radam import RAdam
from labml_nn.optimizers.schedule_free import ScheduleFreeAdamW
from labml_nn.optimizers.soap import SOAP
from labml_nn.optimizers.sophia import Sophia


@dataclass
class BenchConfig(RunConfig):
    """
    ## Configuration

    The model is small so that the whole grid fits a CPU budget.
    """
    out: str = flag('runs/optimizer_benchmark', help='folder of the results and of every run', on_resume='apply')
    steps: int = flag(600, help='training steps of every run', on_resume='apply')
    eval_every: int = flag(100, help='steps between validations', on_resume='apply')
    log_every: int = flag(50, help='steps per metrics row', on_resume='apply')
    checkpoint_every: int = flag(100000, help='steps between checkpoints (default: only at the end)',
                                 on_resume='apply')
    data: str = flag('', help='plain-text corpus; empty means Tiny Shakespeare')
    seeds: str = flag('0,1,2', help='comma-separated seeds; the grid is tuned with the first')
    optimizers: str = flag('all', help="comma-separated names (see OPTIMIZERS), or 'all'")
    d_model: int = flag(96, help='width of the vectors')
    heads: int = flag(4, help='attention heads')
    d_ff: int = flag(384, help='hidden size of the feed-forward networks')
    n_layers: int = flag(2, help='transformer layers')
    seq_len: int = flag(64, help='characters of context')
    batch_size: int = flag(32, help='sequences per step')
    warmup_steps: int = flag(60, help='steps of linear warm-up (every optimizer)')
    eval_windows: int = flag(128, help='windows of the validation and of the test split')
    hess_interval: int = flag(10, help="steps between Sophia-G's Hessian estimates")
    weight_decay: float = flag(0.1, help='decoupled weight decay of the matrices (Lion: times 3)')
    grid: str = flag('full', help="'full' or 'tiny' (one learning rate per optimizer, for tests)",
                     choices=['full', 'tiny'])
    extend: int = flag(3, help='times a grid may grow by a factor of 2 past the edge its best learning rate '
                               'sits on', on_resume='apply')
    retime: bool = flag(False, help="run each optimizer's best setting again with the first seed, one after "
                                    "the other, and take the time axis from these runs (run it on a quiet machine)",
                        on_resume='apply')

    def validate(self):
        super().validate()
        check_positive(self, 'd_model', 'heads', 'd_ff', 'n_layers', 'seq_len', 'batch_size', 'eval_windows',
                       'hess_interval')
        if self.extend < 0:
            raise ExperimentError(f"--extend={self.extend} must be 0 or more")
        if self.d_model % self.heads or self.d_model % 2:
            raise ExperimentError(f"--d-model={self.d_model} must be even and divisible by --heads={self.heads}")
        seeds(self)
        names(self)


# ## The optimizers and their grids
#
# Each entry: the learning rates (and, for Sophia-G, the values of $\rho$) of the grid, and a function
# that builds the optimizer(s) for a model and one setting. Weight decay goes to the matrices only.

def split_params(model: nn.Module, wd: float) -> List[dict]:
    return [{'params': [p for p in model.parameters() if p.dim() >= 2], 'weight_decay': wd},
            {'params': [p for p in model.parameters() if p.dim() < 2], 'weight_decay': 0.}]


class SophiaBiasCorrectedH(Sophia):
    r"""The control: $h$ divided by $1 - \beta_2^n$ after $n$ estimates (the same as $\rho / (1 - \beta_2^n)$)"""
    n_estimates = 0

    def update_hessian(self, n_tokens):
        super().update_hessian(n_tokens)
        self.n_estimates += 1

    def _rho(self, group):
        return group['rho'] / (1 - group['betas'][1] ** max(self.n_estimates, 1))

    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, rho=self._rho(group)), grad, param)

    def step_group(self, group, params, grads, states):
        super().step_group(dict(group, rho=self._rho(group)), params, grads, states)

    def state_dict(self):
        d = super().state_dict()
        d['n_estimates'] = self.n_estimates
        return d

    def load_state_dict(self, state_dict):
        self.n_estimates = state_dict.pop('n_estimates', 0)
        super().load_state_dict(state_dict)


def make_muon(model: nn.Module, lr: float, wd: float, cfg: BenchConfig):
    """Muon for the hidden matrices, AdamW for the embeddings, the head and every vector"""
    hidden = [p for n, p in model.named_parameters() if p.dim() == 2 and n.startswith('encoder')]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n.startswith('encoder'))]
    adamw_groups = [{'params': [p for p in rest if p.dim() >= 2], 'weight_decay': wd},
                    {'params': [p for p in rest if p.dim() < 2], 'weight_decay': 0.}]
    return [Muon(hidden, lr=lr, weight_decay=wd, adjust_lr_fn='match_rms_adamw'),
            AdamW(adamw_groups, lr=MUON_ADAMW_LR, betas=(0.9, 0.99))]


MUON_ADAMW_LR = 4e-3

# name: (learning rates, rhos or None, builder(model, lr, rho, wd, cfg) -> optimizer or list)
OPTIMIZERS: Dict[str, Tuple[List[float], Optional[List[float]], Callable]] = {
    'adamw': ([2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2], None,
              lambda m, lr, rho, wd, cfg: AdamW(split_params(m, wd), lr=lr, betas=(0.9, 0.99))),
    'amsgrad': ([2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2], None,
                lambda m, lr, rho, wd, cfg: AMSGrad(split_params(m, wd), lr=lr, betas=(0.9, 0.99),
                                                   weight_decay=wd, decoupled_weight_decay=True)),
    'radam': ([2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2], None,
              lambda m, lr, rho, wd, cfg: RAdam(split_params(m, wd), lr=lr, betas=(0.9, 0.99), weight_decay=wd,
                                                decoupled_weight_decay=True)),
    'adabelief': ([1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2], None,
                  lambda m, lr, rho, wd, cfg: AdaBelief(split_params(m, wd), lr=lr, betas=(0.9, 0.99), eps=1e-16)),
    'cautious_adamw': ([2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2], None,
                       lambda m, lr, rho, wd, cfg: CautiousAdamW(split_params(m, wd), lr=lr, betas=(0.9, 0.99))),
    'lion': ([2.5e-4, 5e-4, 1e-3, 2e-3, 4e-3], None,
             lambda m, lr, rho, wd, cfg: Lion(split_params(m, 3 * wd), lr=lr, betas=(0.9, 0.99))),
    'adafactor': ([1e-2, 2e-2, 4e-2, 8e-2, 1.6e-1], None,
                  lambda m, lr, rho, wd, cfg: Adafactor(split_params(m, wd), lr=lr)),
    'muon': ([2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2], None, lambda m, lr, rho, wd, cfg: make_muon(m, lr, wd, cfg)),
    'schedule_free_adamw': ([2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2], None,
                            lambda m, lr, rho, wd, cfg: ScheduleFreeAdamW(split_params(m, wd), lr=lr,
                                                                          betas=(0.9, 0.99),
                                                                          warmup_steps=cfg.warmup_steps)),
    'soap': ([1.5e-3, 3e-3, 6e-3, 1.2e-2, 2.4e-2], None,
             lambda m, lr, rho, wd, cfg: SOAP(split_params(m, wd), lr=lr, weight_decay=wd)),
    'sophia_g': ([5e-4, 1e-3, 2e-3, 4e-3, 8e-3], [0.04, 0.2, 1., 5.],
                 lambda m, lr, rho, wd, cfg: Sophia(split_params(m, wd), lr=lr, rho=rho, betas=(0.965, 0.99))),
    'sophia_g_bias_corrected_h': ([5e-4, 1e-3, 2e-3, 4e-3, 8e-3], [0.04, 0.2, 1., 5.],
                                  lambda m, lr, rho, wd, cfg: SophiaBiasCorrectedH(split_params(m, wd), lr=lr,
                                                                                   rho=rho, betas=(0.965, 0.99))),
    'sign_momentum': ([2.5e-4, 5e-4, 1e-3, 2e-3, 4e-3], None,
                      lambda m, lr, rho, wd, cfg: Sophia(split_params(m, wd), lr=lr, betas=(0.965, 0.99))),
}

# The optimizers that estimate the Hessian every `hess_interval` steps
HESSIAN = {'sophia_g', 'sophia_g_bias_corrected_h'}


def seeds(cfg: BenchConfig) -> List[int]:
    try:
        out = [int(s) for s in cfg.seeds.split(',') if s.strip()]
    except ValueError:
        raise ExperimentError(f"--seeds must be comma-separated integers, got {cfg.seeds!r}") from None
    if not out:
        raise ExperimentError("--seeds is empty; give at least one seed, e.g. --seeds 0")
    return out


def names(cfg: BenchConfig) -> List[str]:
    if cfg.optimizers == 'all':
        return list(OPTIMIZERS)
    out = [n.strip() for n in cfg.optimizers.split(',') if n.strip()]
    for n in out:
        if n not in OPTIMIZERS:
            raise ExperimentError(f"--optimizers: unknown {n!r}; choose from {', '.join(OPTIMIZERS)}")
    return out


def grid(cfg: BenchConfig, name: str) -> List[Tuple[float, Optional[float]]]:
    lrs, rhos, _ = OPTIMIZERS[name]
    if cfg.grid == 'tiny':
        return [(lrs[1], None if rhos is None else rhos[0])]
    return [(lr, rho) for lr in lrs for rho in (rhos or [None])]


# ## Data: train, validation and test splits

class Splits:
    """
    The training text, and the held-out 20% cut into a validation half and a test half,
    each evaluated on a fixed set of `eval_windows` windows
    """

    def __init__(self, cfg: BenchConfig):
        text = read_text(find_corpus(cfg.data))
        ds = TextDataset(text, cfg.seq_len, valid_fraction=0.2)
        self.n_vocab = ds.tokenizer.n_vocab
        self.train = ds
        held_out = ds.valid
        half = len(held_out) // 2

        def windows(tokens):
            starts = torch.linspace(0, len(tokens) - cfg.seq_len - 1, cfg.eval_windows).round().long()
            w = tokens[starts.unsqueeze(1) + torch.arange(cfg.seq_len + 1)]
            return w[:, :-1], w[:, 1:]

        self.valid = windows(held_out[:half])
        self.test = windows(held_out[half:])


def make_model(cfg: BenchConfig, n_vocab: int) -> nn.Module:
    """The transformer experiment's model at this configuration's size"""
    from labml_nn.transformers.basic.autoregressive_experiment import AutoregressiveTransformer, Config
    model_cfg = Config(d_model=cfg.d_model, heads=cfg.heads, d_ff=cfg.d_ff, n_layers=cfg.n_layers,
                       seq_len=cfg.seq_len, dropout=0.)
    return AutoregressiveTransformer(n_vocab, model_cfg)


@torch.no_grad()
def evaluate(model: nn.Module, windows, device) -> float:
    x, y = windows
    losses = []
    for i in range(0, len(x), 64):
        logits = model(x[i:i + 64].to(device))
        losses.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[i:i + 64].reshape(-1).to(device),
                                      reduction='sum'))
    return (torch.stack(losses).sum() / y.numel()).item()


def schedule(cfg: BenchConfig, name: str, step: int) -> float:
    """The multiplier of the learning rate at `step` (from 0): warm-up, then cosine to zero"""
    if name == 'schedule_free_adamw':
        # Schedule-Free does its own warm-up and no decay
        return 1.
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = (step + 1 - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.)))


def clipped_fraction(opts: List[torch.optim.Optimizer]) -> float:
    r"""Sophia-G: the fraction of coordinates whose ratio $|m / \max(\rho h, \epsilon)|$ is at the clip"""
    n, total = 0, 0
    for opt in opts:
        for group in opt.param_groups:
            rho = opt._rho(group) if hasattr(opt, '_rho') else group['rho']
            for p in group['params']:
                st = opt.state.get(p)
                if st:
                    ratio = st['m'] / (st['h'] * rho).clamp(min=group['eps'])
                    n += int((ratio.abs() >= 1).sum())
                    total += ratio.numel()
    return n / max(total, 1)


# ## One run

class Batches:
    """The batches of a seed, from its own generator, so that every optimizer sees the same ones"""

    def __init__(self, splits: Splits, batch_size: int, seed: int):
        self.splits, self.batch_size = splits, batch_size
        self.generator = torch.Generator().manual_seed(10_000 + seed)

    def next(self):
        return self.splits.train.train_batch(self.batch_size, self.generator)

    def state_dict(self):
        return {'generator': self.generator.get_state()}

    def load_state_dict(self, state):
        self.generator.set_state(state['generator'])


def train_one(cfg: BenchConfig, splits: Splits, name: str, lr: float, rho: Optional[float], seed: int) -> Dict[str, Any]:
    """Train one setting with one seed; returns its evaluation rows"""
    tag = f"{name}_lr{lr:g}" + (f"_rho{rho:g}" if rho is not None else '') + f"_seed{seed}"
    run_cfg = replace(cfg, out=str(Path(cfg.out) / 'runs' / tag), seed=seed, resume=False)
    done = Path(run_cfg.out) / 'result.csv'
    if done.exists():
        with open(done, newline='') as f:
            return {'rows': [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]}
    try:
        result = _train_one(cfg, splits, name, lr, rho, seed, run_cfg)
    except RunDiverged as e:
        # A learning rate too large for this optimizer: the run counts as infinitely bad
        print(f"{tag}: {e}")
        inf = float('inf')
        result = {'rows': [dict(step=cfg.steps, passes=0, train_time_s=0., train_loss=inf, valid_loss=inf,
                                test_loss=inf, clipped=float('nan'))]}
    if not result.get('interrupted'):
        with open(done, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=list(result['rows'][0]))
            w.writeheader()
            w.writerows(result['rows'])
    return result


def _train_one(cfg: BenchConfig, splits: Splits, name: str, lr: float, rho: Optional[float], seed: int,
               run_cfg: BenchConfig) -> Dict[str, Any]:
    """The training loop of one run"""
    with Run(run_cfg, name='optimizer_benchmark') as run:
        model = make_model(cfg, splits.n_vocab).to(run.device)
        built = OPTIMIZERS[name][2](model, lr, rho, cfg.weight_decay, cfg)
        opts = built if isinstance(built, list) else [built]
        base_lrs = [[g['lr'] for g in o.param_groups] for o in opts]
        batches = Batches(splits, cfg.batch_size, seed)
        run.track(model=model, data=batches, **{f'optimizer{i}': o for i, o in enumerate(opts)})
        rows, passes, train_time = [], 0, 0.
        for step in run.steps():
            start = time.perf_counter()
            x, y = batches.next()
            x, y = x.to(run.device), y.to(run.device)
            for o, lrs in zip(opts, base_lrs):
                for g, base in zip(o.param_groups, lrs):
                    g['lr'] = base * schedule(cfg, name, step)
            if name in HESSIAN and step % cfg.hess_interval == 0:
                from labml_nn.transformers.basic.with_sophia import estimate_hessian
                estimate_hessian(model, opts[0], x, y.numel())
                passes += 1
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            for o in opts:
                o.zero_grad(set_to_none=True)
            loss.backward()
            for o in opts:
                o.step()
            passes += 1
            train_time += time.perf_counter() - start
            run.log(step, loss=loss.item(), tokens=y.numel())
            if run.due(step, cfg.eval_every):
                # Schedule-Free is evaluated at its averaged weights
                if name == 'schedule_free_adamw':
                    opts[0].eval()
                valid, test = evaluate(model, splits.valid, run.device), evaluate(model, splits.test, run.device)
                if name == 'schedule_free_adamw':
                    opts[0].train()
                row = dict(step=step + 1, passes=passes, train_time_s=train_time, train_loss=loss.item(),
                           valid_loss=valid, test_loss=test,
                           clipped=clipped_fraction(opts) if name.startswith('sophia') or name == 'sign_momentum'
                           else float('nan'))
                rows.append(row)
                run.log_eval(step, valid_loss=valid, test_loss=test)
        return {'rows': rows, 'interrupted': run.interrupted}


# ## The whole benchmark

def train(cfg: BenchConfig) -> Dict[str, Any]:
    """
    Tune every optimizer on the first seed, run its best setting on the other seeds, and write the
    results
    """
    cfg.validate()
    splits = Splits(cfg)
    all_seeds = seeds(cfg)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    results: List[Dict[str, Any]] = []
    best: Dict[str, Tuple[float, Optional[float]]] = {}
    for name in names(cfg):
        finals: Dict[Tuple[float, Optional[float]], float] = {}
        settings = grid(cfg, name)
        extensions = 0
        while settings:
            for lr, rho in settings:
                run = train_one(cfg, splits, name, lr, rho, all_seeds[0])
                if run.get('interrupted'):
                    return {'out': str(out), 'interrupted': True}
                rows = run['rows']
                finals[(lr, rho)] = rows[-1]['valid_loss']
                results += [dict(optimizer=name, lr=lr, rho=rho, seed=all_seeds[0], **r) for r in rows]
            # The best setting on the validation split (a diverged run counts as infinitely bad)
            best[name] = min(finals, key=lambda k: finals[k] if math.isfinite(finals[k]) else math.inf)
            settings = []
            if cfg.grid == 'full' and extensions < cfg.extend:
                settings = extend_grid(finals, best[name])
                extensions += 1
        for seed in all_seeds[1:]:
            lr, rho = best[name]
            run = train_one(cfg, splits, name, lr, rho, seed)
            if run.get('interrupted'):
                return {'out': str(out), 'interrupted': True}
            rows = run['rows']
            results += [dict(optimizer=name, lr=lr, rho=rho, seed=seed, **r) for r in rows]
    timing = None
    if cfg.retime:
        timing = retime(cfg, splits, best, all_seeds[0], results)
        if timing is None:
            return {'out': str(out), 'interrupted': True}
    summary = summarise(results, best, all_seeds, timing)
    write_outputs(cfg, out, results, summary, best, timing)
    return {'summary': summary, 'out': str(out), 'interrupted': False}


def extend_grid(finals: Dict[Tuple[float, Optional[float]], float],
                best: Tuple[float, Optional[float]]) -> List[Tuple[float, Optional[float]]]:
    """
    If the best learning rate is the largest (smallest) one tried at its $\rho$, the next setting to try is
    twice (half) that rate; a grid whose best is inside it is done
    """
    lr, rho = best
    tried = sorted(l for l, r in finals if r == rho)
    if not math.isfinite(finals[best]):
        return []
    if lr == tried[-1]:
        return [(lr * 2, rho)]
    if lr == tried[0]:
        return [(lr / 2, rho)]
    return []


def retime(cfg: BenchConfig, splits: Splits, best, seed: int, results) -> Optional[Dict[str, List[Dict[str, float]]]]:
    """
    ### Time on a quiet machine

    The runs of the grid share the machine with whatever else runs, so their times say little. With
    `--retime` every optimizer's best setting is trained once more with the first seed, one after the
    other in this process, and these runs give the time axis. The losses must come out as in the
    grid: the same seed gives the same batches and the same weights; we record the largest difference.
    """
    timing = {}
    for name, (lr, rho) in best.items():
        run = train_one(replace(cfg, out=str(Path(cfg.out) / 'timing')), splits, name, lr, rho, seed)
        if run.get('interrupted'):
            return None
        rows = run['rows']
        grid_rows = [r for r in results if r['optimizer'] == name and r['lr'] == lr and r['rho'] == rho and
                     r['seed'] == seed]
        diff = max((abs(a['test_loss'] - b['test_loss']) for a, b in zip(rows, grid_rows)
                    if math.isfinite(a['test_loss'])), default=0.)
        timing[name] = [dict(r, loss_difference=diff) for r in rows]
    return timing


def summarise(results, best, all_seeds, timing=None) -> List[Dict[str, Any]]:
    """
    Per optimizer: its best setting, and the final test loss of that setting over the seeds; the
    training time is the quiet re-run's when there is one, otherwise the mean over the seeds
    """
    rows = []
    for name, (lr, rho) in best.items():
        finals = {}
        for r in results:
            if r['optimizer'] == name and r['lr'] == lr and r['rho'] == rho:
                finals[r['seed']] = r  # the last evaluation of each seed wins
        test = [finals[s]['test_loss'] for s in all_seeds if s in finals]
        valid = [finals[s]['valid_loss'] for s in all_seeds if s in finals]
        time_s = (timing[name][-1]['train_time_s'] if timing else
                  statistics.fmean(finals[s]['train_time_s'] for s in finals))
        rows.append(dict(optimizer=name, lr=lr, rho=rho, n_seeds=len(test),
                         test_mean=statistics.fmean(test), test_min=min(test), test_max=max(test),
                         valid_mean=statistics.fmean(valid), passes=int(finals[all_seeds[0]]['passes']),
                         train_time_s=time_s, quiet_time=bool(timing),
                         clipped=finals[all_seeds[0]]['clipped']))
    rows.sort(key=lambda r: r['test_mean'])
    return rows


def write_outputs(cfg: BenchConfig, out: Path, results, summary, best, timing=None):
    """`results.csv`, `summary.csv`, `benchmark.md`, `benchmark.png` and, with `--retime`, `timing.csv`"""
    keys = ['optimizer', 'lr', 'rho', 'seed', 'step', 'passes', 'train_time_s', 'train_loss', 'valid_loss',
            'test_loss', 'clipped']
    with open(out / 'results.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in results:
            w.writerow({k: ('' if r[k] is None else (f'{r[k]:.6g}' if isinstance(r[k], float) else r[k]))
                        for k in keys})
    with open(out / 'summary.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0]))
        w.writeheader()
        w.writerows(summary)
    lines = [f"| optimizer | best lr | ρ | test loss, mean (min–max) over {summary[0]['n_seeds']} seeds "
             f"| valid loss | fwd-bwd passes | {'train time (s), quiet run' if timing else 'train time (s)'} "
             f"| clipped |",
             '|---|---|---|---|---|---|---|---|']
    for r in summary:
        clipped = '' if math.isnan(r['clipped']) else f"{100 * r['clipped']:.0f}%"
        rho = '' if r['rho'] is None else f"{r['rho']:g}"
        lines.append(f"| {r['optimizer']} | {r['lr']:g} | {rho} | "
                     f"{r['test_mean']:.3f} ({r['test_min']:.3f}–{r['test_max']:.3f}) | {r['valid_mean']:.3f} | "
                     f"{r['passes']} | {r['train_time_s']:.1f} | {clipped} |")
    (out / 'benchmark.md').write_text('\n'.join(lines) + '\n', encoding='utf-8')
    if timing:
        with open(out / 'timing.csv', 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['optimizer', 'step', 'train_time_s', 'test_loss', 'loss_difference'])
            for name, rows in timing.items():
                for r in rows:
                    w.writerow([name, int(r['step']), f"{r['train_time_s']:.6g}", f"{r['test_loss']:.6g}",
                                f"{r['loss_difference']:.3g}"])
    plot(out, results, best, summary, timing)


def plot(out: Path, results, best, summary, timing=None):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    order = [r['optimizer'] for r in summary]
    cmap = plt.get_cmap('tab20')
    for i, name in enumerate(order):
        lr, rho = best[name]
        by_step: Dict[int, List[Dict[str, float]]] = {}
        for r in results:
            if r['optimizer'] == name and r['lr'] == lr and r['rho'] == rho:
                by_step.setdefault(int(r['step']), []).append(r)
        steps = sorted(by_step)
        mean = lambda k: [statistics.fmean(r[k] for r in by_step[s]) for s in steps]
        style = dict(color=cmap(i % 20), label=name, linewidth=1.5, linestyle='--' if 'sign' in name or
                     'bias' in name else '-')
        axes[0].plot(steps, mean('test_loss'), **style)
        axes[1].plot(mean('passes'), mean('test_loss'), **style)
        if timing:
            axes[2].plot([r['train_time_s'] for r in timing[name]], [r['test_loss'] for r in timing[name]], **style)
        else:
            axes[2].plot(mean('train_time_s'), mean('test_loss'), **style)
    time_label = 'training time (s), one quiet run, seed 0' if timing else 'training time (s), shared machine'
    for ax, xlabel in zip(axes, ['steps', 'forward-backward passes', time_label]):
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('test loss (mean over seeds)')
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / 'benchmark.png', dpi=70)
    plt.close(fig)


def main(argv=None) -> int:
    return run_main(train, BenchConfig, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
