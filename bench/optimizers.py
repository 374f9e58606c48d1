"""
Benchmark of the optimizers in `labml_nn.optimizers` against `torch.optim`.

The parameters have the shapes of a GPT (nanoGPT layout: token and position embeddings, per layer two
layer norms, the fused query-key-value projection, the output projection and the two MLP layers, all with
biases, then the final layer norm and the head), in two groups as a training script would use
(matrices with weight decay, vectors and norms without). Gradients are random with a fixed seed.

For every optimizer it measures

* the median time of `step()` after warm-up,
* the bytes of optimizer state,
* the peak extra memory a step allocates (on a CPU from the allocation events of `torch.profiler` with
  `profile_memory=True`: the running sum of the sizes of every allocation and free during one step; on a
  GPU from `torch.cuda.max_memory_allocated`),

and for Sophia also `update_hessian`. In the same run it measures the machine's streaming limit over the
same tensors with plain in-place adds: `p += g` and `m += h` move the 24 bytes per float32 parameter that
a fused Sophia step must move (read p, g, m, h; write p, m), and `h += g` the 12 bytes of `update_hessian`
(read h, g; write h). These are measured in every
candidate's turn, over its own tensors, and the median over all turns is the limit.

The candidates are measured in rounds, one candidate at a time within a round, so that a change of load
on a shared machine affects all of them alike; each candidate is built afresh in each round, so only one
set of optimizer state exists at a time.

    python bench/optimizers.py                 # 6 layers, d_model 384 (about 10.8M parameters)
    python bench/optimizers.py --large         # 12 layers, d_model 768 (about 86M parameters)
    python bench/optimizers.py --device cuda
    python bench/optimizers.py --all           # every optimizer of the chapter, beside torch.optim's
    python bench/optimizers.py --all --no-fused --rounds 3 --steps 4 --warmup 1   # the table of the chapter
    python bench/optimizers.py --all --tiny    # 2 layers, d_model 32: only a check that it runs

With `--all` it ends with a Markdown table: per optimizer the bytes of state per parameter and the
median `step()` time, ours beside `torch.optim`'s counterpart (its foreach path where it has one) and
their ratio. Muon takes only the hidden matrices, so its candidates are Muon for those plus AdamW for the
embeddings, the head and the vectors, as in training; Adam with float32 master weights runs on a
bfloat16 copy of the parameters, against `torch.optim.AdamW(foreach=True)` on float32 copies into which
the bfloat16 gradients are copied before, and from which the weights are copied back after, each step.
SOAP and Muon are slow on a CPU (matrix products, and SOAP's eigendecompositions in its first step),
so they take at most 3 timed steps and 1 warm-up step per round. SOAP's first step only computes the
bases (it is the warm-up), and its refresh of the bases every 10 steps is not among the timed steps.
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from labml_nn.optimizers.adam import Adam, AdamW  # noqa: E402
from labml_nn.optimizers.adam_fp16 import AdamFP16  # noqa: E402
from labml_nn.optimizers.muon import Muon  # noqa: E402
from labml_nn.optimizers.soap import SOAP  # noqa: E402
from labml_nn.optimizers.sophia import Sophia  # noqa: E402
from labml_nn.optimizers.ada_belief import AdaBelief  # noqa: E402
from labml_nn.optimizers.adafactor import Adafactor  # noqa: E402
from labml_nn.optimizers.amsgrad import AMSGrad  # noqa: E402
from labml_nn.optimizers.cautious import CautiousAdamW  # noqa: E402
from labml_nn.optimizers.lion import Lion  # noqa: E402
from labml_nn.optimizers.radam import RAdam  # noqa: E402
from labml_nn.optimizers.schedule_free import ScheduleFreeAdamW  # noqa: E402


def gpt_shapes(n_layers: int, d_model: int, n_vocab: int, context: int) -> List[tuple]:
    """Parameter shapes of a GPT with `n_layers` blocks"""
    shapes = [(n_vocab, d_model), (context, d_model)]
    for _ in range(n_layers):
        shapes += [(d_model,), (d_model,),  # first layer norm
                   (3 * d_model, d_model), (3 * d_model,),  # query, key and value
                   (d_model, d_model), (d_model,),  # attention output
                   (d_model,), (d_model,),  # second layer norm
                   (4 * d_model, d_model), (4 * d_model,),  # MLP in
                   (d_model, 4 * d_model), (d_model,)]  # MLP out
    shapes += [(d_model,), (d_model,), (n_vocab, d_model)]  # final layer norm, head
    return shapes


class Candidate:
    """
    One optimizer to time. `counterpart` names the `torch.optim` candidate it is compared with, `dtype` is
    the parameters' data type, and `slow` limits the steps per round (Muon and SOAP on a CPU).
    """

    def __init__(self, name: str, make: Callable, hessian: bool = False, counterpart: Optional[str] = None,
                 dtype: torch.dtype = torch.float32, slow: bool = False):
        self.name = name
        self.make = make
        self.hessian = hessian
        self.counterpart = counterpart
        self.dtype = dtype
        self.slow = slow
        self.times: List[float] = []
        self.hessian_times: List[float] = []
        self.state_bytes: Optional[int] = None
        self.peak_extra: Optional[int] = None
        self.hessian_peak_extra: Optional[int] = None
        self.first_step_s: Optional[float] = None


class Combined:
    """Two optimizers stepped as one: Muon for the hidden matrices and AdamW for the rest"""

    def __init__(self, *optimizers):
        self.optimizers = optimizers
        self.state = {p: s for o in optimizers for p, s in o.state.items()}

    def step(self):
        for o in self.optimizers:
            o.step()
        self.state = {p: s for o in self.optimizers for p, s in o.state.items()}


class MasterWeights:
    """
    `torch.optim`'s way to the same result as `AdamFP16`: float32 copies of the 16-bit parameters with
    float32 gradient buffers; each step copies the gradients in, steps `AdamW` on the copies, and copies
    the weights back. Its state is AdamW's plus the copies and the gradient buffers.
    """

    def __init__(self, groups, make):
        self.low = [p for g in groups for p in g['params']]
        master_groups = []
        self.masters = []
        for g in groups:
            ms = [torch.nn.Parameter(p.detach().float()) for p in g['params']]
            for m in ms:
                m.grad = torch.zeros_like(m)
            self.masters += ms
            master_groups.append(dict(g, params=ms))
        self.opt = make(master_groups)
        self.state = {}

    @torch.no_grad()
    def step(self):
        torch._foreach_copy_([m.grad for m in self.masters], [p.grad for p in self.low])
        self.opt.step()
        torch._foreach_copy_(self.low, self.masters)
        # The per-parameter state, keyed by the 16-bit parameters, with the copies and their gradients
        self.state = {p: dict(self.opt.state[m], master=m.detach(), master_grad=m.grad)
                      for p, m in zip(self.low, self.masters)}


def muon_groups(groups):
    """The hidden matrices (2-D, not the embeddings or the head) for Muon, the rest for AdamW"""
    params = [p for g in groups for p in g['params']]
    matrices = [p for p in params if p.dim() == 2]
    hidden = matrices[2:-1]
    ids = {id(p) for p in hidden}
    rest = [dict(g, params=[p for p in g['params'] if id(p) not in ids]) for g in groups]
    return [{'params': hidden}], [g for g in rest if g['params']]


def synchronize(device: torch.device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn: Callable, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def peak_extra_bytes(fn: Callable, device: torch.device) -> Optional[int]:
    """The largest amount of memory that `fn` holds at any time beyond what existed when it started"""
    if device.type == 'cuda':
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    try:
        from torch._C._profiler import _EventType
    except ImportError:
        return None
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = []

    def walk(event):
        if event.tag == _EventType.Allocation:
            events.append((event.start_time_ns, event.extra_fields.alloc_size))
        for child in event.children:
            walk(child)

    for root in prof.profiler.kineto_results.experimental_event_tree():
        walk(root)
    events.sort()
    running, peak = 0, 0
    for _, size in events:
        running += size
        peak = max(peak, running)
    return peak


def state_bytes(opt: torch.optim.Optimizer) -> int:
    """The bytes of the tensors in the optimizer's state, also those in lists (SOAP's matrices and bases)"""
    total = 0
    for state in opt.state.values():
        for value in state.values():
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if torch.is_tensor(v):
                    total += v.numel() * v.element_size()
    return total


def write_json_atomically(path: str, data: dict):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.optimizers-', suffix='.json')
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--large', action='store_true', help='12 layers, d_model 768 instead of 6 layers, 384')
    parser.add_argument('--tiny', action='store_true', help='2 layers, d_model 32, context 16: a test that it runs')
    parser.add_argument('--device', default='cpu', help='cpu or cuda (default cpu)')
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads for torch (default 1: the steadiest on a shared machine)')
    parser.add_argument('--rounds', type=int, default=5, help='rounds over all candidates (default 5)')
    parser.add_argument('--steps', type=int, default=8, help='timed steps per candidate and round (default 8)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed steps per candidate and round (default 3)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-fused', action='store_true', help='skip the torch.compile path of Sophia')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--all', action='store_true',
                        help='also the other optimizers of the chapter, beside their torch.optim counterparts, '
                             'and a Markdown table of them')
    args = parser.parse_args(argv)
    for name in ['threads', 'rounds', 'steps', 'warmup']:
        if getattr(args, name) < (0 if name == 'warmup' else 1):
            parser.error(f"--{name} must be {'>= 0' if name == 'warmup' else '>= 1'}, got {getattr(args, name)}")
    if args.device not in ('cpu', 'cuda') and not args.device.startswith('cuda:'):
        parser.error(f"--device must be cpu or cuda, got {args.device!r}")
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine; use --device cpu")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    n_layers, d_model, context = (12, 768, 1024) if args.large else (2, 32, 16) if args.tiny else (6, 384, 256)
    shapes = gpt_shapes(n_layers, d_model, n_vocab=65, context=context)

    # The parameter values and gradients every candidate starts from
    gen = torch.Generator().manual_seed(args.seed)
    base_params = [(torch.randn(s, generator=gen) * 0.02).to(device) for s in shapes]
    base_grads = [(torch.randn(s, generator=gen) * 1e-3).to(device) for s in shapes]
    n_params = sum(p.numel() for p in base_params)
    param_bytes = n_params * 4
    n_tokens = 480

    def make_params(dtype=torch.float32):
        params = [torch.nn.Parameter(p.to(dtype, copy=True)) for p in base_params]
        for p, g in zip(params, base_grads):
            p.grad = g.to(dtype, copy=True)
        # Matrices are decayed, vectors (biases and norms) are not
        return [{'params': [p for p in params if p.dim() >= 2]},
                {'params': [p for p in params if p.dim() < 2], 'weight_decay': 0.}]

    candidates = [
        Candidate('Sophia, multi-tensor (ours)', lambda g: Sophia(g), hessian=True),
        Candidate('Sophia, per-tensor (ours)', lambda g: Sophia(g, foreach=False)),
    ]
    if not args.no_fused:
        candidates.append(Candidate('Sophia, fused torch.compile (ours)', lambda g: Sophia(g, fused=True),
                                    hessian=True))
    candidates += [
        Candidate('Adam, multi-tensor (ours)', lambda g: Adam(g, weight_decay=0.1)),
        Candidate('AdamW, multi-tensor (ours)', lambda g: AdamW(g, weight_decay=0.1)),
        Candidate('torch AdamW foreach=True', lambda g: torch.optim.AdamW(g, weight_decay=0.1, foreach=True)),
        Candidate('torch AdamW foreach=False', lambda g: torch.optim.AdamW(g, weight_decay=0.1, foreach=False)),
        Candidate('torch AdamW fused=True', lambda g: torch.optim.AdamW(g, weight_decay=0.1, fused=True)),
    ]
    if args.all:
        by_name = {c.name: c for c in candidates}
        by_name['Adam, multi-tensor (ours)'].counterpart = 'torch Adam foreach=True'
        by_name['AdamW, multi-tensor (ours)'].counterpart = 'torch AdamW foreach=True'
        wd = dict(weight_decay=0.1)

        def muon_pair(make_muon, make_adamw):
            def make(g):
                hidden, rest = muon_groups(g)
                return Combined(make_muon(hidden), make_adamw(rest))
            return make

        candidates += [
            Candidate('torch Adam foreach=True', lambda g: torch.optim.Adam(g, **wd, foreach=True)),
            Candidate('AMSGrad, multi-tensor (ours)', lambda g: AMSGrad(g, **wd, decoupled_weight_decay=True),
                      counterpart='torch Adam amsgrad foreach=True'),
            Candidate('torch Adam amsgrad foreach=True', lambda g: torch.optim.Adam(
                g, **wd, decoupled_weight_decay=True, amsgrad=True, foreach=True)),
            Candidate('RAdam, multi-tensor (ours)', lambda g: RAdam(g, **wd, decoupled_weight_decay=True),
                      counterpart='torch RAdam foreach=True'),
            Candidate('torch RAdam foreach=True', lambda g: torch.optim.RAdam(
                g, **wd, decoupled_weight_decay=True, foreach=True)),
            Candidate('Adafactor, multi-tensor (ours)', lambda g: Adafactor(g, **wd),
                      counterpart='torch Adafactor foreach=True'),
            Candidate('Adafactor, per-tensor (ours)', lambda g: Adafactor(g, **wd, foreach=False),
                      counterpart='torch Adafactor foreach=False'),
            Candidate('torch Adafactor foreach=False', lambda g: torch.optim.Adafactor(g, **wd, foreach=False)),
            Candidate('torch Adafactor foreach=True', lambda g: torch.optim.Adafactor(g, **wd, foreach=True)),
            Candidate('Adam fp32 master, multi-tensor (ours)', lambda g: AdamFP16(g, **wd, weight_decouple=True),
                      counterpart='torch AdamW foreach=True on fp32 copies', dtype=torch.bfloat16),
            Candidate('torch AdamW foreach=True on fp32 copies', lambda g: MasterWeights(
                g, lambda mg: torch.optim.AdamW(mg, **wd, foreach=True)), dtype=torch.bfloat16),
            Candidate('Muon + AdamW, batched (ours)', muon_pair(lambda h: Muon(h, foreach=True),
                                                               lambda r: AdamW(r, **wd)),
                      counterpart='torch Muon + AdamW foreach=True', slow=True),
            Candidate('Muon + AdamW, per-tensor (ours)', muon_pair(lambda h: Muon(h, foreach=False),
                                                                   lambda r: AdamW(r, **wd)),
                      counterpart='torch Muon + AdamW foreach=True', slow=True),
            Candidate('torch Muon + AdamW foreach=True', muon_pair(
                lambda h: torch.optim.Muon(h), lambda r: torch.optim.AdamW(r, **wd, foreach=True)), slow=True),
            Candidate('Lion, multi-tensor (ours)', lambda g: Lion(g, **wd)),
            Candidate('AdaBelief, multi-tensor (ours)', lambda g: AdaBelief(g, **wd)),
            Candidate('Cautious AdamW, multi-tensor (ours)', lambda g: CautiousAdamW(g, **wd)),
            Candidate('Cautious AdamW, per-tensor (ours)', lambda g: CautiousAdamW(g, **wd, foreach=False)),
            Candidate('Schedule-Free AdamW, foreach (ours)', lambda g: ScheduleFreeAdamW(g, **wd)),
            Candidate('SOAP, batched (ours)', lambda g: SOAP(g, **wd), slow=True),
            Candidate('SOAP, per-tensor (ours)', lambda g: SOAP(g, **wd, foreach=False), slow=True),
        ]

    stream24: List[float] = []
    stream12: List[float] = []
    load_before = os.getloadavg()
    print(f"GPT-shaped parameters: {n_layers} layers, d_model {d_model}: {n_params / 1e6:.2f}M parameters "
          f"in {len(shapes)} tensors ({param_bytes / 2 ** 20:.1f} MiB in float32)")
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, "
          f"{args.rounds} rounds x ({args.warmup} warm-up + {args.steps} timed) steps, "
          f"load average {load_before[0]:.2f}")
    sys.stdout.flush()

    for round_index in range(args.rounds):
        for c in candidates:
            groups = make_params(c.dtype)
            opt = c.make(groups)
            params = [p for g in groups for p in g['params']]
            if c.hessian:
                opt.update_hessian(n_tokens)
            # Warm-up (the first step also creates the state and, for the fused path, compiles)
            for i in range(max(min(args.warmup, 1) if c.slow else args.warmup, 1)):
                t = timed(opt.step, device)
                if round_index == 0 and i == 0:
                    c.first_step_s = t
            for _ in range(min(args.steps, 3) if c.slow else args.steps):
                c.times.append(timed(opt.step, device))
            if round_index == 0:
                c.state_bytes = state_bytes(opt)
                c.peak_extra = peak_extra_bytes(opt.step, device)
            # The streaming limits, over this candidate's parameters, gradients and two state tensors per
            # parameter (for Sophia m and h), measured in every candidate's turn so that they see the same
            # load as the steps
            grads = [p.grad for p in params]
            data = [p.detach() for p in params]
            firsts, seconds = [], []
            for p in params:
                tensors = [v for v in opt.state[p].values() if torch.is_tensor(v) and v.shape == p.shape]
                if len(tensors) < 2:
                    break
                firsts.append(tensors[0])
                seconds.append(tensors[1])
            # Only float32 candidates with two full-size state tensors (Adam-like) take part in the streaming
            # limits
            for _ in range(args.steps if len(firsts) == len(params) and c.dtype == torch.float32 else 0):
                stream24.append(timed(lambda: (torch._foreach_add_(data, grads),
                                               torch._foreach_add_(firsts, seconds)), device))
                stream12.append(timed(lambda: torch._foreach_add_(seconds, grads), device))
            if c.hessian:
                for _ in range(args.steps):
                    c.hessian_times.append(timed(lambda: opt.update_hessian(n_tokens), device))
                if round_index == 0:
                    c.hessian_peak_extra = peak_extra_bytes(lambda: opt.update_hessian(n_tokens), device)
            del opt, groups, params
        print(f"round {round_index + 1}/{args.rounds} done")
        sys.stdout.flush()
    load_after = os.getloadavg()

    def median_ms(xs):
        return statistics.median(xs) * 1e3

    by_name = {c.name: c for c in candidates}
    sophia = by_name['Sophia, multi-tensor (ours)']
    adamw_foreach = median_ms(by_name['torch AdamW foreach=True'].times)
    stream24 = median_ms(stream24)
    stream12 = median_ms(stream12)

    def fmt_ratio(x):
        return '   n/a' if x is None else f"{x:6.3f}"

    print()
    print(f"{'':38s} {'median ms':>10s} {'x AdamW':>8s} {'x limit':>8s} {'state':>7s} {'peak':>7s} {'1st step':>9s}")
    print(f"{'':38s} {'':>10s} {'foreach':>8s} {'24 B/p':>8s} {'/param':>7s} {'/param':>7s} {'s':>9s}")
    rows = []
    for c in candidates:
        ms = median_ms(c.times)
        peak = None if c.peak_extra is None else c.peak_extra / param_bytes
        print(f"{c.name:38s} {ms:10.2f} {ms / adamw_foreach:8.3f} {ms / stream24:8.3f} "
              f"{c.state_bytes / param_bytes:7.3f} {fmt_ratio(peak)} {c.first_step_s:9.2f}")
        rows.append(dict(name=c.name, median_ms=ms, state_bytes=c.state_bytes, peak_extra_bytes=c.peak_extra,
                         first_step_s=c.first_step_s, times_ms=[t * 1e3 for t in c.times]))
    hessian_rows = []
    for c in candidates:
        if not c.hessian:
            continue
        ms = median_ms(c.hessian_times)
        peak = None if c.hessian_peak_extra is None else c.hessian_peak_extra / param_bytes
        label = c.name.replace('Sophia, ', 'update_hessian, ').replace(' (ours)', '')
        print(f"{label:38s} {ms:10.2f} {'':8s} {ms / stream12:7.3f}* {'':7s} {fmt_ratio(peak)}")
        hessian_rows.append(dict(name=label, median_ms=ms, peak_extra_bytes=c.hessian_peak_extra,
                                 times_ms=[t * 1e3 for t in c.hessian_times]))
    print(f"{'':38s} (* update_hessian against the 12 B/param limit)")
    print(f"{'streaming limit, 24 B/param (p+=g, m+=h)':38s} {stream24:10.2f}")
    print(f"{'streaming limit, 12 B/param (h+=g)':38s} {stream12:10.2f}")
    gb_per_s = 24 * n_params / (stream24 / 1e3) / 1e9
    print(f"(the 24 B/param limit corresponds to {gb_per_s:.1f} GB/s)")

    # The targets of the issue
    print()
    print("targets:")
    checks = []

    def check(label, value, target, ok):
        checks.append(dict(label=label, value=value, target=target, met=ok))
        print(f"  [{'met ' if ok else 'MISS'}] {label}: {value:.3f} (target {target})")

    check('Sophia multi-tensor step / torch AdamW(foreach=True) step',
          median_ms(sophia.times) / adamw_foreach, '<= 0.8', median_ms(sophia.times) / adamw_foreach <= 0.8)
    if 'Sophia, fused torch.compile (ours)' in by_name:
        fused = median_ms(by_name['Sophia, fused torch.compile (ours)'].times)
        check('Sophia fused step / streaming limit (24 B/param)', fused / stream24, '<= 1.5',
              fused / stream24 <= 1.5)
    for row in hessian_rows:
        check(f"{row['name']} / streaming limit (12 B/param)", row['median_ms'] / stream12, '<= 2',
              row['median_ms'] / stream12 <= 2)
    check('Sophia state bytes / parameter bytes', sophia.state_bytes / param_bytes, '== 2',
          sophia.state_bytes == 2 * param_bytes)
    for c in candidates:
        if c.name.startswith('Sophia') and c.peak_extra is not None:
            check(f'{c.name}: peak extra memory of a step / parameter bytes', c.peak_extra / param_bytes,
                  '<= 0.25', c.peak_extra <= 0.25 * param_bytes)
    adamw_fused = by_name.get('torch AdamW fused=True')
    if adamw_fused is not None:
        print(f"  (for comparison: torch AdamW fused=True step / streaming limit (24 B/param) = "
              f"{median_ms(adamw_fused.times) / stream24:.3f}; AdamW moves 28 B/param)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"(a loaded machine makes every time longer and noisier)")

    table = markdown_table(candidates, by_name, n_params, median_ms) if args.all else None
    if table is not None:
        print()
        print(table)
        print()
        print(f"GPT-shaped parameters, {n_params / 1e6:.2f}M in {len(shapes)} tensors; torch {torch.__version__}, "
              f"device {device}, {torch.get_num_threads()} thread(s); median of {args.rounds} rounds x "
              f"{args.steps} timed steps ({min(args.steps, 3)} for Muon and SOAP); load average "
              f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")

    if args.json:
        write_json_atomically(args.json, dict(
            config=dict(vars(args)), torch=torch.__version__, n_params=n_params, n_tensors=len(shapes),
            param_bytes=param_bytes, rows=rows, update_hessian=hessian_rows,
            stream24_ms=stream24, stream12_ms=stream12, checks=checks, markdown_table=table,
            load_average_before=load_before, load_average_after=load_after))


def markdown_table(candidates: List[Candidate], by_name: Dict[str, Candidate], n_params: int,
                   median_ms: Callable) -> str:
    """Ours beside `torch.optim`'s counterpart: state bytes per parameter, median step time, ratio"""
    lines = ['| optimizer (ours) | state B/param | step ms | torch.optim counterpart | state B/param | step ms | '
             'ours / torch |',
             '|---|---|---|---|---|---|---|']
    for c in candidates:
        if not c.name.endswith('(ours)'):
            continue
        ms = median_ms(c.times)
        row = f"| {c.name[:-len(' (ours)')]} | {c.state_bytes / n_params:.3f} | {ms:.1f} |"
        other = by_name.get(c.counterpart) if c.counterpart else None
        if other is None:
            row += ' none | | | |'
        else:
            torch_ms = median_ms(other.times)
            row += (f" {other.name} | {other.state_bytes / n_params:.3f} | {torch_ms:.1f} | "
                    f"{ms / torch_ms:.2f}x |")
        lines.append(row)
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
