r"""
---
title: Transformer Encoder and Decoder Models
summary: >
  Token embeddings with positional encodings, the pre-norm transformer layer,
  encoder and decoder stacks, and the generator head that turns vectors into
  next-token logits.
---

# Transformer Encoder and Decoder Models

This page puts the pieces together into the model of
[Attention Is All You Need](https://arxiv.org/abs/1706.03762)
(Ashish Vaswani et al., 2017; official code [tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor)):
token embeddings plus [positional encodings](positional_encoding.html),
a stack of layers that each combine [multi-head attention](mha.html) with a
[feed-forward network](feed_forward.html), and a linear *generator* that maps the
final vectors to logits over the vocabulary.

### Pre-norm residual blocks

Every sub-layer $F$ (attention or feed-forward) sits on a residual path.
The original paper normalises *after* adding the residual,
$x \leftarrow \operatorname{LayerNorm}(x + F(x))$.
We use the *pre-norm* arrangement studied in
[On Layer Normalization in the Transformer Architecture](https://arxiv.org/abs/2002.04745)
(no official code was released; in tensor2tensor the same arrangement is the
setting `layer_preprocess_sequence="n"`):

\begin{align}
x &\leftarrow x + \operatorname{Dropout}\bigl(F(\operatorname{LayerNorm}(x))\bigr)
\end{align}

The residual stream $x$ is never normalised, so the gradient flows through the
additions of all layers unchanged, and deep stacks train stably without a long
learning-rate warm-up. Since nothing normalises the stream at the end, the
encoder and decoder apply one last layer normalisation before their output.

The [autoregressive experiment](basic/autoregressive_experiment.html) builds a
character-level language model from the encoder stack with a
[causal mask](utils.html).
"""

import copy
import math
from typing import Optional

import torch
from torch import nn

from .feed_forward import FeedForward
from .mha import MultiHeadAttention
from .positional_encoding import SinusoidalPositionalEncoding, LearnedPositionalEncoding


class EmbeddingsWithPositionalEncoding(nn.Module):
    r"""
    ## Token embeddings with fixed positional encodings

    Looks up a vector $e_t$ for each token $t$ and adds the
    [sinusoidal encoding](positional_encoding.html) of its position:
    $x_p = \sqrt{d_\text{model}} \, e_{t_p} + PE_p$.

    The sinusoids have entries of size about $1$. We start the embeddings with
    standard deviation $1 / \sqrt{d_\text{model}}$ and multiply by $\sqrt{d_\text{model}}$,
    so that tokens and positions start on the same scale.
    """

    def __init__(self, d_model: int, n_vocab: int, max_len: int, dropout_prob: float = 0.0):
        """
        * `d_model` is the size of the vectors
        * `n_vocab` is the number of tokens in the vocabulary
        * `max_len` is the longest sequence the model accepts
        * `dropout_prob` is the dropout probability on the sum
        """
        super().__init__()
        self.embedding = nn.Embedding(n_vocab, d_model)
        nn.init.normal_(self.embedding.weight, std=d_model ** -0.5)
        self.positional_encoding = SinusoidalPositionalEncoding(d_model, max_len, dropout_prob)
        self.scale = math.sqrt(d_model)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        # `x` holds token ids of shape `[batch, seq]`; the result has shape `[batch, seq, d_model]`.
        # `offset` is the position of the first token
        return self.positional_encoding(self.embedding(x) * self.scale, offset)


class EmbeddingsWithLearnedPositionalEncoding(nn.Module):
    r"""
    ## Token embeddings with learned positional encodings

    The same as above with a [learned encoding](positional_encoding.html)
    in place of the sinusoids.
    """

    def __init__(self, d_model: int, n_vocab: int, max_len: int, dropout_prob: float = 0.0):
        """
        * `d_model` is the size of the vectors
        * `n_vocab` is the number of tokens in the vocabulary
        * `max_len` is the longest sequence the model accepts
        * `dropout_prob` is the dropout probability on the sum
        """
        super().__init__()
        self.embedding = nn.Embedding(n_vocab, d_model)
        nn.init.normal_(self.embedding.weight, std=d_model ** -0.5)
        self.positional_encoding = LearnedPositionalEncoding(d_model, max_len, dropout_prob)
        self.scale = math.sqrt(d_model)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        # `[batch, seq]` token ids to `[batch, seq, d_model]` vectors
        return self.positional_encoding(self.embedding(x) * self.scale, offset)


class TransformerLayer(nn.Module):
    """
    ## Transformer layer

    A self-attention block, optionally a cross-attention block that reads the
    encoder's output (in a decoder), and a feed-forward block, each in the pre-norm
    residual form above.
    """

    def __init__(self, *,
                 d_model: int,
                 self_attn: MultiHeadAttention,
                 feed_forward: FeedForward,
                 src_attn: Optional[MultiHeadAttention] = None,
                 dropout_prob: float = 0.0):
        """
        * `d_model` is the size of the vectors
        * `self_attn` is the self-attention module
        * `feed_forward` is the feed-forward module
        * `src_attn` is the cross-attention module, for decoder layers only
        * `dropout_prob` is the dropout probability on each sub-layer's output
        """
        super().__init__()
        self.self_attn = self_attn
        self.src_attn = src_attn
        self.feed_forward = feed_forward
        self.dropout = nn.Dropout(dropout_prob)
        # One layer normalisation in front of each sub-layer
        self.norm_self_attn = nn.LayerNorm(d_model)
        if src_attn is not None:
            self.norm_src_attn = nn.LayerNorm(d_model)
        self.norm_ff = nn.LayerNorm(d_model)

    def forward(self, *,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                is_causal: bool = False,
                src: Optional[torch.Tensor] = None,
                src_mask: Optional[torch.Tensor] = None,
                cache=None) -> torch.Tensor:
        """
        * `x` has shape `[batch, seq, d_model]`
        * `mask` and `is_causal` restrict self-attention, as in
          [`MultiHeadAttention`](mha.html)
        * `src` is the encoder's output `[batch, seq_src, d_model]`, for decoder layers
        * `src_mask` restricts which encoder positions are read
        * `cache` is this layer's [KV cache](kv_cache.html) for self-attention, when decoding
        """
        # Self-attention: queries, keys and values all come from the normalised stream
        z = self.norm_self_attn(x)
        x = x + self.dropout(self.self_attn(query=z, key=z, value=z, mask=mask, is_causal=is_causal,
                                              cache=cache))
        # Cross-attention: queries from this stream, keys and values from the encoder
        if src is not None:
            if self.src_attn is None:
                raise ValueError("this layer was built without src_attn, so it can't attend to src")
            z = self.norm_src_attn(x)
            x = x + self.dropout(self.src_attn(query=z, key=src, value=src, mask=src_mask))
        # Feed-forward network
        z = self.norm_ff(x)
        x = x + self.dropout(self.feed_forward(z))
        return x


class Encoder(nn.Module):
    """
    ## Encoder

    `n_layers` independent copies of a layer, followed by the final layer normalisation.
    """

    def __init__(self, layer: TransformerLayer, n_layers: int):
        """
        * `layer` is the layer to copy; each copy gets its own parameters
        * `n_layers` is the number of layers
        """
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(n_layers)])
        self.norm = nn.LayerNorm(layer.norm_ff.normalized_shape)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                is_causal: bool = False, cache=None) -> torch.Tensor:
        # `x` has shape `[batch, seq, d_model]`; `cache` is an optional
        # [`KVCache`](kv_cache.html) with one entry per layer
        for i, layer in enumerate(self.layers):
            x = layer(x=x, mask=mask, is_causal=is_causal, cache=None if cache is None else cache[i])
        return self.norm(x)


class Decoder(nn.Module):
    """
    ## Decoder

    Like the encoder, but every layer also attends to the encoder's output `memory`.
    The decoder's own self-attention is causal, since it generates its sequence
    one token at a time.
    """

    def __init__(self, layer: TransformerLayer, n_layers: int):
        """
        * `layer` is the layer to copy; it must have `src_attn`
        * `n_layers` is the number of layers
        """
        super().__init__()
        if layer.src_attn is None:
            raise ValueError("decoder layers need src_attn")
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(n_layers)])
        self.norm = nn.LayerNorm(layer.norm_ff.normalized_shape)

    def forward(self, x: torch.Tensor, memory: torch.Tensor,
                src_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        # `x` has shape `[batch, seq_tgt, d_model]`, `memory` has shape `[batch, seq_src, d_model]`
        for layer in self.layers:
            x = layer(x=x, is_causal=True, src=memory, src_mask=src_mask)
        return self.norm(x)


class Generator(nn.Module):
    """
    ## Generator

    A linear map from the final vectors to one logit per vocabulary token.
    We return logits, not probabilities: `torch.nn.functional.cross_entropy`
    applies the log-softmax itself, in a numerically stable way.
    """

    def __init__(self, n_vocab: int, d_model: int):
        """
        * `n_vocab` is the number of tokens in the vocabulary
        * `d_model` is the size of the vectors
        """
        super().__init__()
        self.projection = nn.Linear(d_model, n_vocab)
        # Small initial weights give almost uniform predictions,
        # so an untrained model's loss is close to $\log(\text{n\_vocab})$
        nn.init.normal_(self.projection.weight, std=0.02)
        nn.init.zeros_(self.projection.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # `[batch, seq, d_model]` to `[batch, seq, n_vocab]`
        return self.projection(x)


class EncoderDecoder(nn.Module):
    """
    ## Encoder-decoder model

    The full sequence-to-sequence model of the paper: the encoder reads the source,
    and the decoder predicts the target one token at a time while reading the
    encoder's output.
    """

    def __init__(self, encoder: Encoder, decoder: Decoder,
                 src_embed: nn.Module, tgt_embed: nn.Module, generator: Generator):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.src_embed = src_embed
        self.tgt_embed = tgt_embed
        self.generator = generator

    def forward(self, src: torch.Tensor, tgt: torch.Tensor,
                src_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """
        * `src` holds source token ids `[batch, seq_src]`
        * `tgt` holds target token ids `[batch, seq_tgt]`
        * `src_mask` marks the source positions that may be read,
          for example `[batch, 1, 1, seq_src]` to hide padding

        Returns next-token logits `[batch, seq_tgt, n_vocab]`.
        """
        memory = self.encoder(self.src_embed(src), mask=src_mask)
        return self.generator(self.decoder(self.tgt_embed(tgt), memory, src_mask))
