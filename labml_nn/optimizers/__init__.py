r"""
---
title: Optimizers
summary: >
  The optimizers of language-model training built from scratch on one small base class (Adam, AdamW,
  schedules, AMSGrad, RAdam, AdaBelief, Cautious AdamW, Lion, Adafactor, Muon, SOAP, Sophia-G, Schedule-Free),
  verified against PyTorch or the authors' code, and one benchmark of all of them.
---

# Optimizers

An optimizer turns the gradients left in `p.grad` by `loss.backward()` into an in-place change of
every parameter `p`.
This chapter builds the optimizers a reader meets in language-model training from scratch, on top of
one small base class (below), so that each page only has to explain the update rule of its paper.
Each one is checked in the tests against `torch.optim`, where PyTorch has it, or against a
transcription of the authors' code.

## What they share, and the reading order

Almost all of them keep moving averages of the gradient and divide the step, coordinate by
coordinate, by a measure of scale; they differ in what that measure is and in how the step is
bounded.

* [Adam and AdamW](adam.html): the first and second moments, bias correction, the size of a step,
  and decoupled weight decay. Read it first; every other page refers to it.
* The learning rate over time: [warm-up](adam_warmup.html), the
  [Noam schedule](noam.html) of the original transformer, and
  [warm-up with cosine decay](adam_warmup_cosine_decay.html), the usual pre-training schedule.
* Repairs of Adam: [AMSGrad](amsgrad.html) (a denominator that never shrinks),
  [RAdam](radam.html) (a warm-up derived from the variance of the denominator),
  [AdaBelief](ada_belief.html) (the variance of the gradient around its average instead of its size),
  [Cautious AdamW](cautious.html) (skip the coordinates where momentum and gradient disagree).
* Less memory: [Lion](lion.html) (the sign of the momentum, one state tensor),
  [Adafactor](adafactor.html) (a factored second moment, one row and one column per matrix),
  and [Adam with fp32 master weights](adam_fp16.html) for models stored in 16 bits.
* Beyond the diagonal: [Muon](muon.html) orthogonalises the momentum of each matrix,
  [SOAP](soap.html) runs Adam in the eigenbasis of Shampoo's preconditioner, and
  [Sophia-G](sophia.html) divides by an estimate of the Hessian's diagonal and clips.
* Without a schedule: [Schedule-Free AdamW](schedule_free.html) replaces the decay by an average
  of the iterates.
* [The benchmark](benchmark.html) trains one small transformer with all of them under one protocol.

## What the benchmark measured

We ran [the benchmark](benchmark.html) in its default configuration: a 2-layer transformer with
$d_\text{model} = 96$ (236,417 parameters), 600 steps of 32 windows of 64 characters (1,228,800
tokens per run), 60 steps of warm-up and a cosine decay to zero. Every learning rate of every grid ran
with seed 0 (for Sophia-G with every $\rho$ of 0.04, 0.2, 1 and 5), and the best setting on the validation
split ran again with seeds 1 and 2: 121 runs. No grid had to grow; every best learning rate lies inside
its grid. The grid ran as four processes of one thread each on a 2-core CPU container that other jobs
shared (torch 2.13). The times come from one more run of each best setting, one process with one thread,
with nothing else running on the machine; every one of these re-runs reproduced its grid run's losses
exactly.

```bash
python -m labml_nn.optimizers.benchmark --optimizers sophia_g,adamw,amsgrad   # and three more such processes
python -m labml_nn.optimizers.benchmark                                       # gathers the 121 runs
python -m labml_nn.optimizers.benchmark --retime                              # alone on the machine
```

The table gives the test loss at the last step, mean and (smallest–largest) over the three seeds;
"clipped" is the share of Sophia-G's coordinates at the clip at the last evaluation. Every evaluation of
every run is in `benchmark_results.csv` next to this file, the table in `benchmark_summary.csv` and the
quiet re-runs in `benchmark_timing.csv`.

| optimizer | best lr | ρ | test loss, mean (min–max) over 3 seeds | valid loss | fwd-bwd passes | train time (s), quiet run | clipped |
|---|---|---|---|---|---|---|---|
| muon | 0.016 |  | 1.847 (1.840–1.857) | 1.713 | 600 | 32.7 |  |
| soap | 0.012 |  | 1.864 (1.853–1.869) | 1.716 | 600 | 37.4 |  |
| schedule_free_adamw | 0.016 |  | 1.928 (1.923–1.933) | 1.781 | 600 | 25.6 |  |
| cautious_adamw | 0.008 |  | 1.928 (1.920–1.937) | 1.812 | 600 | 26.5 |  |
| adamw | 0.008 |  | 1.947 (1.933–1.960) | 1.851 | 600 | 23.9 |  |
| radam | 0.016 |  | 1.953 (1.939–1.971) | 1.841 | 600 | 25.3 |  |
| adabelief | 0.008 |  | 1.955 (1.949–1.959) | 1.848 | 600 | 26.8 |  |
| amsgrad | 0.016 |  | 1.968 (1.961–1.978) | 1.873 | 600 | 23.9 |  |
| adafactor | 0.08 |  | 2.015 (2.009–2.020) | 1.949 | 600 | 27.0 |  |
| sophia_g_bias_corrected_h | 0.001 | 0.04 | 2.135 (2.131–2.139) | 2.095 | 660 | 30.8 | 91% |
| sophia_g | 0.001 | 0.04 | 2.139 (2.135–2.144) | 2.100 | 660 | 30.1 | 96% |
| sign_momentum | 0.001 |  | 2.140 (2.137–2.145) | 2.097 | 600 | 28.0 | 100% |
| lion | 0.002 |  | 2.163 (2.147–2.176) | 2.132 | 600 | 26.0 |  |

![Test loss against steps, forward-backward passes and training time](benchmark.png)

What it shows, and what it does not:

* Muon (with AdamW for the embeddings, the output layer and the vectors) and SOAP end lowest, at 1.847
  and 1.864, and their spreads over the seeds stay below AdamW's (1.933 to 1.960). They also cost more
  per step: 600 steps took 32.7 s and 37.4 s against AdamW's 23.9 s. Against time their lead is smaller
  but remains: with seed 0, Muon reaches AdamW's final loss (1.960 after 23.9 s) at step 400, after
  21.9 s (1.947), and SOAP at step 400, after 25.0 s (1.953).
* Schedule-Free AdamW, with no decay at all, ends at 1.928, level with Cautious AdamW and a little below
  AdamW with its tuned cosine schedule (1.947).
* RAdam (1.953), AdaBelief (1.955) and AMSGrad (1.968) end within about 0.02 of AdamW. Adafactor,
  with 0.03 bytes of state per parameter instead of 8, ends at 2.015.
* Sophia-G (2.139) is no better than its sign-momentum control (2.140). At its best setting
  ($\eta = 0.001$, $\rho = 0.04$) 96% of its coordinates are clipped, so it takes nearly the steps of sign
  momentum. The larger values of $\rho$, which clip fewer coordinates (about half at $\rho = 1$, 6% at
  $\rho = 5$), ended higher at that learning rate: 2.110, 2.134 and 2.241 on the validation split
  against 2.102. Our $\rho$ grid has its best at the small edge, but as $\rho \to 0$ Sophia-G becomes sign
  momentum, which the control covers. The bias-corrected $h$ changes the final loss by 0.004. Sophia-G
  also spends 10% more forward-backward passes.
* Lion ends last, at 2.163. It too takes sign steps, which favour large batches (see
  [its page](lion.html)); ours have 2,048 tokens.
* Every validation loss is 0.03 to 0.15 below the matching test loss: the two halves of the held-out
  text differ. The order on the validation split is the same, except for swaps between optimizers whose
  spreads overlap (AdamW with RAdam and AdaBelief, Sophia-G with sign momentum).
* This is 600 steps of a 236,000-parameter model on one small corpus, far from the pre-training regime
  these methods were designed for. It tests the code and the protocol; it does not rank the methods for
  pre-training.

The cost of the optimizers themselves was measured with
`python bench/optimizers.py --all --no-fused` (GPT-shaped parameters, 10.8M in 77 tensors, one thread,
median of 5 rounds of 8 timed steps, 3 for Muon and SOAP), on the same machine with nothing else running
(load average 1.0).

| optimizer (ours) | state B/param | step ms | `torch.optim` counterpart | state B/param | step ms | ours / torch |
|---|---|---|---|---|---|---|
| Sophia, multi-tensor | 8.000 | 43.2 | none | | | |
| Sophia, per-tensor | 8.000 | 34.5 | none | | | |
| Adam, multi-tensor | 8.000 | 47.8 | torch Adam foreach=True | 8.000 | 44.3 | 1.08x |
| AdamW, multi-tensor | 8.000 | 45.9 | torch AdamW foreach=True | 8.000 | 42.6 | 1.08x |
| AMSGrad, multi-tensor | 12.000 | 52.4 | torch Adam amsgrad foreach=True | 12.000 | 50.6 | 1.03x |
| RAdam, multi-tensor | 8.000 | 44.0 | torch RAdam foreach=True | 8.000 | 47.4 | 0.93x |
| Adafactor, multi-tensor | 0.026 | 41.3 | torch Adafactor foreach=True | 0.026 | 63.0 | 0.66x |
| Adafactor, per-tensor | 0.026 | 49.2 | torch Adafactor foreach=False | 0.026 | 55.5 | 0.89x |
| Adam fp32 master, multi-tensor | 12.000 | 55.8 | torch AdamW foreach=True on fp32 copies | 16.000 | 56.6 | 0.99x |
| Muon + AdamW, batched | 4.066 | 198.1 | torch Muon + AdamW foreach=True | 4.066 | 194.9 | 1.02x |
| Muon + AdamW, per-tensor | 4.066 | 198.3 | torch Muon + AdamW foreach=True | 4.066 | 194.9 | 1.02x |
| Lion, multi-tensor | 4.000 | 35.9 | none | | | |
| AdaBelief, multi-tensor | 8.000 | 54.5 | none | | | |
| Cautious AdamW, multi-tensor | 8.000 | 80.1 | none | | | |
| Cautious AdamW, per-tensor | 8.000 | 72.1 | none | | | |
| Schedule-Free AdamW, foreach | 8.000 | 47.2 | none | | | |
| SOAP, batched | 38.541 | 1301.4 | none | | | |
| SOAP, per-tensor | 38.541 | 1291.3 | none | | | |

Ours take 1.08 times as long as `torch.optim`'s foreach path for Adam and AdamW, 1.03 times for AMSGrad
and 1.02 times for Muon, so the target of at most 1.0x is missed there by a few percent; RAdam (0.93x),
Adafactor (0.66x) and Adam with fp32 master weights (0.99x) meet it. On a CPU with one thread the
per-tensor paths can be faster than the multi-tensor ones (Sophia-G: 34.5 ms against 43.2 ms), because one tensor at a time stays in the cache.

## How `torch.optim.Optimizer` is organised

### Parameter groups

The optimizer is constructed with the parameters to train, either as one iterable of tensors or as a
list of dictionaries such as `[{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.}]`.
Each dictionary becomes a *parameter group* in `self.param_groups`.
The keyword arguments of the constructor are the *defaults*: any hyper-parameter that a group does not
set itself is copied in from them.
Everything the update needs is therefore read from the group, never from the constructor arguments,
and a learning-rate schedule simply assigns `group['lr']` before each step.

### Per-parameter state

`self.state` is a dictionary keyed by the parameter tensor.
Each entry holds what the update carries from one step to the next, for example the moving averages
of Adam.
It starts empty and we fill it lazily, the first time a parameter has a gradient, so parameters that
never receive a gradient (frozen layers, unused embeddings) cost no memory.

### The `step()` contract

`step()` runs after `backward()` and before `zero_grad()`.
It must

* update the parameters in place (the model and every other reference keep pointing to the same tensors);
* skip parameters whose `p.grad` is `None`;
* run without recording an autograd graph (`torch.no_grad()`);
* optionally call a `closure` that re-evaluates the model and return its loss (some algorithms,
  such as L-BFGS, need several evaluations per step).

### Saving and loading

`state_dict()` replaces each parameter tensor by its position (counting through the groups in order)
and returns the groups' hyper-parameters together with the per-parameter state; `load_state_dict()`
maps the positions back onto the parameters of a new optimizer, built with the same groups.
Because everything our update reads lives in `param_groups` and `state`, a run that is saved and
loaded continues exactly as if it had not been interrupted.

### Many small tensors at once

A language model has tens or hundreds of parameter tensors.
Updating them one at a time costs a few kernel launches (or, on a CPU, a few passes over memory) per
tensor and per operation.
PyTorch's `torch._foreach_*` functions apply one operation to a whole list of tensors in one call;
`torch.optim.AdamW(foreach=True)` is written with them.
Our optimizers give both forms: a per-tensor `step_param`, which is the clearest statement of the
algorithm, and a multi-tensor `step_group` that performs the same operations with `_foreach` calls.

A straightforward multi-tensor update has one drawback: every intermediate result (say the ratio
$m / h$) is a list of tensors as large as all the parameters together, and each `_foreach` call streams
all of them through memory once more.
We therefore cut the flattened tensors into *chunks* of a bounded number of elements
(see `iterate_chunks`) and run the whole update on one chunk before moving to the next.
The temporaries are then only chunk-sized, and a chunk stays in the processor's cache while the
several operations of the update read and write it.
"""

import math
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch


def check_non_negative(name: str, value: Any, group_index: Optional[int] = None):
    r"""
    Raise a `ValueError` naming `name` unless `value` is a finite number $\ge 0$.
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid `{name}` = {value!r}{_where(group_index)}: "
                         f"it must be a finite number >= 0")


def check_positive(name: str, value: Any, group_index: Optional[int] = None):
    r"""
    Raise a `ValueError` naming `name` unless `value` is a finite number $> 0$.
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"Invalid `{name}` = {value!r}{_where(group_index)}: "
                         f"it must be a finite number > 0")


def check_betas(betas: Any, group_index: Optional[int] = None):
    r"""
    Raise a `ValueError` naming `betas` unless it is a pair of numbers in $[0, 1)$.
    """
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid `betas` = {betas!r}{_where(group_index)}: "
                         f"it must be a pair (beta1, beta2)")
    for i, beta in enumerate(betas):
        if not isinstance(beta, (int, float)) or isinstance(beta, bool) or not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid `betas[{i}]` = {beta!r}{_where(group_index)}: "
                             f"it must be a number in [0, 1)")


def _where(group_index: Optional[int]) -> str:
    return '' if group_index is None else f" in parameter group {group_index}"


class WeightDecay:
    r"""
    ## Weight decay

    Weight decay pulls every weight towards zero, with a coefficient $\lambda$ (`weight_decay`).
    There are two ways to add it to an adaptive optimizer, and they are not equivalent:

    * *Coupled* (L2 regularization): add $\lambda \theta$ to the gradient,
      $g_t \leftarrow g_t + \lambda \theta_{t-1}$.
      The decay then goes through the optimizer's rescaling, so in Adam a weight with large gradients
      (large $v_t$) is decayed less than a weight with small gradients.
    * *Decoupled* (AdamW, [Decoupled Weight Decay Regularization](https://arxiv.org/abs/1711.05101)):
      shrink the weight directly, $\theta_{t-1} \leftarrow (1 - \eta \lambda) \theta_{t-1}$, so every
      weight loses the same fraction $\eta \lambda$ of itself in a step, whatever its gradients.

    Multiplying the decoupled decay by the learning rate $\eta$ is PyTorch's convention
    (`torch.optim.AdamW`), and ours: the decay follows the schedule and its strength is tied to the
    learning rate.
    The AdamW paper multiplies it by the schedule multiplier $\eta_t$ only, not by the base
    learning rate $\alpha$ (where $\eta = \eta_t \alpha$), so its coefficient is
    $\lambda_{\text{paper}} = \alpha \lambda$; to use a value from the paper here, divide it by $\alpha$.
    With `absolute=True` the decay is $\theta_{t-1} \leftarrow (1 - \lambda) \theta_{t-1}$: a fraction
    $\lambda$ each step, independent of the learning rate.

    * `weight_decay` is the decay coefficient $\lambda$
    * `weight_decouple` chooses decoupled (`True`) or coupled (`False`) decay
    * `absolute` makes the decoupled decay independent of the learning rate

    The coefficient is stored in each parameter group as `weight_decay`, so groups can override it
    (biases and norms are usually given `weight_decay=0.`); the two switches are stored next to it.
    """

    def __init__(self, weight_decay: float = 0., weight_decouple: bool = True, absolute: bool = False):
        check_non_negative('weight_decay', weight_decay)
        if absolute and weight_decay > 1.0:
            raise ValueError(f"Invalid `weight_decay` = {weight_decay!r}: with absolute=True it is the "
                             f"fraction removed each step and must be <= 1")
        self.weight_decay = weight_decay
        self.weight_decouple = bool(weight_decouple)
        self.absolute = bool(absolute)

    def defaults(self) -> Dict[str, Any]:
        """The entries this adds to the optimizer's defaults (and so to every group)"""
        return dict(weight_decay=self.weight_decay,
                    weight_decouple=self.weight_decouple,
                    weight_decay_absolute=self.absolute)

    @staticmethod
    def check_group(group: Dict[str, Any], group_index: int):
        """Validate a group's weight decay"""
        check_non_negative('weight_decay', group['weight_decay'], group_index)
        if group.get('weight_decay_absolute') and group['weight_decay'] > 1.0:
            raise ValueError(f"Invalid `weight_decay` = {group['weight_decay']!r}{_where(group_index)}: with "
                             f"absolute decay it is the fraction removed each step and must be <= 1")

    @staticmethod
    def decay_factor(group: Dict[str, Any], lr: Optional[float] = None) -> float:
        r"""
        The factor $1 - \eta \lambda$ (or $1 - \lambda$) of the decoupled decay;
        `lr` is the learning rate of this step when a schedule changes it (default `group['lr']`)
        """
        if group['weight_decay_absolute']:
            return 1. - group['weight_decay']
        return 1. - (group['lr'] if lr is None else lr) * group['weight_decay']

    @staticmethod
    def apply(param: torch.Tensor, grad: torch.Tensor, group: Dict[str, Any],
              lr: Optional[float] = None) -> torch.Tensor:
        """
        Apply the decay to one tensor and return the gradient the update should use.
        """
        wd = group['weight_decay']
        # Nothing to do
        if wd == 0.:
            return grad
        # Decoupled: $\theta \leftarrow (1 - \eta \lambda) \theta$
        if group['weight_decouple']:
            param.mul_(WeightDecay.decay_factor(group, lr))
            return grad
        # Coupled: $g \leftarrow g + \lambda \theta$, in a new tensor so that `p.grad` is left unchanged
        return grad.add(param, alpha=wd)

    @staticmethod
    def apply_foreach(params: List[torch.Tensor], grads: List[torch.Tensor],
                      group: Dict[str, Any], lr: Optional[float] = None) -> List[torch.Tensor]:
        """The same for a list of tensors"""
        wd = group['weight_decay']
        if wd == 0.:
            return grads
        if group['weight_decouple']:
            torch._foreach_mul_(params, WeightDecay.decay_factor(group, lr))
            return grads
        return torch._foreach_add(grads, params, alpha=wd)


def count_steps(states: List[Dict[str, Any]]) -> Dict[int, List[int]]:
    r"""
    ## Count a step of a list of parameters

    Adds one to the step count $t$ of each parameter's state and returns the positions of the
    parameters grouped by their new $t$. A parameter that had no gradient at some steps has a
    smaller $t$, and so other bias corrections; the multi-tensor paths update each group together.
    """
    by_step: Dict[int, List[int]] = {}
    for i, state in enumerate(states):
        state['step'] += 1
        by_step.setdefault(state['step'], []).append(i)
    return by_step


def iterate_chunks(tensor_lists: List[List[torch.Tensor]], chunk_size: int) -> Iterator[List[List[torch.Tensor]]]:
    """
    ## Chunks of a list of tensors

    `tensor_lists` holds parallel lists, for example `[params, grads, m, h]`, where the $i$-th tensors
    of all lists have the same shape.
    This yields the same lists cut into pieces: each yielded item is again parallel lists, of
    one-dimensional *views* into the original tensors, with at most `chunk_size` elements per list.
    Because they are views, an in-place operation on a chunk updates the original tensors.

    Large tensors are split across chunks and small ones are packed together.
    A tensor that is not contiguous (in any of the lists) cannot be flattened into a view; it is
    passed whole, as a chunk of its own.
    """
    chunk: List[List[torch.Tensor]] = [[] for _ in tensor_lists]
    filled = 0
    for tensors in zip(*tensor_lists):
        # Pass a non-contiguous tensor whole
        if not all(t.is_contiguous() for t in tensors):
            yield [[t] for t in tensors]
            continue
        flat = [t.view(-1) for t in tensors]
        n = flat[0].numel()
        start = 0
        while start < n:
            # Take as much of this tensor as fits into the current chunk
            take = min(n - start, chunk_size - filled)
            for pieces, f in zip(chunk, flat):
                pieces.append(f[start:start + take])
            start += take
            filled += take
            # Yield a full chunk and start a new one
            if filled >= chunk_size:
                yield chunk
                chunk = [[] for _ in tensor_lists]
                filled = 0
    if filled > 0:
        yield chunk


class GenericAdaptiveOptimizer(torch.optim.Optimizer):
    """
    ## Base class for adaptive optimizers

    It checks the hyper-parameters, walks over the groups and parameters, skips parameters without
    gradients, creates the state lazily, and hands the actual update to the sub-class:

    * `init_state(state, group, param)` fills the empty state of a parameter;
    * `step_param(state, group, grad, param)` updates one parameter (the readable form);
    * `step_group(group, params, grads, states)` updates a list of parameters that share a device and a
      data type; by default it calls `step_param` on each of them, and sub-classes override it with a
      multi-tensor version.

    * `params` is the iterable of parameters or the list of parameter groups
    * `defaults` is a dictionary of default hyper-parameters, which must include `lr`, `betas` and `eps`
    * `foreach` chooses the multi-tensor `step_group` (`True`) or the per-tensor `step_param` (`False`)
    * `chunk_size` is the number of elements a multi-tensor update processes at a time, or `None` for a
      default that suits the device
    """

    def __init__(self, params, defaults: Dict[str, Any], foreach: bool = True, chunk_size: Optional[int] = None):
        if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                       or chunk_size < 1):
            raise ValueError(f"Invalid `chunk_size` = {chunk_size!r}: it must be a positive integer or None")
        self.chunk_size = chunk_size
        defaults = dict(defaults)
        defaults['foreach'] = bool(foreach)
        # Check the defaults before they are copied into the groups, so that a bad constructor
        # argument is reported as such
        self.check_group(defaults, None)
        super().__init__(params, defaults)

    def check_group(self, group: Dict[str, Any], group_index: Optional[int]):
        """
        Check the hyper-parameters of a group (or of the defaults, when `group_index` is `None`).
        Sub-classes extend this with their own hyper-parameters.
        """
        check_non_negative('lr', group['lr'], group_index)
        check_betas(group['betas'], group_index)
        check_non_negative('eps', group['eps'], group_index)

    def add_param_group(self, param_group: Dict[str, Any]):
        """
        `torch.optim.Optimizer` calls this for every group; we check the group once its defaults are
        filled in, so that an override such as `{'params': ..., 'lr': -1.}` is caught too.
        """
        super().add_param_group(param_group)
        self.check_group(self.param_groups[-1], len(self.param_groups) - 1)

    def chunk_numel(self, device: torch.device) -> int:
        """
        The chunk size of the multi-tensor path.
        On a CPU a chunk of $2^{17}$ elements (half a megabyte per list in float32) keeps the few lists
        of an update in the processor's cache.
        A GPU has much higher memory bandwidth but pays a launch for every `_foreach` call, so there we
        take chunks of $2^{22}$ elements: few calls, and temporaries that are still small next to the
        parameters of a large model.
        """
        if self.chunk_size is not None:
            return self.chunk_size
        return 1 << 17 if device.type == 'cpu' else 1 << 22

    def init_state(self, state: Dict[str, Any], group: Dict[str, Any], param: torch.nn.Parameter):
        """Fill the empty `state` of `param`"""
        raise NotImplementedError()

    def step_param(self, state: Dict[str, Any], group: Dict[str, Any], grad: torch.Tensor,
                   param: torch.nn.Parameter):
        """Update one parameter in place"""
        raise NotImplementedError()

    def step_group(self, group: Dict[str, Any], params: List[torch.Tensor], grads: List[torch.Tensor],
                   states: List[Dict[str, Any]]):
        """Update a list of parameters in place; by default one at a time"""
        for param, grad, state in zip(params, grads, states):
            self.step_param(state, group, grad, param)

    def gather(self, group: Dict[str, Any]) -> Dict[Tuple[torch.device, torch.dtype], Tuple[list, list, list]]:
        """
        Collect the parameters of a group that have gradients, with their gradients and states,
        creating the states that do not exist yet.
        `_foreach` operations need all tensors of a call on one device and of one data type, so the
        lists are keyed by `(device, dtype)`.
        """
        lists: Dict[Tuple[torch.device, torch.dtype], Tuple[list, list, list]] = {}
        for param in group['params']:
            # Parameters without gradients are skipped
            if param.grad is None:
                continue
            grad = param.grad
            if grad.is_sparse:
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients "
                                   f"(parameter of shape {tuple(param.shape)}); use a dense layer, "
                                   f"e.g. `nn.Embedding(..., sparse=False)`")
            if torch.is_complex(param):
                raise RuntimeError(f"{type(self).__name__} does not support complex parameters "
                                   f"(parameter of shape {tuple(param.shape)})")
            state = self.state[param]
            # Lazy state initialization
            if len(state) == 0:
                self.init_state(state, group, param)
            params, grads, states = lists.setdefault((param.device, param.dtype), ([], [], []))
            params.append(param)
            grads.append(grad)
            states.append(state)
        return lists

    @torch.no_grad()
    def step(self, closure=None):
        """
        ### Optimizer step

        * `closure` is an optional function that re-evaluates the model and returns the loss
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            for params, grads, states in self.gather(group).values():
                if group['foreach']:
                    self.step_group(group, params, grads, states)
                else:
                    for param, grad, state in zip(params, grads, states):
                        self.step_param(state, group, grad, param)

        return loss
