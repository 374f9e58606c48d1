r"""
---
title: Training a Transformer with Sophia-G
summary: >
  The character-level transformer experiment with the Sophia-G optimizer:
  how the Gauss-Newton-Bartlett Hessian estimate is computed every k steps,
  why it samples its labels from the model, and how Sophia-G compares with AdamW.
---

# Training a Transformer with Sophia-G

This is the [AdamW experiment](autoregressive_experiment.html) (the same model,
data, learning-rate schedule and training loop) with the optimizer replaced by
[Sophia-G](../../optimizers/sophia.html), from
[Sophia: A Scalable Stochastic Second-order Optimizer for Language Model Pre-training](https://arxiv.org/abs/2305.14342).
Run it with

```bash
python -m labml_nn.transformers.basic.with_sophia
```

(add `--device cuda` on a GPU, `--help` for every flag; the run folder, `--resume`,
Ctrl-C and `torchrun` work as in the AdamW experiment).

Sophia-G divides the gradient's moving average $m$ by a moving average $h$ of
an estimate of the Hessian's diagonal and clips the ratio. Only one thing is new in
the training loop: every `hess_interval` steps, before the normal step, we compute
a fresh estimate $\hat{h}$ and fold it into $h$. That is `estimate_hessian` below.

## Why the estimate samples its labels from the model

For the loss $\ell(f, y)$ of logits $f = f(\theta, x)$, the
Gauss-Newton part of the Hessian is $J^\top S J$, where $J = \partial f / \partial \theta$
and $S = \nabla^2_f \ell$ is the Hessian of the loss with respect to the logits.
For the softmax cross-entropy, with $p = \operatorname{softmax}(f)$,

\begin{align}
\nabla_f \ell(f, y) &= p - e_y & S &= \operatorname{diag}(p) - p p^\top
\end{align}

where $e_y$ is the one-hot vector of label $y$. $S$ does not depend on the label at all.
Now draw the label from the model itself, $\hat{y} \sim p$. Then
$\mathbb{E}_{\hat{y}}[e_{\hat{y}}] = p$, and a line of algebra gives

\begin{align}
\mathbb{E}_{\hat{y}}\bigl[(p - e_{\hat{y}})(p - e_{\hat{y}})^\top\bigr] &= \operatorname{diag}(p) - p p^\top = S
\end{align}

so the outer product of the gradient on a *sampled* label is an unbiased
estimate of $S$, and $\nabla_\theta \ell(f, \hat{y}) \odot \nabla_\theta \ell(f, \hat{y})$,
whose expectation is the diagonal of $J^\top S J$, estimates the diagonal of the Gauss-Newton matrix.

With the *true* label $y$ this identity fails. The true label follows the data,
not the model, so $\mathbb{E}[(p - e_y)(p - e_y)^\top]$ equals $S$ only for a model
whose predictions already match the data everywhere. Before that, the squared
true-label gradient measures how wrong the model is, which is what Adam's second
moment tracks: it is large where the loss is still high and shrinks towards zero
on examples the model fits, whatever the curvature there. Sophia would then divide
by a vanishing "curvature" and clip almost everything. Sampled labels keep the
gradients at full size (their mean is zero, their spread is the curvature), so
the estimate measures curvature rather than error.

## The batch-size factor

We average the loss over the $B$ tokens of the batch, so each token's gradient
enters the mean divided by $B$ and its square divided by $B^2$. The sampled-label
gradients of different tokens are independent with mean zero, so the cross terms
vanish in expectation and the square of the mean is $1 / B$ of the mean of the
squares. `update_hessian(B)` multiplies by $B$ to undo that. With several processes
the gradients are averaged over all of them, so $B$ is the number of tokens of the
global batch.

## What it costs

One estimate is one more forward and backward pass, about as much as a training
step, every `hess_interval` steps; the optimizer's own step costs about as much as
AdamW's. The benchmark `bench/train_step.py` in the repository measures both: for
this page's default model, one estimate cost about one AdamW step on two CPU
cores and about half of one on an H100 GPU, and with an estimate every 10 steps
Sophia-G took 8% to 15% more time per step than AdamW.

## Results

We compared the two optimizers with
[`compare_optimizers`](compare_optimizers.html) and its default settings,
on two cores of a 16-core Intel Xeon whose other cores ran other jobs:

```bash
OMP_NUM_THREADS=2 taskset -c 0,1 python -m labml_nn.transformers.basic.compare_optimizers --device cpu
```

The budget is small on purpose: a 2-layer model with $d_{model} = 96$
(236,417 parameters), 64 characters of context, 32 windows per step and
600 steps, so each run sees about 1.2 million characters, roughly one pass over
the training text. AdamW tried the learning rates
$\{0.004, 0.008, 0.016\}$; Sophia-G tried $\{0.0005, 0.001, 0.002\}$, each with
$\rho = 0.04$ (the optimizer's default) and $\rho = 1$, and a Hessian estimate every 10
steps. Each of the nine runs took about half a minute of training, about five
minutes in all. The thick lines are the best setting of each optimizer; the
numbers of every validation point are in `sophia_vs_adamw.csv` next to this file.

![Validation loss of AdamW and Sophia-G against steps and against training time](sophia_vs_adamw.png)

What it shows:

* AdamW's best run ($\eta = 0.008$) ends at a validation loss of 1.863,
  Sophia-G's best ($\eta = 0.001$, $\rho = 0.04$) at 2.063. Both are far below the
  unigram baseline of 3.347.
* No Sophia-G run reaches AdamW's final loss within the 600 steps. AdamW's best
  run reaches Sophia-G's final loss at step 325, after 15.4 s of training,
  about half the steps and half the time.
* The training time per run was about the same, 28.0 s for AdamW's best run
  and 27.8 s for Sophia-G's, so the picture against time is the one against steps.

On this problem Sophia-G is clearly the worse optimizer, and wider searches on
a GPU did not change that. With the same model and budget, $\rho \in \{0.04, 1, 4, 16\}$
against $\eta$ from 0.001 to 0.008 gave at best 2.06 (AdamW: 1.857), and a Hessian
estimate at every step gave at best 2.07. With the experiments' default model
(3 layers, $d_{model} = 128$, 1,200 steps) AdamW reached 1.60, and Sophia-G
between 1.86 and 1.93 over the settings we tried.

Why, as far as we can tell:

* **Almost every coordinate is clipped.** With $\rho = 0.04$ and $\eta = 0.001$ we measured
  98% to 99.9% of the comparison model's coordinates at the clipping bound during
  its first 300 steps, so Sophia-G takes steps of $\pm \eta$: sign descent on the momentum,
  which ignores the curvature. A larger $\rho$ clips fewer
  coordinates ($\rho = 10$: 39% after 150 steps), but with $\rho = 4$ or $16$
  the loss was worse, not better.
* **The Hessian average starts at zero.** $h$ has no bias correction; after 60
  estimates at $\beta_2 = 0.99$ it holds only $1 - 0.99^{60} \approx 45\%$ of its
  eventual size, so early on it is too small and clips even more.
* **A different regime.** The paper reports its gains for GPT-2 models of 125M
  to 770M parameters (and larger GPT-NeoX models) trained for 100,000 steps and more. A quarter-million
  parameters and 600 steps neither confirm nor refute that; they show that for a
  small, short run a tuned AdamW is the better choice.
"""

from dataclasses import dataclass
from typing import Any, Dict

import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.experiments.config import check_positive, flag
from labml_nn.experiments.trainer import run_main
from labml_nn.optimizers.sophia import Sophia
from labml_nn.transformers.basic.autoregressive_experiment import Config, parameter_groups, train as \
    train_transformer


@dataclass
class SophiaConfig(Config):
    """
    ## Configuration

    The [AdamW experiment's configuration](autoregressive_experiment.html) with
    Sophia-G's hyper-parameters. Its run folder defaults to `runs/transformer_sophia`.
    Like AdamW's, Sophia-G's hyper-parameters other than the learning rate can't change on
    `--resume`; the interval of the Hessian estimates can.
    """
    lr: float = flag(2e-3, help='peak learning rate, the largest change of a weight per step', on_resume='apply')
    beta1: float = flag(0.965, help='rate of the gradient moving average')
    beta2: float = flag(0.99, help='rate of the Hessian moving average')
    rho: float = flag(0.04, help='scale of the curvature in the denominator')
    eps: float = flag(1e-15, help='floor of the denominator')
    weight_decay: float = flag(0.1, help='decoupled weight decay of the weight matrices')
    hess_interval: int = flag(10, help='steps between Hessian estimates', on_resume='apply')

    def validate(self):
        super().validate()
        check_positive(self, 'hess_interval', 'rho', 'eps')


def make_sophia(cfg: SophiaConfig, model: nn.Module) -> Sophia:
    """
    ## The optimizer

    Weight decay goes to the same [parameter groups](autoregressive_experiment.html)
    as in the AdamW experiment.
    """
    return Sophia(parameter_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                  eps=cfg.eps, rho=cfg.rho)


def estimate_hessian(model: nn.Module, optimizer: Sophia, x: torch.Tensor, batch_tokens: int):
    """
    ## The Gauss-Newton-Bartlett estimate

    * `model` is the model (wrapped in `DistributedDataParallel` when there are several processes)
    * `optimizer` is the Sophia-G optimizer
    * `x` holds this process's input tokens `[batch, seq_len]`
    * `batch_tokens` is the number of tokens in the batch over all processes, $B$

    It changes the optimizer's Hessian average $h$ and nothing else: the weights,
    the momentum $m$ and the gradients are as before.
    """
    # 1. Forward pass, `[batch, seq_len, n_vocab]` logits
    logits = model(x)
    # 2. Sample a label for every position from the model's own distribution
    #    $\hat{y} \sim \operatorname{softmax}(f)$. The sampling is outside the graph:
    #    the labels are data, like true labels would be.
    with torch.no_grad():
        probs = torch.softmax(logits.float(), dim=-1)
        y_hat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), num_samples=1).view(-1)
    # 3. The mean cross-entropy on the sampled labels,
    #    $\hat{L} = \frac{1}{B} \sum_b \ell(f_b, \hat{y}_b)$
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_hat)
    # 4. Backward, which leaves $\nabla_\theta \hat{L}$ in `p.grad`
    #    (averaged over the processes under `DistributedDataParallel`)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # 5. $h \leftarrow \beta_2 h + (1 - \beta_2) \, B \, \nabla_\theta \hat{L} \odot \nabla_\theta \hat{L}$
    optimizer.update_hessian(batch_tokens)
    # 6. Drop these gradients, so that the training step starts from clean ones
    optimizer.zero_grad(set_to_none=True)


def train(cfg: SophiaConfig) -> Dict[str, Any]:
    """
    ## Train

    The AdamW experiment's training loop with Sophia-G, and a Hessian estimate at
    the start of every `hess_interval`-th step. The first one comes at step $0$, so
    that $h$ holds a real estimate before the first update.
    """
    cfg.validate()

    def before_step(step: int, model: nn.Module, optimizer: Sophia, x: torch.Tensor, batch_tokens: int):
        if step % cfg.hess_interval == 0:
            estimate_hessian(model, optimizer, x, batch_tokens)

    return train_transformer(cfg, make_optimizer=make_sophia, before_step=before_step, name='transformer_sophia')


def main(argv=None) -> int:
    return run_main(train, SophiaConfig, argv, description='Train a character-level transformer with Sophia-G.',
                    prog='python -m labml_nn.transformers.basic.with_sophia')


if __name__ == '__main__':
    raise SystemExit(main())
