r"""
---
title: DeepNorm
summary: >
  An annotated PyTorch implementation of DeepNorm, which scales the residual of a post-norm transformer
  and its initialization so that transformers with a thousand layers train stably.
---

# DeepNorm

This is a PyTorch implementation of DeepNorm from the paper
[DeepNet: Scaling Transformers to 1,000 Layers](https://arxiv.org/abs/2203.00555).
(The official code is in [github.com/microsoft/torchscale](https://github.com/microsoft/torchscale).)

A transformer layer can put its [layer normalization](layer_norm.html) after the residual
addition (*Post-LN*, $x_{l+1} = \operatorname{LN}(x_l + G(x_l))$, the original transformer) or
inside the branch (*Pre-LN*, $x_{l+1} = x_l + G(\operatorname{LN}(x_l))$).
Post-LN models tend to be better when they train, but deep ones often diverge early in training;
Pre-LN trains stably but its deep layers contribute less and less.

The paper traces Post-LN's instability to the size of the *model update*: at the start of training
the change of the output caused by one optimizer step grows with depth, and a too large update
pushes the layer normalizations into a regime where gradients vanish.
DeepNorm keeps Post-LN but bounds the update with two constants that depend on the depth:

\begin{align}
x_{l+1} &= \operatorname{LN}\big(\alpha x_l + G_l(x_l)\big)
\end{align}

* $\alpha > 1$ scales up the residual, so that each layer's branch $G_l$ is a smaller correction;
* $\beta < 1$ scales down the initialization of the branch's weights: Xavier-normal initialization
  with gain $\beta$ for the feed-forward network and for the value and output projections of the
  attention (the query and key projections keep gain 1, since they only shape the attention weights).

For a model with $N$ layers (encoder-only or decoder-only) the paper derives
$\alpha = (2N)^{\frac{1}{4}}$ and $\beta = (8N)^{-\frac{1}{4}}$; for an encoder-decoder model with
$N$ encoder and $M$ decoder layers the encoder uses
$\alpha = 0.81 (N^4 M)^{\frac{1}{16}}$, $\beta = 0.87 (N^4 M)^{-\frac{1}{16}}$
and the decoder $\alpha = (3M)^{\frac{1}{4}}$, $\beta = (12M)^{-\frac{1}{4}}$.
"""

import math
from typing import Tuple

import torch
from torch import nn
import torch.nn.functional as F

from labml_nn.normalization.layer_norm import LayerNorm


def deep_norm_constants(n_layers: int, kind: str = 'decoder', n_decoder_layers: int = 0) -> Tuple[float, float]:
    r"""
    ## The constants $\alpha$ and $\beta$

    * `n_layers` is $N$, the number of layers (of the encoder, for an encoder-decoder model)
    * `kind` is `'encoder'` or `'decoder'` for encoder-only or decoder-only models, or
      `'enc-dec-encoder'` / `'enc-dec-decoder'` for the two halves of an encoder-decoder model
    * `n_decoder_layers` is $M$, the number of decoder layers of an encoder-decoder model
    """
    if n_layers < 1:
        raise ValueError(f"Invalid `n_layers` = {n_layers!r}: it must be a positive integer")
    n, m = n_layers, n_decoder_layers
    if kind in ('encoder', 'decoder'):
        return (2 * n) ** 0.25, (8 * n) ** -0.25
    if kind in ('enc-dec-encoder', 'enc-dec-decoder') and m < 1:
        raise ValueError(f"Invalid `n_decoder_layers` = {m!r}: an encoder-decoder model needs M >= 1")
    if kind == 'enc-dec-encoder':
        return 0.81 * (n ** 4 * m) ** (1 / 16), 0.87 * (n ** 4 * m) ** (-1 / 16)
    if kind == 'enc-dec-decoder':
        return (3 * m) ** 0.25, (12 * m) ** -0.25
    raise ValueError(f"Invalid `kind` = {kind!r}: use 'encoder', 'decoder', 'enc-dec-encoder' or 'enc-dec-decoder'")


class DeepNorm(nn.Module):
    r"""
    ## DeepNorm: $\operatorname{LN}(\alpha x + G(x))$

    * `alpha` is $\alpha$
    * `d_model` is the number of features the layer normalization normalizes over
    * `eps` is the $\epsilon$ of the layer normalization
    """

    def __init__(self, alpha: float, d_model: int, *, eps: float = 1e-5):
        super().__init__()
        self.alpha = alpha
        self.layer_norm = LayerNorm(d_model, eps=eps)

    def forward(self, x: torch.Tensor, gx: torch.Tensor):
        """
        `x` is the layer's input $x_l$ and `gx` the output of its branch $G_l(x_l)$, both `[*, d_model]`
        """
        return self.layer_norm(self.alpha * x + gx)


class DeepNormTransformerLayer(nn.Module):
    r"""
    ## A transformer decoder layer with DeepNorm

    Causal self-attention and a feed-forward network, each followed by DeepNorm.

    * `d_model` is the width, `n_heads` the number of heads and `d_ff` the hidden size of the
      feed-forward network
    * `alpha` and `beta` are $\alpha$ and $\beta$, from `deep_norm_constants`
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, alpha: float, beta: float):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"Invalid `n_heads` = {n_heads!r}: `d_model` = {d_model} must be a multiple of it")
        self.n_heads = n_heads
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.output = nn.Linear(d_model, d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)
        self.attn_norm = DeepNorm(alpha, d_model)
        self.ff_norm = DeepNorm(alpha, d_model)
        # Xavier-normal initialization: gain 1 for the query and key projections,
        # gain $\beta$ for the value and output projections and the feed-forward network
        for layer, gain in [(self.query, 1.), (self.key, 1.), (self.value, beta), (self.output, beta),
                            (self.ff1, beta), (self.ff2, beta)]:
            nn.init.xavier_normal_(layer.weight, gain=gain)
            nn.init.zeros_(layer.bias)

    def attention(self, x: torch.Tensor):
        """Causal multi-head self-attention; `x` is `[batch_size, seq_len, d_model]`"""
        batch_size, seq_len, d_model = x.shape
        # `[batch_size, n_heads, seq_len, d_k]`
        q, k, v = [proj(x).view(batch_size, seq_len, self.n_heads, -1).transpose(1, 2)
                   for proj in (self.query, self.key, self.value)]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        # `[batch_size, seq_len, d_model]`
        return self.output(y.transpose(1, 2).reshape(batch_size, seq_len, d_model))

    def forward(self, x: torch.Tensor):
        """`x` is `[batch_size, seq_len, d_model]`"""
        # $x \leftarrow \operatorname{LN}(\alpha x + \operatorname{Attention}(x))$
        x = self.attn_norm(x, self.attention(x))
        # $x \leftarrow \operatorname{LN}(\alpha x + \operatorname{FFN}(x))$
        return self.ff_norm(x, self.ff2(F.gelu(self.ff1(x))))
