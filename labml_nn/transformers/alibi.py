r"""
---
title: Attention with Linear Biases (ALiBi)
summary: >
  ALiBi adds no position vectors at all: each head subtracts a penalty from its
  attention scores that grows linearly with the distance to the key, with one
  fixed slope per head. The slopes, including head counts that are not a power
  of two, checked against the paper's rule.
---

# Attention with Linear Biases (ALiBi)

[Train Short, Test Long: Attention with Linear Biases Enables Input Length Extrapolation](https://arxiv.org/abs/2108.12409)
(Ofir Press, Noah A. Smith and Mike Lewis, 2021; official code
[ofirpress/attention_with_linear_biases](https://github.com/ofirpress/attention_with_linear_biases))
removes positional encodings from the model. Instead, every causal attention head
$h$ penalises its scores in proportion to how far back the key is:

\begin{align}
S_{ij} &= \frac{q_i \cdot k_j}{\sqrt{d_k}} - m_h \, (i - j), \qquad j \le i
\end{align}

The slope $m_h$ is fixed, not learned. Heads with large slopes look only at the
last few tokens; heads with small slopes see far back. The paper finds that a
model trained with ALiBi on short sequences keeps its perplexity on sequences
several times longer, which sinusoidal and rotary encodings don't.

### The slopes

For $n$ heads, $n$ a power of two, the slopes form a geometric sequence that
starts at $2^{-8/n}$ and has that same ratio:

\begin{align}
m_h &= 2^{-8h/n}, \qquad h = 1, \dots, n
\end{align}

For 8 heads that is $\frac{1}{2}, \frac{1}{4}, \dots, \frac{1}{256}$.
When $n$ is not a power of two, the paper's code takes the slopes of the nearest
smaller power of two, $n' = 2^{\lfloor \log_2 n \rfloor}$, and fills the
remaining $n - n'$ heads with every other slope of $2 n'$ heads (the ones that
lie in between): for 12 heads, the 8 slopes of 8 heads and the odd-numbered
slopes $2^{-0.5}, 2^{-1.5}, \dots$ of 16 heads.

### Bias for cached decoding

Query $i$ of $\text{seq}_q$ queries reading $\text{seq}_k$ keys sits at position
$i + \text{seq}_k - \text{seq}_q$ (the bottom-right alignment of the
[attention page](mha.html)), so the distance is
$i + \text{seq}_k - \text{seq}_q - j$. We return the bias together with the causal
mask, as a float tensor with $-\infty$ at the masked pairs, ready to be passed
as `attn_mask` to `scaled_dot_product_attention`, which adds it to the scores.
"""

import math

import torch


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """
    ## Slopes $m_h$ of `n_heads` heads

    Returns a tensor of shape `[n_heads]`.
    """
    if n_heads <= 0:
        raise ValueError(f"n_heads must be positive, got {n_heads}")
    # The nearest power of two not above `n_heads`, $n'$
    n = 2 ** math.floor(math.log2(n_heads))
    # $m_h = 2^{-8h/n'}$ for $h = 1, \dots, n'$
    slopes = 2.0 ** (-8.0 * torch.arange(1, n + 1) / n)
    if n < n_heads:
        # The slopes of $2n'$ heads, $2^{-8h / 2n'}$, of which we take the odd $h$:
        # $h = 1, 3, 5, \dots$ lie between the ones we already have
        extra = 2.0 ** (-8.0 * torch.arange(1, 2 * n + 1, 2) / (2 * n))
        slopes = torch.cat([slopes, extra[:n_heads - n]])
    return slopes


def alibi_bias(n_heads: int, seq_q: int, seq_k: int) -> torch.Tensor:
    r"""
    ## Bias with the causal mask

    Returns $-m_h \, (i + \text{seq}_k - \text{seq}_q - j)$ where the key is not in
    the future, $-\infty$ where it is, of shape `[n_heads, seq_q, seq_k]`.
    """
    if seq_q > seq_k:
        raise ValueError(f"need seq_q <= seq_k for causal attention, got seq_q={seq_q}, seq_k={seq_k}")
    # Positions of the queries and the keys
    pos_q = torch.arange(seq_q) + (seq_k - seq_q)
    pos_k = torch.arange(seq_k)
    # Distance $i - j$, `[seq_q, seq_k]`
    distance = (pos_q[:, None] - pos_k[None, :]).float()
    # $-m_h (i - j)$, `[n_heads, seq_q, seq_k]`
    bias = -alibi_slopes(n_heads)[:, None, None] * distance
    # Keys in the future get $-\infty$
    return bias.masked_fill(distance < 0, float('-inf'))
