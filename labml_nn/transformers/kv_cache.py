r"""
---
title: KV Cache and Incremental Decoding
summary: >
  A language model generates one token at a time; keeping every layer's keys
  and values from the earlier steps means each new token costs one position of
  work instead of the whole prefix. Checked token for token against recomputing
  the prefix.
---

# KV Cache and Incremental Decoding

An autoregressive model predicts token $t+1$ from tokens $1, \dots, t$, appends it
and repeats. Done naively, every step runs the model over the whole prefix again:
generating $n$ tokens costs $1 + 2 + \dots + n \approx n^2/2$ positions of work
(and the attention inside each is itself quadratic).

Most of that work is repeated. In a causal model the vectors at position $j$
depend only on tokens $1, \dots, j$, so they are the same at every later step.
Attention at a new position $t$ needs, from the earlier positions, only their
*keys* $k_j$ and *values* $v_j$ in every layer:

\begin{align}
o_t &= \sum_{j \le t} \operatorname{softmax}_j\Bigl(\frac{q_t \cdot k_j}{\sqrt{d_k}}\Bigr) v_j
\end{align}

A **KV cache** keeps those keys and values. Generation then has two phases:

* **prefill**: run the prompt through the model once, as in training, and store
  the keys and values of all its positions;
* **decode**: feed only the newest token; each attention layer computes its
  query, key and value, appends the key and value to the cache and attends from
  the one query to all cached keys.

The new query is the *last* position, so its causal mask must be aligned to the
bottom right of the score matrix; the [attention page](mha.html) explains why
PyTorch's `is_causal` alone would be wrong here. Positions must also continue
from the cache length: the [positional encodings](positional_encoding.html) and
[rotary embeddings](rope.html) take an `offset`.

### The price: memory

The cache holds $2 \times \text{layers} \times \text{heads}_{kv} \times d_k$ numbers
per token. For a model with 32 layers, 32 heads of size 128 and 16-bit numbers
that is half a megabyte per token, 2 GB for a 4,096-token context of one
sequence. [Grouped-query attention](gqa.html) shrinks it by sharing key/value
heads.

We preallocate each layer's cache for `max_len` positions and write into it, so
appending a token copies one position, not the whole cache.
The [sampling page](../sampling/index.html) has the generation loop, with and
without the cache, and our tests check that both produce the same tokens.

### The cost, measured

`bench/llm_generation.py` times an untrained [GPT](gpt/index.html) of the
experiment's size (3 layers, $d_\text{model} = 128$, 4 heads, 65 tokens; the
weights don't change the speed). For each prefix length $L$ it measures the
time of one new token: a forward pass over all $L + 1$ positions without the
cache, one position after a prefill of $L$ with it (the fastest of 15 tries).
We ran it on a 2-core CPU container shared with other jobs, with torch 2.13 and
one thread:

```bash
OMP_NUM_THREADS=1 python bench/llm_generation.py --threads 1 --lengths 16 32 64 128 192 256 320 384 448 496 --plot kv_cache_generation.png
```

![Time of one new token against the prefix length: without the cache it grows from 1.3 to 21 ms, with the cache it stays between 0.9 and 2.1 ms](kv_cache_generation.png)

Without the cache a token cost 1.3 ms at $L = 16$ and 21 ms at $L = 496$; with
the cache it stayed between 0.9 and 2.1 ms at every length. Generating 256
tokens after a 16-token prompt took 2.92 s without the cache and 0.98 s with it,
3.0 times faster. The machine was busy: an earlier run of the same command gave
the same shape, but single points without the cache differed by up to a factor
of 2.3, and its speed-up was 3.3.
"""

from typing import List, Optional, Tuple

import torch


class LayerKVCache:
    """
    ## The cache of one attention layer
    """

    def __init__(self, max_len: int):
        """
        * `max_len` is the largest number of positions the cache can hold
        """
        if max_len <= 0:
            raise ValueError(f"max_len must be positive, got {max_len}")
        self.max_len = max_len
        # Buffers `[batch, heads_kv, max_len, d_k]`, allocated at the first `append`
        self.k: Optional[torch.Tensor] = None
        self.v: Optional[torch.Tensor] = None
        # Number of positions stored
        self.length = 0

    def append(self, k: torch.Tensor, v: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        * `k` and `v` are the new keys and values, `[batch, heads_kv, seq_new, d_k]`

        Returns all keys and values so far, `[batch, heads_kv, length, d_k]`.
        """
        batch, heads, seq_new, d_k = k.shape
        if self.length + seq_new > self.max_len:
            raise ValueError(f"the KV cache holds at most max_len={self.max_len} positions; "
                             f"{self.length} stored and {seq_new} more given")
        if self.k is None:
            self.k = k.new_zeros(batch, heads, self.max_len, d_k)
            self.v = v.new_zeros(batch, heads, self.max_len, d_k)
        # Write the new positions after the stored ones
        end = self.length + seq_new
        self.k[:, :, self.length:end] = k
        self.v[:, :, self.length:end] = v
        self.length = end
        # Views of the filled part, no copy
        return self.k[:, :, :end], self.v[:, :, :end]

    def truncate(self, length: int):
        """
        Forget every position from `length` on; the next `append` overwrites them.
        [Speculative decoding](../sampling/speculative.html) uses this to drop
        rejected tokens.
        """
        if not 0 <= length <= self.length:
            raise ValueError(f"can't truncate a cache of {self.length} positions to {length}")
        self.length = length


class KVCache:
    """
    ## The cache of a model

    One `LayerKVCache` per attention layer; `cache[i]` is layer $i$'s.
    """

    def __init__(self, n_layers: int, max_len: int):
        """
        * `n_layers` is the number of attention layers
        * `max_len` is the largest number of positions (prompt and generated tokens)
        """
        self.layers: List[LayerKVCache] = [LayerKVCache(max_len) for _ in range(n_layers)]
        self.max_len = max_len

    def __getitem__(self, i: int) -> LayerKVCache:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def length(self) -> int:
        """The number of positions stored, which is also the position of the next token"""
        return self.layers[0].length

    def truncate(self, length: int):
        """Keep the first `length` positions in every layer"""
        for layer in self.layers:
            layer.truncate(length)
