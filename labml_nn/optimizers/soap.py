r"""
---
title: SOAP Optimizer
summary: >
  An annotated PyTorch implementation of SOAP: Adam run in the eigenbasis of Shampoo's
  preconditioner, which is refreshed every few steps.
---

# SOAP Optimizer

This is a PyTorch implementation of SOAP (ShampoO with Adam in the Preconditioner's eigenbasis)
from the paper
[SOAP: Improving and Stabilizing Shampoo using Adam](https://arxiv.org/abs/2409.11321)
(official code: [github.com/nikhilvyas/SOAP](https://github.com/nikhilvyas/SOAP)).

## From Adam to Shampoo to SOAP

[Adam](adam.html) scales each coordinate separately: it is a *diagonal* preconditioner, and it
cannot see that the gradients of two weights are correlated.
For a weight matrix $W \in \mathbb{R}^{n \times k}$ with gradient $G$, Shampoo keeps two
second-moment matrices, one per side (sums in the original Shampoo paper, moving averages in SOAP's),

$$L \leftarrow \beta L + (1 - \beta) G G^\top \qquad R \leftarrow \beta R + (1 - \beta) G^\top G,$$

($n \times n$ and $k \times k$, much smaller than the $nk \times nk$ full second moment) and steps along
$L^{-1/4} G R^{-1/4}$.
The paper's observation: with the eigendecompositions $L = Q_L \Lambda_L Q_L^\top$ and
$R = Q_R \Lambda_R Q_R^\top$, Shampoo with the power $1/2$ instead of $1/4$, $L^{-1/2} G R^{-1/2}$, is
(in an idealised form, with $L$ and $R$ the expectations of $G G^\top$ and $G^\top G$) exactly
[Adafactor](adafactor.html) run in the rotated coordinates $Q_L^\top G Q_R$, in which the
preconditioner is diagonal.
SOAP runs the full [Adam](adam.html) in that rotated space instead:

\begin{align}
G' &= Q_L^\top G Q_R \\
m'_t &= \beta_1 m'_{t-1} + (1 - \beta_1) G' \qquad v'_t = \beta_2 v'_{t-1} + (1 - \beta_2) G'^2 \\
W &\leftarrow W - \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \, Q_L \frac{m'_t}{\sqrt{v'_t} + \epsilon} Q_R^\top,
  \qquad W \leftarrow (1 - \eta \lambda) W
\end{align}

In the eigenbasis the coordinates are (approximately) uncorrelated, so a diagonal method is what
the geometry needs there; and because Adam's second moment $v'$ adapts every step, the rotation
$Q_L, Q_R$ can be refreshed rarely (`precondition_frequency`, every 10 steps by default) without
losing much.
That is SOAP's practical point: Shampoo needs its expensive matrix roots often, SOAP needs its
eigenvectors rarely.

## Refreshing the basis

The first gradient of a tensor only initialises $L$, $R$ and their eigenvectors (by `eigh`); it does
not move the weights, so that a gradient is never used in a basis computed from itself.
Then, every step, $L$ and $R$ take the new $G G^\top$ and $G^\top G$, and every
`precondition_frequency` steps the basis is refreshed by one step of power iteration followed by a
QR decomposition, $Q \leftarrow \operatorname{QR}(L Q)$, which is much cheaper than a new
eigendecomposition and enough because the basis changes slowly.
The columns are first sorted by the estimated eigenvalues $\operatorname{diag}(Q^\top L Q)$, and $v'$ is
permuted with them, so that each coordinate keeps its second moment.
The momentum $m'$ lives in the rotated space: when the basis changes it is rotated back to the
original space and into the new one (the code, like the official one, makes this round trip at every
step, four matrix products per matrix; it changes $m'$ only after a refresh).

Dimensions larger than `max_precond_dim` (for example the vocabulary dimension of an embedding) are
not rotated, and a vector is not rotated at all; then SOAP is Adam along that dimension.
As in the official code, the weight decay is applied after the update, the eigendecompositions and
QR decompositions are computed in float32, and $\epsilon$ is added to $\sqrt{v'_t}$ before the bias correction.
The official code's options for convolutions, merged dimensions, preconditioned vectors and normalised
gradients are left out.
"""

from itertools import chain
from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, _where


def rotate(x: torch.Tensor, qs: List[Optional[torch.Tensor]], back: bool = False) -> torch.Tensor:
    r"""
    ### Change of basis

    Applies $Q_i^\top$ along every dimension $i$ of `x` (or $Q_i$ with `back=True`); a dimension without
    a basis (`None`) is left as it is. For a matrix this is $Q_L^\top X Q_R$ (or $Q_L X Q_R^\top$).
    Each contraction takes the first remaining dimension and appends the result as the last one, so
    after all of them the dimensions are back in their order.
    """
    for q in qs:
        if q is None:
            # Move the first dimension to the end unchanged
            x = x.permute(list(range(1, x.dim())) + [0])
        else:
            # Contract the first dimension with $Q$ (`back=False`: with $Q^\top$)
            x = torch.tensordot(x, q, dims=[[0], [1 if back else 0]])
    return x


def eigenbasis(m: torch.Tensor) -> torch.Tensor:
    """The eigenvectors of the symmetric `m`, by decreasing eigenvalue, computed in float32
    (the official code retries in float64 when `eigh` fails to converge in float32; this does not)"""
    _, q = torch.linalg.eigh(m.float() + 1e-30 * torch.eye(m.shape[0], device=m.device))
    return torch.flip(q, [1]).to(m.dtype)


class SOAP(GenericAdaptiveOptimizer):
    r"""
    ## SOAP optimizer

    The arguments and defaults are those of the official `SOAP`:

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is the learning rate $\eta$
    * `betas` is the pair $(\beta_1, \beta_2)$ of Adam's moments in the rotated space
    * `shampoo_beta` is the rate $\beta$ of $L$ and $R$; a negative value means $\beta_2$
    * `eps` is $\epsilon$
    * `weight_decay` is the decoupled weight decay $\lambda$, multiplied by the learning rate
    * `precondition_frequency` is the number of steps between refreshes of the basis
    * `max_precond_dim` is the largest dimension that gets a basis
    * `correct_bias` turns Adam's bias correction on or off
    * `foreach` uses the multi-tensor `step_group` instead of the per-tensor `step_param`
    """

    def __init__(self, params, lr: float = 3e-3, betas=(0.95, 0.95), shampoo_beta: float = -1, eps: float = 1e-8,
                 weight_decay: float = 0.01, precondition_frequency: int = 10, max_precond_dim: int = 10000,
                 correct_bias: bool = True, *, foreach: bool = True):
        defaults = dict(lr=lr, betas=betas, shampoo_beta=shampoo_beta, eps=eps,
                        precondition_frequency=precondition_frequency, max_precond_dim=max_precond_dim,
                        correct_bias=bool(correct_bias), **WeightDecay(weight_decay, weight_decouple=True).defaults())
        super().__init__(params, defaults, foreach=foreach)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters"""
        super().check_group(group, group_index)
        WeightDecay.check_group(group, group_index)
        sb = group['shampoo_beta']
        if isinstance(sb, bool) or not isinstance(sb, (int, float)) or not sb < 1:
            raise ValueError(f"Invalid `shampoo_beta` = {sb!r}{_where(group_index)}: it must be a number < 1 "
                             f"(negative: use betas[1])")
        for name in ('precondition_frequency', 'max_precond_dim'):
            n = group[name]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"Invalid `{name}` = {n!r}{_where(group_index)}: it must be a positive integer")

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        r"""
        ### Initialize the state

        $t = 0$, $m'_0 = v'_0 = 0$, and per dimension a zero matrix $L$ (or $R$), or `None` for a dimension
        that is not rotated. The bases `Q` are made by the first step.
        """
        state['step'] = 0
        state['m'] = torch.zeros_like(param)
        state['v'] = torch.zeros_like(param)
        rotated = param.dim() > 1
        state['GG'] = [torch.zeros(n, n, dtype=param.dtype, device=param.device)
                       if rotated and n <= group['max_precond_dim'] else None for n in param.shape]
        state['Q'] = None

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        # The first gradient only sets up $L$, $R$ and the basis
        if state['Q'] is None:
            self.update_preconditioner(state, group, grad)
            return
        beta1, beta2 = group['betas']
        m, v = state['m'], state['v']
        # $G' = Q_L^\top G Q_R$
        g_rot = rotate(grad, state['Q'])
        state['step'] += 1
        t = state['step']
        # Adam's moments in the rotated space
        m.mul_(beta1).add_(g_rot, alpha=1 - beta1)
        v.mul_(beta2).add_(g_rot.square(), alpha=1 - beta2)
        step_size = group['lr']
        if group['correct_bias']:
            step_size = step_size * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)
        # $Q_L \frac{m'_t}{\sqrt{v'_t} + \epsilon} Q_R^\top$
        update = rotate(m / v.sqrt().add_(group['eps']), state['Q'], back=True)
        param.add_(update, alpha=-step_size)
        # $W \leftarrow (1 - \eta \lambda) W$, after the update as in the official code
        WeightDecay.apply(param, grad, group)
        # Take $G$ into $L$ and $R$, and refresh the basis when it is due
        self.update_preconditioner(state, group, grad)

    def update_preconditioner(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor):
        r"""
        ### Update $L$, $R$ and, every `precondition_frequency` steps, the basis
        """
        beta = group['shampoo_beta'] if group['shampoo_beta'] >= 0 else group['betas'][1]
        if state['Q'] is not None:
            # $m'$ back to the original space while the basis may change
            state['m'] = rotate(state['m'], state['Q'], back=True)
        for i, gg in enumerate(state['GG']):
            if gg is not None:
                # $G G^\top$ for the rows, $G^\top G$ for the columns: contract every other dimension
                others = [*chain(range(i), range(i + 1, grad.dim()))]
                gg.lerp_(torch.tensordot(grad, grad, dims=[others, others]), 1 - beta)
        if state['Q'] is None:
            # The first basis: eigenvectors of $L$ and $R$
            state['Q'] = [None if gg is None else eigenbasis(gg) for gg in state['GG']]
        elif state['step'] % group['precondition_frequency'] == 0:
            state['Q'] = self.refresh_basis(state)
        if state['step'] > 0:
            # $m'$ into the (new) basis
            state['m'] = rotate(state['m'], state['Q'])

    @staticmethod
    def refresh_basis(state: Dict[str, Any]) -> List[Optional[torch.Tensor]]:
        r"""
        ### One power-iteration step and a QR decomposition, $Q \leftarrow \operatorname{QR}(L Q)$

        The columns are sorted by the estimated eigenvalues $\operatorname{diag}(Q^\top L Q)$ first, and
        $v'$ is permuted along the same dimension, so each coordinate keeps its second moment.
        """
        v = state['v']
        bases = []
        for i, (gg, q) in enumerate(zip(state['GG'], state['Q'])):
            if gg is None:
                bases.append(None)
                continue
            gg32, q32 = gg.float(), q.float()
            order = torch.argsort(torch.diag(q32.T @ gg32 @ q32), descending=True)
            v = v.index_select(i, order)
            q_new, _ = torch.linalg.qr(gg32 @ q32[:, order])
            bases.append(q_new.to(gg.dtype))
        state['v'] = v
        return bases

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters (the fast path)

        The matrices of one shape that share their step are updated together: their gradients,
        moments and bases are stacked, and every rotation is a batched product.
        $m'$ still goes back to the original space and into the basis at every step, as in `step_param`
        and the official code: the bases are computed in float32, so $Q Q^\top$ is the identity only to
        float32's precision, and skipping the round trip would change the result.
        A parameter's first step, the refresh of a basis, and tensors that are not matrices use the
        per-tensor methods.
        """
        beta1, beta2 = group['betas']
        beta = group['shampoo_beta'] if group['shampoo_beta'] >= 0 else beta2
        batches: Dict[tuple, List[int]] = {}
        for i, (p, state) in enumerate(zip(params, states)):
            if p.dim() != 2 or state['Q'] is None:
                self.step_param(state, group, grads[i], p)
                continue
            key = (p.shape, state['step'], tuple(q is None for q in state['Q']))
            batches.setdefault(key, []).append(i)
        limit = 4 * self.chunk_numel(params[0].device)
        for indices in batches.values():
            size = max(1, limit // max(1, params[indices[0]].numel()))
            for start in range(0, len(indices), size):
                self._step_matrices(group, [params[i] for i in indices[start:start + size]],
                                    [grads[i] for i in indices[start:start + size]],
                                    [states[i] for i in indices[start:start + size]], beta1, beta2, beta)

    def _step_matrices(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                       states: List[Dict[str, Any]], beta1: float, beta2: float, beta: float):
        """`step_param` for matrices of one shape, at the same step, with their bases stacked"""
        qs = [None if q is None else _stack([s['Q'][i] for s in states]) for i, q in enumerate(states[0]['Q'])]
        ms, vs = [s['m'] for s in states], [s['v'] for s in states]
        g = _stack(grads)
        # $G' = Q_L^\top G Q_R$, `[batch, n, k]`
        g_rot = _rotate_batched(g, qs)
        for s in states:
            s['step'] += 1
        t = states[0]['step']
        # Adam's moments in the rotated space
        g_rots = list(g_rot.unbind(0))
        torch._foreach_mul_(ms, beta1)
        torch._foreach_add_(ms, g_rots, alpha=1 - beta1)
        torch._foreach_mul_(vs, beta2)
        torch._foreach_addcmul_(vs, g_rots, g_rots, value=1 - beta2)
        del g_rot, g_rots
        step_size = group['lr']
        if group['correct_bias']:
            step_size = step_size * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)
        # $Q_L \frac{m'_t}{\sqrt{v'_t} + \epsilon} Q_R^\top$
        ratio = torch.stack(vs).sqrt_().add_(group['eps'])
        torch.div(_stack(ms), ratio, out=ratio)
        update = _rotate_batched(ratio, qs, back=True)
        torch._foreach_add_(params, list(update.unbind(0)), alpha=-step_size)
        del ratio, update
        # $W \leftarrow (1 - \eta \lambda) W$
        WeightDecay.apply_foreach(params, grads, group)
        # $L$ and $R$: $G G^\top$ and $G^\top G$
        for i, q in enumerate(qs):
            if q is not None:
                gg = g @ g.mT if i == 0 else g.mT @ g
                torch._foreach_lerp_([s['GG'][i] for s in states], list(gg.unbind(0)), 1 - beta)
        # $m'$ back to the original space, a refresh of the basis when it is due, and $m'$ into the basis
        m = _rotate_batched(_stack(ms), qs, back=True)
        if t % group['precondition_frequency'] == 0:
            for s in states:
                s['Q'] = self.refresh_basis(s)
            qs = [None if q is None else _stack([s['Q'][i] for s in states])
                  for i, q in enumerate(states[0]['Q'])]
        torch._foreach_copy_(ms, list(_rotate_batched(m, qs).unbind(0)))


def _stack(tensors: List[torch.Tensor]) -> torch.Tensor:
    """`torch.stack`, or a view without a copy for a single tensor; the result is only read"""
    return tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)


def _rotate_batched(x: torch.Tensor, qs: List[Optional[torch.Tensor]], back: bool = False) -> torch.Tensor:
    """`rotate` for a stack of matrices `[batch, n, k]` and stacked bases `[batch, n, n]`, `[batch, k, k]`"""
    q_left, q_right = qs
    if q_left is not None:
        x = (q_left if back else q_left.mT) @ x
    if q_right is not None:
        x = x @ (q_right.mT if back else q_right)
    return x
