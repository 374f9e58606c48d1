r"""
---
title: Sophia-G Optimizer
summary: >
  An annotated PyTorch implementation of Sophia-G, a second-order optimizer for language-model
  pre-training that divides the momentum by a cheap estimate of the diagonal Hessian and clips the result.
---

# Sophia-G Optimizer

This is a PyTorch implementation of Sophia-G from the paper
[Sophia: A Scalable Stochastic Second-order Optimizer for Language Model Pre-training](https://arxiv.org/abs/2305.14342).
(The official code is at [github.com/Liuhong99/Sophia](https://github.com/Liuhong99/Sophia).)

Sophia keeps, for every parameter, an exponential moving average of the gradient (like the momentum
of Adam) and an exponential moving average of an estimate of the diagonal of the Hessian.
The step is the momentum divided by the curvature, a per-coordinate Newton step, clipped so that no
coordinate moves by more than the learning rate:

\begin{align}
m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
h_t &= \beta_2 h_{t-k} + (1 - \beta_2) \hat{h}_t \quad \text{if } t \bmod k = 1,
  \text{ otherwise } h_t = h_{t-1} \\
\theta_t &= \theta_{t-1} - \eta \lambda \theta_{t-1}
  - \eta \cdot \operatorname{clip}\bigg(\frac{m_t}{\max(\rho h_t, \epsilon)}, 1\bigg)
\end{align}

where $g_t$ is the gradient, $\hat{h}_t$ a fresh estimate of the diagonal Hessian computed every
$k$ steps, $\eta$ the learning rate, $\lambda$ the weight decay, and
$\operatorname{clip}(z, 1) = \max(\min(z, 1), -1)$ applied to each element.
The paper calls the scale $\rho$ of the curvature $\gamma$; we keep the name `rho` used by the
official code.

## Why divide by the curvature

Along one coordinate, a loss that is locally a parabola $\frac{1}{2} h \theta^2$ has gradient
$h \theta$ and its minimum is reached in one step of $-g / h$.
In a language model the curvature $h$ differs by orders of magnitude between coordinates:
a single learning rate is either too small for the flat directions or too large for the sharp ones.
Dividing by $h$ gives every coordinate a step suited to its own curvature.
Adam also divides by something, $\sqrt{v_t}$, but that measures the size of the gradients, not the
curvature; Sophia uses a real (estimated) second derivative.

## Why only the positive diagonal, and why the clip

A full Newton step is out of reach: the Hessian of a model with $d$ parameters has $d^2$ entries.
Sophia keeps only its diagonal.
Three things can still go wrong with $m / h$, and the update guards against each:

* The loss is not convex, so curvature can be negative; dividing by a negative $h$ would move *up*
  the slope.
  The Gauss-Newton-Bartlett estimate below is a sum of squares and is never negative, and
  $\max(\rho h_t, \epsilon)$ keeps the denominator positive in any case.
* Where the curvature is close to zero the ratio is huge.
  Clipping each element to $[-1, 1]$ bounds the step of every coordinate by $\eta$.
  In a flat region, where most elements clip, Sophia becomes sign-momentum (the sign of $m_t$ times
  $\eta$), a safe fallback.
* The estimate is noisy and out of date (it is refreshed only every $k$ steps).
  The clip limits the damage that a bad estimate can do in the mean time.

## What $\rho$ means

Taking $\rho$ out of the denominator (and ignoring $\epsilon$) shows what the step is:

$$\eta \cdot \operatorname{clip}\bigg(\frac{m_t}{\rho h_t}, 1\bigg)
  = \frac{\eta}{\rho} \cdot \operatorname{clip}\bigg(\frac{m_t}{h_t}, \rho\bigg).$$

$m_t / h_t$ is the per-coordinate Newton step, a distance in the units of the parameter.
Sophia clips it at $\rho$ and then scales it by $\eta / \rho$.
So $\rho$ is the largest Newton step that is trusted: a coordinate whose Newton step is shorter than
$\rho$ moves by $\frac{\eta}{\rho}$ times that step (the Newton step is *not* taken as it is, unless
$\eta = \rho$), and every other coordinate moves by exactly $\eta$ in the direction of $m_t$.
A smaller $\rho$ clips more coordinates (more sign-momentum) and, for a fixed $\eta$, makes the
unclipped steps larger; a larger $\rho$ clips fewer.
This is why the official repository suggests tuning $\rho$ by the fraction of coordinates that are
clipped, which a training loop can log cheaply, rather than by the loss alone.

## The EMA of the Hessian, refreshed every $k$ steps

Estimating the diagonal costs one extra backward pass, so it is done only every $k$ steps
(the paper uses $k = 10$; what that costs is measured on the
[training page](../transformers/basic/with_sophia.html)).
Each estimate is noisy; their exponential moving average $h_t$ (rate $\beta_2$) is smooth.
The diagonal changes slowly during training, so an average of recent estimates is still a good
description of the current curvature.
In code this is a separate call: the training loop calls `update_hessian(n_tokens)` every $k$ steps
and `step()` every step.

## The Gauss-Newton-Bartlett (GNB) estimator

For a model $f(\theta, x)$ trained with cross-entropy, the Gauss-Newton matrix
$J^\top S J$ ($J$ is the Jacobian of the logits with respect to $\theta$, $S$ the Hessian of the loss
with respect to the logits) is a positive semi-definite approximation to the Hessian.
Bartlett's second identity says that, when the label $\hat{y}$ is *sampled from the model's own
distribution* $\operatorname{softmax}(f(\theta, x))$,

$$\operatorname{E}_{\hat{y}}\big[\nabla_f \ell(f, \hat{y}) \nabla_f \ell(f, \hat{y})^\top\big] = S.$$

So the squared gradient of the loss on sampled labels estimates the diagonal of the Gauss-Newton
matrix.
For a mini-batch of $B$ examples with $\hat{L}(\theta) = \frac{1}{B} \sum_b \ell(f(\theta, x_b), \hat{y}_b)$
the estimator is

$$\hat{h} = B \cdot \nabla_\theta \hat{L}(\theta) \odot \nabla_\theta \hat{L}(\theta).$$

The factor $B$ undoes the averaging.
Write $g_b = \nabla_\theta \ell(f(\theta, x_b), \hat{y}_b)$ for the gradient of one example, so that
$\nabla_\theta \hat{L} = \frac{1}{B} \sum_b g_b$ and

$$B \cdot \nabla_\theta \hat{L} \odot \nabla_\theta \hat{L}
  = \frac{1}{B} \sum_b g_b \odot g_b + \frac{1}{B} \sum_{b \ne c} g_b \odot g_c.$$

Because the labels are drawn from the model's own distribution, each $g_b$ has zero mean
(the expected gradient of the cross-entropy with respect to the logits is
$\operatorname{softmax}(f) - \operatorname{E}[\text{one-hot}(\hat{y})] = 0$), and the labels of different
examples are independent, so the cross terms vanish in expectation.
What remains is the mean over the batch of the per-example estimates: $\hat{h}$ estimates the diagonal of
the Gauss-Newton matrix of $\hat{L}$ without bias, whatever the batch size.
In a language model every token is an example, so $B$ is the number of tokens (all sequences,
all positions) whose losses are averaged into $\hat{L}$.

The training loop therefore does, every $k$ steps: a forward pass, sample labels from the logits
(`gnb_loss` below), backward, and `update_hessian(n_tokens)`, which folds
$B \cdot g \odot g$ into $h$.

## Matching the official implementation

The official `SophiaG` differs in how it scales $h$, not in what it computes.
Its `update_hessian` keeps $h' = \operatorname{EMA}(\hat{g} \odot \hat{g})$ without the factor $B$, and its
`step(bs=...)` divides by $\rho' \cdot \mathrm{bs} \cdot h' + 10^{-15}$ and clips with
$\operatorname{sign}(m) \min(|m| / \dots, 1)$, which is the same as clipping $m / \dots$ to $[-1, 1]$.
Weight decay is decoupled and multiplied by the learning rate in both, and both use the same
$m_t$ without bias correction.

If every call of our `update_hessian` gets the same `n_tokens` $= B$, our $h_t$ is exactly $B h'_t$
and our denominator is $\max(\rho B h'_t, \epsilon)$. Hence the mapping

* `lr`, `betas` and `weight_decay` are the same;
* our `rho` $= \rho' \cdot \mathrm{bs} / B$, which makes our $\rho B h'_t$ equal to the official
  $\rho' \cdot \mathrm{bs} \cdot h'_t$; it is simply `rho` $= \rho'$ when the official `bs` is the number
  of tokens of the Hessian batch;
* `eps` $= 10^{-15}$. The official code *adds* it and we take the maximum, so the two agree
  exactly when $h = 0$ and to within the rounding of float32 (a relative $10^{-15} / (\rho B h)$)
  otherwise; they differ only where $\rho B h$ is itself of the order of $10^{-15}$, where both
  clip any $|m|$ above $10^{-15}$ anyway.

When `n_tokens` changes from one estimate to the next there is no exact mapping: the official code
weights every past estimate by the current `bs`, we weight each by its own batch size.
`tests/test_optimizers.py` checks the mapping against a transcription of the official update.

## This implementation

Like the [other optimizers](index.html) it is built on `GenericAdaptiveOptimizer`:
`step_param` is the per-tensor update, the clearest statement of the algorithm, and `step_group`
applies the same operations to lists of tensors in chunks.
An optional fused path compiles the update with `torch.compile` into a single pass over memory.
The state per parameter is the two moving averages, `m` and `h`, nothing more.

It works unchanged with `DistributedDataParallel`: the gradients are already averaged across the
processes when `update_hessian` and `step` run, so `n_tokens` is the number of tokens in the global
batch (all processes, all gradient-accumulation micro-batches).

The [training experiment](../transformers/basic/with_sophia.html) trains a small transformer with it.
"""

import math
from typing import Any, Dict, List, Optional

import torch
import torch.nn.functional as F

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, check_positive, \
    iterate_chunks


class Sophia(GenericAdaptiveOptimizer):
    r"""
    ## Sophia-G optimizer

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is the learning rate $\eta$
    * `betas` is the pair $(\beta_1, \beta_2)$: the rate of the gradient EMA and of the Hessian EMA
    * `eps` is $\epsilon$, the floor of the denominator $\max(\rho h_t, \epsilon)$
    * `rho` is $\rho$, the scale of the curvature (larger `rho` gives smaller steps and fewer clipped
      coordinates)
    * `weight_decay` is the decoupled weight decay $\lambda$, multiplied by the learning rate
    * `foreach` uses the multi-tensor `step_group` instead of the per-tensor `step_param`
    * `fused` runs the multi-tensor update as one compiled pass (`torch.compile`); it takes a while
      to compile on the first step, so it is off by default
    * `chunk_size` is the number of elements the multi-tensor path updates at a time
      (`None` picks one for the device, see [`chunk_numel`](index.html))
    """

    def __init__(self, params, lr: float = 1e-4, betas=(0.965, 0.99), eps: float = 1e-15, rho: float = 0.04,
                 weight_decay: float = 1e-1, *, foreach: bool = True, fused: bool = False,
                 chunk_size: Optional[int] = None):
        if fused and not foreach:
            raise ValueError("Invalid `fused` = True with `foreach` = False: the fused path replaces the "
                             "multi-tensor one; leave `foreach` at True")
        self.fused = bool(fused)
        self._fused_scalars: Dict[Any, torch.Tensor] = {}
        # The decay is decoupled and scaled by the learning rate, as in the paper
        defaults = dict(lr=lr, betas=betas, eps=eps, rho=rho,
                        **WeightDecay(weight_decay, weight_decouple=True, absolute=False).defaults())
        super().__init__(params, defaults, foreach=foreach, chunk_size=chunk_size)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        r"""Check the hyper-parameters; $\epsilon$ and $\rho$ must be positive"""
        super().check_group(group, group_index)
        check_positive('eps', group['eps'], group_index)
        check_positive('rho', group['rho'], group_index)
        WeightDecay.check_group(group, group_index)

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        """
        ### Initialize the state of a parameter

        Both moving averages start at zero.
        """
        # Gradient EMA $m_0 = 0$
        state['m'] = torch.zeros_like(param, memory_format=torch.preserve_format)
        # Hessian EMA $h_0 = 0$
        state['h'] = torch.zeros_like(param, memory_format=torch.preserve_format)

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        r"""
        ### Update one parameter

        This is the whole algorithm for one tensor.
        """
        lr, rho, eps = group['lr'], group['rho'], group['eps']
        beta1, _ = group['betas']
        m, h = state['m'], state['h']

        # Decoupled weight decay $\theta \leftarrow (1 - \eta \lambda) \theta$
        grad = WeightDecay.apply(param, grad, group)
        # $m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$, written as a linear interpolation
        # $m_t = m_{t-1} + (1 - \beta_1)(g_t - m_{t-1})$
        m.lerp_(grad, 1 - beta1)
        # The denominator $\max(\rho h_t, \epsilon)$
        denominator = (h * rho).clamp_(min=eps)
        # The pre-conditioned and clipped step $\operatorname{clip}\big(m_t / \max(\rho h_t, \epsilon), 1\big)$
        ratio = (m / denominator).clamp_(min=-1., max=1.)
        # $\theta_t = \theta_{t-1} - \eta \cdot \texttt{ratio}$
        param.add_(ratio, alpha=-lr)

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        r"""
        ### Update a list of parameters

        The same operations as `step_param`, each applied to a list of tensors by one `_foreach` call.
        We run them one chunk at a time (see [`iterate_chunks`](index.html)), so the temporary lists
        `denominator` and `ratio` are never larger than a chunk.
        """
        lr, rho, eps = group['lr'], group['rho'], group['eps']
        beta1, _ = group['betas']
        ms = [s['m'] for s in states]
        hs = [s['h'] for s in states]

        if self.fused:
            _fused_update(params, grads, ms, hs, self._scalars(params), lr=lr, beta1=beta1, rho=rho,
                          eps=eps, decay=WeightDecay.decay_factor(group))
            return

        for p, g, m, h in iterate_chunks([params, grads, ms, hs], self.chunk_numel(params[0].device)):
            # $\theta \leftarrow (1 - \eta \lambda) \theta$
            g = WeightDecay.apply_foreach(p, g, group)
            # $m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$
            torch._foreach_lerp_(m, g, 1 - beta1)
            # $\max(\rho h_t, \epsilon)$
            denominator = torch._foreach_mul(h, rho)
            torch._foreach_clamp_min_(denominator, eps)
            # $\operatorname{clip}\big(m_t / \max(\rho h_t, \epsilon), 1\big)$
            ratio = torch._foreach_div(m, denominator)
            torch._foreach_clamp_min_(ratio, -1.)
            torch._foreach_clamp_max_(ratio, 1.)
            # $\theta_t = \theta_{t-1} - \eta \cdot \texttt{ratio}$
            torch._foreach_add_(p, ratio, alpha=-lr)

    def _scalars(self, params: List[torch.Tensor]) -> torch.Tensor:
        """
        A reusable two-element tensor for the scalars of the fused path, on the parameters' device;
        float64 for float64 parameters, otherwise float32
        """
        key = (params[0].device, params[0].dtype)
        if key not in self._fused_scalars:
            dtype = torch.float64 if params[0].dtype == torch.float64 else torch.float32
            self._fused_scalars[key] = torch.zeros(2, dtype=dtype, device=params[0].device)
        return self._fused_scalars[key]

    @torch.no_grad()
    def update_hessian(self, n_tokens: int):
        r"""
        ### Fold a new Hessian estimate into the EMA

        Call this after a backward pass of the loss on labels *sampled from the model* (see `gnb_loss`),
        with the gradients of that loss in `p.grad`:

        $$h_t = \beta_2 h_{t-k} + (1 - \beta_2) \cdot B \cdot \hat{g} \odot \hat{g}$$

        * `n_tokens` is $B$, the number of tokens whose losses were averaged into that loss
          (over all processes and gradient-accumulation micro-batches)

        It may be called before the first `step()`; the state is created here if needed.
        """
        if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, float)) or not 0 < n_tokens < math.inf:
            raise ValueError(f"Invalid `n_tokens` = {n_tokens!r}: it must be the positive number of tokens "
                             f"in the batch used for the Hessian estimate")
        for group in self.param_groups:
            _, beta2 = group['betas']
            for params, grads, states in self.gather(group).values():
                hs = [s['h'] for s in states]
                if not group['foreach']:
                    # One tensor at a time: $h \leftarrow \beta_2 h + (1 - \beta_2) B g \odot g$
                    for h, g in zip(hs, grads):
                        h.mul_(beta2).addcmul_(g, g, value=(1 - beta2) * n_tokens)
                    continue
                # The fused path: one compiled pass that reads $h, g$ and writes $h$
                if self.fused:
                    scalars = self._scalars(params)
                    _fused_hessian(hs, grads, scalars, beta2=beta2, scale=(1 - beta2) * n_tokens)
                    continue
                # The same with `_foreach` calls; there are no temporaries to keep small, so no chunks
                torch._foreach_mul_(hs, beta2)
                torch._foreach_addcmul_(hs, grads, grads, value=(1 - beta2) * n_tokens)


def gnb_loss(logits: torch.Tensor) -> torch.Tensor:
    r"""
    ## Loss for the Gauss-Newton-Bartlett estimate

    * `logits` are the model's outputs `[..., n_classes]`, for a language model `[batch, seq, n_vocab]`

    It samples labels $\hat{y} \sim \operatorname{softmax}(f(\theta, x))$ from the model's own
    distribution and returns the mean cross-entropy on them. Call `backward()` on it and then
    `update_hessian(n_tokens)` with `n_tokens` the number of label positions, `logits[..., 0].numel()`.
    """
    # Flatten to `[n_tokens, n_classes]`
    flat = logits.reshape(-1, logits.shape[-1])
    # Sample one label per position; no gradient flows through the sampling
    with torch.no_grad():
        y_hat = torch.multinomial(torch.softmax(flat.float(), dim=-1), num_samples=1).squeeze(-1)
    # $\hat{L} = \frac{1}{B} \sum_b \ell(f(\theta, x_b), \hat{y}_b)$
    return F.cross_entropy(flat, y_hat)


def _update_lists(params: List[torch.Tensor], grads: List[torch.Tensor], ms: List[torch.Tensor],
                  hs: List[torch.Tensor], lr: torch.Tensor, decay: torch.Tensor,
                  beta1: float, rho: float, eps: float):
    r"""
    ### The fused path

    This is `step_param` applied to every tensor of the lists.
    `torch.compile` turns it into one loop per tensor that reads $\theta, g, m, h$ once and writes
    $\theta, m$ once, with no temporaries in memory.
    The learning rate and the decay factor $1 - \eta \lambda$ are tensors so that a learning-rate
    schedule does not cause a recompilation.
    """
    for p, g, m, h in zip(params, grads, ms, hs):
        p.mul_(decay)
        m.lerp_(g, 1 - beta1)
        ratio = (m / (h * rho).clamp(min=eps)).clamp(min=-1., max=1.)
        p.sub_(ratio * lr)


def _hessian_lists(hs: List[torch.Tensor], grads: List[torch.Tensor], scale: torch.Tensor, beta2: float):
    r"""
    The fused form of `update_hessian`, $h \leftarrow \beta_2 h + (1 - \beta_2) B g \odot g$, with
    `scale` $= (1 - \beta_2) B$
    """
    for h, g in zip(hs, grads):
        h.mul_(beta2).addcmul_(g, g * scale)


# Compiled on first use, shared by all optimizers
_compiled_update_lists = None
_compiled_hessian_lists = None


def _fused_hessian(hs, grads, scalars: torch.Tensor, *, beta2: float, scale: float):
    """Run the compiled `_hessian_lists`"""
    global _compiled_hessian_lists
    if _compiled_hessian_lists is None:
        _compiled_hessian_lists = torch.compile(_hessian_lists, fullgraph=True, dynamic=False)
    scalars[0].fill_(scale)
    _compiled_hessian_lists(hs, grads, scalars[0], beta2)


def _fused_update(params, grads, ms, hs, scalars: torch.Tensor, *, lr: float, beta1: float, rho: float,
                  eps: float, decay: float):
    """Run the compiled update; `scalars` is a reusable two-element tensor on the parameters' device"""
    global _compiled_update_lists
    if _compiled_update_lists is None:
        _compiled_update_lists = torch.compile(_update_lists, fullgraph=True, dynamic=False)
    # Set the values in place: no new tensor and, on a GPU, no synchronization
    scalars[0].fill_(lr)
    scalars[1].fill_(decay)
    _compiled_update_lists(params, grads, ms, hs, scalars[0], scalars[1], beta1, rho, eps)
