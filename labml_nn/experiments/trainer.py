r"""
---
title: A run, from flags to the last checkpoint
summary: >
  Run ties the harness together: the run folder and its lock, seeds, the device
  and the processes, checkpoints, metrics.csv, progress, Ctrl-C and the
  divergence guard, around a training loop the experiment writes itself.
---

# A run, from flags to the last checkpoint

An experiment keeps its training loop in plain PyTorch and hands the plumbing to
a `Run`:

```python
def train(cfg: Config) -> dict:
    with Run(cfg, name='my_experiment') as run:
        model = Model(cfg).to(run.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        run.track(model=model, optimizer=optimizer)
        for step in run.steps():
            x, y = batches.next(run.generator)
            loss = loss_fn(run.wrap(model)(x), y)
            optimizer.zero_grad(); loss.backward(); optimizer.step()
            run.log(step, loss=loss, lr=cfg.lr, samples=len(x))
            if run.due(step, cfg.eval_every):
                run.log_eval(step, valid_loss=evaluate(model))
        return run.summary()

def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)
```

What each part does, in the order a run meets it:

* **Entering** the `with` block validates the [configuration](config.html), picks
  the device and joins the other processes ([distributed](distributed.html)),
  creates and locks the [run folder](run_folder.html), and either refuses to
  overwrite a run that has a checkpoint or, with `--resume`, loads that
  checkpoint and applies [the rule on resume](config.html). It writes
  `config.json` and seeds every generator with `seed`, so the model's initial
  weights depend on the seed alone.
* **`run.track(name=obj, ...)`** names the objects whose `state_dict()` goes into
  the [checkpoint](checkpoint.html): the model, the optimizer, a scheduler, a data
  sampler. On `--resume` it loads their saved state right away.
* **`run.steps()`** yields the step numbers, from 0 or from the restored step.
  Before the first step it reseeds the global generators with `seed + rank` (or
  restores them on `--resume`); after each step it updates the progress line,
  saves a checkpoint every `checkpoint_every` steps and at the last step, and
  stops, after saving, when Ctrl-C was pressed ([stop](stop.html)).
* **`run.log(step, **values)`** adds one step's training values to the current
  row of [`metrics.csv`](metrics.html); **`run.log_eval`** puts validation values
  into the row of the step.
* **The divergence guard.** When a row's value, a validation value, or a weight about
  to be saved is `nan` or infinite, the run stops with one line, such as
  `step 37: train_loss is nan; the last good checkpoint is runs/x/checkpoint.pt (step 30); try a smaller --lr`,
  before that value is written anywhere.
* **`run.summary()`** returns the final values, the run folder, the steps done and
  the time, and **`run_main`** turns one-line errors into exit status 2 and an
  interrupted run into status 130.

## Reproducibility

The weights, the data order and the noise come from three kinds of generators,
all seeded from `seed`: the global generators of PyTorch, NumPy and Python (the
weights at the start, then dropout and other noise, with `seed + rank`),
and `run.generator`, a CPU generator for the data order, seeded alike in every
process. The checkpoint holds all of their states, of every process, so a
resumed run draws exactly the numbers the uninterrupted run would have drawn.
"""

import json
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from labml_nn.experiments import distributed
from labml_nn.experiments.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from labml_nn.experiments.config import RunConfig, flag_name, parse_config, resume_changes
from labml_nn.experiments.errors import ExperimentError, RunDiverged
from labml_nn.experiments.metrics import METRICS_NAME, Metrics
from labml_nn.experiments.progress import Progress, format_duration
from labml_nn.experiments.run_folder import CONFIG_NAME, RunFolder, atomic_write
from labml_nn.experiments.stop import StopRequest


# ## Random states

def get_rng_state() -> Dict[str, Any]:
    """The global generators' states, as tensors and plain values (what a safe checkpoint can hold)"""
    import numpy as np
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {'python': random.getstate(),
            'numpy': (name, torch.from_numpy(keys.astype('int64')), int(pos), int(has_gauss), float(cached)),
            'torch': torch.get_rng_state(),
            'cuda': torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized()
            else []}


def set_rng_state(state: Dict[str, Any]):
    import numpy as np
    random.setstate(state['python'])
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((name, keys.numpy().astype('uint32'), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if state['cuda'] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def seed_everything(seed: int):
    """Seed PyTorch (CPU and GPUs), NumPy and Python's `random`"""
    import numpy as np
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


class Run:
    """
    ## The run
    """

    def __init__(self, cfg: RunConfig, name: str, *, stream=None, tty: Optional[bool] = None,
                 clock: Callable[[], float] = time.monotonic):
        """
        * `cfg` is the configuration, a `RunConfig`
        * `name` names the experiment: the default run folder is `runs/<name>`, and a
          checkpoint is only resumed by the experiment of the same name
        * `stream`, `tty` and `clock` are for the [progress display](progress.html)
          (tests pass a fake clock)
        """
        self.cfg = cfg
        self.name = name
        self.out = Path(cfg.out) if cfg.out else Path('runs') / name
        self.checkpoint_path = self.out / CHECKPOINT_NAME
        self._stream, self._tty, self._clock = stream, tty, clock
        self.folder = RunFolder(self.out)
        self.objects: Dict[str, Any] = {}
        self.start = 0
        self.done = 0
        self.interrupted = False
        self.history: List[Dict[str, Any]] = []
        self.last_checkpoint: Optional[int] = None
        self._state: Optional[Dict[str, Any]] = None
        self._entered = False
        self._loop_started = False
        self._row_step: Optional[int] = None
        self.device = torch.device('cpu')
        self.dist = distributed.Dist()

    # ### Entering

    def __enter__(self) -> 'Run':
        self.cfg.validate()
        self.device, self.dist = distributed.setup(self.cfg.device)
        self._entered = True
        try:
            self._open()
        except BaseException:
            self._close()
            raise
        return self

    def _open(self):
        cfg = self.cfg
        # Rank 0 creates and locks the folder; its verdict goes to every process, so that
        # all of them stop when it can't
        error = None
        if self.dist.is_main:
            try:
                self.folder.open()
                if not cfg.resume and self.checkpoint_path.exists():
                    raise ExperimentError(f"{self.checkpoint_path} already exists; pass --resume to continue that "
                                          f"run, or choose another --out")
            except ExperimentError as e:
                error = str(e)
        error = distributed.broadcast_object(error, self.dist, self.device)
        if error is not None:
            raise ExperimentError(error)

        if cfg.resume:
            state = load_checkpoint(self.checkpoint_path)
            if state.get('name') != self.name:
                raise ExperimentError(f"the checkpoint in {self.out} was written by the experiment "
                                      f"{state.get('name')!r}, not {self.name!r}; resume it with the experiment that "
                                      f"wrote it, or pass another --out")
            if len(state['ranks']) != self.dist.world_size:
                raise ExperimentError(f"the checkpoint in {self.out} was written by {len(state['ranks'])} "
                                      f"process(es); resume it with the same number of processes")
            applied = resume_changes(cfg, state['config'], str(self.out))
            self.history = list(state['history']) + [
                {'step': state['step'], 'changed': {k: list(v) for k, v in applied.items()}}]
            self._state = state
            self.start = self.done = state['step']
            self.last_checkpoint = state['step']

        # `config.json`: the values this run uses, and the steps at which it was resumed
        if self.dist.is_main:
            config = cfg.to_dict()
            if self.history:
                config['resumed'] = self.history
            self.folder.write_config(config)

        seed_everything(cfg.seed)
        # The data order's own generator, on the CPU, seeded alike in every process
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.metrics = Metrics(self.out / METRICS_NAME if self.dist.is_main else None)
        self.progress = Progress(cfg.steps, self.start, enabled=self.dist.is_main, stream=self._stream,
                                 tty=self._tty, clock=self._clock)
        self.stop = StopRequest().__enter__()
        self._wall_start = self._clock()

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    # ### What goes into the checkpoint

    def track(self, **objects: Any):
        """
        Name objects with `state_dict()` and `load_state_dict()` for the checkpoint.
        On `--resume` their saved state is loaded here.
        """
        for name, obj in objects.items():
            if not (hasattr(obj, 'state_dict') and hasattr(obj, 'load_state_dict')):
                raise TypeError(f"run.track({name}=...) needs an object with state_dict() and load_state_dict()")
            if self._state is not None:
                saved, classes = self._state['objects'], self._state['classes']
                if name not in saved:
                    raise ExperimentError(f"the checkpoint in {self.out} has no saved state for {name!r}; resume it "
                                          f"with the experiment and flags that wrote it")
                if classes[name] != type(obj).__name__:
                    raise ExperimentError(f"the checkpoint in {self.out} was trained with {classes[name]}, not "
                                          f"{type(obj).__name__}; resume it with the experiment that wrote it")
                obj.load_state_dict(saved[name])
            self.objects[name] = obj

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model wrapped in `DistributedDataParallel` when there are several processes"""
        return distributed.wrap_model(model, self.dist)

    # ### The loop

    def steps(self):
        """
        Yield the steps still to do. After each one: progress, checkpoints, Ctrl-C.
        """
        self._begin()
        step = self.start
        while step < self.cfg.steps:
            self._row_step = None
            yield step
            done = self.done = step + 1
            self.progress.step(done)
            stopping = self.stop.should_stop(self.device, self.dist)
            if self.due(step, self.cfg.checkpoint_every) or stopping:
                saving_started = self._clock()
                self.save(done)
                if self._row_step is None:
                    # Time spent saving is not training time
                    self._row_clock += self._clock() - saving_started
            if self._row_step is not None:
                row = self.metrics.rows[-1]
                self.progress.row(row, keep=any(k in row for k in self.metrics.eval_names))
                # The next row's training time starts now, after validation and saving
                self._row_clock = self._clock()
            if stopping:
                self.interrupted = True
                self.progress.print(f"Stopped at step {done}; checkpoint saved to {self.checkpoint_path}, "
                                    f"continue with --resume")
                break
            step += 1

    def _begin(self):
        if self._loop_started:
            raise RuntimeError("run.steps() can be used only once per run")
        self._loop_started = True
        state = self._state
        if state is not None:
            missing = sorted(set(state['objects']) - set(self.objects))
            if missing:
                raise ExperimentError(f"the checkpoint in {self.out} also holds {', '.join(missing)}, which this run "
                                      f"does not track; resume it with the experiment that wrote it")
            mine = state['ranks'][self.dist.rank]
            set_rng_state(mine['rng'])
            self.generator.set_state(state['generator'])
            self.metrics.load_state_dict({**state['metrics'], 'sums': mine['sums']}, self.device)
            if self.dist.is_main:
                # Rows written after the checkpoint (by a run that then crashed) are dropped
                self.metrics.flush()
        else:
            # Dropout and other noise get a different stream in each process
            seed_everything(self.cfg.seed + self.dist.rank)
        self._row_clock = self._clock()
        self.progress.begin()
        self.progress.print(f"{self.name}: {'resuming at step ' + str(self.start) if self.start else 'starting'} "
                            f"on {self.device} x {self.dist.world_size}; run folder {self.out}")

    def due(self, step: int, every: int) -> bool:
        """Whether something done every `every` steps is due after `step` (always after the last step)"""
        done = step + 1
        return done % every == 0 or done == self.cfg.steps

    # ### Metrics

    def _row_due(self, step: int) -> bool:
        return self.due(step, self.cfg.log_every) or self.due(step, self.cfg.eval_every)

    def log(self, step: int, **values: Any):
        """
        One step's training values: averaged into the row of `metrics.csv` (learning rates
        are taken as they are at the row's step); `samples=` or `tokens=` count the
        global batch and give the throughput.
        """
        self.metrics.accumulate(values)
        if self._row_due(step):
            self._make_row(step + 1)

    def _make_row(self, done: int):
        sums, n, latest, counts = self.metrics.take()
        world = self.dist.world_size
        means = {}
        for name in self.metrics.train_names:
            if name in sums:
                total = sums[name]
                if isinstance(total, torch.Tensor):
                    # Reading the value waits for the device, so the clock below is right
                    total = distributed.sum_tensor(total, self.dist).item()
                elif world > 1:
                    total = distributed.all_reduce_sum([float(total)], self.device, self.dist)[0]
                means[name] = total / (n[name] * world)
            elif name in latest:
                means[name] = latest[name]
        self._check_finite(done, means)
        interval = self._clock() - self._row_clock
        self.metrics.add_row(done, means, counts, interval)
        self._row_step = done

    def log_eval(self, step: int, **values: Any):
        """Validation values for the row of `step` (the same in every process)"""
        values = {k: float(v) for k, v in values.items()}
        self._check_finite(step + 1, values)
        self.metrics.add_eval(step + 1, values)
        if self._row_step is None:
            self._row_step = step + 1
        self.metrics.flush()

    def _check_finite(self, done: int, values: Dict[str, float]):
        import math
        for name, value in values.items():
            if not math.isfinite(value):
                self._diverged(done, f"{name} is {value}")

    def _diverged(self, done: int, what: str):
        if self.last_checkpoint is not None:
            good = f"the last good checkpoint is {self.checkpoint_path} (step {self.last_checkpoint})"
        else:
            good = "there is no checkpoint yet"
        lr = '--lr' if hasattr(self.cfg, 'lr') else 'learning rate'
        # The rows so far are all finite; write them, they show how the run got here
        if self.dist.is_main:
            self.metrics.flush()
        raise RunDiverged(f"step {done}: {what}; {good}; try a smaller {lr}")

    # ### Checkpoints

    def save(self, done: int):
        """Save a checkpoint after `done` steps (called by `steps()`; all processes take part)"""
        self._check_state_finite(done)
        ranks = distributed.gather_objects(
            {'rng': get_rng_state(),
             'sums': {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v
                      for k, v in self.metrics.sums.items()}}, self.dist)
        if self.dist.is_main:
            metrics = self.metrics.state_dict()
            del metrics['sums']
            state = {'name': self.name, 'step': done, 'config': self.cfg.to_dict(), 'history': self.history,
                     'objects': {name: obj.state_dict() for name, obj in self.objects.items()},
                     'classes': {name: type(obj).__name__ for name, obj in self.objects.items()},
                     'generator': self.generator.get_state(), 'ranks': ranks, 'metrics': metrics}
            self.metrics.flush()
            save_checkpoint(self.checkpoint_path, state)
        self.last_checkpoint = done

    def _check_state_finite(self, done: int):
        # The half-made row and every floating-point weight must be finite before we save them
        for name, value in self.metrics.sums.items():
            if not torch.isfinite(torch.as_tensor(value)).all():
                self._diverged(done, f"{name} is {float(torch.as_tensor(value).sum())}")
        for obj_name, obj in self.objects.items():
            if isinstance(obj, torch.nn.Module):
                for p_name, p in obj.named_parameters():
                    if not torch.isfinite(p).all():
                        self._diverged(done, f"the weights {obj_name}.{p_name} are not finite")

    # ### Output

    def path(self, name: str) -> Path:
        """A path in the run folder, for files the experiment writes itself"""
        return self.out / name

    def save_figure(self, fig: Any, name: str, dpi: int = 100):
        """Save a matplotlib figure in the run folder (atomically, main process only); returns its path"""
        path = self.path(name)
        if self.dist.is_main:
            fmt = Path(name).suffix.lstrip('.') or 'png'
            atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi), binary=True)
        return path

    def print(self, text: str):
        """A line of text under the progress line (main process only)"""
        self.progress.print(text)

    def sum_over_processes(self, values: Sequence[float]) -> List[float]:
        """Sum a few numbers over the processes (for validation losses computed on slices)"""
        return distributed.all_reduce_sum(list(values), self.device, self.dist)

    def summary(self) -> Dict[str, Any]:
        """
        The final values (the last value of every column of `metrics.csv`), the run
        folder, the steps done, the training and wall-clock seconds, and whether the
        run was interrupted
        """
        final: Dict[str, Any] = {}
        for row in self.metrics.rows:
            final.update({k: v for k, v in row.items() if v != ''})
        return {**final, 'final': final, 'out': str(self.out), 'step': self.done, 'steps': self.cfg.steps,
                'interrupted': self.interrupted, 'train_time_s': self.metrics.train_time_s,
                'seconds': self._clock() - self._wall_start, 'rows': [dict(r) for r in self.metrics.rows]}

    # ### Leaving

    def __exit__(self, exc_type, exc, tb):
        self._close(clean=exc_type is None)
        return False

    def _close(self, clean: bool = False):
        if hasattr(self, 'progress'):
            self.progress.close()
        if hasattr(self, 'stop'):
            self.stop.__exit__(None, None, None)
        self.folder.close()
        if self._entered:
            distributed.teardown(clean)
            self._entered = False


def describe(doc: str) -> str:
    """The `--help` description from a page's docstring: its `title`, or its first paragraph"""
    doc = (doc or '').strip()
    if doc.startswith('---'):
        for line in doc.split('---')[1].splitlines():
            if line.startswith('title:'):
                return line[len('title:'):].strip().strip('\'"')
        return ''
    return doc.split('\n\n')[0]


def run_main(train: Callable[[Any], Any], config_cls: type, argv: Optional[Sequence[str]] = None,
             description: str = '', prog: Optional[str] = None) -> int:
    """
    ## The command-line entry point

    Parses the flags and calls `train`. A one-line error (`ExperimentError`, including
    `RunDiverged`) is printed on standard error as `prog: error: ...` and gives exit
    status 2; `--help` gives 0; a run stopped by Ctrl-C gives 130 (and so does a second
    Ctrl-C, which stops at once).
    """
    if prog is None:
        prog = f"python -m {train.__module__}" if train.__module__ != '__main__' else None
    try:
        cfg = parse_config(config_cls, argv, description=describe(description), prog=prog)
        result = train(cfg)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 0
    except ExperimentError as e:
        name = prog or Path(sys.argv[0]).name
        print(f"{name}: error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        # A second Ctrl-C while stopping, or one before training started
        print(f"{prog or Path(sys.argv[0]).name}: interrupted", file=sys.stderr, flush=True)
        return 130
    interrupted = result.get('interrupted') if isinstance(result, dict) else getattr(result, 'interrupted', False)
    return 130 if interrupted else 0
