r"""
---
title: Adafactor Optimizer
summary: >
  An annotated PyTorch implementation of Adafactor: a factored second moment that costs one row and
  one column per matrix, a relative step size and update clipping.
---

# Adafactor Optimizer

This is a PyTorch implementation of Adafactor from the paper
[Adafactor: Adaptive Learning Rates with Sublinear Memory Cost](https://arxiv.org/abs/1804.04235)
(official code: `adafactor.py` in
[github.com/tensorflow/tensor2tensor](https://github.com/tensorflow/tensor2tensor)).
It follows `torch.optim.Adafactor`, which it matches in the tests.

[Adam](adam.html) stores two numbers per parameter.
For the largest models that is more memory than the parameters themselves.
Adafactor was designed to train large Transformers without it (the paper's experiments are WMT'14
English-German translation), and it later became the optimizer of T5.
It changes four things.

## 1. A factored second moment

For a matrix of gradients $G_t \in \mathbb{R}^{n \times k}$ Adam keeps $V_t$, an average of
$G_t^2$, with $nk$ entries.
Adafactor keeps only the averages of its row means $R_t \in \mathbb{R}^n$ and column means
$C_t \in \mathbb{R}^k$ and rebuilds

$$\hat{V}_t = \frac{R_t C_t^\top}{\operatorname{mean}(R_t)}.$$

(The paper keeps row and column *sums* and divides by the sum of $R_t$; with means the factors
$1 / k$ and $1 / n$ cancel and $\hat{V}_t$ is the same.)

This is the best rank-one approximation of $V_t$ in the sense of the (generalized) KL divergence;
for a matrix whose entries are the product of a row scale and a column scale it is exact.
$n + k$ numbers instead of $nk$: for a $4096 \times 4096$ layer, $8192$ instead of $16.8$ million.
A tensor with more than two dimensions is factored over its last two; a vector keeps the full $v_t$.

## 2. No momentum, and an increasing $\hat{\beta}_2$

There is no first moment (the paper found it unnecessary once the updates are clipped, and it would cost
the memory just saved).
The rate of the second moment changes with the step:
$1 - \hat{\beta}_{2,t} = t^{c}$ with $c$ = `beta2_decay` $= -0.8$.
At $t = 1$ the average is the first squared gradient (no bias correction is needed); later it
averages over roughly $t^{0.8}$ steps, longer and longer.

## 3. Relative step size

The step is scaled by the size of the parameter itself, $\operatorname{RMS}(\theta_{t-1})$ (at least
$\epsilon_2$), times $\rho_t = \min(\eta, 1 / \sqrt{t})$. A weight matrix with small entries takes small steps.

## 4. Update clipping

With $U_t = G_t / \sqrt{\hat{V}_t}$, the update is divided by $\max(1, \operatorname{RMS}(U_t) / d)$.
If the second moment is out of date (it lags behind a sudden change of the gradients) $U_t$ is
large and the clip limits the step.
The paper shows that a slowly decaying second moment ($\beta_2$ close to one, as in Adam) is what
makes these too-large updates when there is no learning-rate warm-up; with the clip and the
increasing $\hat{\beta}_{2,t}$, Adafactor trains without warm-up and without momentum.

## The update

\begin{align}
R_t &= \hat{\beta}_{2,t} R_{t-1} + (1 - \hat{\beta}_{2,t}) \operatorname{mean}_{\text{columns}}(G_t^2) \\
C_t &= \hat{\beta}_{2,t} C_{t-1} + (1 - \hat{\beta}_{2,t}) \operatorname{mean}_{\text{rows}}(G_t^2) \\
U_t &= G_t \, / \, \sqrt{\max\big(\hat{V}_t, \epsilon_1^2\big)} \\
\theta_t &= (1 - \eta \lambda) \theta_{t-1} -
  \frac{\max(\epsilon_2, \operatorname{RMS}(\theta_{t-1})) \, \rho_t}{\max(1, \operatorname{RMS}(U_t) / d)} U_t
\end{align}

As in `torch.optim.Adafactor`, $\epsilon_1$ is a floor, not a summand: $\operatorname{mean}(R_t)$ is
replaced by $\max(\operatorname{mean}(R_t), \epsilon_1)$, and $\hat{V}_t$ by $\max(\hat{V}_t, \epsilon_1^2)$
under the square root (its default, `None`, is the machine epsilon of the parameter's data type);
the decoupled weight decay is multiplied by $\eta$.
The paper instead adds $\epsilon_1 = 10^{-30}$ to $G_t^2$ before the row and column sums.
"""

import math
from typing import Any, Dict, List, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, check_non_negative, _where, count_steps


class Adafactor(GenericAdaptiveOptimizer):
    r"""
    ## Adafactor optimizer

    The arguments and defaults are those of `torch.optim.Adafactor`:

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is $\eta$, the largest relative step size
    * `beta2_decay` is $c \le 0$, with $1 - \hat{\beta}_{2,t} = t^c$
    * `eps` is the pair $(\epsilon_1, \epsilon_2)$: the floor of the second moment (`None` for the
      machine epsilon) and the floor of $\operatorname{RMS}(\theta)$
    * `d` is the clipping threshold $d \ge 1$
    * `weight_decay` is the decoupled weight decay $\lambda$, multiplied by the learning rate
    * `foreach` uses the multi-tensor `step_group` instead of the per-tensor `step_param`
    """

    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8, eps=(None, 1e-3), d: float = 1.,
                 weight_decay: float = 0., *, foreach: bool = True):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        **WeightDecay(weight_decay, weight_decouple=True).defaults())
        super().__init__(params, defaults, foreach=foreach)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters"""
        check_non_negative('lr', group['lr'], group_index)
        c = group['beta2_decay']
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not -math.inf < c <= 0:
            raise ValueError(f"Invalid `beta2_decay` = {c!r}{_where(group_index)}: it must be a number <= 0")
        eps = group['eps']
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"Invalid `eps` = {eps!r}{_where(group_index)}: it must be a pair (eps1 or None, eps2)")
        if eps[0] is not None:
            check_non_negative('eps[0]', eps[0], group_index)
        check_non_negative('eps[1]', eps[1], group_index)
        d = group['d']
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 1 <= d < math.inf:
            raise ValueError(f"Invalid `d` = {d!r}{_where(group_index)}: it must be a number >= 1")
        WeightDecay.check_group(group, group_index)

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        r"""
        ### Initialize the state

        $R_0 = 0$ of shape `[..., n, 1]` and $C_0 = 0$ of shape `[..., 1, k]` for a matrix
        (or a stack of them), or $v_0 = 0$ for a vector
        """
        state['step'] = 0
        if param.dim() > 1:
            state['row_var'] = param.new_zeros(param.shape[:-1] + (1,))
            state['col_var'] = param.new_zeros(param.shape[:-2] + (1, param.shape[-1]))
        else:
            state['v'] = torch.zeros_like(param)

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter
        """
        lr, d = group['lr'], group['d']
        eps1, eps2 = group['eps']
        if eps1 is None:
            eps1 = torch.finfo(param.dtype).eps
        state['step'] += 1
        t = state['step']
        # $1 - \hat{\beta}_{2,t} = t^c$
        one_minus_beta2 = t ** group['beta2_decay']
        # $\rho_t = \min(\eta, 1 / \sqrt{t})$
        rho = min(lr, 1 / math.sqrt(t))
        # The scale $\max(\epsilon_2, \operatorname{RMS}(\theta_{t-1})) \rho_t$, before the decay
        scale = max(eps2, param.norm(2).item() / math.sqrt(param.numel())) * rho
        # $\theta \leftarrow (1 - \eta \lambda) \theta$
        WeightDecay.apply(param, grad, group)

        if param.dim() > 1:
            # $R_{t-1}$ and $C_{t-1}$ (this `c` is the column factor, not the exponent $c$)
            r, c = state['row_var'], state['col_var']
            # $R_t$: the mean of $G_t^2$ over the last dimension, `[..., n, 1]`
            r.lerp_(grad.square().mean(dim=-1, keepdim=True), one_minus_beta2)
            # $C_t$: the mean of $G_t^2$ over the second-to-last dimension, `[..., 1, k]`
            c.lerp_(grad.square().mean(dim=-2, keepdim=True), one_minus_beta2)
            # $\hat{V}_t = R_t C_t^\top / \operatorname{mean}(R_t)$, the outer product `[..., n, k]`
            v_hat = (r @ c).div_(r.mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            v = state['v']
            # $v_t = \hat{\beta}_{2,t} v_{t-1} + (1 - \hat{\beta}_{2,t}) g_t^2$
            v.lerp_(grad.square(), one_minus_beta2)
            v_hat = v.clone()

        # $U_t = G_t / \sqrt{\max(\hat{V}_t, \epsilon_1^2)}$
        u = v_hat.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)
        # $\max(1, \operatorname{RMS}(U_t) / d)$
        clip = max(1., u.norm(2).item() / (math.sqrt(u.numel()) * d))
        # $\theta_t = \theta - \text{scale} \cdot U_t / \text{clip}$
        param.add_(u, alpha=-scale / clip)

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters (the fast path)

        The same update without waiting for the device: `step_param` reads two norms per tensor as
        Python numbers (`.item()`, which waits for a GPU to finish); here the scale and the clip stay
        tensors.
        The vectors are updated together with `_foreach` calls; the matrices one at a time, so that no
        more than one $U_t$ as large as a matrix exists at a time, and each squares its gradient once and
        builds $\hat{V}_t$ and $U_t$ in the memory of that square.
        """
        lr, d = group['lr'], group['d']
        eps1, eps2 = group['eps']
        if eps1 is None:
            eps1 = torch.finfo(params[0].dtype).eps
        by_step = count_steps(states)
        for t, indices in by_step.items():
            one_minus_beta2 = t ** group['beta2_decay']
            rho = min(lr, 1 / math.sqrt(t))
            p = [params[i] for i in indices]
            g = [grads[i] for i in indices]
            st = [states[i] for i in indices]
            roots = [math.sqrt(x.numel()) for x in p]
            # $\max(\epsilon_2, \operatorname{RMS}(\theta_{t-1})) \rho_t$ per tensor, before the decay
            scales = torch._foreach_norm(p)
            torch._foreach_div_(scales, roots)
            torch._foreach_clamp_min_(scales, eps2)
            torch._foreach_mul_(scales, rho)
            WeightDecay.apply_foreach(p, g, group)

            vectors = [j for j, x in enumerate(p) if x.dim() <= 1]
            if vectors:
                pv, gv = [p[j] for j in vectors], [g[j] for j in vectors]
                vs = [st[j]['v'] for j in vectors]
                # $v_t$
                torch._foreach_lerp_(vs, torch._foreach_mul(gv, gv), one_minus_beta2)
                # $U_t = g_t / \sqrt{\max(v_t, \epsilon_1^2)}$
                us = torch._foreach_clamp_min(vs, eps1 * eps1)
                torch._foreach_rsqrt_(us)
                torch._foreach_mul_(us, gv)
                # $\text{scale} / \max(1, \operatorname{RMS}(U_t) / d)$
                factors = _clip_factors(us, [scales[j] for j in vectors], [roots[j] * d for j in vectors])
                torch._foreach_mul_(us, factors)
                torch._foreach_sub_(pv, us)

            for j, x in enumerate(p):
                if x.dim() <= 1:
                    continue
                r, c = st[j]['row_var'], st[j]['col_var']
                # $G_t^2$, once for both means (`g * g` is faster than `square()` on a CPU)
                u = g[j] * g[j]
                # $R_t$ and $C_t$
                r.lerp_(u.mean(dim=-1, keepdim=True), one_minus_beta2)
                c.lerp_(u.mean(dim=-2, keepdim=True), one_minus_beta2)
                # $\hat{V}_t = (R_t / \operatorname{mean}(R_t)) C_t^\top$, written over $G_t^2$
                torch.mul(r / r.mean(dim=-2, keepdim=True).clamp_(min=eps1), c, out=u)
                # $U_t$
                u.clamp_(min=eps1 * eps1).rsqrt_().mul_(g[j])
                factor = _clip_factors([u], [scales[j]], [roots[j] * d])[0]
                x.addcmul_(u, factor, value=-1)


def _clip_factors(us: List[torch.Tensor], scales: List[torch.Tensor], limits: List[float]) -> List[torch.Tensor]:
    r"""$\text{scale} / \max(1, \|U_t\| / (\sqrt{\text{numel}} \, d))$ per tensor, as tensors"""
    clips = torch._foreach_norm(us)
    torch._foreach_div_(clips, limits)
    torch._foreach_clamp_min_(clips, 1.)
    return torch._foreach_div(scales, clips)
