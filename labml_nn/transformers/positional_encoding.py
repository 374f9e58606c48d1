r"""
---
title: Positional Encodings
summary: >
  Fixed sinusoidal and learned positional encodings, which tell an
  order-blind attention layer where each token sits in the sequence.
---

# Positional Encodings

[Attention](mha.html) treats its inputs as a set: permute the keys and values
together and the output does not change. To let the model use word order we add a
vector that depends only on the position $p$ to each token embedding.

### Fixed sinusoidal encoding

[Attention Is All You Need](https://arxiv.org/abs/1706.03762) (official code
[tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor), where the encoding is `get_timing_signal_1d`) uses sines and
cosines of geometrically spaced frequencies. For a model of width $d_\text{model}$ and
$i = 0 \dots d_\text{model} / 2 - 1$:

\begin{align}
PE_{p, 2i} &= \sin\Bigl(\frac{p}{10000^{2i / d_\text{model}}}\Bigr) \\
PE_{p, 2i + 1} &= \cos\Bigl(\frac{p}{10000^{2i / d_\text{model}}}\Bigr)
\end{align}

Each pair of dimensions is a point on a circle that turns at its own speed as $p$
grows, from one radian per position for $i = 0$ down to about
$1 / 10000$ radian per position for the last pair. Because moving $k$ positions
rotates each pair by a fixed angle, $PE_{p + k}$ is a linear function
(a rotation) of $PE_p$, which makes relative offsets easy to read.
The encoding has no parameters and is defined for any position.

### Learned encoding

The alternative, used for instance by GPT, is a trainable vector per position,
a matrix of shape `[max_len, d_model]`. It can fit whatever the data needs but
knows nothing about positions beyond `max_len`.
"""

import math

import torch
from torch import nn


def sinusoidal_positional_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """
    ## Build the sinusoidal table

    Returns $PE$ of shape `[max_len, d_model]`.
    """
    if d_model % 2 != 0:
        raise ValueError(f"d_model={d_model} must be even for sinusoidal positional encodings")
    # Positions $p$ as a column, `[max_len, 1]`
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    # The even dimensions $2i$
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    # The frequencies $10000^{-2i / d_\text{model}}$, computed through $\exp$ and $\log$
    frequency = torch.exp(two_i * -(math.log(10000.0) / d_model))
    # The angles $p \cdot 10000^{-2i / d_\text{model}}$, `[max_len, d_model / 2]`
    angle = position * frequency
    pe = torch.zeros(max_len, d_model)
    # $PE_{p, 2i} = \sin(\cdot)$
    pe[:, 0::2] = torch.sin(angle)
    # $PE_{p, 2i + 1} = \cos(\cdot)$
    pe[:, 1::2] = torch.cos(angle)
    return pe


class SinusoidalPositionalEncoding(nn.Module):
    """
    ## Add the fixed encoding

    Adds $PE_p$ to the vector at position $p$, then applies dropout.
    """

    def __init__(self, d_model: int, max_len: int, dropout_prob: float = 0.0):
        """
        * `d_model` is the size of the vectors
        * `max_len` is the longest sequence the module accepts
        * `dropout_prob` is the dropout probability after the addition
        """
        super().__init__()
        # A buffer moves with the module between devices and is saved with it,
        # but is not a parameter, so no optimizer touches it
        self.register_buffer('pe', sinusoidal_positional_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout_prob)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        # `x` has shape `[batch, seq, d_model]`; its first position is `offset`
        # (non-zero when decoding with a [KV cache](kv_cache.html))
        seq = x.shape[1]
        if offset + seq > self.pe.shape[0]:
            raise ValueError(f"positions up to {offset + seq} exceed max_len={self.pe.shape[0]}")
        # `pe[offset:offset + seq]` of shape `[seq, d_model]` broadcasts over the batch
        return self.dropout(x + self.pe[offset:offset + seq])


class LearnedPositionalEncoding(nn.Module):
    """
    ## Add a learned encoding
    """

    def __init__(self, d_model: int, max_len: int, dropout_prob: float = 0.0):
        """
        * `d_model` is the size of the vectors
        * `max_len` is the number of positions that get a vector
        * `dropout_prob` is the dropout probability after the addition
        """
        super().__init__()
        # One trainable vector per position, started small so that the token
        # embeddings dominate at first
        self.pe = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        self.dropout = nn.Dropout(dropout_prob)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        # `x` has shape `[batch, seq, d_model]`; its first position is `offset`
        seq = x.shape[1]
        if offset + seq > self.pe.shape[0]:
            raise ValueError(f"positions up to {offset + seq} exceed max_len={self.pe.shape[0]}")
        return self.dropout(x + self.pe[offset:offset + seq])
