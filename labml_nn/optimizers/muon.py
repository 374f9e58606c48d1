r"""
---
title: Muon Optimizer
year: 2024
summary: >
  An annotated PyTorch implementation of Muon: momentum whose matrix is replaced by the nearest
  orthogonal matrix, computed with a few Newton-Schulz iterations in bfloat16.
---

# Muon Optimizer

This is a PyTorch implementation of Muon (MomentUm Orthogonalized by Newton-Schulz), introduced by
Keller Jordan and collaborators in [Muon: An optimizer for hidden layers in neural networks](https://kellerjordan.github.io/posts/muon/)
(official code: [github.com/KellerJordan/Muon](https://github.com/KellerJordan/Muon)) and scaled up in
[Muon is Scalable for LLM Training](https://arxiv.org/abs/2502.16982).
It follows `torch.optim.Muon`, which it matches in the tests.

## The idea: equalise the singular values

For a weight matrix $W \in \mathbb{R}^{n \times k}$ the momentum $B$ is a matrix too, and in a
transformer it is close to low rank: a few directions dominate it.
A step along $B$ moves the layer mostly in those directions.
Muon replaces $B = U S V^\top$ (its singular value decomposition) by $O = U V^\top$: the same
singular vectors with every singular value set to one.
Every direction the momentum contains gets the same step, the rare directions as much as the
dominant ones.
$O$ is the orthogonal matrix closest to $B$, and the step $-\eta O$ is the steepest descent step
under the spectral norm: it is the step of a given spectral size that decreases the linearised loss most.

\begin{align}
B_t &= \mu B_{t-1} + (1 - \mu) G_t \\
\tilde{B}_t &= \begin{cases} (1 - \mu) G_t + \mu B_t & \text{Nesterov} \\ B_t & \text{otherwise} \end{cases} \\
O_t &= \operatorname{NS}(\tilde{B}_t) \approx U V^\top \\
\theta_t &= (1 - \eta \lambda) \theta_{t-1} - \eta \sqrt{\max(1, n / k)} \, O_t
\end{align}

The factor $\sqrt{\max(1, n / k)}$ (the official code's, `adjust_lr_fn=None` or `'original'`)
gives tall matrices a larger step; `'match_rms_adamw'` uses $0.2 \sqrt{\max(n, k)}$ instead, from the
second paper, so that the update has the root-mean-square size of AdamW's and AdamW's learning rate
and weight decay can be reused.
(`torch.optim.Muon` and the official code keep the momentum as an interpolation,
$B_t = \mu B_{t-1} + (1 - \mu) G_t$; the official code's versions before February 2025, and
`torch.optim.Muon`'s documentation, add $G_t$ without the factor $1 - \mu$, which changes only the
scale of $B$, and the orthogonalisation removes the scale.)

## Newton-Schulz instead of an SVD

An SVD is slow on a GPU. The map $X \mapsto a X + b (X X^\top) X + c (X X^\top)^2 X$ acts on the singular values
alone, $\sigma \mapsto a \sigma + b \sigma^3 + c \sigma^5$.
After scaling $X$ so that every $\sigma \le 1$ (dividing by the Frobenius norm is enough), repeating
the map pushes every singular value towards one.
The coefficients $(a, b, c) = (3.4445, -4.7750, 2.0315)$ are chosen for speed, not for exact
convergence: the slope at zero is large ($a = 3.4$), so small singular values grow fast, and after
five steps the singular values lie roughly between $0.5$ and $1.5$ rather than at one, which
the authors found does not hurt.
Five iterations are a few matrix products, and they are run in bfloat16 (`ns_dtype`), which is
accurate enough for a result that is only approximately orthogonal anyway.
A wide matrix ($n < k$) is iterated as it is, a tall one transposed, so that $X X^\top$ is the
smaller of the two Gram matrices.

## Only for hidden matrices

Muon is defined for matrices (the official code also takes convolution filters, flattened to
matrices; ours takes only two-dimensional parameters).
Embeddings, the output layer, biases and norms are trained with AdamW.
The official code recommends doing both in one optimizer (`MuonWithAuxAdam`, with one parameter
group per method); two separate optimizers, as in our [benchmark](benchmark.html), do the same.
"""

import math
from typing import Any, Dict, List, Optional, Tuple

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, check_non_negative, _where


def newton_schulz(g: torch.Tensor, coefficients: Tuple[float, float, float], steps: int, eps: float,
                  dtype: Optional[torch.dtype]) -> torch.Tensor:
    r"""
    ### Approximate orthogonalisation $\operatorname{NS}(X) \approx U V^\top$

    * `g` is the matrix $X$ `[n, k]` (in Muon, the momentum $\tilde{B}_t$)
    * `coefficients` is $(a, b, c)$
    * `steps` is the number of iterations
    * `eps` keeps the first scaling finite for a zero matrix
    * `dtype` is the data type of the iteration (`None` for that of `g`)
    """
    a, b, c = coefficients
    x = g.to(dtype if dtype is not None else g.dtype, copy=True)
    # Iterate on the wide orientation, `[min(n, k), max(n, k)]`
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    # Scale so that every singular value is at most one: $X \leftarrow X / \max(\|X\|_F, \epsilon)$
    x.div_(x.norm().clamp(min=eps))
    for _ in range(steps):
        # $A = X X^\top$
        gram = x @ x.T
        # $b A + c A^2$
        poly = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        # $X \leftarrow a X + (b A + c A^2) X$
        x = torch.addmm(x, poly, x, beta=a)
    return x.T if tall else x


class Muon(GenericAdaptiveOptimizer):
    r"""
    ## Muon optimizer

    The arguments and defaults are those of `torch.optim.Muon`:

    * `params` is the iterable of parameters (all two-dimensional) or the list of parameter groups
    * `lr` is the learning rate $\eta$
    * `weight_decay` is the decoupled weight decay $\lambda$, multiplied by the learning rate
    * `momentum` is $\mu$
    * `nesterov` uses the Nesterov form $\tilde{B}_t$
    * `ns_coefficients` is $(a, b, c)$ of the Newton-Schulz iteration
    * `eps` is the floor of the norm in the first scaling
    * `ns_steps` is the number of Newton-Schulz iterations
    * `adjust_lr_fn` is `None` or `'original'` for $\sqrt{\max(1, n / k)}$, or `'match_rms_adamw'` for
      $0.2 \sqrt{\max(n, k)}$

    and two more:

    * `ns_dtype` is the data type of the iteration: `torch.bfloat16`, as in `torch.optim.Muon`, or
      `None` for the parameter's own
    * `foreach` uses the multi-tensor `step_group`, which orthogonalises the matrices of one shape
      together, instead of the per-tensor `step_param`; it is off by default because its batched
      products round differently from `torch.optim.Muon`'s in bfloat16 (see `step_group`)

    The official code's defaults are `lr=0.02` and `weight_decay=0` (its README's example uses a decay of
    $0.01$). With `adjust_lr_fn=None` a learning rate of that order is the usual one; torch's default
    $10^{-3}$ makes the steps $20$ times smaller. A learning rate of the order of AdamW's is what
    `'match_rms_adamw'` is designed for.
    """

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients=(3.4445, -4.775, 2.0315), eps: float = 1e-7,
                 ns_steps: int = 5, adjust_lr_fn: Optional[str] = None, *,
                 ns_dtype: Optional[torch.dtype] = torch.bfloat16, foreach: bool = False):
        self.ns_dtype = ns_dtype
        defaults = dict(lr=lr, momentum=momentum, nesterov=bool(nesterov), ns_coefficients=ns_coefficients,
                        eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn,
                        **WeightDecay(weight_decay, weight_decouple=True).defaults())
        super().__init__(params, defaults, foreach=foreach)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters, and that every parameter is a matrix"""
        check_non_negative('lr', group['lr'], group_index)
        check_non_negative('eps', group['eps'], group_index)
        mu = group['momentum']
        if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not 0 <= mu < 1:
            raise ValueError(f"Invalid `momentum` = {mu!r}{_where(group_index)}: it must be a number in [0, 1)")
        n = group['ns_steps']
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 100:
            raise ValueError(f"Invalid `ns_steps` = {n!r}{_where(group_index)}: it must be an integer in [0, 100)")
        abc = group['ns_coefficients']
        if not isinstance(abc, (tuple, list)) or len(abc) != 3:
            raise ValueError(f"Invalid `ns_coefficients` = {abc!r}{_where(group_index)}: it must be (a, b, c)")
        if group['adjust_lr_fn'] not in (None, 'original', 'match_rms_adamw'):
            raise ValueError(f"Invalid `adjust_lr_fn` = {group['adjust_lr_fn']!r}{_where(group_index)}: "
                             f"it must be None, 'original' or 'match_rms_adamw'")
        WeightDecay.check_group(group, group_index)
        for p in group.get('params', []):
            if p.dim() != 2:
                raise ValueError(f"Invalid `params`{_where(group_index)}: Muon takes only matrices, got a "
                                 f"parameter of shape {tuple(p.shape)}; train it with AdamW instead")

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        """
        ### Initialize the state: the momentum $B_0 = 0$
        """
        state['momentum_buffer'] = torch.zeros_like(param, memory_format=torch.preserve_format)

    @staticmethod
    def lr_scale(adjust_lr_fn: Optional[str], shape: torch.Size) -> float:
        r"""The factor of the learning rate for a matrix of shape $n \times k$"""
        n, k = shape[0], shape[1]
        if adjust_lr_fn == 'match_rms_adamw':
            return 0.2 * math.sqrt(max(n, k))
        return math.sqrt(max(1., n / k))

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        lr, mu = group['lr'], group['momentum']
        b = state['momentum_buffer']
        # $B_t = \mu B_{t-1} + (1 - \mu) G_t$ (here `b` is the momentum $B$, not the coefficient $b$)
        b.lerp_(grad, 1 - mu)
        # $\tilde{B}_t$: the Nesterov look-ahead $(1 - \mu) G_t + \mu B_t$, or $B_t$
        update = grad.lerp(b, mu) if group['nesterov'] else b
        # $O_t = \operatorname{NS}(\tilde{B}_t)$
        o = newton_schulz(update, group['ns_coefficients'], group['ns_steps'], group['eps'], self.ns_dtype)
        # $\theta \leftarrow (1 - \eta \lambda) \theta$
        WeightDecay.apply(param, grad, group)
        # $\theta_t = \theta - \eta \cdot \text{scale} \cdot O_t$
        param.add_(o, alpha=-lr * self.lr_scale(group['adjust_lr_fn'], param.shape))

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters (the fast path)

        The same operations as `step_param`: the momentum and the decay with `_foreach` calls, and the
        Newton-Schulz iteration on a stack of the matrices of one shape at once
        (`newton_schulz_batched`), so that a GPU runs a few large batched products instead of many small
        ones.
        In the parameters' own precision (`ns_dtype=None`) the result is that of `step_param` up to
        rounding; in bfloat16 a batched product is not always rounded like the single one, and those
        differences of the size of bfloat16's precision add up over the steps.
        """
        lr, mu = group['lr'], group['momentum']
        bufs = [state['momentum_buffer'] for state in states]
        # $B_t$
        torch._foreach_lerp_(bufs, grads, 1 - mu)
        # $\theta \leftarrow (1 - \eta \lambda) \theta$
        WeightDecay.apply_foreach(params, grads, group)
        for indices in self.batches(params):
            p = [params[i] for i in indices]
            # $\tilde{B}_t$ of these matrices
            b = [bufs[i] for i in indices]
            updates = torch._foreach_lerp([grads[i] for i in indices], b, mu) if group['nesterov'] else b
            if len(p) == 1:
                # A single matrix: `newton_schulz` itself (a batched product of one matrix is slower on a CPU)
                o = [newton_schulz(updates[0], group['ns_coefficients'], group['ns_steps'], group['eps'],
                                   self.ns_dtype)]
            else:
                # Stacked and converted to the iteration's type, `[batch, n, k]`
                dtype = self.ns_dtype if self.ns_dtype is not None else p[0].dtype
                stacked = torch.empty((len(p),) + tuple(p[0].shape), dtype=dtype, device=p[0].device)
                torch._foreach_copy_(list(stacked.unbind(0)), updates)
                del updates
                # $O_t$
                o = newton_schulz_batched(stacked, group['ns_coefficients'], group['ns_steps'], group['eps'])
                o = list(o.unbind(0))
            # $\theta_t = \theta - \eta \cdot \text{scale} \cdot O_t$ (one scale for one shape)
            torch._foreach_add_(p, o, alpha=-lr * self.lr_scale(group['adjust_lr_fn'], p[0].shape))

    def batches(self, params: List[torch.Tensor]) -> List[List[int]]:
        """
        The indices of the matrices to orthogonalise together: of one shape, and at most
        `4 * chunk_numel` elements in all (or one matrix), which bounds the memory of the temporaries
        """
        limit = 4 * self.chunk_numel(params[0].device)
        by_shape: Dict[torch.Size, List[List[int]]] = {}
        for i, p in enumerate(params):
            batches = by_shape.setdefault(p.shape, [[]])
            if batches[-1] and (len(batches[-1]) + 1) * p.numel() > limit:
                batches.append([])
            batches[-1].append(i)
        return [b for batches in by_shape.values() for b in batches]


def newton_schulz_batched(x: torch.Tensor, coefficients: Tuple[float, float, float], steps: int,
                          eps: float) -> torch.Tensor:
    r"""
    ### `newton_schulz` on a stack of matrices `[batch, n, k]`

    The same iteration with batched products (`torch.baddbmm`); `x` is already of the iteration's data
    type and is overwritten.
    Each matrix is scaled by its own Frobenius norm.
    """
    a, b, c = coefficients
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = x.mT
    x.div_(torch.linalg.vector_norm(x, dim=(-2, -1), keepdim=True).clamp(min=eps))
    for _ in range(steps):
        gram = x @ x.mT
        poly = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.baddbmm(x, poly, x, beta=a)
    return x.mT if tall else x
