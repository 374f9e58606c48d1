r"""
---
title: Schedule-Free AdamW
summary: >
  An annotated PyTorch implementation of Schedule-Free AdamW: no learning-rate decay, an average of
  the iterates instead, gradients taken at an interpolation, and the train/eval weight switch.
---

# Schedule-Free AdamW

This is a PyTorch implementation of Schedule-Free AdamW from the paper
[The Road Less Scheduled](https://arxiv.org/abs/2405.15682)
(official code: [github.com/facebookresearch/schedule_free](https://github.com/facebookresearch/schedule_free)).

## Why a schedule, and how to do without one

With a constant learning rate, SGD and Adam keep bouncing around the minimum at a distance set by
the learning rate and the gradient noise.
A decaying schedule (cosine, linear) shrinks the bounce at the end, but it needs to know the length
of the run in advance: stopping early, or training longer, gives a worse model than a run planned
for that length.
An old alternative is to *average* the iterates (Polyak-Ruppert averaging): the average of points
that bounce around the minimum is close to it.
In practice, plain averaging is slow, because the average remembers the early, bad points.

Schedule-Free keeps three sequences:

* $z_t$, the "fast" iterate that takes the gradient steps with a constant learning rate;
* $x_t$, a running average of the $z$'s, the weights used for evaluation;
* $y_t = (1 - \beta_1) z_t + \beta_1 x_t$, an interpolation between them, where the gradient is taken.

\begin{align}
g_t &= \nabla f(y_t) \\
z_{t+1} &= z_t - \gamma_t \big(g_t / (\sqrt{v_t} + \epsilon) + \lambda y_t\big) \\
x_{t+1} &= (1 - c_{t+1}) x_t + c_{t+1} z_{t+1} \\
y_{t+1} &= (1 - \beta_1) z_{t+1} + \beta_1 x_{t+1}
\end{align}

$v_t$ is Adam's moving average of $g_t^2$ (no first moment: the averaging plays the role of the
momentum) and $\gamma_t$ the learning rate times $\sqrt{1 - \beta_2^{t}}$, the bias correction of
$v_t$, and times a linear warm-up over the first `warmup_steps`.

The weight $c_{t+1} = w_t / \sum_{i \le t} w_i$ makes $x$ a weighted average of all $z$'s,
with $w_t = \max_{i \le t}(\gamma_i)^2$ (`weight_lr_power` $= 2$): the early points count little
while $\gamma_t$ is still growing, during the warm-up and while the factor $\sqrt{1 - \beta_2^t}$
approaches one ($w_t \propto 1 - \beta_2^t$ without warm-up: $0.10$ of the final weight at $t = 100$,
$0.63$ at $t = 1000$, $0.95$ at $t = 3000$ with $\beta_2 = 0.999$); after that the average is uniform.
(The paper writes $w_t = \gamma_t^2$; the official code takes the running maximum, which is the same
while $\gamma_t$ grows and keeps the weights from dropping if `lr` is lowered.)
Interpolating the gradient point $y$ between the average and the fast iterate is what makes the
method fast: with $\beta_1 = 0$ it is plain averaging, with $\beta_1 = 1$ it is gradient descent
evaluated at the average (primal averaging); in between, the paper shows it matches the
best schedules without knowing the stopping time.

## Train and eval weights

The model's parameters hold $y$ during training, since that is where the gradients are taken, but
the weights to evaluate or to ship are $x$.
`optimizer.eval()` moves the parameters to $x$ and `optimizer.train()` moves them back to $y$;
call them wherever you call `model.eval()` and `model.train()`, and save checkpoints in eval mode.
Only $z$ (and $v$) is stored: since $y = (1 - \beta_1) z + \beta_1 x$,

$$x = y + \Big(1 - \frac{1}{\beta_1}\Big)(z - y) \qquad y = x + (1 - \beta_1)(z - x),$$

so both switches are a linear interpolation towards $z$, and the state is two tensors per parameter,
as for Adam.
In the step, $y_{t+1}$ is computed from $y_t$ and $z$ directly (the same algebra), so $x$ never exists in
memory during training.

The weight decay is taken at $y$ and goes through $z$, as in the official code; it is multiplied
by $\gamma_t$, the PyTorch convention (see [`WeightDecay`](index.html)).

## Which official version

This page implements the paper's algorithm, which the official code keeps as `AdamWScheduleFreePaper`
(it was `AdamWScheduleFree` before version 1.3 of the package).
Since version 1.3 the official `AdamWScheduleFree` no longer multiplies the learning rate by
$\sqrt{1 - \beta_2^t}$; it divides $v_t$ by $1 - \beta_2^t$ instead (Adam's usual correction, with
$\epsilon$ added after it).
The gradient step is then the same up to the place of $\epsilon$, but the weight decay and the
averaging weights $w_t$ are no longer damped during the first few thousand steps (at $t = 1$ its
decay is $1 / \sqrt{1 - \beta_2} \approx 32$ times ours).
Its newest version also has an `inner_momentum` (default $0$, which is our algorithm's).
Both official classes start in eval mode, and `step()` fails until `optimizer.train()` is called;
ours starts in train mode.
"""

import math
from typing import Any, Dict, Optional

import torch

from labml_nn.optimizers import GenericAdaptiveOptimizer, WeightDecay, check_non_negative, iterate_chunks, _where


class ScheduleFreeAdamW(GenericAdaptiveOptimizer):
    r"""
    ## Schedule-Free AdamW optimizer

    The arguments and defaults are those of the official `AdamWScheduleFreePaper`, the algorithm of the
    paper (and of `AdamWScheduleFree` before version 1.3):

    * `params` is the iterable of parameters or the list of parameter groups
    * `lr` is the learning rate
    * `betas` is $(\beta_1, \beta_2)$: the interpolation of $y$ and the rate of $v$
    * `eps` is $\epsilon$
    * `weight_decay` is $\lambda$
    * `warmup_steps` is the length of the linear warm-up
    * `r` weights the average by $t^r$ as well ($0$: not at all)
    * `weight_lr_power` is the power of the largest learning rate so far in the weights $w_t$
    * `foreach` uses `_foreach` calls, one chunk at a time (see [`iterate_chunks`](index.html))
    * `chunk_size` is the number of elements the multi-tensor path updates at a time
    """

    def __init__(self, params, lr: float = 0.0025, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0., warmup_steps: int = 0, r: float = 0., weight_lr_power: float = 2.,
                 foreach: bool = True, *, chunk_size: Optional[int] = None):
        defaults = dict(lr=lr, betas=betas, eps=eps, warmup_steps=warmup_steps, r=r,
                        weight_lr_power=weight_lr_power,
                        # The per-group counters: $t$, $\sum w$, the largest $\gamma$ so far, and the mode
                        k=0, weight_sum=0., lr_max=-1., train_mode=True,
                        **WeightDecay(weight_decay, weight_decouple=False).defaults())
        super().__init__(params, defaults, foreach=foreach, chunk_size=chunk_size)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """Check the hyper-parameters"""
        super().check_group(group, group_index)
        WeightDecay.check_group(group, group_index)
        w = group['warmup_steps']
        if isinstance(w, bool) or not isinstance(w, int) or w < 0:
            raise ValueError(f"Invalid `warmup_steps` = {w!r}{_where(group_index)}: it must be an integer >= 0")
        check_non_negative('r', group['r'], group_index)
        check_non_negative('weight_lr_power', group['weight_lr_power'], group_index)
        if group['betas'][0] == 0:
            raise ValueError(f"Invalid `betas[0]` = 0{_where(group_index)}: the eval switch divides by it; "
                             f"use a value in (0, 1)")

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        r"""
        ### Initialize the state: $z_1 = x_1 = y_1 = \theta$, $v_0 = 0$
        """
        state['z'] = param.detach().clone()
        state['v'] = torch.zeros_like(param, memory_format=torch.preserve_format)

    @torch.no_grad()
    def eval(self):
        r"""
        ### Move the parameters to the evaluation weights, $x = y + (1 - 1 / \beta_1)(z - y)$
        """
        for group in self.param_groups:
            if group['train_mode']:
                beta1 = group['betas'][0]
                for p in group['params']:
                    if 'z' in self.state[p]:
                        p.lerp_(self.state[p]['z'], 1 - 1 / beta1)
                group['train_mode'] = False

    @torch.no_grad()
    def train(self):
        r"""
        ### Move the parameters back to the gradient point, $y = x + (1 - \beta_1)(z - x)$
        """
        for group in self.param_groups:
            if not group['train_mode']:
                beta1 = group['betas'][0]
                for p in group['params']:
                    if 'z' in self.state[p]:
                        p.lerp_(self.state[p]['z'], 1 - beta1)
                group['train_mode'] = True

    def _advance(self, group: Dict[str, Any]):
        r"""
        ### The step's scalars: $\gamma_t$ and $c_{t+1}$

        They are shared by the whole group, so they are counted per group, as in the official code.
        """
        beta2 = group['betas'][1]
        k = group['k']
        # Linear warm-up
        schedule = (k + 1) / group['warmup_steps'] if k < group['warmup_steps'] else 1.
        # $\gamma_t$, with the bias correction of $v_t$ folded in
        gamma = group['lr'] * schedule * math.sqrt(1 - beta2 ** (k + 1))
        group['lr_max'] = max(gamma, group['lr_max'])
        # $w_t = t^r \max_{i \le t}(\gamma_i)^{\text{power}}$, with $t = k + 1$
        weight = (k + 1) ** group['r'] * group['lr_max'] ** group['weight_lr_power']
        group['weight_sum'] += weight
        # $c_{t+1} = w_t / \sum w$
        c = weight / group['weight_sum'] if group['weight_sum'] > 0 else 0.
        group['k'] = k + 1
        return gamma, c

    @torch.no_grad()
    def step(self, closure=None):
        """
        ### Optimizer step (in train mode only)
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if not group['train_mode']:
                raise RuntimeError("ScheduleFreeAdamW.step() in eval mode: call optimizer.train() "
                                   "(with model.train()) before training")
            gamma, c = self._advance(group)
            for params, grads, states in self.gather(group).values():
                if group['foreach']:
                    self._step_foreach(group, params, grads, states, gamma, c)
                else:
                    for param, grad, state in zip(params, grads, states):
                        self._step_param(state, group, grad, param, gamma, c)
        return loss

    def _step_param(self, state, group, grad, y, gamma: float, c: float):
        r"""
        ### Update one parameter (it holds $y_t$)
        """
        beta1, beta2 = group['betas']
        z, v = state['z'], state['v']
        # $v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2$
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        # $u_t = g_t / (\sqrt{v_t} + \epsilon) + \lambda y_t$
        u = grad / v.sqrt().add_(group['eps'])
        if group['weight_decay'] != 0:
            u.add_(y, alpha=group['weight_decay'])
        # $y_{t+1} = (1 - c) y_t + c z_t - \gamma_t (1 - \beta_1 + c \beta_1) u_t$,
        # which is $(1 - \beta_1) z_{t+1} + \beta_1 x_{t+1}$ written with $y_t$ and $z_t$ only
        y.lerp_(z, c)
        y.add_(u, alpha=gamma * (beta1 * (1 - c) - 1))
        # $z_{t+1} = z_t - \gamma_t u_t$
        z.sub_(u, alpha=gamma)

    def _step_foreach(self, group, ys, grads, states, gamma: float, c: float):
        """The same with `_foreach` calls, one chunk at a time"""
        beta1, beta2 = group['betas']
        zs = [s['z'] for s in states]
        vs = [s['v'] for s in states]
        for y, g, z, v in iterate_chunks([ys, grads, zs, vs], self.chunk_numel(ys[0].device)):
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, g, g, value=1 - beta2)
            u = torch._foreach_sqrt(v)
            torch._foreach_add_(u, group['eps'])
            u = torch._foreach_div(g, u)
            if group['weight_decay'] != 0:
                torch._foreach_add_(u, y, alpha=group['weight_decay'])
            torch._foreach_lerp_(y, z, c)
            torch._foreach_add_(y, u, alpha=gamma * (beta1 * (1 - c) - 1))
            torch._foreach_sub_(z, u, alpha=gamma)
