r"""
---
title: A Character-Level Transformer Trained with AdamW
summary: >
  A small autoregressive transformer that learns to write Shakespeare-like text
  one character at a time, trained with AdamW: the model, every hyper-parameter
  and the whole training loop on one page.
---

# A Character-Level Transformer Trained with AdamW

This experiment trains a small decoder-only transformer (the
[encoder stack](../models.html) with a [causal mask](../utils.html)) to predict
the next character of Tiny Shakespeare. It is the baseline of the
[Sophia-G experiment](with_sophia.html), which shares the model, the data and the
loop and changes only the optimizer.

Run it with

```bash
python -m labml_nn.transformers.basic.autoregressive_experiment
```

On two CPU cores the default configuration takes a few minutes and reaches a
validation loss far below the unigram baseline (a model that knows only how
often each character occurs); on a GPU add `--device cuda`. `--help` lists every
flag. The run folder `--out` receives `config.json`, `metrics.csv` and
`checkpoint.pt`; `--resume` continues from the checkpoint, and Ctrl-C saves one
and stops. To use several processes, launch the same command with
`torchrun --nproc_per_node=N -m labml_nn.transformers.basic.autoregressive_experiment`.

The data pipeline, checkpoints, progress display and multi-process plumbing are on
the [experiment plumbing page](../../experiments/nlp_autoregression.html).

### The learning rate

We warm the learning rate up linearly over `warmup_steps` steps, then let it
follow a half cosine down to `min_lr_ratio` times its peak at the last step:

\begin{align}
\eta_t &= \eta \Bigl(r + \frac{1 - r}{2}\bigl(1 + \cos(\pi \, \tfrac{t - t_w}{T - t_w})\bigr)\Bigr)
\end{align}

with peak $\eta$ = `lr`, $r$ = `min_lr_ratio`, $t_w$ = `warmup_steps` and
$T$ = `steps`.
"""

import json
import math
import time
from dataclasses import dataclass, field, asdict
from pathlib import Path
from typing import Callable, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.experiments.nlp_autoregression import (
    CHECKPOINT_NAME, CONFIG_NAME, METRICS_NAME, Distributed, ExperimentError, MetricsLog, Progress, RunResult,
    StopRequest, TextDataset, atomic_write, check_positive, evaluate, find_corpus, format_duration,
    gather_rng_states, load_checkpoint, read_text, run_main, sample, save_checkpoint, set_rng_state, setup_device,
    teardown)
from labml_nn.transformers.feed_forward import FeedForward
from labml_nn.transformers.mha import MultiHeadAttention
from labml_nn.transformers.models import (
    EmbeddingsWithLearnedPositionalEncoding, EmbeddingsWithPositionalEncoding, Encoder, Generator, TransformerLayer)


@dataclass
class Config:
    """
    ## Configuration

    Every field is also a command-line flag (`d_model` is `--d-model`).
    """
    # ### The run
    steps: int = field(default=1200, metadata={'help': 'total number of training steps'})
    data: str = field(default='', metadata={'help': 'plain-text corpus; empty means data/tiny_shakespeare.txt, '
                                                    'downloaded if missing'})
    device: str = field(default='auto', metadata={'help': 'where to train', 'choices': ['cpu', 'cuda', 'auto']})
    seed: int = field(default=0, metadata={'help': 'random seed of the weights, batches and dropout'})
    out: str = field(default='runs/transformer_adamw', metadata={'help': 'run folder for the configuration, '
                                                                         'metrics and checkpoint'})
    resume: bool = field(default=False, metadata={'help': 'continue from the checkpoint in --out'})

    # ### The model
    d_model: int = field(default=128, metadata={'help': 'width of the vectors'})
    heads: int = field(default=4, metadata={'help': 'number of attention heads'})
    d_ff: int = field(default=512, metadata={'help': 'hidden size of the feed-forward networks'})
    n_layers: int = field(default=3, metadata={'help': 'number of transformer layers'})
    seq_len: int = field(default=128, metadata={'help': 'characters of context'})
    dropout: float = field(default=0.0, metadata={'help': 'dropout probability'})
    learned_positions: bool = field(default=False, metadata={'help': 'learned instead of sinusoidal positions'})

    # ### The data
    batch_size: int = field(default=32, metadata={'help': 'sequences per step, over all processes'})
    valid_fraction: float = field(default=0.1, metadata={'help': 'share of the text held out for validation'})

    # ### The optimizer
    lr: float = field(default=4e-3, metadata={'help': 'peak learning rate'})
    beta1: float = field(default=0.9, metadata={'help': 'rate of the gradient moving average'})
    beta2: float = field(default=0.99, metadata={'help': 'rate of the squared-gradient moving average'})
    weight_decay: float = field(default=0.1, metadata={'help': 'decoupled weight decay of the weight matrices'})
    warmup_steps: int = field(default=100, metadata={'help': 'steps of linear learning-rate warm-up'})
    min_lr_ratio: float = field(default=0.1, metadata={'help': 'final learning rate as a fraction of lr'})
    grad_clip: float = field(default=1.0, metadata={'help': 'clip the gradient norm to this; 0 turns it off'})

    # ### Logging, validation and checkpoints
    log_every: int = field(default=10, metadata={'help': 'steps between metric rows'})
    eval_every: int = field(default=200, metadata={'help': 'steps between validations'})
    eval_windows: int = field(default=256, metadata={'help': 'validation windows of seq_len characters'})
    checkpoint_every: int = field(default=200, metadata={'help': 'steps between checkpoints'})
    prompt: str = field(default='It is ', metadata={'help': 'text the samples continue'})
    sample_chars: int = field(default=200, metadata={'help': 'characters to sample at each validation'})
    temperature: float = field(default=0.8, metadata={'help': 'sampling temperature'})


# The fields that must not change when a run is resumed
MODEL_FIELDS = ('d_model', 'heads', 'd_ff', 'n_layers', 'seq_len', 'learned_positions')


class AutoregressiveTransformer(nn.Module):
    """
    ## The model

    Token embeddings with positional encodings, a stack of pre-norm
    [transformer layers](../models.html) with causal self-attention, and a
    generator that gives the logits of the next character at every position.
    """

    def __init__(self, n_vocab: int, cfg: Config):
        super().__init__()
        embed = EmbeddingsWithLearnedPositionalEncoding if cfg.learned_positions else EmbeddingsWithPositionalEncoding
        self.embed = embed(cfg.d_model, n_vocab, cfg.seq_len, cfg.dropout)
        layer = TransformerLayer(d_model=cfg.d_model,
                                 self_attn=MultiHeadAttention(cfg.heads, cfg.d_model, cfg.dropout),
                                 feed_forward=FeedForward(cfg.d_model, cfg.d_ff, cfg.dropout, activation=nn.GELU()),
                                 dropout_prob=cfg.dropout)
        self.encoder = Encoder(layer, cfg.n_layers)
        self.generator = Generator(n_vocab, cfg.d_model)

    def forward(self, x: torch.Tensor, cache=None) -> torch.Tensor:
        # `x` holds token ids `[batch, seq]`; we return logits `[batch, seq, n_vocab]`.
        # `is_causal` lets position $i$ see only positions $\le i$.
        # With a [KV cache](../kv_cache.html), `x` holds only the new tokens and
        # their positions start after the cached ones.
        offset = 0 if cache is None else cache.length
        return self.generator(self.encoder(self.embed(x, offset), is_causal=True, cache=cache))


def parameter_groups(model: nn.Module, weight_decay: float) -> List[dict]:
    """
    ## What gets weight decay

    Only the weight matrices (and embedding tables) are decayed: shrinking biases,
    layer-norm gains or positional vectors toward zero has no regularising purpose.
    """
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [{'params': decay, 'weight_decay': weight_decay},
            {'params': no_decay, 'weight_decay': 0.0}]


def make_adamw(cfg: Config, model: nn.Module) -> torch.optim.Optimizer:
    """
    ## The optimizer

    PyTorch's AdamW; see the [Adam page](../../optimizers/adam.html) for how it works.
    """
    return torch.optim.AdamW(parameter_groups(model, cfg.weight_decay), lr=cfg.lr,
                             betas=(cfg.beta1, cfg.beta2))


def learning_rate(cfg: Config, step: int) -> float:
    r"""The learning rate $\eta_t$ of step `step` (counting from $0$)"""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


def check_config(cfg: Config):
    """Reject values that can't work, naming the flag"""
    check_positive(cfg, 'steps', 'd_model', 'heads', 'd_ff', 'n_layers', 'seq_len', 'batch_size', 'lr',
                   'log_every', 'eval_every', 'eval_windows', 'checkpoint_every', 'temperature')
    if cfg.d_model % cfg.heads != 0:
        raise ExperimentError(f"--d-model={cfg.d_model} must be divisible by --heads={cfg.heads}")
    if not cfg.learned_positions and cfg.d_model % 2 != 0:
        raise ExperimentError(f"--d-model={cfg.d_model} must be even for sinusoidal positions")
    if not 0 < cfg.valid_fraction < 1:
        raise ExperimentError(f"--valid-fraction must lie between 0 and 1, got {cfg.valid_fraction}")
    if not 0 <= cfg.dropout < 1:
        raise ExperimentError(f"--dropout must lie in [0, 1), got {cfg.dropout}")


# A function called at the start of every step, before the training forward pass,
# with the step number, the model, the optimizer, this process's input batch and
# the number of tokens in the batch over all processes
BeforeStep = Callable[[int, nn.Module, torch.optim.Optimizer, torch.Tensor, int], None]


def train(cfg: Config,
          make_optimizer: Callable[[Config, nn.Module], torch.optim.Optimizer] = make_adamw,
          before_step: Optional[BeforeStep] = None) -> RunResult:
    """
    ## Train

    * `cfg` is the configuration
    * `make_optimizer` builds the optimizer for the model
    * `before_step` is called at the start of every step; the
      [Sophia-G experiment](with_sophia.html) refreshes its Hessian estimate there

    Returns a [`RunResult`](../../experiments/nlp_autoregression.html).
    """
    check_config(cfg)
    device, info = setup_device(cfg.device)
    try:
        return _train(cfg, device, info, make_optimizer, before_step)
    finally:
        teardown()


def _train(cfg: Config, device: torch.device, info: Distributed,
           make_optimizer: Callable[[Config, nn.Module], torch.optim.Optimizer],
           before_step: Optional[BeforeStep]) -> RunResult:
    out = Path(cfg.out)
    checkpoint_path = out / CHECKPOINT_NAME
    progress = Progress(info.is_main)
    if cfg.batch_size % info.world_size != 0:
        raise ExperimentError(f"--batch-size={cfg.batch_size} must be divisible by the number of processes "
                              f"({info.world_size})")

    # ### Refuse to overwrite a run, or load the one we resume
    if not cfg.resume and checkpoint_path.exists():
        raise ExperimentError(f"{checkpoint_path} already exists; pass --resume to continue that run, "
                              f"or choose another --out")
    state = load_checkpoint(checkpoint_path) if cfg.resume else None
    if state is not None:
        changed = [k for k in MODEL_FIELDS if state['config'].get(k) != getattr(cfg, k)]
        if changed:
            raise ExperimentError(f"--{changed[0].replace('_', '-')} differs from the checkpoint in {out} "
                                  f"({state['config'].get(changed[0])!r}); resume with the same model flags")
        if len(state['rng']) != info.world_size:
            raise ExperimentError(f"the checkpoint in {out} was written by {len(state['rng'])} process(es); "
                                  f"resume it with the same number of processes")

    # ### Data
    path = find_corpus(cfg.data)
    dataset = TextDataset(read_text(path), cfg.seq_len, cfg.valid_fraction, source=f"data file {path}")
    tokenizer = dataset.tokenizer
    # Fail now, not after training, if the prompt can't be encoded
    tokenizer.encode(cfg.prompt)
    if state is not None and state['vocab'] != tokenizer.chars:
        raise ExperimentError(f"the corpus {path} has another character set than the one the checkpoint in {out} "
                              f"was trained on; resume with the same --data")
    x_valid, y_valid = dataset.valid_windows(cfg.eval_windows)
    unigram = dataset.unigram_loss()

    # ### Model and optimizer
    #
    # The same seed gives the same initial weights in every process.
    torch.manual_seed(cfg.seed)
    model = AutoregressiveTransformer(tokenizer.n_vocab, cfg).to(device)
    optimizer = make_optimizer(cfg, model)
    # The batches come from their own generator, seeded alike in every process,
    # so all processes draw the same global batch and each takes its slice
    data_rng = torch.Generator().manual_seed(cfg.seed)
    start, train_time = 0, 0.0
    metrics = MetricsLog(out / METRICS_NAME if info.is_main else None)
    if state is None:
        # Dropout and sampling get a different stream in each process
        torch.manual_seed(cfg.seed + info.rank)
    else:
        if state['optimizer_name'] != type(optimizer).__name__:
            raise ExperimentError(f"the checkpoint in {out} was trained with {state['optimizer_name']}, not "
                                  f"{type(optimizer).__name__}; resume it with the experiment that wrote it")
        model.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        data_rng.set_state(state['data_rng'])
        set_rng_state(state['rng'][info.rank])
        start, train_time, metrics.rows = state['step'], state['train_time_s'], list(state['metrics'])

    # With several processes, `DistributedDataParallel` averages the gradients
    # over the processes during `backward()`
    ddp_model = nn.parallel.DistributedDataParallel(model) if info.world_size > 1 else model

    def save(step: int):
        # Collect the random state of every process, then the main process writes
        rng = gather_rng_states(info)
        if info.is_main:
            save_checkpoint(checkpoint_path, {
                'step': step, 'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
                'optimizer_name': type(optimizer).__name__,
                'data_rng': data_rng.get_state(), 'rng': rng, 'config': asdict(cfg),
                'vocab': tokenizer.chars, 'metrics': metrics.rows, 'train_time_s': train_time})

    if info.is_main:
        atomic_write(out / CONFIG_NAME, lambda f: json.dump(asdict(cfg), f, indent=2))
        n_params = sum(p.numel() for p in model.parameters())
        progress.print(f"{path}: {len(dataset.train):,} training and {len(dataset.valid):,} validation characters, "
                       f"{tokenizer.n_vocab} distinct; unigram baseline loss {unigram:.3f}; model "
                       f"{n_params:,} parameters on {device} x {info.world_size}; "
                       f"{'resuming at step ' + str(start) if start else 'starting'}")

    local_batch = cfg.batch_size // info.world_size
    batch_tokens = cfg.batch_size * cfg.seq_len
    valid_loss, interrupted, completed = float('nan'), False, start
    loss_sum, loss_count = torch.zeros((), device=device), 0
    clock = time.perf_counter()

    # ### The training loop
    with StopRequest() as stop:
        for step in progress.loop(start, cfg.steps):
            # The global batch `[batch_size, seq_len]`, of which this process takes its rows
            x, y = dataset.train_batch(cfg.batch_size, data_rng)
            rows = slice(info.rank * local_batch, (info.rank + 1) * local_batch)
            x, y = x[rows].to(device), y[rows].to(device)
            # Set this step's learning rate
            for group in optimizer.param_groups:
                group['lr'] = learning_rate(cfg, step)
            if before_step is not None:
                before_step(step, ddp_model, optimizer, x, batch_tokens)
            # Forward: logits `[local_batch, seq_len, n_vocab]` and the mean cross-entropy
            # over every position of the batch
            logits = ddp_model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            # Backward and update
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            loss_sum += loss.detach()
            loss_count += 1

            # ### Bookkeeping, at the steps that log, validate or save
            done = completed = step + 1
            stopping = stop.should_stop(device, info)
            is_last = done == cfg.steps
            do_eval = done % cfg.eval_every == 0 or is_last
            do_save = done % cfg.checkpoint_every == 0 or is_last or stopping
            if not (done % cfg.log_every == 0 or do_eval or do_save):
                continue
            # Reading the loss waits for the device to finish, so the clock is right
            train_loss = sum_over_processes(loss_sum, device, info) / (loss_count * info.world_size)
            interval = time.perf_counter() - clock
            train_time += interval
            tokens_per_s = loss_count * batch_tokens / interval
            progress.train(step, train_loss, tokens_per_s)
            row = dict(step=done, tokens=done * batch_tokens, train_time_s=round(train_time, 3),
                       lr=optimizer.param_groups[0]['lr'], train_loss=train_loss, tokens_per_s=round(tokens_per_s))
            if do_eval:
                valid_loss = evaluate(model, x_valid, y_valid, local_batch, device, info)
                row['valid_loss'] = valid_loss
                progress.valid(step, valid_loss)
                if not is_last:
                    progress.print(repr(sample(model, tokenizer, cfg.prompt, cfg.sample_chars, cfg.seq_len,
                                               device, cfg.temperature, cfg.seed)))
            metrics.add(**row)
            if do_eval or do_save:
                metrics.flush()
            if do_save:
                save(done)
            loss_sum.zero_()
            loss_count = 0
            clock = time.perf_counter()
            if stopping:
                interrupted = True
                break

    # ### The result
    #
    # After Ctrl-C we stop at once; otherwise we report the validation loss (also for
    # a resumed run that had already finished) and a sample
    text = ''
    if interrupted:
        progress.print(f"\nInterrupted at step {completed}; checkpoint saved to {checkpoint_path}, "
                       f"continue with --resume")
    else:
        if math.isnan(valid_loss):
            valid_loss = evaluate(model, x_valid, y_valid, local_batch, device, info)
        if info.is_main:
            text = sample(model, tokenizer, cfg.prompt, cfg.sample_chars, cfg.seq_len, device, cfg.temperature,
                          cfg.seed)
            progress.print(f"\nFinished at step {completed} after {format_duration(train_time)} of training: "
                           f"validation loss {valid_loss:.3f} (unigram baseline {unigram:.3f}); "
                           f"checkpoint {checkpoint_path}")
            progress.print(f"Sample:\n{text}")
    return RunResult(step=completed, valid_loss=valid_loss, unigram_loss=unigram, sample=text,
                     metrics=metrics.rows, interrupted=interrupted)


def sum_over_processes(value: torch.Tensor, device: torch.device, info: Distributed) -> float:
    """The sum of a scalar tensor over all processes"""
    if info.world_size > 1:
        value = value.clone()
        torch.distributed.all_reduce(value)
    return value.item()


def main(argv=None) -> int:
    return run_main(train, Config, argv, description='Train a character-level transformer with AdamW.',
                    prog='python -m labml_nn.transformers.basic.autoregressive_experiment')


if __name__ == '__main__':
    raise SystemExit(main())
