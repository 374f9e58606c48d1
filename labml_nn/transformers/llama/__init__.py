r"""
---
title: A LLaMA-Style Model
summary: >
  The decoder-only transformer of LLaMA assembled from this chapter's pages:
  RMSNorm before each sub-layer, SwiGLU feed-forward networks, rotary position
  embeddings and grouped-query attention, with a KV cache for generation.
---

# A LLaMA-Style Model

[LLaMA: Open and Efficient Foundation Language Models](https://arxiv.org/abs/2302.13971)
(Hugo Touvron et al., 2023; official code
[meta-llama/llama](https://github.com/meta-llama/llama)) trained a
[GPT](../gpt/index.html)-like decoder with a handful of changes that had each been
shown to help on its own. Most open language models since then share them, and
each has its own page in this chapter:

* **[RMSNorm](../../normalization/rms_norm.html)** in place of layer
  normalisation, before each sub-layer (pre-norm) and once at the end;
* **[SwiGLU](../glu_variants.html)** feed-forward networks, with the hidden size
  shrunk to $\frac{2}{3} \cdot 4 d_\text{model}$ to keep the parameter count;
* **[rotary position embeddings](../rope.html)** applied to queries and keys in
  every layer, instead of positions added to the input;
* **[grouped-query attention](../gqa.html)** (LLaMA 2 70B and later), with fewer
  key/value heads than query heads, which shrinks the [KV cache](../kv_cache.html);
* no biases in any linear layer, and an output layer separate from the embeddings.

A layer computes, with $x$ the residual stream:

\begin{align}
x &\leftarrow x + \operatorname{GQA}\bigl(\operatorname{RMSNorm}(x)\bigr) \\
x &\leftarrow x + \operatorname{FFN}_{\text{SwiGLU}}\bigl(\operatorname{RMSNorm}(x)\bigr)
\end{align}

![The LLaMA-style decoder: token embedding; N layers of RMSNorm, grouped-query attention with rotary embeddings on queries and keys, residual addition, RMSNorm, SwiGLU feed-forward network, residual addition; final RMSNorm and output layer](llama_block.svg)

The figure shows the whole model. The residual stream runs down the middle;
each sub-layer reads a normalised copy of it and adds its result back. On the
right, grouped-query attention with the experiment's 4 query heads and 2
key/value heads: each key/value head is shared by two query heads, and only
keys and values go into the KV cache.

The [experiment](experiment.html) trains it on Tiny Shakespeare, and
`bench/llm_llama_vs_basic.py` compares it with the basic transformer at the same
parameter count and the same training time.
"""

import torch
from torch import nn

from labml_nn.normalization.rms_norm import RMSNorm
from labml_nn.transformers.glu_variants import glu_feed_forward, glu_hidden_size
from labml_nn.transformers.gqa import GroupedQueryAttention
from labml_nn.transformers.rope import RotaryPositionalEmbeddings


class LlamaLayer(nn.Module):
    """
    ## One layer
    """

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, d_ff: int, max_len: int,
                 rope_base: float, norm_eps: float):
        super().__init__()
        self.attention_norm = RMSNorm(d_model, eps=norm_eps)
        rope = RotaryPositionalEmbeddings(d_model // n_heads, max_len, rope_base)
        self.attention = GroupedQueryAttention(d_model, n_heads, n_kv_heads, bias=False, rope=rope)
        self.ffn_norm = RMSNorm(d_model, eps=norm_eps)
        self.feed_forward = glu_feed_forward('swiglu', d_model, d_ff)

    def forward(self, x: torch.Tensor, cache=None) -> torch.Tensor:
        # `x` has shape `[batch, seq, d_model]`.
        #
        # $x \leftarrow x + \operatorname{GQA}(\operatorname{RMSNorm}(x))$
        x = x + self.attention(self.attention_norm(x), is_causal=True, cache=cache)
        # $x \leftarrow x + \operatorname{FFN}_{\text{SwiGLU}}(\operatorname{RMSNorm}(x))$
        return x + self.feed_forward(self.ffn_norm(x))


class Llama(nn.Module):
    """
    ## The model
    """

    def __init__(self, n_vocab: int, d_model: int, n_heads: int, n_kv_heads: int, n_layers: int,
                 max_len: int, d_ff: int = 0, rope_base: float = 10_000.0, norm_eps: float = 1e-5):
        r"""
        * `n_vocab` is the number of tokens in the vocabulary
        * `d_model` is the width of the vectors
        * `n_heads` and `n_kv_heads` are the numbers of query and key/value heads
        * `n_layers` is the number of layers
        * `max_len` is the longest context the model accepts
        * `d_ff` is the SwiGLU hidden size; `0` means `glu_hidden_size(d_model)`
        * `rope_base` is the base of the rotary frequencies
        * `norm_eps` is the $\epsilon$ of the RMSNorms (LLaMA uses $10^{-5}$ or $10^{-6}$)
        """
        super().__init__()
        d_ff = d_ff or glu_hidden_size(d_model)
        self.max_len = max_len
        self.token_embedding = nn.Embedding(n_vocab, d_model)
        self.layers = nn.ModuleList([LlamaLayer(d_model, n_heads, n_kv_heads, d_ff, max_len, rope_base, norm_eps)
                                     for _ in range(n_layers)])
        self.norm = RMSNorm(d_model, eps=norm_eps)
        self.output = nn.Linear(d_model, n_vocab, bias=False)
        # Small initial weights, as for GPT: $\mathcal{N}(0, 0.02^2)$
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)

    def forward(self, x: torch.Tensor, cache=None) -> torch.Tensor:
        """
        * `x` holds token ids `[batch, seq]`: the whole text, or with a `cache` only the new tokens
        * `cache` is an optional [`KVCache`](../kv_cache.html); the rotary embeddings
          read the positions from it

        Returns logits `[batch, seq, n_vocab]`.
        """
        offset = 0 if cache is None else cache.length
        if offset + x.shape[1] > self.max_len:
            raise ValueError(f"positions up to {offset + x.shape[1]} exceed max_len={self.max_len}")
        # No position vectors: positions enter through the rotations. `[batch, seq, d_model]`
        h = self.token_embedding(x)
        for i, layer in enumerate(self.layers):
            h = layer(h, cache=None if cache is None else cache[i])
        # Final RMSNorm and the output layer, `[batch, seq, n_vocab]`
        return self.output(self.norm(h))
