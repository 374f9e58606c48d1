r"""
---
title: "LoRA: Low-Rank Adaptation"
summary: >
  Fine-tune a trained model by learning a low-rank update B A beside each frozen
  weight matrix: a small fraction of the parameters to train and store, and after
  merging the update into the weights, no extra cost at inference.
---

# LoRA: Low-Rank Adaptation

Fine-tuning all the weights of a large model for each new task means storing a
full copy of the model per task.
[LoRA: Low-Rank Adaptation of Large Language Models](https://arxiv.org/abs/2106.09685)
(Edward J. Hu et al., 2021; official code [microsoft/LoRA](https://github.com/microsoft/LoRA))
keeps the pre-trained weights $W_0 \in \mathbb{R}^{d_\text{out} \times d_\text{in}}$ frozen
and learns only a low-rank change:

\begin{align}
h &= W_0 x + \frac{\alpha}{r} B A\, x, &
A &\in \mathbb{R}^{r \times d_\text{in}}, & B &\in \mathbb{R}^{d_\text{out} \times r}
\end{align}

with a rank $r$ much smaller than $d_\text{in}$ and $d_\text{out}$. The number of trained
parameters per matrix drops from $d_\text{out} d_\text{in}$ to $r (d_\text{in} + d_\text{out})$.
The paper's hypothesis is that the change a task needs has a low "intrinsic rank",
and it finds ranks as small as $1$ to $8$ enough for GPT-3 on its benchmarks.

* $A$ starts random and $B$ starts at zero, so at the start $BA = 0$ and the
  model is exactly the pre-trained one.
* The scale $\alpha / r$ lets us change $r$ without retuning the learning rate:
  with Adam, the size of the update $\frac{\alpha}{r} BA$ then stays about the same.
* After training, $W = W_0 + \frac{\alpha}{r} BA$ can be computed once and
  stored in place of $W_0$: **merged**, the adapted model has the original
  architecture and speed. Unmerging subtracts the update again, so one base model
  can switch between tasks. Our tests check that merged and unmerged outputs agree.

The [experiment](experiment.html) adapts a [GPT](../transformers/gpt/index.html)
trained on Tiny Shakespeare to a second text.
"""

import math
from typing import Callable, List

import torch
from torch import nn


class LoRALinear(nn.Module):
    """
    ## A linear layer with a low-rank adapter
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout_prob: float = 0.0):
        r"""
        * `base` is the pre-trained `nn.Linear` with weight $W_0$; it is frozen
        * `r` is the rank $r$
        * `alpha` is $\alpha$
        * `dropout_prob` is the dropout probability on the adapter's input
        """
        super().__init__()
        if r <= 0:
            raise ValueError(f"the LoRA rank r must be positive, got {r}")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        # $A$, initialised like a linear layer's weight, and $B = 0$
        self.lora_a = nn.Parameter(torch.empty(r, base.in_features, dtype=base.weight.dtype,
                                               device=base.weight.device))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, r, dtype=base.weight.dtype,
                                               device=base.weight.device))
        # The scale $\alpha / r$
        self.scaling = alpha / r
        self.dropout = nn.Dropout(dropout_prob)
        self.merged = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # $W_0 x$ (plus the base bias), `[..., d_out]`
        h = self.base(x)
        if self.merged:
            # The update is already inside the weight
            return h
        # $+ \frac{\alpha}{r} B A\, x$, through the rank-$r$ bottleneck `[..., r]`
        return h + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scaling

    def delta(self) -> torch.Tensor:
        r"""The update $\frac{\alpha}{r} B A$, `[d_out, d_in]`"""
        return (self.lora_b @ self.lora_a) * self.scaling

    @torch.no_grad()
    def merge(self):
        r"""$W \leftarrow W_0 + \frac{\alpha}{r} BA$"""
        if not self.merged:
            self.base.weight += self.delta()
            self.merged = True

    @torch.no_grad()
    def unmerge(self):
        r"""$W \leftarrow W - \frac{\alpha}{r} BA$, back to $W_0$"""
        if self.merged:
            self.base.weight -= self.delta()
            self.merged = False


def add_lora(model: nn.Module, r: int, alpha: float, dropout_prob: float = 0.0,
             target: Callable[[str, nn.Linear], bool] = lambda name, module: True) -> List[str]:
    """
    ## Put adapters into a model

    Replaces every `nn.Linear` for which `target(name, module)` is true by a
    `LoRALinear` around it, and freezes every other parameter of the model, so that
    only the adapters train. Returns the names of the adapted layers.
    """
    for p in model.parameters():
        p.requires_grad_(False)
    # Collect first, then replace, so we don't walk into the new modules
    found = [(name, module) for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and target(name, module)]
    for name, module in found:
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(module, r, alpha, dropout_prob))
    return [name for name, _ in found]


def set_merged(model: nn.Module, merged: bool):
    """Merge or unmerge every adapter of `model`"""
    for module in model.modules():
        if isinstance(module, LoRALinear):
            module.merge() if merged else module.unmerge()
