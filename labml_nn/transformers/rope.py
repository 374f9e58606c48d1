r"""
---
title: Rotary Position Embeddings (RoPE)
summary: >
  Rotary position embeddings rotate each pair of query and key features by an
  angle proportional to the position, so that attention scores depend only on
  how far apart two tokens are. With a property test.
---

# Rotary Position Embeddings (RoPE)

The [transformer](models.html) adds a [positional encoding](positional_encoding.html)
to the token embeddings, and attention has to untangle position from content.
[RoFormer: Enhanced Transformer with Rotary Position Embedding](https://arxiv.org/abs/2104.09864)
(Jianlin Su et al., 2021; official code
[ZhuiyiTechnology/roformer](https://github.com/ZhuiyiTechnology/roformer))
instead *rotates* the queries and keys inside every attention layer.

Split a query or key $x \in \mathbb{R}^{d}$ into $d/2$ pairs
$(x_{2i}, x_{2i+1})$ and read each pair as a complex number
$z_i = x_{2i} + \mathrm{i} \, x_{2i+1}$. At position $m$, rotate pair $i$ by the
angle $m \theta_i$ with the frequencies of the sinusoidal encoding:

\begin{align}
\theta_i &= \text{base}^{-2i/d} \\
\operatorname{RoPE}(x, m)_i &= z_i \, e^{\mathrm{i} m \theta_i}
\end{align}

In real numbers each pair is multiplied by a $2 \times 2$ rotation matrix:

\begin{align}
\begin{pmatrix} x'_{2i} \\ x'_{2i+1} \end{pmatrix} &=
\begin{pmatrix} \cos m\theta_i & -\sin m\theta_i \\ \sin m\theta_i & \cos m\theta_i \end{pmatrix}
\begin{pmatrix} x_{2i} \\ x_{2i+1} \end{pmatrix}
\end{align}

### Why scores depend only on the offset

The dot product of two real vectors is the real part of
$\sum_i z_i \bar{w}_i$. For a query $q$ at position $m$ and a key $k$ at position $n$:

\begin{align}
\operatorname{RoPE}(q, m) \cdot \operatorname{RoPE}(k, n)
&= \operatorname{Re} \sum_i q_i e^{\mathrm{i} m \theta_i} \, \overline{k_i e^{\mathrm{i} n \theta_i}}
= \operatorname{Re} \sum_i q_i \bar{k}_i \, e^{\mathrm{i} (m - n) \theta_i}
\end{align}

The absolute positions cancel; only $m - n$ remains. Rotations keep lengths, so
the scores keep their scale, and the keys in a [KV cache](kv_cache.html) never
need to be rotated again: a key is rotated once, at its own position.
Our test checks the property directly: shifting both positions by the same amount
leaves every score unchanged.

Pairing $(x_{2i}, x_{2i+1})$ follows the paper and Meta's LLaMA code; other
code pairs $x_i$ with $x_{i + d/2}$, which is the same method on permuted features.
LLaMA uses $\text{base} = 10000$.
"""

import torch
from torch import nn


class RotaryPositionalEmbeddings(nn.Module):
    """
    ## RoPE module

    Rotates queries or keys of shape `[batch, heads, seq, d]`.
    """

    def __init__(self, d: int, max_len: int, base: float = 10_000.0):
        r"""
        * `d` is the number of features $d$ of each head; it must be even
        * `max_len` is the number of positions to precompute
        * `base` is the base of the frequencies $\theta_i$
        """
        super().__init__()
        if d % 2 != 0:
            raise ValueError(f"d must be even for rotary embeddings, got {d}")
        # $\theta_i = \text{base}^{-2i/d}$ for $i = 0, \dots, d/2 - 1$,
        # in double precision so that large angles $m \theta_i$ stay exact
        theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
        # The angles $m \theta_i$, `[max_len, d / 2]`
        angle = torch.arange(max_len, dtype=torch.float64)[:, None] * theta[None, :]
        self.register_buffer('cos', angle.cos(), persistent=False)
        self.register_buffer('sin', angle.sin(), persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """
        * `x` has shape `[batch, heads, seq, d]`
        * `offset` is the position of the first element of the sequence (the
          number of tokens already in a KV cache)
        """
        seq = x.shape[-2]
        if offset + seq > self.cos.shape[0]:
            raise ValueError(f"positions up to {offset + seq} exceed max_len={self.cos.shape[0]}")
        # $\cos m\theta_i$ and $\sin m\theta_i$ for the positions $m$ of `x`, `[seq, d / 2]`
        cos = self.cos[offset:offset + seq].to(x.dtype)
        sin = self.sin[offset:offset + seq].to(x.dtype)
        # The pairs $(x_{2i}, x_{2i+1})$, each `[batch, heads, seq, d / 2]`
        x_even, x_odd = x[..., 0::2], x[..., 1::2]
        # The rotated pairs
        rot_even = x_even * cos - x_odd * sin
        rot_odd = x_even * sin + x_odd * cos
        # Interleave them back into `[batch, heads, seq, d]`
        return torch.stack((rot_even, rot_odd), dim=-1).flatten(-2)
