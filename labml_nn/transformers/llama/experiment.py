r"""
---
title: Training the LLaMA-Style Model on Tiny Shakespeare
summary: >
  The LLaMA-style model (RMSNorm, SwiGLU, RoPE, grouped-query attention) trained
  on Tiny Shakespeare with the GPT experiment's loop on the shared harness.
---

# Training the LLaMA-Style Model on Tiny Shakespeare

Run it with

```bash
python -m labml_nn.transformers.llama.experiment
```

It trains the [LLaMA-style model](index.html) with the loop, the optimizer, the
learning-rate schedule and the sample of the
[GPT experiment](../gpt/experiment.html); only the model and two flags differ:
`--n-kv-heads`, the number of key/value heads of
[grouped-query attention](../gqa.html), and `--d-ff`, the SwiGLU hidden size
(`0` keeps the parameter count of a plain $4 d_\text{model}$ network). The run
folder defaults to `runs/llama`.

`bench/llm_llama_vs_basic.py` trains this model and the
[basic transformer](../basic/autoregressive_experiment.html) at the same
parameter count for the same time and compares their validation losses.
We ran it once (seed 0, 300 s of step time each, the two models taking turns
step by step, one thread, on the shared machine described below):

```bash
OMP_NUM_THREADS=1 python bench/llm_llama_vs_basic.py --threads 1 --data tiny_shakespeare.txt
```

The basic transformer (611,777 parameters) did 901 steps and reached a
validation loss of 1.705 on 256 fixed windows; the LLaMA-style model (611,968
parameters, SwiGLU hidden size 388) did 631 slower steps and reached **1.658**.
This is one run on a busy machine: it says the LLaMA-style model was ahead at
equal training time here, not by how much it is ahead in general.

## One run of the default configuration

We ran the defaults once, with seed 0, on a 2-core CPU container shared with
other jobs (torch 2.13, one thread):

```bash
OMP_NUM_THREADS=1 python -m labml_nn.transformers.llama.experiment --data tiny_shakespeare.txt
```

`--data` pointed at a local copy of Tiny Shakespeare, the same file (same
SHA-256) that the default downloads. The model has 558,976 parameters: 3
layers, $d_\text{model} = 128$, 4 query heads and 2 key/value heads, a SwiGLU
hidden size of 342. A model that ignores the context and predicts the
characters' frequencies (the unigram baseline) has loss 3.347. The validation
loss (cross-entropy in nats per character, on 128 fixed windows) was 2.170 after
100 steps, then 1.965, 1.851, 1.764 and 1.693 every 100 steps, and **1.675** at
the end, after 600 steps.

The last logged training loss (the mean of steps 591 to 600) was 1.468. The
600 steps (2.46 million tokens) took 287 s of training time, 8,600 tokens per
second on average; the whole command took 4 min 57 s of wall time, with
validation and the sample, while the process got 57% of one core. On a quiet
machine it is faster. The sample, continuing `It is ` at temperature 0.8 with
top-20 sampling:

```text
It is thy for this wise?

HENRY BOLINGBROKE:
I to the recome of his true receive think
A bloods of him; that of to his person.
```

The names and the verse layout are learned; the words are mostly English,
the sense is not there yet. The run folder holds `metrics.csv` with the loss
every 10 steps.
"""

from dataclasses import dataclass

from torch import nn

from labml_nn.experiments.config import flag
from labml_nn.experiments.errors import ExperimentError
from labml_nn.experiments.trainer import run_main
from labml_nn.transformers.gpt import experiment as gpt_experiment
from labml_nn.transformers.llama import Llama


@dataclass
class Config(gpt_experiment.Config):
    """
    ## Configuration

    The GPT experiment's flags and two more.
    """
    n_kv_heads: int = flag(2, help='number of key/value heads (grouped-query attention)')
    d_ff: int = flag(0, help='SwiGLU hidden size; 0 means 2/3 of 4 d_model')

    def validate(self):
        super().validate()
        if self.n_kv_heads <= 0 or self.n_heads % self.n_kv_heads != 0:
            raise ExperimentError(f"--n-kv-heads={self.n_kv_heads} must be positive and divide "
                                  f"--n-heads={self.n_heads}")
        if self.d_ff < 0:
            raise ExperimentError(f"--d-ff must be 0 or positive, got {self.d_ff}")
        if (self.d_model // self.n_heads) % 2 != 0:
            raise ExperimentError(f"--d-model / --n-heads must be even for rotary embeddings, "
                                  f"got {self.d_model // self.n_heads}")


def make_llama(cfg: Config, n_vocab: int) -> nn.Module:
    """The model of this experiment"""
    return Llama(n_vocab, cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.n_layers, cfg.seq_len, cfg.d_ff)


def train(cfg: Config) -> dict:
    """The GPT experiment's loop with the LLaMA-style model"""
    return gpt_experiment.train(cfg, make_llama, name='llama')


def main(argv=None) -> int:
    return run_main(train, Config, argv, description=__doc__)


if __name__ == '__main__':
    raise SystemExit(main())
