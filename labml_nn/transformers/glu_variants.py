r"""
---
title: GLU Variants in the Feed-Forward Network
year: 2020
summary: >
  GLU, ReGLU, GEGLU and SwiGLU: the feed-forward network with a multiplicative
  gate, as in GLU Variants Improve Transformer, with the hidden size chosen so
  that the parameter count matches the plain network.
---

# GLU Variants in the Feed-Forward Network

The [feed-forward network](feed_forward.html) of a transformer layer applies an
activation $f$ to one projection of the input:
$\operatorname{FFN}(x) = f(x W_1) W_2$.
A *gated linear unit* (GLU), from
[Language Modeling with Gated Convolutional Networks](https://arxiv.org/abs/1612.08083)
(Yann Dauphin et al., 2017; the model is in
[facebookresearch/fairseq](https://github.com/facebookresearch/fairseq),
`examples/conv_lm`),
computes two projections and lets one of them, squashed by a sigmoid, decide how
much of the other passes, feature by feature:

\begin{align}
\operatorname{GLU}(x) &= \sigma(x W) \otimes x V
\end{align}

[GLU Variants Improve Transformer](https://arxiv.org/abs/2002.05202)
(Noam Shazeer, 2020) puts this gate into the transformer's feed-forward network
and tries other functions in place of the sigmoid $\sigma$. Without biases, as in
the paper:

\begin{align}
\operatorname{FFN}_{\text{GLU}}(x) &= \bigl(\sigma(x W) \otimes x V\bigr) W_2 \\
\operatorname{FFN}_{\text{ReGLU}}(x) &= \bigl(\max(0, x W) \otimes x V\bigr) W_2 \\
\operatorname{FFN}_{\text{GEGLU}}(x) &= \bigl(\operatorname{GELU}(x W) \otimes x V\bigr) W_2 \\
\operatorname{FFN}_{\text{SwiGLU}}(x) &= \bigl(\operatorname{Swish}_1(x W) \otimes x V\bigr) W_2
\end{align}

where $\operatorname{Swish}_1(z) = z \, \sigma(z)$ (PyTorch's `SiLU`).
The gated network has three weight matrices instead of two. To compare at equal
parameter count and compute, the paper shrinks the hidden size $d_\text{ff}$ by
$2/3$: a plain network with $d_\text{ff} = 4 d_\text{model}$ has $8 d_\text{model}^2$ weights,
a gated one with $d_\text{ff} = \frac{8}{3} d_\text{model}$ also has $8 d_\text{model}^2$.

On T5's pre-training task the paper reports the gated variants (GEGLU and SwiGLU
best) reaching a lower perplexity than ReLU and GELU networks of the same size,
and better fine-tuning scores; it offers no explanation beyond
"divine benevolence". PaLM and LLaMA use SwiGLU.

No code was released with the paper. Its experiments ran on Mesh TensorFlow
([tensorflow/mesh](https://github.com/tensorflow/mesh)), where `dense_product`
in `mesh_tensorflow/layers.py` builds such gated layers from a list of
activations; the closest PyTorch reference is the SwiGLU network of
[meta-llama/llama](https://github.com/meta-llama/llama) (`FeedForward` in
`llama/model.py`).

The gated network is the chapter's [`FeedForward`](feed_forward.html) module with
`is_gated=True`; this page chooses the activation and the hidden size.
"""

import torch
from torch import nn

from .feed_forward import FeedForward

# The activation $f$ that each variant applies to $x W$
GLU_ACTIVATIONS = {
    'glu': nn.Sigmoid,
    'reglu': nn.ReLU,
    'geglu': nn.GELU,
    'swiglu': nn.SiLU,
}


def glu_hidden_size(d_model: int, multiple_of: int = 1) -> int:
    r"""
    ## Hidden size of equal parameter count

    $d_\text{ff} = \frac{2}{3} \cdot 4 d_\text{model}$, rounded up to a multiple of
    `multiple_of` (LLaMA rounds to 256 so that matrix multiplications tile well).
    """
    if d_model <= 0 or multiple_of <= 0:
        raise ValueError(f"d_model and multiple_of must be positive, got {d_model} and {multiple_of}")
    d_ff = (8 * d_model + 2) // 3
    return multiple_of * ((d_ff + multiple_of - 1) // multiple_of)


def glu_feed_forward(variant: str, d_model: int, d_ff: int, dropout_prob: float = 0.0) -> FeedForward:
    """
    ## Build a gated feed-forward network

    * `variant` is one of `'glu'`, `'reglu'`, `'geglu'` and `'swiglu'`
    * `d_model` is the size of the input and output vectors
    * `d_ff` is the hidden size; see `glu_hidden_size`
    * `dropout_prob` is the dropout probability on the gated hidden vector

    The returned module maps `[batch, seq, d_model]` to `[batch, seq, d_model]`:
    `layer1` holds $W$, `linear_v` holds $V$ and `layer2` holds $W_2$, all without bias.
    """
    if variant not in GLU_ACTIVATIONS:
        raise ValueError(f"variant must be one of {sorted(GLU_ACTIVATIONS)}, got {variant!r}")
    return FeedForward(d_model, d_ff, dropout_prob, activation=GLU_ACTIVATIONS[variant](), is_gated=True,
                       bias1=False, bias2=False, bias_gate=False)
