r"""
---
title: Training a GPT on Tiny Shakespeare
summary: >
  A character-level GPT trained with AdamW on Tiny Shakespeare on the shared
  experiment harness: the configuration, the loop, validation, and a sample
  generated with the KV cache.
---

# Training a GPT on Tiny Shakespeare

Run it with

```bash
python -m labml_nn.transformers.gpt.experiment
```

The default configuration trains a 3-layer, 128-wide [GPT](index.html) on the
characters of Tiny Shakespeare for 600 steps of 32 windows of 128 characters
(2.5 million tokens), shows the loss,
tokens per second and the time left, evaluates the validation loss periodically
and ends with a sample continuing `--prompt`, generated with the
[KV cache](../kv_cache.html) and [top-k sampling](../../sampling/samplers.html).
The run folder (`--out`, default `runs/gpt`) receives `config.json`,
`metrics.csv`, `checkpoint.pt` and `sample.txt`; `--resume` continues a run and
Ctrl-C saves a checkpoint. `--help` lists every flag. The
[harness](../../experiments/index.html) does the plumbing; this page has the loop.

The [LLaMA-style experiment](../llama/experiment.html) reuses this loop with
another model.

## One run of the default configuration

We ran the defaults once, with seed 0, on a 2-core CPU container shared with
other jobs (torch 2.13, one thread):

```bash
OMP_NUM_THREADS=1 python -m labml_nn.transformers.gpt.experiment --data tiny_shakespeare.txt
```

`--data` pointed at a local copy of Tiny Shakespeare, the same file (same
SHA-256) that the default downloads. The model has 619,776 parameters. The
unigram baseline, which predicts the characters' frequencies, has loss 3.347.
The validation loss (cross-entropy in nats per character, on 128 fixed windows)
was 2.480 after 100 steps, then 2.333, 2.158, 2.032 and 1.936 every 100 steps,
and **1.907** at the end, after 600 steps. The last logged training loss (the
mean of steps 591 to 600) was 1.764.

The 600 steps took 371 s of training time; the whole command took 6 min 27 s
of wall time while the process got 41% of one core, so on a quiet machine it is
faster. The sample, continuing `It is ` at temperature 0.8 with top-20
sampling:

```text
It is thy formed heress?

TRUHERS ERDIO:
No, I the eartelo yety his thee.

ORCIOLANUS:
Ahell seade him; that of to his pereatc
```
"""

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.experiments.config import RunConfig, check_positive, flag
from labml_nn.experiments.data.char_corpus import TextDataset, find_corpus, read_text
from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.trainer import Run, run_main
from labml_nn.sampling.generate import generate
from labml_nn.sampling.samplers import sample
from labml_nn.transformers.gpt import GPT
from labml_nn.transformers.kv_cache import KVCache


@dataclass
class Config(RunConfig):
    """
    ## Configuration

    Every field is a command-line flag (`d_model` is `--d-model`).
    """
    steps: int = flag(600, help='total number of training steps', on_resume='apply')
    log_every: int = flag(10, help='steps per row of metrics.csv', on_resume='apply')
    eval_every: int = flag(100, help='steps between validations', on_resume='apply')
    checkpoint_every: int = flag(100, help='steps between checkpoints', on_resume='apply')
    data: str = flag('', help='plain-text corpus; empty means data/tiny_shakespeare.txt, downloaded if missing')
    # ### The model
    d_model: int = flag(128, help='width of the vectors')
    n_heads: int = flag(4, help='number of attention heads')
    n_layers: int = flag(3, help='number of layers')
    seq_len: int = flag(128, help='characters of context')
    dropout: float = flag(0.0, help='dropout probability')
    # ### The optimizer
    batch_size: int = flag(32, help='sequences per step')
    lr: float = flag(3e-3, help='peak learning rate', on_resume='apply')
    warmup_steps: int = flag(50, help='steps of linear learning-rate warm-up')
    weight_decay: float = flag(0.1, help='decoupled weight decay of the weight matrices')
    grad_clip: float = flag(1.0, help='clip the gradient norm to this; 0 turns it off')
    # ### Validation and the sample
    valid_fraction: float = flag(0.1, help='share of the text held out for validation')
    eval_windows: int = flag(128, help='validation windows of seq_len characters', on_resume='apply')
    prompt: str = flag('It is ', help='text the sample continues', on_resume='apply')
    sample_chars: int = flag(120, help='characters to sample at the end (at most seq_len minus the prompt)',
                             on_resume='apply')
    temperature: float = flag(0.8, help='sampling temperature', on_resume='apply')
    top_k: int = flag(20, help='sample from the top-k characters', on_resume='apply')

    def validate(self):
        super().validate()
        check_positive(self, 'd_model', 'n_heads', 'n_layers', 'seq_len', 'batch_size', 'lr', 'eval_windows',
                       'temperature', 'top_k')
        if self.d_model % self.n_heads != 0:
            raise ExperimentError(f"--d-model={self.d_model} must be divisible by --n-heads={self.n_heads}")
        if not 0 <= self.dropout < 1:
            raise ExperimentError(f"--dropout must lie in [0, 1), got {self.dropout}")
        if not 0 < self.valid_fraction < 1:
            raise ExperimentError(f"--valid-fraction must lie between 0 and 1, got {self.valid_fraction}")


def make_gpt(cfg: Config, n_vocab: int) -> nn.Module:
    """The model of this experiment"""
    return GPT(n_vocab, cfg.d_model, cfg.n_heads, cfg.n_layers, cfg.seq_len, cfg.dropout)


def learning_rate(cfg: Config, step: int) -> float:
    """Linear warm-up, then a cosine down to a tenth of the peak"""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def validation_loss(model: nn.Module, data: TextDataset, n_windows: int, device: torch.device) -> float:
    """The mean cross-entropy over fixed validation windows"""
    model.eval()
    x, y = data.valid_windows(n_windows)
    total = 0.0
    for i in range(0, len(x), 32):
        logits = model(x[i:i + 32].to(device))
        total += F.cross_entropy(logits.flatten(0, 1), y[i:i + 32].to(device).flatten(), reduction='sum').item()
    model.train()
    return total / y.numel()


def train(cfg: Config, make_model: Callable[[Config, int], nn.Module] = make_gpt, name: str = 'gpt') -> dict:
    """
    ## The training loop

    * `make_model` builds the model from the configuration and the vocabulary size
    * `name` names the run (its default folder is `runs/<name>`)
    """
    with Run(cfg, name=name) as run:
        data = TextDataset(read_text(find_corpus(cfg.data)), cfg.seq_len, cfg.valid_fraction)
        model = make_model(cfg, data.tokenizer.n_vocab).to(run.device)
        # Weight decay on matrices and embeddings only
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg.weight_decay},
                                       {'params': no_decay, 'weight_decay': 0.0}], lr=cfg.lr, betas=(0.9, 0.99))
        run.track(model=model, optimizer=optimizer)
        run.print(f"{sum(p.numel() for p in model.parameters()):,} parameters; "
                  f"unigram baseline loss {data.unigram_loss():.3f}")
        net = run.wrap(model)
        for step in run.steps():
            lr = learning_rate(cfg, step)
            for group in optimizer.param_groups:
                group['lr'] = lr
            # Inputs and next-character targets `[batch, seq_len]`
            x, y = data.train_batch(cfg.batch_size, run.generator)
            x, y = x.to(run.device), y.to(run.device)
            logits = net(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            run.log(step, loss=loss, lr=lr, tokens=x.numel())
            if run.due(step, cfg.eval_every):
                run.log_eval(step, valid_loss=validation_loss(model, data, cfg.eval_windows, run.device))
        # A sample from the trained model, generated with the KV cache
        if run.is_main and not run.interrupted:
            prompt = data.tokenizer.encode(cfg.prompt)[None].to(run.device)
            n_new = max(0, min(cfg.sample_chars, cfg.seq_len - prompt.shape[1]))
            g = torch.Generator(device=run.device).manual_seed(cfg.seed)
            model.eval()
            out = generate(model, prompt, n_new, cache=KVCache(cfg.n_layers, prompt.shape[1] + n_new),
                           sampler=lambda z: sample(z, temperature=cfg.temperature, top_k=cfg.top_k, generator=g))
            text = data.tokenizer.decode(out[0].tolist())
            run.path('sample.txt').write_text(text, encoding='utf-8')
            run.print('sample: ' + text.replace('\n', ' | '))
        return run.summary()


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
