r"""
---
title: Grouped-Query and Multi-Query Attention
year: 2023
summary: >
  Several query heads share one key and value head: multi-query attention (one
  shared head) and grouped-query attention (a few) shrink the KV cache and the
  memory traffic of decoding. Checked against multi-head attention and
  scaled_dot_product_attention with enable_gqa.
---

# Grouped-Query and Multi-Query Attention

When a language model generates text, every new token reads the keys and values
of all earlier tokens from the [KV cache](kv_cache.html). For $h$ heads of size
$d_k$ that cache holds $2 h d_k$ numbers per token and layer, and reading it,
not computing with it, limits the speed of decoding.

[Fast Transformer Decoding: One Write-Head is All You Need](https://arxiv.org/abs/1911.02150)
(Noam Shazeer, 2019) keeps the $h$ query heads but gives them **one** shared key
head and value head: *multi-query attention* (MQA), an $h$-fold smaller cache.
[GQA: Training Generalized Multi-Query Transformer Models from Multi-Head Checkpoints](https://arxiv.org/abs/2305.13245)
(Joshua Ainslie et al., 2023) takes the middle road: $g$ key/value heads, each
shared by a *group* of $h / g$ query heads. With $g = h$ it is
[multi-head attention](mha.html), with $g = 1$ it is multi-query attention:

\begin{align}
\operatorname{head}_i &= \operatorname{Attention}\bigl(X W^Q_i, \; X W^K_{\lfloor i / (h/g) \rfloor}, \; X W^V_{\lfloor i / (h/g) \rfloor}\bigr)
\end{align}

Query heads $0, \dots, h/g - 1$ read key/value head $0$, the next $h/g$ read head
$1$, and so on. The paper reports that GQA with 8 key/value heads comes close to
multi-head quality at nearly the speed of MQA; LLaMA 2 70B and later LLaMA models
use it.

The multi-query paper's experiments are configurations of
[tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor)
(`models/research/multiquery_paper.py`). No official code was released with the
GQA paper; the closest reference implementation is LLaMA 2's attention in
[meta-llama/llama](https://github.com/meta-llama/llama) (`llama/model.py`, with
`n_kv_heads` and `repeat_kv`).

We compute the projections for $g$ heads, repeat each key/value head $h/g$ times
along the head dimension and run ordinary attention. PyTorch's
`scaled_dot_product_attention(..., enable_gqa=True)` does the same without the
copy; our tests check both agree, and that $g = h$ gives multi-head attention.
The optional [rotary embeddings](rope.html) rotate queries and keys at their
positions before the keys enter the cache, as the
[LLaMA-style model](llama/index.html) needs.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .mha import attention, causal_mask


class GroupedQueryAttention(nn.Module):
    """
    ## Grouped-query attention module
    """

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, dropout_prob: float = 0.0,
                 bias: bool = False, rope: Optional[nn.Module] = None, fused: bool = True):
        """
        * `d_model` is the size $d_\text{model}$ of the input and output vectors
        * `n_heads` is the number of query heads $h$; it must divide `d_model`
        * `n_kv_heads` is the number of key/value heads $g$; it must divide `n_heads`
        * `dropout_prob` is the dropout probability on the attention weights
        * `bias` says whether the four projections have biases
        * `rope` is an optional [rotary embedding](rope.html) module applied to queries and keys
        * `fused` picks the fused kernel; `False` runs the einsum form of the [attention page](mha.html)
        """
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        if n_kv_heads <= 0 or n_heads % n_kv_heads != 0:
            raise ValueError(f"n_kv_heads={n_kv_heads} must be positive and divide n_heads={n_heads}")
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        # Query heads per key/value head, $h / g$
        self.group = n_heads // n_kv_heads
        self.d_k = d_model // n_heads
        # $W^Q$ for $h$ heads, $W^K$ and $W^V$ for only $g$ heads
        self.query = nn.Linear(d_model, n_heads * self.d_k, bias=bias)
        self.key = nn.Linear(d_model, n_kv_heads * self.d_k, bias=bias)
        self.value = nn.Linear(d_model, n_kv_heads * self.d_k, bias=bias)
        # $W^O$
        self.output = nn.Linear(n_heads * self.d_k, d_model, bias=bias)
        self.dropout_prob = dropout_prob
        self.rope = rope
        self.fused = fused

    def forward(self, x: torch.Tensor, *, is_causal: bool = True, cache=None) -> torch.Tensor:
        """
        * `x` has shape `[batch, seq, d_model]`
        * `is_causal` applies the bottom-right causal mask of the [attention page](mha.html)
        * `cache` is an optional per-layer [KV cache](kv_cache.html)

        Returns `[batch, seq, d_model]`.
        """
        batch, seq, _ = x.shape
        # Queries `[batch, n_heads, seq, d_k]`, keys and values `[batch, n_kv_heads, seq, d_k]`
        q = self.query(x).view(batch, seq, self.n_heads, self.d_k).transpose(1, 2)
        k = self.key(x).view(batch, seq, self.n_kv_heads, self.d_k).transpose(1, 2)
        v = self.value(x).view(batch, seq, self.n_kv_heads, self.d_k).transpose(1, 2)
        # Rotate queries and keys at their positions, which start after the cached tokens
        if self.rope is not None:
            offset = cache.length if cache is not None else 0
            q, k = self.rope(q, offset), self.rope(k, offset)
        # The cache stores only the $g$ key/value heads: this is where GQA saves memory
        if cache is not None:
            k, v = cache.append(k, v)
        dropout_p = self.dropout_prob if self.training else 0.0
        if self.fused:
            # The kernel's `is_causal` is top-left aligned, so we pass our mask when lengths differ
            mask = causal_mask(seq, k.shape[-2], x.device) if is_causal and seq != k.shape[-2] else None
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                               is_causal=is_causal and mask is None, enable_gqa=True)
        else:
            # Repeat every key/value head $h/g$ times, next to each other:
            # head $j$ becomes heads $j (h/g), \dots, (j + 1)(h/g) - 1$, `[batch, n_heads, seq_k, d_k]`
            k = k.repeat_interleave(self.group, dim=1)
            v = v.repeat_interleave(self.group, dim=1)
            o = attention(q, k, v, is_causal=is_causal, dropout_p=dropout_p)
        # Concatenate the heads and apply $W^O$: `[batch, seq, d_model]`
        return self.output(o.transpose(1, 2).reshape(batch, seq, self.n_heads * self.d_k))
