r"""
---
title: "GPT: A Decoder-Only Transformer"
year: 2019
summary: >
  A GPT-2-style decoder-only transformer: learned positions, pre-norm layers,
  an output layer tied to the token embeddings and GPT-2's initialisation, with
  a KV cache for generation and an experiment on Tiny Shakespeare.
---

# GPT

A GPT is the decoder half of the [transformer](../models.html) without the
cross-attention: a stack of causal self-attention layers that predicts every next
token of a text. The recipe comes from
[Improving Language Understanding by Generative Pre-Training](https://openai.com/research/language-unsupervised)
(GPT, official code [openai/finetune-transformer-lm](https://github.com/openai/finetune-transformer-lm)) and
[Language Models are Unsupervised Multitask Learners](https://openai.com/research/better-language-models)
(GPT-2, official code [openai/gpt-2](https://github.com/openai/gpt-2)).
Compared with the [basic transformer](../basic/autoregressive_experiment.html) of
this site it differs in three details:

* **Learned positions, unscaled.** A position embedding table is added to the
  token embeddings, both initialised with standard deviation $0.02$.
* **Tied embeddings.** The output layer that produces the logits reuses the token
  embedding matrix $E \in \mathbb{R}^{n_\text{vocab} \times d_\text{model}}$:
  $\text{logits} = h E^\top$. A token's input vector and the vector its logit is
  read from are the same, which saves $n_\text{vocab} \, d_\text{model}$ parameters and, as
  [Using the Output Embedding to Improve Language Models](https://arxiv.org/abs/1608.05859)
  found, tends to help.
* **GPT-2's initialisation.** All weight matrices start as
  $\mathcal{N}(0, 0.02^2)$ and biases at zero, except the two projections that
  write into the residual stream (attention's $W^O$ and the feed-forward
  network's second layer), which start with standard deviation
  $0.02 / \sqrt{2 L}$ for $L$ layers. Each layer adds two such terms to the
  stream; scaling them keeps the variance of the stream at the top of the stack
  about the same for any depth.

![The GPT decoder: token and position embeddings; N layers of LayerNorm, multi-head attention, residual addition, LayerNorm, GELU feed-forward network, residual addition; final LayerNorm and an output layer tied to the token embeddings](gpt_block.svg)

The layers are the site's [pre-norm transformer layers](../models.html):
[multi-head attention](../mha.html) and a [feed-forward network](../feed_forward.html)
with GELU and hidden size $4 d_\text{model}$, a layer normalisation before each and one
at the end. The model accepts a [KV cache](../kv_cache.html) so that
[generation](../../sampling/generate.html) costs one position per token.
The [experiment](experiment.html) trains it on Tiny Shakespeare.
"""

import math

import torch
from torch import nn

from labml_nn.transformers.feed_forward import FeedForward
from labml_nn.transformers.mha import MultiHeadAttention
from labml_nn.transformers.models import Encoder, TransformerLayer


class GPT(nn.Module):
    """
    ## The model
    """

    def __init__(self, n_vocab: int, d_model: int, n_heads: int, n_layers: int, max_len: int,
                 dropout_prob: float = 0.0):
        """
        * `n_vocab` is the number of tokens in the vocabulary
        * `d_model` is the width of the vectors
        * `n_heads` is the number of attention heads
        * `n_layers` is the number of layers $L$
        * `max_len` is the longest context the model accepts
        * `dropout_prob` is the dropout probability
        """
        super().__init__()
        self.max_len = max_len
        self.n_layers = n_layers
        # Token embeddings $E$ and position embeddings
        self.token_embedding = nn.Embedding(n_vocab, d_model)
        self.position_embedding = nn.Embedding(max_len, d_model)
        self.dropout = nn.Dropout(dropout_prob)
        # $L$ pre-norm layers with GELU feed-forward networks of width $4 d_\text{model}$,
        # and the final layer normalisation
        layer = TransformerLayer(d_model=d_model,
                                 self_attn=MultiHeadAttention(n_heads, d_model, dropout_prob),
                                 feed_forward=FeedForward(d_model, 4 * d_model, dropout_prob, activation=nn.GELU()),
                                 dropout_prob=dropout_prob)
        self.transformer = Encoder(layer, n_layers)
        self._init_weights()

    def _init_weights(self):
        r"""
        ### GPT-2's initialisation

        $\mathcal{N}(0, 0.02^2)$ for every weight matrix and embedding, zeros for
        biases, and $0.02 / \sqrt{2L}$ for the projections into the residual stream.
        Layer normalisations keep their gain of one and bias of zero.
        """
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for layer in self.transformer.layers:
            for projection in (layer.self_attn.output, layer.feed_forward.layer2):
                nn.init.normal_(projection.weight, mean=0.0, std=0.02 / math.sqrt(2 * self.n_layers))

    def forward(self, x: torch.Tensor, cache=None) -> torch.Tensor:
        """
        * `x` holds token ids `[batch, seq]`: the whole text, or with a `cache` only the new tokens
        * `cache` is an optional [`KVCache`](../kv_cache.html) with one entry per layer

        Returns logits `[batch, seq, n_vocab]`.
        """
        offset = 0 if cache is None else cache.length
        seq = x.shape[1]
        if offset + seq > self.max_len:
            raise ValueError(f"positions up to {offset + seq} exceed max_len={self.max_len}")
        # Positions $\texttt{offset}, \dots, \texttt{offset} + \texttt{seq} - 1$
        positions = torch.arange(offset, offset + seq, device=x.device)
        # `[batch, seq, d_model]`
        h = self.dropout(self.token_embedding(x) + self.position_embedding(positions))
        # The causal layers and the final layer normalisation
        h = self.transformer(h, is_causal=True, cache=cache)
        # Tied output layer: logits $h E^\top$, `[batch, seq, n_vocab]`
        return h @ self.token_embedding.weight.T
