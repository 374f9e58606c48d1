r"""
---
title: FlashAttention's Algorithm in Plain PyTorch
summary: >
  Attention computed tile by tile with an online softmax, so the full score
  matrix never exists: the forward pass, the backward pass that recomputes the
  scores from saved row statistics, and a check against
  scaled_dot_product_attention in values and gradients.
---

# FlashAttention's Algorithm in Plain PyTorch

[Attention](../mha.html) written out materialises the score matrix
$S = Q K^\top / \sqrt{d_k}$ of $\text{seq}_q \times \text{seq}_k$ numbers per head,
then its softmax $P$, and keeps $P$ for the backward pass. At 4,096 tokens that is
16 million numbers per head, and on a GPU moving them to and from memory, not the
arithmetic, sets the speed.
[FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness](https://arxiv.org/abs/2205.14135)
(Tri Dao et al., 2022; official code
[Dao-AILab/flash-attention](https://github.com/Dao-AILab/flash-attention))
computes the *same* result in tiles small enough to stay in fast on-chip memory,
so memory grows linearly with the sequence, not quadratically.
[FlashAttention-2](https://arxiv.org/abs/2307.08691) reorders the loops; we follow
its order (queries outside, keys inside).

This page runs the algorithm in plain PyTorch on any device. It does not make
attention faster here (a Python loop over tiles is slower than one fused kernel),
but it shows every step, and its memory use really is linear in the length:
`bench/llm_attention_memory.py` measures it.

### The online softmax

Split the keys into tiles $j = 1, 2, \dots$ For one row of queries, the softmax
over all keys needs the maximum $m$ and the sum $\ell$ of exponentials over all
tiles. We keep running values and correct them when a new tile raises the
maximum. After tile $j$, with scores $S^{(j)}$ and values $V^{(j)}$:

\begin{align}
m_j &= \max\bigl(m_{j-1}, \max_k S^{(j)}_k\bigr) \\
\tilde{P}^{(j)} &= \exp\bigl(S^{(j)} - m_j\bigr) \\
\ell_j &= e^{m_{j-1} - m_j} \ell_{j-1} + \sum_k \tilde{P}^{(j)}_k \\
O_j &= e^{m_{j-1} - m_j} O_{j-1} + \tilde{P}^{(j)} V^{(j)}
\end{align}

starting from $m_0 = -\infty$, $\ell_0 = 0$, $O_0 = 0$. The factor
$e^{m_{j-1} - m_j}$ rescales what was accumulated against the old maximum.
At the end $O = O_\text{last} / \ell_\text{last}$ is exactly $\operatorname{softmax}(S) V$.
We also keep the log-sum-exp $L = m + \log \ell$ of each row: one number per query.

### The backward pass

Instead of storing $P$, the backward pass recomputes each tile of scores and gets
$P = \exp(S - L)$ from the saved $L$. With $dO$ the gradient of the output and
$D = \operatorname{rowsum}(dO \odot O)$:

\begin{align}
dV &= P^\top dO \\
dP &= dO \, V^\top \\
dS &= P \odot (dP - D) \\
dQ &= dS \, K / \sqrt{d_k} \\
dK &= dS^\top Q / \sqrt{d_k}
\end{align}

$dS$ is the softmax's Jacobian applied to $dP$:
$\sum_k P_k dP_k = \sum_k P_k (dO \cdot v_k) = dO \cdot o = D$.
Each line only needs the tiles of $Q$, $K$, $V$ and $dO$ it touches.

The causal mask uses the bottom-right alignment of the [attention page](../mha.html);
tiles entirely above it are skipped. Our tests compare values and gradients
with `scaled_dot_product_attention`, with and without the mask, for lengths that
are not multiples of the tile size.

### Memory, measured

`bench/llm_attention_memory.py` counts the bytes of every tensor that attention
creates and keeps the peak, for causal attention with batch 1, 4 heads,
$d_k = 64$, float32 and tiles of 128 (the inputs are not counted):

```bash
python bench/llm_attention_memory.py --plot attention_memory.png
```

The peaks in MiB at 512, 1,024, 2,048 and 4,096 tokens:

* written out, forward: 10.2, 37.0, 140.0, 552.0;
* tiled, forward: 3.2, 5.2, 9.2, 17.2;
* written out, forward and backward: 14.8, 54.0, 206.0, 804.0;
* tiled, forward and backward: 5.0, 8.5, 16.1, 32.1.

![Peak tensor memory of attention against the sequence length, both axes logarithmic: written-out attention grows four-fold per doubling, the tiled one two-fold](attention_memory.png)

Each doubling of the length multiplies the written-out attention's peak by
about 4 (the score matrix) and the tiled one's by about 2 (the output, the
row statistics and one tile of scores at a time). These are byte counts, not
timings, so they don't depend on the machine; we measured them with torch 2.13
on a CPU.
"""

import math
from typing import Tuple

import torch


def _tile_scores(q: torch.Tensor, k: torch.Tensor, scale: float, causal: bool,
                 q_start: int, k_start: int, shift: int) -> torch.Tensor:
    r"""
    Scores $S = Q_i K_j^\top / \sqrt{d_k}$ of one tile, `[batch, heads, tile_q, tile_k]`,
    with $-\infty$ where query $a$ may not read key $b$ ($b > a + \text{shift}$,
    $\text{shift} = \text{seq}_k - \text{seq}_q$)
    """
    s = torch.einsum('bhid,bhjd->bhij', q, k) * scale
    if causal:
        rows = torch.arange(q_start, q_start + q.shape[-2], device=q.device)[:, None]
        cols = torch.arange(k_start, k_start + k.shape[-2], device=q.device)[None, :]
        s = s.masked_fill(cols > rows + shift, float('-inf'))
    return s


def _tile_needed(causal: bool, q_end: int, k_start: int, shift: int) -> bool:
    """Whether any query of the tile may read any key of the tile"""
    return not causal or k_start <= q_end - 1 + shift


class FlashAttention(torch.autograd.Function):
    """
    ## Tiled attention as an autograd function
    """

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool,
                tile_q: int, tile_k: int) -> torch.Tensor:
        """
        * `q` is `[batch, heads, seq_q, d_k]`; `k` and `v` are `[batch, heads, seq_k, d_k]`
        * `causal` applies the bottom-right causal mask
        * `tile_q` and `tile_k` are the tile sizes
        """
        batch, heads, seq_q, d_k = q.shape
        seq_k = k.shape[-2]
        scale = 1 / math.sqrt(d_k)
        shift = seq_k - seq_q
        o = torch.empty_like(q)
        # The log-sum-exp $L$ of every row, `[batch, heads, seq_q]`
        lse = torch.empty(batch, heads, seq_q, dtype=q.dtype, device=q.device)
        for q_start in range(0, seq_q, tile_q):
            q_end = min(q_start + tile_q, seq_q)
            qi = q[:, :, q_start:q_end]
            # Running maximum $m$, sum $\ell$ and unnormalised output $O$
            m = torch.full(qi.shape[:-1], float('-inf'), dtype=q.dtype, device=q.device)
            ell = torch.zeros(qi.shape[:-1], dtype=q.dtype, device=q.device)
            acc = torch.zeros_like(qi)
            for k_start in range(0, seq_k, tile_k):
                if not _tile_needed(causal, q_end, k_start, shift):
                    break
                k_end = min(k_start + tile_k, seq_k)
                s = _tile_scores(qi, k[:, :, k_start:k_end], scale, causal, q_start, k_start, shift)
                # $m_j = \max(m_{j-1}, \max_k S^{(j)}_k)$
                m_new = torch.maximum(m, s.amax(dim=-1))
                # Rows that have seen no key yet keep $m = -\infty$; use $0$ there to avoid $\infty - \infty$
                m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)
                # $\tilde{P}^{(j)} = \exp(S^{(j)} - m_j)$
                p = torch.exp(s - m_safe[..., None])
                # $e^{m_{j-1} - m_j}$, the correction of what was accumulated
                correction = torch.exp(m - m_safe)
                # $\ell_j$ and $O_j$
                ell = correction * ell + p.sum(dim=-1)
                acc = correction[..., None] * acc + torch.einsum('bhij,bhjd->bhid', p, v[:, :, k_start:k_end])
                m = m_new
            # $O = O_\text{last} / \ell_\text{last}$ and $L = m + \log \ell$
            o[:, :, q_start:q_end] = acc / ell[..., None]
            lse[:, :, q_start:q_end] = m + torch.log(ell)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.causal, ctx.tile_q, ctx.tile_k = causal, tile_q, tile_k
        return o

    @staticmethod
    def backward(ctx, do: torch.Tensor):
        """
        Gradients of `q`, `k` and `v` from `do`, the gradient of the output
        """
        q, k, v, o, lse = ctx.saved_tensors
        causal, tile_q, tile_k = ctx.causal, ctx.tile_q, ctx.tile_k
        seq_q, seq_k, d_k = q.shape[-2], k.shape[-2], q.shape[-1]
        scale = 1 / math.sqrt(d_k)
        shift = seq_k - seq_q
        dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        # $D = \operatorname{rowsum}(dO \odot O)$, `[batch, heads, seq_q]`
        d = (do * o).sum(dim=-1)
        for k_start in range(0, seq_k, tile_k):
            k_end = min(k_start + tile_k, seq_k)
            kj, vj = k[:, :, k_start:k_end], v[:, :, k_start:k_end]
            for q_start in range(0, seq_q, tile_q):
                q_end = min(q_start + tile_q, seq_q)
                if not _tile_needed(causal, q_end, k_start, shift):
                    continue
                qi, doi = q[:, :, q_start:q_end], do[:, :, q_start:q_end]
                s = _tile_scores(qi, kj, scale, causal, q_start, k_start, shift)
                # $P = \exp(S - L)$, recomputed
                p = torch.exp(s - lse[:, :, q_start:q_end, None])
                # $dV \mathrel{+}= P^\top dO$
                dv[:, :, k_start:k_end] += torch.einsum('bhij,bhid->bhjd', p, doi)
                # $dP = dO V^\top$
                dp = torch.einsum('bhid,bhjd->bhij', doi, vj)
                # $dS = P \odot (dP - D)$
                ds = p * (dp - d[:, :, q_start:q_end, None])
                # $dQ \mathrel{+}= dS \, K / \sqrt{d_k}$ and $dK \mathrel{+}= dS^\top Q / \sqrt{d_k}$
                dq[:, :, q_start:q_end] += torch.einsum('bhij,bhjd->bhid', ds, kj) * scale
                dk[:, :, k_start:k_end] += torch.einsum('bhij,bhid->bhjd', ds, qi) * scale
        return dq, dk, dv, None, None, None


def flash_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, is_causal: bool = False,
                    tile_q: int = 64, tile_k: int = 64) -> torch.Tensor:
    """
    ## Tiled attention

    Same arguments and result as `scaled_dot_product_attention(q, k, v, is_causal=...)`
    (with the bottom-right causal alignment), `[batch, heads, seq_q, d_k]`.
    """
    if tile_q <= 0 or tile_k <= 0:
        raise ValueError(f"tile sizes must be positive, got tile_q={tile_q}, tile_k={tile_k}")
    if is_causal and q.shape[-2] > k.shape[-2]:
        raise ValueError(f"causal attention needs seq_q <= seq_k, got {q.shape[-2]} and {k.shape[-2]}")
    return FlashAttention.apply(q, k, v, is_causal, tile_q, tile_k)
