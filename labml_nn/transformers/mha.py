r"""
---
title: Multi-Head Attention
summary: >
  Scaled dot-product attention split into several heads, computed with
  PyTorch's fused scaled_dot_product_attention kernel, with the math it evaluates.
---

# Multi-Head Attention

Attention lets every position of a sequence gather information from other
positions. It was introduced for machine translation in
[Neural Machine Translation by Jointly Learning to Align and Translate](https://arxiv.org/abs/1409.0473)
and made the only mixing operation of a model in
[Attention Is All You Need](https://arxiv.org/abs/1706.03762).

Each position asks a question (its *query* $q$), offers a description of itself
(its *key* $k$) and carries a message (its *value* $v$).
A query is compared with every key by a dot product;
the softmax of those scores says how much of each value to take:

\begin{align}
\operatorname{Attention}(Q, K, V) &= \operatorname{softmax}\Bigl(\frac{Q K^\top}{\sqrt{d_k}}\Bigr) V
\end{align}

Here $Q \in \mathbb{R}^{\text{seq}_q \times d_k}$ stacks the queries as rows,
$K \in \mathbb{R}^{\text{seq}_k \times d_k}$ the keys and
$V \in \mathbb{R}^{\text{seq}_k \times d_k}$ the values, and the softmax runs along
each row, that is, over the keys.

### Why divide by $\sqrt{d_k}$

If the components of $q$ and $k$ are independent with mean $0$ and variance $1$,
their dot product $q \cdot k = \sum_{i=1}^{d_k} q_i k_i$ has variance $d_k$.
Large scores push the softmax towards a one-hot vector whose gradient is almost
zero, so we scale the scores back to unit variance.

### Why several heads

One softmax produces one weighted average per position, which can only follow one
pattern at a time (say, "the previous character"). Multi-head attention runs $h$
attentions side by side, each on its own $d_k = d_\text{model} / h$ dimensional
projections, and concatenates their outputs:

\begin{align}
\operatorname{head}_i &= \operatorname{Attention}(X_q W^Q_i, X_k W^K_i, X_v W^V_i) \\
\operatorname{MultiHead}(X_q, X_k, X_v) &= \operatorname{Concat}(\operatorname{head}_1, \dots, \operatorname{head}_h) W^O
\end{align}

The cost is about the same as one attention of full width $d_\text{model}$.

### The fused kernel

We call
[`torch.nn.functional.scaled_dot_product_attention`](https://pytorch.org/docs/stable/generated/torch.nn.functional.scaled_dot_product_attention.html),
which evaluates exactly the formula above (with the same $1 / \sqrt{d_k}$ scale)
but picks a fused implementation for the hardware, such as
[FlashAttention](https://arxiv.org/abs/2205.14135) on recent GPUs, that never
stores the full $\text{seq}_q \times \text{seq}_k$ score matrix.
Our tests check it against a direct computation of the formula.

The [transformer layer](models.html) uses this module, and the
[causal mask](utils.html) keeps an autoregressive model from looking ahead.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


class PrepareForMultiHeadAttention(nn.Module):
    """
    ## Project and split into heads

    A linear layer that computes $X W_i$ for all heads at once
    and reshapes the result so that the heads form their own dimension.
    """

    def __init__(self, d_model: int, heads: int, d_k: int, bias: bool):
        """
        * `d_model` is the size of the input vectors
        * `heads` is the number of heads $h$
        * `d_k` is the size of each head's vectors
        * `bias` says whether the projection has a bias
        """
        super().__init__()
        # One matrix holds the projections of all heads side by side
        self.linear = nn.Linear(d_model, heads * d_k, bias=bias)
        self.heads = heads
        self.d_k = d_k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # `x` has shape `[batch, seq, d_model]`
        batch, seq, _ = x.shape
        # Project to `[batch, seq, heads * d_k]` and split the last dimension into heads
        x = self.linear(x).view(batch, seq, self.heads, self.d_k)
        # Move the heads before the sequence: `[batch, heads, seq, d_k]`,
        # the layout the attention kernel expects
        return x.transpose(1, 2)


class MultiHeadAttention(nn.Module):
    r"""
    ## Multi-Head Attention Module

    Computes $\operatorname{MultiHead}(X_q, X_k, X_v)$. For self-attention the same
    tensor is passed as `query`, `key` and `value`.
    """

    def __init__(self, heads: int, d_model: int, dropout_prob: float = 0.1, bias: bool = True):
        """
        * `heads` is the number of heads $h$
        * `d_model` is the size $d_\text{model}$ of the input and output vectors;
          it must be divisible by `heads`
        * `dropout_prob` is the dropout probability applied to the attention weights
        * `bias` says whether the query, key and value projections have biases
        """
        super().__init__()
        if d_model % heads != 0:
            raise ValueError(f"d_model={d_model} must be divisible by heads={heads}")
        # Size of each head's vectors, $d_k = d_\text{model} / h$
        self.d_k = d_model // heads
        self.heads = heads
        # Projections $W^Q$, $W^K$ and $W^V$ for all heads
        self.query = PrepareForMultiHeadAttention(d_model, heads, self.d_k, bias=bias)
        self.key = PrepareForMultiHeadAttention(d_model, heads, self.d_k, bias=bias)
        self.value = PrepareForMultiHeadAttention(d_model, heads, self.d_k, bias=bias)
        # The output projection $W^O$
        self.output = nn.Linear(d_model, d_model)
        self.dropout_prob = dropout_prob

    def forward(self, *,
                query: torch.Tensor,
                key: torch.Tensor,
                value: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                is_causal: bool = False) -> torch.Tensor:
        """
        * `query` has shape `[batch, seq_q, d_model]`
        * `key` and `value` have shape `[batch, seq_k, d_model]`
        * `mask` is an optional boolean tensor that broadcasts to
          `[batch, heads, seq_q, seq_k]`; `True` marks the pairs that may attend
          (a `[seq_q, seq_k]` matrix, or `[batch, 1, 1, seq_k]` for padding).
          Every query must be allowed at least one key, or its output is undefined.
        * `is_causal` applies the [causal mask](utils.html) without building it,
          which lets the kernel skip the masked half of the work;
          it can't be combined with `mask`

        Returns a tensor of shape `[batch, seq_q, d_model]`.
        """
        if mask is not None and is_causal:
            raise ValueError("pass either mask or is_causal=True, not both")
        batch, seq_q, _ = query.shape

        # $Q_i = X_q W^Q_i$, $K_i = X_k W^K_i$ and $V_i = X_v W^V_i$ for every head $i$,
        # each of shape `[batch, heads, seq, d_k]`
        q = self.query(query)
        k = self.key(key)
        v = self.value(value)

        # $\operatorname{softmax}\bigl(Q_i K_i^\top / \sqrt{d_k}\bigr) V_i$ for all heads at once,
        # of shape `[batch, heads, seq_q, d_k]`.
        # Masked pairs get a score of $-\infty$, so their weight after the softmax is $0$.
        # Dropout on the attention weights is only active while training.
        x = F.scaled_dot_product_attention(q, k, v,
                                           attn_mask=mask,
                                           dropout_p=self.dropout_prob if self.training else 0.0,
                                           is_causal=is_causal)

        # Concatenate the heads: `[batch, seq_q, heads * d_k]`
        x = x.transpose(1, 2).reshape(batch, seq_q, self.heads * self.d_k)

        # Mix the heads with $W^O$
        return self.output(x)
