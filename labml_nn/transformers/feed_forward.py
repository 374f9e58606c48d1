r"""
---
title: Position-wise Feed-Forward Network
summary: >
  The two-layer network that a transformer layer applies to every position on its
  own, with an optional gated variant.
---

# Position-wise Feed-Forward Network

[Attention](mha.html) moves information between positions but is, apart from the
softmax, linear in the values. The second half of every
[transformer layer](models.html) is a small fully connected network applied to
each position separately and identically, which gives the model its per-position
non-linear computation. From
[Attention Is All You Need](https://arxiv.org/abs/1706.03762)
(official code [tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor)):

\begin{align}
\operatorname{FFN}(x) &= f(x W_1 + b_1) W_2 + b_2
\end{align}

where $f$ is an activation such as $\max(0, x)$. The hidden layer is wider than
the model, $W_1 \in \mathbb{R}^{d_\text{model} \times d_{ff}}$ with $d_{ff}$ usually
$4 d_\text{model}$, and $W_2$ projects back to $d_\text{model}$.

### Gated variant

[GLU Variants Improve Transformer](https://arxiv.org/abs/2002.05202) (no code of
its own; the variants are in [tensorflow/mesh](https://github.com/tensorflow/mesh))
multiplies the activation element-wise with a second linear projection of the
input, a *gate*:

\begin{align}
\operatorname{FFN}_\text{gated}(x) &= \bigl(f(x W_1 + b_1) \otimes (x V + c)\bigr) W_2 + b_2
\end{align}

With $f = \operatorname{GELU}$ this is GEGLU, with $f = \operatorname{Swish}$ it is SwiGLU.
"""

from typing import Optional

import torch
from torch import nn


class FeedForward(nn.Module):
    """
    ## FFN module
    """

    def __init__(self, d_model: int, d_ff: int,
                 dropout_prob: float = 0.1,
                 activation: Optional[nn.Module] = None,
                 is_gated: bool = False,
                 bias1: bool = True,
                 bias2: bool = True,
                 bias_gate: bool = True):
        """
        * `d_model` is the size $d_\text{model}$ of the input and output vectors
        * `d_ff` is the size $d_{ff}$ of the hidden layer
        * `dropout_prob` is the dropout probability on the hidden layer
        * `activation` is the activation $f$; `None` means `nn.ReLU()`
        * `is_gated` adds the gate $x V + c$
        * `bias1`, `bias2` and `bias_gate` say whether $b_1$, $b_2$ and $c$ exist
        """
        super().__init__()
        # $W_1$ and $b_1$
        self.layer1 = nn.Linear(d_model, d_ff, bias=bias1)
        # $W_2$ and $b_2$
        self.layer2 = nn.Linear(d_ff, d_model, bias=bias2)
        self.dropout = nn.Dropout(dropout_prob)
        # A new module per instance, so that no two layers share one by accident
        self.activation = activation if activation is not None else nn.ReLU()
        self.is_gated = is_gated
        if is_gated:
            # $V$ and $c$
            self.linear_v = nn.Linear(d_model, d_ff, bias=bias_gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # `x` has shape `[batch, seq, d_model]`; everything below acts on the last dimension,
        # so every position is transformed on its own.
        #
        # $h = f(x W_1 + b_1)$ of shape `[batch, seq, d_ff]`
        h = self.activation(self.layer1(x))
        # $h \otimes (x V + c)$ when gated
        if self.is_gated:
            h = h * self.linear_v(x)
        h = self.dropout(h)
        # $h W_2 + b_2$, back to `[batch, seq, d_model]`
        return self.layer2(h)
