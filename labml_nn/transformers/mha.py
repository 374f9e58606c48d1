r"""
---
title: Multi-Head Attention
year: 2017
summary: >
  Scaled dot-product attention split into several heads: the scores, the mask,
  the softmax and the dropout written out with einsum, PyTorch's fused
  scaled_dot_product_attention as the fast path, and how a causal mask lines up
  when there are fewer queries than keys.
---

# Multi-Head Attention

Attention lets every position of a sequence gather information from other
positions. It was introduced for machine translation in
[Neural Machine Translation by Jointly Learning to Align and Translate](https://arxiv.org/abs/1409.0473)
and made the only mixing operation of a model in
[Attention Is All You Need](https://arxiv.org/abs/1706.03762)
(Ashish Vaswani et al., 2017; official code [tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor)).

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

### Two ways to compute it

The function `attention` below writes the formula out step by step
with `torch.einsum`: the scores, the mask, the softmax, the dropout and the
weighted sum of the values. That is the version to read.
The module runs, by default, the fused kernel
[`torch.nn.functional.scaled_dot_product_attention`](https://pytorch.org/docs/stable/generated/torch.nn.functional.scaled_dot_product_attention.html),
which evaluates the same formula (with the same $1 / \sqrt{d_k}$ scale) but picks
an implementation for the hardware, such as
[FlashAttention](https://arxiv.org/abs/2205.14135) on recent GPUs, that never
stores the full $\text{seq}_q \times \text{seq}_k$ score matrix.
Our tests check that both give the same values and gradients.

### Causal masks when queries and keys differ in length

A language model must not look ahead: query $i$ may only read keys $j \le i$.
With as many queries as keys this is the lower triangle of the score matrix.
When there are *fewer* queries than keys, the triangle can be aligned in two ways.
PyTorch's `is_causal=True` aligns it to the *top left*: query $i$ reads keys
$j \le i$, as if the queries were the *first* $\text{seq}_q$ positions.
During generation with a [KV cache](kv_cache.html) the opposite is true: the
cache holds the keys of the earlier tokens and the queries are the *last*
$\text{seq}_q$ positions, so query $i$ sits at position
$i + \text{seq}_k - \text{seq}_q$ and may read every key up to that position.
This is the *bottom-right* alignment:

\begin{align}
\text{allowed}(i, j) &= \bigl[\, j \le i + \text{seq}_k - \text{seq}_q \,\bigr]
\end{align}

For example, one new token ($\text{seq}_q = 1$) with ten cached keys reads all
ten, while the top-left rule would let it read only the first.
Our `is_causal` always means bottom-right; when the lengths differ we build that
mask with `causal_mask` below and pass it to the kernel, and when they
are equal both alignments coincide and we let the kernel skip the masked half.

The [transformer layer](models.html) uses this module.
"""

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def causal_mask(seq_q: int, seq_k: int, device: Optional[torch.device] = None) -> torch.Tensor:
    r"""
    ## Bottom-right causal mask

    A boolean matrix of shape `[seq_q, seq_k]` in which `True` marks the pairs
    (query $i$, key $j$) with $j \le i + \text{seq}_k - \text{seq}_q$.
    With `seq_q == seq_k` it is the usual lower triangle of the
    [causal mask](utils.html).
    """
    if seq_q > seq_k:
        raise ValueError(f"a causal mask needs seq_q <= seq_k (got seq_q={seq_q}, seq_k={seq_k}): "
                         f"the first queries would have no key to read")
    # `tril(diagonal=d)` keeps the entries with $j - i \le d$
    return torch.ones(seq_q, seq_k, dtype=torch.bool, device=device).tril(diagonal=seq_k - seq_q)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *,
              mask: Optional[torch.Tensor] = None,
              is_causal: bool = False,
              dropout_p: float = 0.0) -> torch.Tensor:
    r"""
    ## Attention, written out

    * `q` has shape `[batch, heads, seq_q, d_k]`
    * `k` and `v` have shape `[batch, heads, seq_k, d_k]`
    * `mask` broadcasts to `[batch, heads, seq_q, seq_k]`; `True` marks the pairs that may attend
    * `is_causal` applies the bottom-right causal mask above
    * `dropout_p` is the probability of dropping an attention weight

    Returns `[batch, heads, seq_q, d_k]`.
    """
    d_k = q.shape[-1]
    # The scores $S_{ij} = q_i \cdot k_j / \sqrt{d_k}$, `[batch, heads, seq_q, seq_k]`
    scores = torch.einsum('bhid,bhjd->bhij', q, k) / math.sqrt(d_k)
    # The causal mask of the current lengths
    if is_causal:
        mask = causal_mask(q.shape[-2], k.shape[-2], q.device)
    # A masked pair gets the score $-\infty$, so its weight $e^{-\infty}$ is $0$
    if mask is not None:
        scores = scores.masked_fill(~mask, float('-inf'))
    # The weights $A_{ij} = \operatorname{softmax}_j S_{ij}$, normalised over the keys
    attn = scores.softmax(dim=-1)
    # Dropout zeroes some weights and scales the rest by $1 / (1 - p)$;
    # a query then takes a noisy average of the values while training
    if dropout_p > 0.0:
        attn = F.dropout(attn, p=dropout_p)
    # The outputs $o_i = \sum_j A_{ij} v_j$, `[batch, heads, seq_q, d_k]`
    return torch.einsum('bhij,bhjd->bhid', attn, v)


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

    def __init__(self, heads: int, d_model: int, dropout_prob: float = 0.1, bias: bool = True,
                 fused: bool = True):
        """
        * `heads` is the number of heads $h$
        * `d_model` is the size $d_\text{model}$ of the input and output vectors;
          it must be divisible by `heads`
        * `dropout_prob` is the dropout probability applied to the attention weights
        * `bias` says whether the query, key and value projections have biases
        * `fused` picks PyTorch's fused kernel; `False` runs the einsum form above
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
        self.fused = fused

    def forward(self, *,
                query: torch.Tensor,
                key: torch.Tensor,
                value: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                is_causal: bool = False,
                cache=None) -> torch.Tensor:
        """
        * `query` has shape `[batch, seq_q, d_model]`
        * `key` and `value` have shape `[batch, seq_k, d_model]`
        * `mask` is an optional boolean tensor that broadcasts to
          `[batch, heads, seq_q, seq_k]`; `True` marks the pairs that may attend
          (a `[seq_q, seq_k]` matrix, or `[batch, 1, 1, seq_k]` for padding).
          Every query must be allowed at least one key, or its output is undefined.
        * `is_causal` applies the bottom-right causal mask without the caller
          building it; it can't be combined with `mask`
        * `cache` is an optional per-layer [KV cache](kv_cache.html): the new keys
          and values are appended to it and the queries read all of them

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
        # With a cache, the keys and values of the earlier tokens come first:
        # `[batch, heads, seq_cached + seq_k, d_k]`
        if cache is not None:
            k, v = cache.append(k, v)

        # Dropout on the attention weights is only active while training
        dropout_p = self.dropout_prob if self.training else 0.0
        if not self.fused:
            # The einsum form, `[batch, heads, seq_q, d_k]`
            x = attention(q, k, v, mask=mask, is_causal=is_causal, dropout_p=dropout_p)
        else:
            # The kernel's `is_causal` is top-left aligned, so with fewer queries than
            # keys we hand it our bottom-right mask instead
            if is_causal and q.shape[-2] != k.shape[-2]:
                mask, is_causal = causal_mask(q.shape[-2], k.shape[-2], q.device), False
            # The same $\operatorname{softmax}\bigl(Q_i K_i^\top / \sqrt{d_k}\bigr) V_i$ for all heads at once
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal)

        # Concatenate the heads: `[batch, seq_q, heads * d_k]`
        x = x.transpose(1, 2).reshape(batch, seq_q, self.heads * self.d_k)

        # Mix the heads with $W^O$
        return self.output(x)
