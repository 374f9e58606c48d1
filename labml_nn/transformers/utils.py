r"""
---
title: Transformer Utilities
summary: >
  The causal mask that stops a position of an autoregressive transformer from
  looking at the positions after it.
---

# Transformer Utilities

An autoregressive model predicts token $t + 1$ from tokens $1 \dots t$.
When we train it on a whole sequence at once, every position computes its
prediction in parallel, so we must stop position $i$ from reading any position
$j > i$; otherwise it could simply copy the answer.

We do that with a *causal* (or *subsequent*) mask: a boolean matrix
$M \in \{0, 1\}^{\text{seq} \times \text{seq}}$ with

$$M_{ij} = 1 \iff j \le i,$$

a lower-triangular matrix of ones. [Multi-head attention](mha.html) sets the
score of every pair with $M_{ij} = 0$ to $-\infty$ before the softmax, so those
pairs get zero attention weight.
"""

from typing import Optional

import torch


def subsequent_mask(seq_len: int, device: Optional[torch.device] = None) -> torch.Tensor:
    """
    Build the causal mask of shape `[seq_len, seq_len]`.

    * `seq_len` is the length of the sequence
    * `device` is where to create the mask

    `True` marks the pairs (query $i$, key $j$) that may attend to each other,
    which is the convention of `torch.nn.functional.scaled_dot_product_attention`.
    """
    # A square of ones, of which we keep the diagonal and everything below it
    return torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).tril()
