r"""
---
title: "Sampling: Greedy, Temperature, Top-k, Nucleus and Min-p"
summary: >
  How a language model's next-token logits become a token: greedy decoding,
  temperature, top-k, nucleus (top-p) and min-p sampling, each a small change to
  the distribution before drawing.
---

# Sampling: Greedy, Temperature, Top-k, Nucleus and Min-p

A language model gives, for the next token, one logit $z_i$ per vocabulary entry
$i$; the softmax turns them into probabilities $p_i = e^{z_i} / \sum_j e^{z_j}$.
How we pick a token from $p$ shapes the text as much as the model does.

* **Greedy** takes $\arg\max_i z_i$. It is deterministic and tends to loop and
  repeat itself, because the most likely continuation of a repetition is often
  more repetition.
* **Sampling** draws $i$ with probability $p_i$. It is faithful to the model,
  including its long tail of individually unlikely but collectively frequent
  bad tokens, one of which is drawn sooner or later.

The methods below move between these two ends. All of them change the logits and
then sample:

* **Temperature** $T$ divides the logits, $p_i \propto e^{z_i / T}$:
  $T < 1$ sharpens the distribution towards greedy, $T > 1$ flattens it.
* **Top-k** keeps the $k$ most likely tokens and renormalises, from
  [Hierarchical Neural Story Generation](https://arxiv.org/abs/1805.04833)
  (official code in [facebookresearch/fairseq](https://github.com/facebookresearch/fairseq),
  `examples/stories`).
* **Nucleus (top-p)** keeps the smallest set of most likely tokens whose total
  probability reaches $p$, from
  [The Curious Case of Neural Text Degeneration](https://arxiv.org/abs/1904.09751)
  (official code [ari-holtzman/degen](https://github.com/ari-holtzman/degen)).
  The set is small where the model is sure and large where it is not, which a
  fixed $k$ can't do.
* **Min-p** keeps the tokens whose probability is at least $p_\text{min}$ times
  that of the most likely token, from
  [Turning Up the Heat: Min-p Sampling for Creative and Coherent LLM Outputs](https://arxiv.org/abs/2407.01082)
  (official code [menhguin/minp_paper](https://github.com/menhguin/minp_paper)).
  The threshold scales with the model's confidence, so it stays strict at high
  temperatures.

A removed token gets the logit $-\infty$, so its probability after the softmax is
exactly $0$ and the others are renormalised by the softmax itself. As in most
libraries, temperature is applied first and the filters see the tempered
distribution.
"""

from typing import Optional

import torch


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """
    ## Greedy

    `logits` has shape `[batch, n_vocab]`; returns the token ids `[batch]`.
    """
    return logits.argmax(dim=-1)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """
    ## Temperature

    $z_i / T$.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive (use greedy for 0), got {temperature}")
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """
    ## Top-k

    Keeps the `k` largest logits of each row (and any tied with the $k$-th),
    `[batch, n_vocab]`.
    """
    if k <= 0:
        raise ValueError(f"top_k must be positive, got {k}")
    k = min(k, logits.shape[-1])
    # The $k$-th largest logit of each row, `[batch, 1]`
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float('-inf'))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    r"""
    ## Nucleus (top-p)

    Keeps the smallest set of most likely tokens with total probability $\ge p$.
    """
    if not 0 < p <= 1:
        raise ValueError(f"top_p must lie in (0, 1], got {p}")
    # Probabilities sorted from most to least likely, `[batch, n_vocab]`
    probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)
    # Probability of the tokens *before* each one in that order
    before = probs.cumsum(dim=-1) - probs
    # A token is kept while the ones before it have not yet reached $p$;
    # the most likely token ($0$ before it) is always kept
    keep_sorted = before < p
    # Put the decisions back into vocabulary order
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, float('-inf'))


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    r"""
    ## Min-p

    Keeps the tokens with $p_i \ge p_\text{min} \max_j p_j$.
    """
    if not 0 <= min_p <= 1:
        raise ValueError(f"min_p must lie in [0, 1], got {min_p}")
    probs = logits.softmax(dim=-1)
    # The threshold of each row, `[batch, 1]`
    threshold = min_p * probs.max(dim=-1, keepdim=True).values
    return logits.masked_fill(probs < threshold, float('-inf'))


def sample(logits: torch.Tensor, *,
           temperature: float = 1.0,
           top_k: Optional[int] = None,
           top_p: Optional[float] = None,
           min_p: Optional[float] = None,
           generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """
    ## Draw a token

    * `logits` has shape `[batch, n_vocab]`
    * `temperature` $T$; `0` means greedy
    * `top_k`, `top_p` and `min_p` switch on the filters above
    * `generator` is a `torch.Generator`, for reproducible draws

    Returns the token ids `[batch]`.
    """
    if temperature == 0:
        return greedy(logits)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    if min_p is not None:
        logits = min_p_filter(logits, min_p)
    # Draw one token per row from $\operatorname{softmax}$ of what is left
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
