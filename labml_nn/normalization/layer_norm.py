r"""
---
title: Layer Normalization
summary: >
  An annotated PyTorch implementation of layer normalization, which normalizes each example over its
  own features and so behaves the same in training and inference.
---

# Layer Normalization

This is a PyTorch implementation of the layer from the paper
[Layer Normalization](https://arxiv.org/abs/1607.06450).
(The official code, in Theano, is at [github.com/ryankiros/layer-norm](https://github.com/ryankiros/layer-norm).)

[Batch normalization](batch_norm.html) needs a batch: its statistics are taken over the examples,
it behaves differently in training and at inference, and it does not fit recurrent networks, where
the statistics would differ at every time step, nor transformers fed with sequences of different
lengths.
Layer normalization takes the statistics over the *features of each example* instead.
For an input $X$ whose last dimensions, of size $H$ in all, are the normalized shape,

\begin{align}
\mu &= \frac{1}{H} \sum_{i=1}^{H} x_i \qquad
\sigma^2 = \frac{1}{H} \sum_{i=1}^{H} (x_i - \mu)^2 \\
\operatorname{LN}(x) &= \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta
\end{align}

computed separately for every example (and, in a transformer, every position), with an
element-wise gain $\gamma$ and bias $\beta$ of the normalized shape.
There are no running statistics: training and inference compute the same function.

In a transformer `normalized_shape` is `[d_model]`: each token's embedding is normalized on its own.
[RMSNorm](rms_norm.html) drops the mean and $\beta$, and [DeepNorm](deep_norm.html) changes where
layer normalization sits in a residual network.
"""

from typing import List, Union

import torch
from torch import nn


class LayerNorm(nn.Module):
    r"""
    ## Layer normalization

    * `normalized_shape` is the shape of the trailing dimensions to normalize over, $S$
      (an `int` for a single dimension)
    * `eps` is $\epsilon$
    * `elementwise_affine` learns the gain $\gamma$ and bias $\beta$
    """

    def __init__(self, normalized_shape: Union[int, List[int], torch.Size], *,
                 eps: float = 1e-5, elementwise_affine: bool = True):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = [normalized_shape]
        self.normalized_shape = torch.Size(normalized_shape)
        if len(self.normalized_shape) == 0 or min(self.normalized_shape) < 1:
            raise ValueError(f"Invalid `normalized_shape` = {list(normalized_shape)!r}: "
                             f"it must be one or more positive sizes")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if self.elementwise_affine:
            # $\gamma$ and $\beta$, of shape $S$
            self.gain = nn.Parameter(torch.ones(self.normalized_shape))
            self.bias = nn.Parameter(torch.zeros(self.normalized_shape))

    def forward(self, x: torch.Tensor):
        """
        `x` is `[*, S[0], S[1], ..., S[n]]`: any leading dimensions, then the normalized shape
        """
        if x.shape[-len(self.normalized_shape):] != self.normalized_shape:
            raise ValueError(f"LayerNorm: the input's trailing dimensions {list(x.shape)} do not end with "
                             f"the normalized shape {list(self.normalized_shape)}")
        # The dimensions to normalize over, `[-1, -2, ...]`
        dims = [-(i + 1) for i in range(len(self.normalized_shape))]
        # $\mu$, `[*, 1, ..., 1]`
        mean = x.mean(dim=dims, keepdim=True)
        # $\sigma^2$, the biased variance, `[*, 1, ..., 1]`
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        # $\frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}$
        x_norm = (x - mean) / torch.sqrt(var + self.eps)
        # $\gamma \odot \hat{x} + \beta$
        if self.elementwise_affine:
            x_norm = self.gain * x_norm + self.bias
        return x_norm
