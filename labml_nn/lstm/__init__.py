r"""
---
title: Long Short-Term Memory (LSTM)
year: 1997
summary: >
  An annotated PyTorch implementation of the LSTM cell built from its gates, and a multi-layer LSTM,
  equal to torch.nn.LSTMCell and torch.nn.LSTM with the same weights.
---

# Long Short-Term Memory (LSTM)

This is a PyTorch implementation of the LSTM from
[Long Short-Term Memory](https://www.bioinf.jku.at/publications/older/2604.pdf) (Hochreiter and
Schmidhuber, 1997), with the forget gate added in
[Learning to Forget: Continual Prediction with LSTM](https://doi.org/10.1162/089976600300015015)
(Gers, Schmidhuber and Cummins, 2000); this is the form that `torch.nn.LSTM` implements.
Neither paper is on arXiv, and we found no official code; `torch.nn.LSTM` is the reference our tests
compare with.

A plain recurrent network computes $h_t = \tanh(W x_t + U h_{t-1})$.
The gradient from a loss at step $t$ to a state many steps earlier is a product of one Jacobian
per step; it shrinks (or grows) exponentially with the distance, so the network cannot learn long
dependencies.
The LSTM adds a *cell* $c_t$ that is updated additively, with gates that decide what to erase, what
to write and what to show:

\begin{align}
i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + b_i) & \text{input gate} \\
f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + b_f) & \text{forget gate} \\
g_t &= \tanh(W_{xg} x_t + W_{hg} h_{t-1} + b_g) & \text{candidate values} \\
o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + b_o) & \text{output gate} \\
c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
h_t &= o_t \odot \tanh(c_t)
\end{align}

Along the cell, $\frac{\partial c_t}{\partial c_{t-1}} = f_t$ (through the direct path): as long as
the forget gate stays close to one, information and gradients pass through many steps unchanged.

We compute the four gates with one matrix multiplication each for $x_t$ and $h_{t-1}$, with the
rows stacked in the order $i, f, g, o$, which is the layout of `torch.nn.LSTMCell`'s `weight_ih`
and `weight_hh`; the test copies the weights and checks that both give the same outputs.
"""

from typing import List, Optional, Tuple

import torch
from torch import nn


class LSTMCell(nn.Module):
    r"""
    ## LSTM cell

    One step of the recurrence.

    * `input_size` is the size of $x_t$
    * `hidden_size` is the size of $h_t$ and $c_t$
    * `bias` adds the biases $b$ (as two vectors, like `torch.nn.LSTMCell`, whose sum is $b$)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"Invalid `input_size` = {input_size!r} or `hidden_size` = {hidden_size!r}: "
                             f"both must be positive integers")
        self.hidden_size = hidden_size
        # $W_{xi}, W_{xf}, W_{xg}, W_{xo}$ stacked: `[4 * hidden_size, input_size]`
        self.input_linear = nn.Linear(input_size, 4 * hidden_size, bias=bias)
        # $W_{hi}, W_{hf}, W_{hg}, W_{ho}$ stacked: `[4 * hidden_size, hidden_size]`
        self.hidden_linear = nn.Linear(hidden_size, 4 * hidden_size, bias=bias)
        # Uniform initialization in $[-1/\sqrt{d_h}, 1/\sqrt{d_h}]$, as in PyTorch
        bound = hidden_size ** -0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor, state: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        """
        `x` is $x_t$, `[batch_size, input_size]`, and `state` is $(h_{t-1}, c_{t-1})$, each
        `[batch_size, hidden_size]` (zeros when it is `None`).
        Returns $(h_t, c_t)$.
        """
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        h, c = state
        # All four pre-activations at once, `[batch_size, 4 * hidden_size]`
        gates = self.input_linear(x) + self.hidden_linear(h)
        # Split into $i, f, g, o$, each `[batch_size, hidden_size]`
        i, f, g, o = gates.chunk(4, dim=-1)
        # $i_t$, $f_t$ and $o_t$ are in $(0, 1)$, the candidate $g_t$ in $(-1, 1)$
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        # $c_t = f_t \odot c_{t-1} + i_t \odot g_t$
        c_next = f * c + i * g
        # $h_t = o_t \odot \tanh(c_t)$
        h_next = o * torch.tanh(c_next)
        return h_next, c_next


class LSTM(nn.Module):
    r"""
    ## Multi-layer LSTM

    A stack of cells run over a sequence: the $h_t$ of layer $n$ is the input $x_t$ of layer $n + 1$.

    * `input_size` is the size of the inputs
    * `hidden_size` is the size of every layer's state
    * `n_layers` is the number of layers
    """

    def __init__(self, input_size: int, hidden_size: int, n_layers: int = 1):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"Invalid `n_layers` = {n_layers!r}: it must be a positive integer")
        self.n_layers = n_layers
        self.hidden_size = hidden_size
        self.cells = nn.ModuleList([LSTMCell(input_size, hidden_size)] +
                                   [LSTMCell(hidden_size, hidden_size) for _ in range(n_layers - 1)])

    def forward(self, x: torch.Tensor, state: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        """
        `x` is `[seq_len, batch_size, input_size]` and `state` is $(h, c)$, each
        `[n_layers, batch_size, hidden_size]` (zeros when `None`), as in `torch.nn.LSTM`.
        Returns the last layer's outputs `[seq_len, batch_size, hidden_size]` and the final $(h, c)$.
        """
        seq_len, batch_size = x.shape[:2]
        if state is None:
            h = [x.new_zeros(batch_size, self.hidden_size) for _ in range(self.n_layers)]
            c = [x.new_zeros(batch_size, self.hidden_size) for _ in range(self.n_layers)]
        else:
            h, c = list(state[0].unbind(0)), list(state[1].unbind(0))
        out: List[torch.Tensor] = []
        for t in range(seq_len):
            # The input of the first layer is $x_t$
            inp = x[t]
            for layer in range(self.n_layers):
                h[layer], c[layer] = self.cells[layer](inp, (h[layer], c[layer]))
                # the next layer's input is this layer's $h_t$
                inp = h[layer]
            out.append(h[-1])
        return torch.stack(out), (torch.stack(h), torch.stack(c))
