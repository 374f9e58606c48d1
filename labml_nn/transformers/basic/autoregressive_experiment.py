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

The text, the tokenizer and the batches are on the
[character corpus page](../../experiments/data/char_corpus.html); the run folder,
checkpoints, metrics, progress, Ctrl-C and the processes are the
[experiment harness](../../experiments/index.html)'s. This page keeps the model,
the optimizer, the learning-rate schedule and the training loop.

### The learning rate

We warm the learning rate up linearly over `warmup_steps` steps, then let it
follow a half cosine down to `min_lr_ratio` times its peak at the last step:

\begin{align}
\eta_t &= \eta \Bigl(r + \frac{1 - r}{2}\bigl(1 + \cos(\pi \, \tfrac{t - t_w}{T - t_w})\bigr)\Bigr)
\end{align}

with peak $\eta$ = `lr`, $r$ = `min_lr_ratio`, $t_w$ = `warmup_steps` and
$T$ = `steps`.
"""

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.experiments.config import RunConfig, check_positive, check_range, flag
from labml_nn.experiments.data.char_corpus import CharTokenizer, TextDataset, find_corpus, read_text
from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.progress import format_duration
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.transformers.feed_forward import FeedForward
from labml_nn.transformers.mha import MultiHeadAttention
from labml_nn.transformers.models import (
    EmbeddingsWithLearnedPositionalEncoding, EmbeddingsWithPositionalEncoding, Encoder, Generator, TransformerLayer)


@dataclass
class Config(RunConfig):
    """
    ## Configuration

    Every field is also a command-line flag (`d_model` is `--d-model`). The
    [harness's fields](../../experiments/config.html) (`--out`, `--resume`,
    `--seed`, `--device`, `--steps`, `--log-every`, `--eval-every`,
    `--checkpoint-every`) come first.

    On `--resume`, the model's shape, the data and the optimizer's
    hyper-parameters other than the learning rate can't change (the checkpoint's
    optimizer state would silently override them); the learning-rate schedule, the
    batch size, dropout, gradient clipping, the number of steps and everything
    about logging and sampling can, and `config.json` records the change.
    """
    # ### The run
    steps: int = 1200
    log_every: int = 10
    eval_every: int = 200
    checkpoint_every: int = 200
    data: str = flag('', help='plain-text corpus; empty means data/tiny_shakespeare.txt, downloaded if missing')

    # ### The model
    d_model: int = flag(128, help='width of the vectors')
    heads: int = flag(4, help='number of attention heads')
    d_ff: int = flag(512, help='hidden size of the feed-forward networks')
    n_layers: int = flag(3, help='number of transformer layers')
    seq_len: int = flag(128, help='characters of context')
    dropout: float = flag(0.0, help='dropout probability', on_resume='apply')
    learned_positions: bool = flag(False, help='learned instead of sinusoidal positions')

    # ### The data
    batch_size: int = flag(32, help='sequences per step, over all processes', on_resume='apply')
    valid_fraction: float = flag(0.1, help='share of the text held out for validation')

    # ### The optimizer
    lr: float = flag(4e-3, help='peak learning rate', on_resume='apply')
    beta1: float = flag(0.9, help='rate of the gradient moving average')
    beta2: float = flag(0.99, help='rate of the squared-gradient moving average')
    weight_decay: float = flag(0.1, help='decoupled weight decay of the weight matrices')
    warmup_steps: int = flag(100, help='steps of linear learning-rate warm-up', on_resume='apply')
    min_lr_ratio: float = flag(0.1, help='final learning rate as a fraction of lr', on_resume='apply')
    grad_clip: float = flag(1.0, help='clip the gradient norm to this; 0 turns it off', on_resume='apply')

    # ### Validation and samples
    eval_windows: int = flag(256, help='validation windows of seq_len characters', on_resume='apply')
    prompt: str = flag('It is ', help='text the samples continue', on_resume='apply')
    sample_chars: int = flag(200, help='characters to sample at each validation', on_resume='apply')
    temperature: float = flag(0.8, help='sampling temperature', on_resume='apply')

    def validate(self):
        """Reject values that can't work, naming the flag"""
        super().validate()
        check_positive(self, 'd_model', 'heads', 'd_ff', 'n_layers', 'seq_len', 'batch_size', 'lr',
                       'eval_windows', 'temperature')
        if self.d_model % self.heads != 0:
            raise ExperimentError(f"--d-model={self.d_model} must be divisible by --heads={self.heads}")
        if not self.learned_positions and self.d_model % 2 != 0:
            raise ExperimentError(f"--d-model={self.d_model} must be even for sinusoidal positions")
        check_range(self, 'valid_fraction', 0, 1, low_open=True, high_open=True)
        check_range(self, 'dropout', 0, 1, high_open=True)
        check_range(self, 'min_lr_ratio', 0, 1)
        if self.warmup_steps < 0 or self.grad_clip < 0 or self.weight_decay < 0 or self.sample_chars < 0:
            raise ExperimentError("--warmup-steps, --grad-clip, --weight-decay and --sample-chars must not be "
                                  "negative")


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


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, run: Run) -> float:
    """
    ## Validation loss

    The mean cross-entropy over the fixed validation windows `x`, `y` of shape
    `[n, seq_len]`. Each process evaluates every `world_size`-th window and the sums
    are added up, so every process gets the same result.
    """
    was_training = model.training
    model.eval()
    x, y = x[run.dist.rank::run.dist.world_size], y[run.dist.rank::run.dist.world_size]
    total, count = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size].to(run.device), y[i:i + batch_size].to(run.device)
        logits = model(xb)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction='sum').item()
        count += yb.numel()
    model.train(was_training)
    total, count = run.sum_over_processes([total, float(count)])
    return total / count


@torch.no_grad()
def sample(model: nn.Module, tokenizer: CharTokenizer, prompt: str, n_chars: int, seq_len: int,
           device: torch.device, temperature: float = 1.0, seed: int = 0) -> str:
    r"""
    ## Continue a prompt

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


# A function called at the start of every step, before the training forward pass,
# with the step number, the model, the optimizer, this process's input batch and
# the number of tokens in the batch over all processes
BeforeStep = Callable[[int, nn.Module, torch.optim.Optimizer, torch.Tensor, int], None]


def train(cfg: Config,
          make_optimizer: Callable[[Config, nn.Module], torch.optim.Optimizer] = make_adamw,
          before_step: Optional[BeforeStep] = None, name: str = 'transformer_adamw') -> Dict[str, Any]:
    """
    ## Train

    * `cfg` is the configuration
    * `make_optimizer` builds the optimizer for the model
    * `before_step` is called at the start of every step; the
      [Sophia-G experiment](with_sophia.html) refreshes its Hessian estimate there
    * `name` names the run: its default folder is `runs/<name>`

    Returns the [run's summary](../../experiments/trainer.html) with the final
    validation loss, the unigram baseline and a sample.
    """
    cfg.validate()
    # ### Data
    #
    # Read before the run folder is made, so that a wrong `--data` leaves nothing behind
    path = find_corpus(cfg.data)
    dataset = TextDataset(read_text(path), cfg.seq_len, cfg.valid_fraction, source=f"data file {path}")
    tokenizer = dataset.tokenizer
    # Fail now, not after training, if the prompt can't be encoded
    tokenizer.encode(cfg.prompt)
    x_valid, y_valid = dataset.valid_windows(cfg.eval_windows)
    unigram = dataset.unigram_loss()

    with Run(cfg, name=name) as run:
        if cfg.batch_size % run.dist.world_size != 0:
            raise ExperimentError(f"--batch-size={cfg.batch_size} must be divisible by the number of processes "
                                  f"({run.dist.world_size})")

        # ### Model and optimizer
        #
        # `Run` seeded every generator with `seed`, so every process starts from the same weights.
        model = AutoregressiveTransformer(tokenizer.n_vocab, cfg).to(run.device)
        optimizer = make_optimizer(cfg, model)
        # The vocabulary is saved too, so that a resume with another corpus is refused
        vocab = Vocabulary(tokenizer.chars)
        run.track(model=model, optimizer=optimizer, vocab=vocab)
        if vocab.saved is not None and vocab.saved != tokenizer.chars:
            raise ExperimentError(f"the corpus {path} has another character set than the one the checkpoint in "
                                  f"{run.out} was trained on; resume with the same --data")
        ddp_model = run.wrap(model)
        n_params = sum(p.numel() for p in model.parameters())
        run.print(f"{path}: {len(dataset.train):,} training and {len(dataset.valid):,} validation characters, "
                  f"{tokenizer.n_vocab} distinct; unigram baseline loss {unigram:.3f}; model "
                  f"{n_params:,} parameters")

        local_batch = cfg.batch_size // run.dist.world_size
        batch_tokens = cfg.batch_size * cfg.seq_len
        valid_loss = float('nan')

        # ### The training loop
        for step in run.steps():
            # The global batch `[batch_size, seq_len]` from the run's data generator,
            # of which this process takes its rows
            x, y = dataset.train_batch(cfg.batch_size, run.generator)
            rows = slice(run.dist.rank * local_batch, (run.dist.rank + 1) * local_batch)
            x, y = x[rows].to(run.device), y[rows].to(run.device)
            # Set this step's learning rate
            lr = learning_rate(cfg, step)
            for group in optimizer.param_groups:
                group['lr'] = lr
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
            # Into `metrics.csv`: the learning rate, the loss (averaged over the row's steps), the tokens
            run.log(step, lr=optimizer.param_groups[0]['lr'], train_loss=loss.detach(), tokens=batch_tokens)
            if run.due(step, cfg.eval_every):
                valid_loss = evaluate(model, x_valid, y_valid, local_batch, run)
                run.log_eval(step, valid_loss=valid_loss)
                if step + 1 < cfg.steps:
                    run.print(repr(sample(model, tokenizer, cfg.prompt, cfg.sample_chars, cfg.seq_len,
                                          run.device, cfg.temperature, cfg.seed)))

        # ### The result
        #
        # After Ctrl-C we stop at once; otherwise we report the validation loss (also for
        # a resumed run that had already finished) and a sample
        text = ''
        if not run.interrupted:
            if math.isnan(valid_loss):
                valid_loss = evaluate(model, x_valid, y_valid, local_batch, run)
            if run.is_main:
                text = sample(model, tokenizer, cfg.prompt, cfg.sample_chars, cfg.seq_len, run.device,
                              cfg.temperature, cfg.seed)
                run.print(f"Finished at step {run.done} after {format_duration(run.metrics.train_time_s)} of "
                          f"training: validation loss {valid_loss:.3f} (unigram baseline {unigram:.3f}); "
                          f"checkpoint {run.checkpoint_path}")
                run.print(f"Sample:\n{text}")
        return {**run.summary(), 'valid_loss': valid_loss, 'unigram_loss': unigram, 'sample': text}


class Vocabulary:
    """The corpus's characters, as a tracked object: saved in the checkpoint and compared on resume"""

    def __init__(self, chars: str):
        self.chars = chars
        self.saved: Optional[str] = None

    def state_dict(self) -> Dict[str, str]:
        return {'chars': self.chars}

    def load_state_dict(self, state: Dict[str, str]):
        self.saved = state['chars']


def main(argv=None) -> int:
    return run_main(train, Config, argv, description='Train a character-level transformer with AdamW.',
                    prog='python -m labml_nn.transformers.basic.autoregressive_experiment')


if __name__ == '__main__':
    raise SystemExit(main())
