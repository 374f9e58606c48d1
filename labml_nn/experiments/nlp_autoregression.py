"""
---
title: Character-Level Language Modelling, the Experiment Plumbing
summary: >
  Everything a small language-model experiment needs besides the model and the
  training loop: the Tiny Shakespeare corpus, a character tokenizer, batches of
  windows, command-line flags from a dataclass, checkpoints, metrics, progress
  and multi-process training.
---

# Character-Level Language Modelling, the Experiment Plumbing

The [transformer experiment](../transformers/basic/autoregressive_experiment.html)
and its [Sophia-G variant](../transformers/basic/with_sophia.html) keep their
model and training loop on their own pages. This page holds the machinery they
share, in the order a run uses it:

* **The corpus.** Tiny Shakespeare, about a million characters of plays, found
  at `--data PATH`, else at `data/tiny_shakespeare.txt`, else downloaded once
  (with its checksum verified).
* **Tokens.** Every distinct character is a token; the model predicts the next
  character.
* **Batches.** Random windows of `seq_len + 1` characters from the training
  split: the first `seq_len` are the input, the last `seq_len` the targets.
* **Flags.** Each field of the experiment's dataclass becomes a command-line flag.
* **Checkpoints and metrics** in the run folder `--out`, always written to a
  temporary file first and then renamed, so a crash never leaves half a file.
* **Progress** on the terminal through [labml](https://github.com/labmlai/labml)'s
  `monit` and `tracker`.
* **Several processes** under `torchrun`, each taking a slice of every batch.

We use labml only for the terminal display. `labml.experiment` would also
record the run, but it writes outside the run folder (into `~/.labml` and a
folder of its own choosing), so we write the configuration, metrics and
checkpoints ourselves, all inside `--out`.
"""

import argparse
import contextlib
import csv
import dataclasses
import hashlib
import io
import os
import random
import signal
import sys
import typing
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F


class ExperimentError(ValueError):
    """
    ## A problem with the user's input

    The message is one line that says what is wrong, where, and what to do about it.
    The command-line entry points print it and exit with a non-zero status.
    """


# ## The corpus
#
# The standard Tiny Shakespeare file (1,115,394 bytes), from
# [The Unreasonable Effectiveness of Recurrent Neural Networks](http://karpathy.github.io/2015/05/21/rnn-effectiveness/).
TINY_SHAKESPEARE_URL = 'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt'
TINY_SHAKESPEARE_SHA256 = '86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed'
# Where we look for it, and save it, when `--data` is not given (relative to the working folder)
DEFAULT_CORPUS = Path('data') / 'tiny_shakespeare.txt'


def find_corpus(data: str, *, url: str = TINY_SHAKESPEARE_URL, sha256: str = TINY_SHAKESPEARE_SHA256,
                default: Path = DEFAULT_CORPUS) -> Path:
    """
    ### Locate the text file

    * `data` is the path given with `--data`, or an empty string
    * `url`, `sha256` and `default` say where to download Tiny Shakespeare from,
      what its checksum is, and where to keep it
    """
    # An explicit path must exist; we never fall back silently from a typo
    if data:
        path = Path(data)
        if not path.is_file():
            raise ExperimentError(f"data file {path} does not exist; pass --data with the path of a "
                                  f"plain-text file, or leave --data out to use Tiny Shakespeare")
        return path
    if default.is_file():
        return default
    download(url, default, sha256)
    return default


def download(url: str, dest: Path, sha256: str, timeout: float = 30.0):
    """
    ### Download with a progress bar and a checksum

    The bytes go to a temporary file next to `dest`, which is renamed to `dest`
    only after the whole file has arrived and its SHA-256 matches `sha256`.
    """
    from labml import monit

    _quiet_labml()
    dest = Path(dest)
    where = f"download that file yourself and save it as {dest.resolve()}, or pass --data PATH"
    tmp = dest.parent / f'.{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part'
    digest = hashlib.sha256()
    try:
        # Connect first, so that nothing is created when we are offline
        with urllib.request.urlopen(url, timeout=timeout) as response:
            dest.parent.mkdir(parents=True, exist_ok=True)
            total = int(response.headers.get('Content-Length') or 0)
            received = 0
            with open(tmp, 'xb') as f:
                # `monit.section` draws the progress bar from the fraction we give to `monit.progress`
                with monit.section(f'Downloading {url}', total_steps=max(total, 1)):
                    while chunk := response.read(1 << 16):
                        f.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        monit.progress(min(received, total) if total else 0)
    except (urllib.error.URLError, OSError) as e:
        tmp.unlink(missing_ok=True)
        reason = getattr(e, 'reason', None) or e
        raise ExperimentError(f"could not download Tiny Shakespeare from {url} ({reason}); {where}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != sha256:
        tmp.unlink()
        raise ExperimentError(f"the file downloaded from {url} has SHA-256 {digest.hexdigest()}, not the expected "
                              f"{sha256}; {where}")
    os.replace(tmp, dest)


def _quiet_labml():
    # labml looks for a `.labml.yaml` project file above the calling script and prints
    # a warning when it finds none. We don't use its project folder, so we create its
    # settings once with that warning silenced.
    from labml.internal.lab import lab_singleton
    with contextlib.redirect_stdout(io.StringIO()):
        lab_singleton()


def read_text(path: Path) -> str:
    """
    ### Read the corpus as UTF-8 text
    """
    try:
        text = Path(path).read_text(encoding='utf-8')
    except UnicodeDecodeError as e:
        raise ExperimentError(f"data file {path} is not UTF-8 text (bad byte at offset {e.start}); "
                              f"pass --data with a plain-text file") from None
    except OSError as e:
        raise ExperimentError(f"can't read data file {path} ({e.strerror}); check the path and its permissions") \
            from None
    if not text:
        raise ExperimentError(f"data file {path} is empty; pass --data with a file that has some text in it")
    return text


class CharTokenizer:
    """
    ## Character tokenizer

    The vocabulary is the sorted set of characters of the corpus, and a token is
    a character's position in it. Tiny Shakespeare has 65 of them.
    """

    def __init__(self, chars: str):
        """
        * `chars` is the vocabulary, each character once
        """
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> 'CharTokenizer':
        return cls(''.join(sorted(set(text))))

    @property
    def n_vocab(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """Characters to a tensor of token ids"""
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise ExperimentError(f"text contains characters that are not in the corpus: {''.join(unknown)!r}; "
                                  f"use only characters that occur in the training text")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids: Sequence[int]) -> str:
        """Token ids back to characters"""
        return ''.join(self.chars[i] for i in ids)


class TextDataset:
    """
    ## Training and validation windows

    The last `valid_fraction` of the text is the validation split; we cut at one
    point rather than at random so that no validation window overlaps a training one.
    """

    def __init__(self, text: str, seq_len: int, valid_fraction: float, source: str = 'corpus'):
        """
        * `text` is the whole corpus
        * `seq_len` is the number of tokens the model sees at once
        * `valid_fraction` is the share of the text held out for validation
        * `source` names the corpus in error messages
        """
        if not text:
            raise ExperimentError(f"{source} is empty; pass --data with a file that has some text in it")
        self.tokenizer = CharTokenizer.from_text(text)
        tokens = self.tokenizer.encode(text)
        n_valid = int(len(tokens) * valid_fraction)
        self.train = tokens[:len(tokens) - n_valid]
        self.valid = tokens[len(tokens) - n_valid:]
        # Each split must hold at least one window of `seq_len` inputs and their `seq_len` targets
        shortest = min(len(self.train), len(self.valid))
        if shortest < seq_len + 1:
            raise ExperimentError(f"seq_len={seq_len} is too long for {source}: its {len(tokens)} characters give "
                                  f"splits of {len(self.train)} (train) and {len(self.valid)} (valid), and each needs "
                                  f"seq_len + 1; lower --seq-len or use a longer text")
        self.seq_len = seq_len
        self.offsets = torch.arange(seq_len + 1)

    def _windows(self, tokens: torch.Tensor, starts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # Gather `[n, seq_len + 1]` windows in one indexing operation
        w = tokens[starts.unsqueeze(1) + self.offsets]
        # Inputs are the first `seq_len` tokens, targets the same shifted by one
        return w[:, :-1], w[:, 1:]

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        ### A random training batch

        Returns inputs and targets of shape `[batch_size, seq_len]`.
        The `generator` decides the windows, so that the same seed gives the same batches
        in every process and after a resume.
        """
        starts = torch.randint(0, len(self.train) - self.seq_len, (batch_size,), generator=generator)
        return self._windows(self.train, starts)

    def valid_windows(self, n: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        ### A fixed set of validation windows

        `n` windows spread evenly over the validation split, always the same ones,
        so that validation losses of different steps and runs are comparable.
        """
        last = len(self.valid) - self.seq_len - 1
        starts = torch.linspace(0, last, n).round().long()
        return self._windows(self.valid, starts)

    def unigram_loss(self) -> float:
        r"""
        ### The unigram baseline

        The validation loss of a model that ignores the context and always predicts
        the character frequencies of the training split (with one extra count for every
        character, so none has probability zero):
        $-\frac{1}{N} \sum_t \log p(c_t)$.
        A language model must get well below this to have learned anything about context.
        """
        counts = torch.bincount(self.train, minlength=self.tokenizer.n_vocab).double() + 1
        log_p = torch.log(counts / counts.sum())
        return -log_p[self.valid].mean().item()


# ## Configuration from the command line

def parse_config(config_cls: type, argv: Optional[Sequence[str]] = None, description: str = '',
                 prog: Optional[str] = None):
    """
    ### Build the flags from a dataclass

    Every field `lr` of the dataclass becomes a flag `--lr`, with the field's type,
    its default, and the `help` text of its metadata; boolean fields become
    `--name`/`--no-name` switches and `choices` in the metadata restrict the values.
    `--help` lists them all, and an unknown flag or a badly typed value is an error.
    """
    parser = _OneLineErrorParser(prog=prog, description=description,
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    hints = typing.get_type_hints(config_cls)
    for f in dataclasses.fields(config_cls):
        flag = '--' + f.name.replace('_', '-')
        kind = hints[f.name]
        help_text = f.metadata.get('help', ' ')
        if kind is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=f.default,
                                help=help_text)
        else:
            choices = f.metadata.get('choices')
            parser.add_argument(flag, dest=f.name, type=kind, default=f.default, help=help_text, choices=choices,
                                metavar='{' + ','.join(choices) + '}' if choices else f.name.upper())
    return config_cls(**vars(parser.parse_args(argv)))


class _OneLineErrorParser(argparse.ArgumentParser):
    # `argparse` prints the usage and then the error; we print one line that points at `--help`
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def check_positive(cfg: Any, *names: str):
    """Raise an `ExperimentError` naming the first field in `names` that is not positive"""
    for name in names:
        value = getattr(cfg, name)
        if not value > 0:
            raise ExperimentError(f"--{name.replace('_', '-')} must be positive, got {value}")


def run_main(train: Callable[[Any], 'RunResult'], config_cls: type, argv: Optional[Sequence[str]],
             description: str, prog: str) -> int:
    """
    ### The command-line entry point

    Parses the flags, calls `train`, and turns an `ExperimentError` into one line on
    standard error and exit status 1. An interrupted run exits with status 130,
    the usual status after Ctrl-C.
    """
    cfg = parse_config(config_cls, argv, description, prog)
    try:
        result = train(cfg)
    except ExperimentError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    return 130 if result.interrupted else 0


# ## Devices and processes

@dataclasses.dataclass
class Distributed:
    """
    ### This process's place in a multi-process run

    `torchrun --nproc_per_node=N` starts `N` copies of the script and tells each
    its `RANK`, `LOCAL_RANK` and the `WORLD_SIZE` through environment variables.
    A plain `python` run is rank 0 of a world of size 1.
    """
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        # Only the main process prints, writes logs and saves checkpoints
        return self.rank == 0


def setup_device(device: str) -> Tuple[torch.device, Distributed]:
    """
    ### Pick the device and join the process group

    * `device` is `cpu`, `cuda` or `auto` (CUDA when a GPU is visible, else CPU)

    Under `torchrun` it joins the process group: `gloo` on the CPU, `nccl` on GPUs,
    one GPU per process.
    """
    if device not in ('cpu', 'cuda', 'auto'):
        raise ExperimentError(f"unknown device {device!r}; use --device cpu, cuda or auto")
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda' and not torch.cuda.is_available():
        raise ExperimentError("--device cuda was requested but PyTorch sees no CUDA GPU; "
                              "use --device cpu (or auto)")
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    info = Distributed(rank=int(os.environ.get('RANK', '0')), world_size=world_size,
                       local_rank=int(os.environ.get('LOCAL_RANK', '0')))
    if device == 'cuda':
        dev = torch.device('cuda', info.local_rank)
        torch.cuda.set_device(dev)
        # TensorFloat-32 matrix products: much faster on recent GPUs, accurate enough here
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        dev = torch.device('cpu')
        # Numbers below the smallest normal float (about $10^{-38}$, "subnormals") appear once
        # softmax probabilities of unlikely characters underflow. Many Intel processors compute
        # with them far more slowly; on one we saw the Sophia-G run halve its speed after a few
        # hundred steps. Flushing them to zero changes no result that matters here.
        torch.set_flush_denormal(True)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend='nccl' if device == 'cuda' else 'gloo')
    return dev, info


def teardown():
    """Leave the process group and undo the process-wide setting of `setup_device`"""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    torch.set_flush_denormal(False)


def all_reduce_sum(values: List[float], device: torch.device, info: Distributed) -> List[float]:
    """Sum a few numbers over all processes"""
    if info.world_size == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


# ## Random state
#
# Everything random in a run (dropout, the labels Sophia samples) draws from the
# global generators; the batches draw from their own generator. We save all of
# them in the checkpoint, so that a resumed run continues exactly where it stopped.

def get_rng_state() -> Dict[str, Any]:
    return {'python': random.getstate(),
            'torch': torch.get_rng_state(),
            'cuda': torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: Dict[str, Any]):
    random.setstate(state['python'])
    torch.set_rng_state(state['torch'])
    if state['cuda'] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def gather_rng_states(info: Distributed) -> Optional[List[Dict[str, Any]]]:
    """The random state of every process, collected on the main process (`None` elsewhere)"""
    state = get_rng_state()
    if info.world_size == 1:
        return [state]
    states = [None] * info.world_size if info.is_main else None
    dist.gather_object(state, states, dst=0)
    return states


# ## Files in the run folder

CHECKPOINT_NAME = 'checkpoint.pt'
METRICS_NAME = 'metrics.csv'
CONFIG_NAME = 'config.json'
# Bumped whenever the checkpoint's contents change
CHECKPOINT_FORMAT = 1


def atomic_write(path: Path, write: Callable[[io.IOBase], None], binary: bool = False):
    """
    ### Write a file atomically

    `write(f)` fills a temporary file in the same folder, which then replaces
    `path` in one `os.replace`. Readers, and a crash, see either the old file or the
    new one, never a mixture.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name no other writer uses; mode `x` refuses to open an existing file
    tmp = path.parent / f'.{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp'
    try:
        with open(tmp, 'xb' if binary else 'x', **({} if binary else {'encoding': 'utf-8', 'newline': ''})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, state: Dict[str, Any]):
    """Save the training state atomically"""
    atomic_write(path, lambda f: torch.save({'format': CHECKPOINT_FORMAT, **state}, f), binary=True)


def load_checkpoint(path: Path) -> Dict[str, Any]:
    """
    ### Load a checkpoint, or explain why we can't

    A checkpoint that can't be read is left as it is; the run stops before it
    could write anything.
    """
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"--resume was given but there is no checkpoint at {path}; "
                              f"run without --resume to start a new run, or point --out at the run to continue")
    try:
        # `weights_only` loads tensors and plain containers only, never arbitrary pickled objects
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        raise ExperimentError(f"checkpoint {path} is damaged or not a checkpoint ({type(e).__name__}); it was left "
                              f"untouched: delete it to start over, or pass another --out") from None
    required = {'format', 'step', 'model', 'optimizer', 'optimizer_name', 'data_rng', 'rng', 'config', 'vocab',
                'metrics', 'train_time_s'}
    if not isinstance(state, dict) or not required <= state.keys() or state['format'] != CHECKPOINT_FORMAT:
        raise ExperimentError(f"checkpoint {path} is not a checkpoint of this experiment (missing fields or another "
                              f"format); it was left untouched: delete it to start over, or pass another --out")
    return state


class MetricsLog:
    """
    ### The metrics file

    One row per logged step in `metrics.csv` of the run folder: the step, the
    tokens seen, the training time in seconds (without validation and sampling),
    the learning rate, the training loss (averaged since the previous row), the
    validation loss where one was measured, and the throughput.
    The whole file is rewritten atomically at each validation and at the end.
    """
    FIELDS = ['step', 'tokens', 'train_time_s', 'lr', 'train_loss', 'valid_loss', 'tokens_per_s']

    def __init__(self, path: Optional[Path], rows: Optional[List[Dict[str, Any]]] = None):
        """
        * `path` is the CSV file, or `None` on processes that don't write
        * `rows` are the rows saved in the checkpoint we resume from
        """
        self.path = path
        self.rows = list(rows or [])

    def add(self, **row: Any):
        self.rows.append({k: row.get(k, '') for k in self.FIELDS})

    def flush(self):
        if self.path is None:
            return

        def write(f):
            writer = csv.DictWriter(f, fieldnames=self.FIELDS)
            writer.writeheader()
            writer.writerows(self.rows)

        atomic_write(self.path, write)


def read_metrics(path: Path) -> List[Dict[str, float]]:
    """Read a `metrics.csv` back as a list of rows, with empty cells left out"""
    with open(path, newline='', encoding='utf-8') as f:
        return [{k: float(v) for k, v in row.items() if v != ''} for row in csv.DictReader(f)]


# ## Progress on the terminal

class Progress:
    """
    ### Step, losses, throughput and time left

    `monit.loop` counts the steps and estimates the time left;
    `tracker.save` shows the latest values next to it.
    Processes other than the main one stay silent.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled
        if enabled:
            _quiet_labml()

    def loop(self, start: int, stop: int):
        if not self.enabled:
            return range(start, stop)
        from labml import monit
        return monit.loop(range(start, stop))

    def train(self, step: int, loss: float, tokens_per_s: float):
        if self.enabled:
            from labml import tracker
            tracker.save(step, {'loss.train': loss, 'tokens_per_s': tokens_per_s})

    def valid(self, step: int, loss: float):
        if self.enabled:
            from labml import tracker
            tracker.save(step, {'loss.valid': loss})
            # Keep this line on the screen; the next step starts a new one
            tracker.new_line()

    def print(self, text: str):
        if self.enabled:
            print(text, flush=True)


class StopRequest:
    """
    ### Stop cleanly on Ctrl-C

    The first Ctrl-C (or `SIGTERM`) only sets a flag; the training loop sees it
    after the current step, saves a checkpoint and returns. A second Ctrl-C stops
    at once. Under `torchrun` the processes agree on the flag, so that all of them
    stop after the same step.
    """

    def __init__(self):
        self.requested = False
        self._previous = {}

    def __enter__(self):
        # Signal handlers can only be installed from the main thread
        if threading_is_main():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def should_stop(self, device: torch.device, info: Distributed) -> bool:
        if info.world_size == 1:
            return self.requested
        return all_reduce_sum([float(self.requested)], device, info)[0] > 0


def threading_is_main() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


# ## Evaluation and sampling

@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
             device: torch.device, info: Distributed) -> float:
    """
    ### Validation loss

    The mean cross-entropy over the fixed validation windows `x`, `y` of shape
    `[n, seq_len]`. Each process evaluates every `world_size`-th window and the sums
    are added up, so every process gets the same result.
    """
    was_training = model.training
    model.eval()
    x, y = x[info.rank::info.world_size], y[info.rank::info.world_size]
    total, count = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        logits = model(xb)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction='sum').item()
        count += yb.numel()
    model.train(was_training)
    total, count = all_reduce_sum([total, float(count)], device, info)
    return total / count


@torch.no_grad()
def sample(model: torch.nn.Module, tokenizer: CharTokenizer, prompt: str, n_chars: int, seq_len: int,
           device: torch.device, temperature: float = 1.0, seed: int = 0) -> str:
    r"""
    ### Continue a prompt

    Feed the text so far (its last `seq_len` characters), turn the logits of the
    last position into probabilities $\operatorname{softmax}(z / T)$ with
    temperature $T$, draw the next character, append it, repeat.
    The draws use a generator of their own, so that sampling never changes
    the random state of training.
    """
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    ids = tokenizer.encode(prompt).tolist()
    for _ in range(n_chars):
        x = torch.tensor([ids[-seq_len:]], device=device)
        logits = model(x)[0, -1].float().cpu()
        probs = torch.softmax(logits / temperature, dim=-1)
        ids.append(int(torch.multinomial(probs, 1, generator=generator)))
    model.train(was_training)
    return tokenizer.decode(ids)


def format_duration(seconds: float) -> str:
    return f"{int(seconds // 60)}m {seconds % 60:04.1f}s"


@dataclasses.dataclass
class RunResult:
    """
    ### What `train` returns

    * `step` is the number of steps completed
    * `valid_loss` is the last validation loss (`nan` if none was measured)
    * `unigram_loss` is the baseline of the validation split
    * `sample` is the final sample text (empty on processes other than the main one)
    * `metrics` are the rows of `metrics.csv`
    * `interrupted` says whether the run was stopped by Ctrl-C
    """
    step: int
    valid_loss: float
    unigram_loss: float
    sample: str
    metrics: List[Dict[str, Any]]
    interrupted: bool
    train_losses: List[float] = dataclasses.field(default_factory=list)
