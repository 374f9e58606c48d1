r"""
---
title: Mixture of Experts
summary: >
  A feed-forward layer made of many experts, of which a learned router sends each
  token to one (Switch) or k (top-k): more parameters at the same compute per
  token, with an expert capacity and the load-balancing loss that keeps the
  router from favouring a few experts.
---

# Mixture of Experts

A transformer's [feed-forward network](feed_forward.html) holds most of its
parameters and is applied to every token. A *mixture-of-experts* layer replaces it
by $E$ feed-forward networks, the **experts**, and a **router** that picks, for
each token, which few of them to run. The model has $E$ times the feed-forward
parameters, but each token pays for only $k$ experts.
[Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer](https://arxiv.org/abs/1701.06538)
(Noam Shazeer et al., 2017; code in
[tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor),
`utils/expert_utils.py`) introduced top-$k$ routing;
[Switch Transformers: Scaling to Trillion Parameter Models with Simple and Efficient Sparsity](https://arxiv.org/abs/2101.03961)
(William Fedus, Barret Zoph and Noam Shazeer, 2021; official code in
[google-research/t5x](https://github.com/google-research/t5x) and
[tensorflow/mesh](https://github.com/tensorflow/mesh))
showed that $k = 1$ is enough.

### Routing

The router is a linear map $W_r$ to one logit per expert and a softmax,
$p(x) = \operatorname{softmax}(x W_r)$. Token $x$ goes to the $k$ experts $\mathcal{T}$
with the largest $p_i(x)$, and the layer returns their outputs weighted by the
gates $g_i$:

\begin{align}
y &= \sum_{i \in \mathcal{T}} g_i(x) \, \mathop{FFN}_i(x)
\end{align}

With $k = 1$ (Switch) the gate is the router probability itself, $g_i = p_i(x)$,
which is how the router receives a gradient. With $k > 1$ we renormalise the
chosen probabilities to sum to one, $g_i = p_i / \sum_{j \in \mathcal{T}} p_j$, as
Mixtral does.

### Capacity

To run the experts as fixed-size batches, each gets a **capacity** of

\begin{align}
C &= \Bigl\lceil c \cdot \frac{k \cdot \text{tokens}}{E} \Bigr\rceil
\end{align}

token slots, with the capacity factor $c$ (Switch uses $1$ to $2$). Slots are
filled first by the tokens' first choices in token order, then by second choices,
and so on. A token that finds its expert full is **dropped** by that expert: it
contributes nothing there, and the residual connection around the layer carries
it unchanged.

### The load-balancing loss

Left alone, the router tends to send most tokens to the few experts that happen to
be good early, which then get even better. Switch adds an auxiliary loss, for a
batch of $T$ tokens:

\begin{align}
f_i &= \frac{1}{kT} \sum_x \bigl[\, i \in \mathcal{T}(x) \,\bigr], &
P_i &= \frac{1}{T} \sum_x p_i(x), &
\mathcal{L}_\text{aux} &= \alpha \, E \sum_{i=1}^{E} f_i P_i
\end{align}

$f_i$, the share of assignments expert $i$ receives, has no gradient; $P_i$, the
mean router probability, does. The loss is smallest, $\alpha$, when both are
uniform ($1/E$), and the gradient through $P_i$ pushes probability away from
overloaded experts. The paper uses $\alpha = 10^{-2}$.

With one expert the layer is the dense feed-forward network (the softmax of a
single logit is $1$), which our tests check, along with a token-by-token
transcription of routing, capacity and the loss.
"""

import copy
import math
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from .feed_forward import FeedForward


class MixtureOfExperts(nn.Module):
    """
    ## The mixture-of-experts layer
    """

    def __init__(self, d_model: int, d_ff: int, n_experts: int, k: int = 1, capacity_factor: float = 1.25,
                 dropout_prob: float = 0.0, expert: Optional[nn.Module] = None):
        """
        * `d_model` is the size of the token vectors
        * `d_ff` is the hidden size of each expert
        * `n_experts` is the number of experts $E$
        * `k` is the number of experts per token
        * `capacity_factor` is $c$; `0` means no capacity limit
        * `dropout_prob` is the experts' dropout probability
        * `expert` is an optional module to copy as every expert (default: a GELU `FeedForward`)
        """
        super().__init__()
        if n_experts <= 0 or not 0 < k <= n_experts:
            raise ValueError(f"need n_experts > 0 and 0 < k <= n_experts, got n_experts={n_experts}, k={k}")
        if capacity_factor < 0:
            raise ValueError(f"capacity_factor must be 0 (no limit) or positive, got {capacity_factor}")
        self.n_experts, self.k, self.capacity_factor = n_experts, k, capacity_factor
        # The router $W_r$
        self.router = nn.Linear(d_model, n_experts, bias=False)
        # The experts $\mathop{FFN}_i$
        self.experts = nn.ModuleList([
            FeedForward(d_model, d_ff, dropout_prob, activation=nn.GELU()) if expert is None else
            copy.deepcopy(expert) for _ in range(n_experts)])

    def capacity(self, n_tokens: int) -> int:
        r"""Slots per expert, $C = \lceil c \, k \, T / E \rceil$ (all tokens when there is no limit)"""
        if self.capacity_factor == 0:
            return n_tokens
        return math.ceil(self.capacity_factor * self.k * n_tokens / self.n_experts)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        r"""
        * `x` has shape `[batch, seq, d_model]`

        Returns the output `[batch, seq, d_model]` and a dictionary with the
        load-balancing loss without $\alpha$ (`'balance_loss'`), the share of
        dropped assignments (`'dropped'`) and the tokens per expert (`'counts'`).
        """
        shape = x.shape
        # Flatten the tokens: `[T, d_model]`
        x = x.reshape(-1, shape[-1])
        n_tokens = x.shape[0]
        # Router probabilities $p(x)$, `[T, E]`
        probs = self.router(x).softmax(dim=-1)
        # The $k$ chosen experts and their probabilities, `[T, k]`
        top_p, top_i = probs.topk(self.k, dim=-1)
        # Gates: $p_i$ for Switch, renormalised over the chosen experts for $k > 1$
        gates = top_p if self.k == 1 else top_p / top_p.sum(dim=-1, keepdim=True)

        # One row per assignment, first choices of all tokens first: `[k T]`
        expert_of = top_i.T.reshape(-1)
        token_of = torch.arange(n_tokens, device=x.device).repeat(self.k)
        gate_of = gates.T.reshape(-1)
        # Slot of each assignment in its expert's queue: the number of earlier
        # assignments to the same expert
        one_hot = nn.functional.one_hot(expert_of, self.n_experts)
        slot = ((one_hot.cumsum(dim=0) - 1) * one_hot).sum(dim=-1)
        # Keep the assignments that fit into the capacity $C$
        kept = slot < self.capacity(n_tokens)

        # Run every expert on its kept tokens and add the gated outputs
        y = torch.zeros_like(x)
        for i, expert in enumerate(self.experts):
            sel = kept & (expert_of == i)
            if sel.any():
                tokens = token_of[sel]
                y.index_add_(0, tokens, gate_of[sel, None] * expert(x[tokens]))

        # The load-balancing loss $E \sum_i f_i P_i$; $f$ carries no gradient
        f = one_hot.float().mean(dim=0).detach()
        p_mean = probs.mean(dim=0)
        stats = {'balance_loss': self.n_experts * (f * p_mean).sum(),
                 'dropped': 1 - kept.float().mean(),
                 'counts': one_hot.sum(dim=0)}
        return y.reshape(shape), stats
