"""
The optimizer pages without a `torch.optim` counterpart (Lion, Schedule-Free AdamW, Cautious AdamW,
AdaBelief) against direct transcriptions of the authors' code, written below as plain loops over
tensors; mutants of a moving average, a bias correction, the sign, the mask or the decay must fail
the same comparison; state dictionaries resume bit-identically; bad hyper-parameters are refused.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from labml_nn.optimizers.ada_belief import AdaBelief
from labml_nn.optimizers.cautious import CautiousAdamW
from labml_nn.optimizers.lion import Lion
from labml_nn.optimizers.schedule_free import ScheduleFreeAdamW

from optim_helpers import flat, groups, make_data, make_model, max_diff, round_trip_is_bit_identical, train


# ## Transcriptions of the official updates (one function per step and tensor)

def lion_official(p, g, state, lr, beta1, beta2, wd):
    """google/automl, lion/lion_pytorch.py"""
    if 'exp_avg' not in state:
        state['exp_avg'] = torch.zeros_like(p)
    exp_avg = state['exp_avg']
    p.mul_(1 - lr * wd)
    update = exp_avg * beta1 + g * (1 - beta1)
    p.add_(torch.sign(update), alpha=-lr)
    exp_avg.mul_(beta2).add_(g, alpha=1 - beta2)


def cautious_adamw_official(p, g, state, lr, beta1, beta2, eps, wd):
    """kyleliang919/C-Optim, c_adamw.py, the per-tensor path with correct_bias=True"""
    if 'step' not in state:
        state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
    exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
    state['step'] += 1
    if wd > 0:
        p.add_(p, alpha=-lr * wd)
    exp_avg.mul_(beta1).add_(g, alpha=1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    denom = exp_avg_sq.sqrt().add_(eps)
    step_size = lr * math.sqrt(1 - beta2 ** state['step']) / (1 - beta1 ** state['step'])
    mask = (exp_avg * g > 0).to(g.dtype)
    mask.div_(mask.mean().clamp_(min=1e-3))
    p.add_((exp_avg * mask) / denom, alpha=-step_size)


def adabelief_official(p, g, state, lr, beta1, beta2, eps, wd, decouple=True):
    """juntang-zhuang/Adabelief-Optimizer, adabelief_pytorch 0.2.0, rectify=False, amsgrad=False"""
    if 'step' not in state:
        state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_var=torch.zeros_like(p))
    if decouple:
        p.mul_(1.0 - lr * wd)
    elif wd != 0:
        g = g.add(p, alpha=wd)
    exp_avg, exp_avg_var = state['exp_avg'], state['exp_avg_var']
    state['step'] += 1
    bc1 = 1 - beta1 ** state['step']
    bc2 = 1 - beta2 ** state['step']
    exp_avg.mul_(beta1).add_(g, alpha=1 - beta1)
    r = g - exp_avg
    exp_avg_var.mul_(beta2).addcmul_(r, r, value=1 - beta2)
    denom = (exp_avg_var.add_(eps).sqrt() / math.sqrt(bc2)).add_(eps)
    p.addcdiv_(exp_avg, denom, value=-lr / bc1)


class ScheduleFreeReference:
    """
    facebookresearch/schedule_free, adamw_schedulefree_reference.py: x, y and z kept explicitly,
    with its eval()/train() that copy x or y into the parameters
    """

    def __init__(self, param_groups, lr, betas, eps, weight_decay, warmup_steps, r=0., weight_lr_power=2.):
        self.groups = []
        for g in param_groups:
            self.groups.append(dict(dict(lr=lr, weight_decay=weight_decay), **g, k=0, weight_sum=0., lr_max=-1.))
        self.betas, self.eps, self.warmup, self.r, self.power = betas, eps, warmup_steps, r, weight_lr_power
        self.state = {}

    def step(self):
        beta1, beta2 = self.betas
        for group in self.groups:
            k = group['k']
            sched = (k + 1) / self.warmup if k < self.warmup else 1.0
            lr = group['lr'] * sched * math.sqrt(1 - beta2 ** (k + 1))
            group['lr_max'] = lr_max = max(lr, group['lr_max'])
            weight = ((k + 1) ** self.r) * (lr_max ** self.power)
            group['weight_sum'] += weight
            ckp1 = weight / group['weight_sum']
            for p in group['params']:
                if p.grad is None:
                    continue
                st = self.state.setdefault(p, {})
                if 'z' not in st:
                    st.update(z=p.detach().clone(), exp_avg_sq=torch.zeros_like(p), x=p.detach().clone(),
                              y=p.detach().clone())
                z, x, y, v = st['z'], st['x'], st['y'], st['exp_avg_sq']
                if group['weight_decay'] != 0:
                    z.sub_(y, alpha=lr * group['weight_decay'])
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                z.addcdiv_(p.grad, v.sqrt().add_(self.eps), value=-lr)
                x.mul_(1 - ckp1).add_(z, alpha=ckp1)
                y.copy_(x.mul(beta1).add_(z, alpha=1 - beta1))
                with torch.no_grad():
                    p.copy_(y)
            group['k'] = k + 1

    def eval(self):
        with torch.no_grad():
            for p, st in self.state.items():
                p.copy_(st['x'])

    def train(self):
        with torch.no_grad():
            for p, st in self.state.items():
                p.copy_(st['y'])

    def zero_grad(self):
        for g in self.groups:
            for p in g['params']:
                p.grad = None


class PerTensorReference:
    """Apply one of the official per-tensor functions to every parameter, with group overrides"""

    def __init__(self, fn, param_groups, **defaults):
        self.fn = fn
        self.groups = [dict(defaults, **g) for g in param_groups]
        self.state = {}

    @torch.no_grad()
    def step(self):
        for g in self.groups:
            kw = {k: v for k, v in g.items() if k != 'params'}
            for p in g['params']:
                if p.grad is not None:
                    self.fn(p, p.grad, self.state.setdefault(p, {}), **kw)

    def zero_grad(self):
        for g in self.groups:
            for p in g['params']:
                p.grad = None


LION = dict(lr=3e-3, betas=(0.9, 0.99))
CAUTIOUS = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-6)
BELIEF = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-12)


def reference(name, wd, decouple=True):
    if name == 'lion':
        return lambda m: PerTensorReference(lion_official, groups(m, wd, LION['lr']), lr=LION['lr'],
                                            beta1=0.9, beta2=0.99, wd=wd)
    if name == 'cautious':
        return lambda m: PerTensorReference(cautious_adamw_official, groups(m, wd, CAUTIOUS['lr']),
                                            lr=CAUTIOUS['lr'], beta1=0.9, beta2=0.95, eps=1e-6, wd=wd)
    if name == 'adabelief':
        return lambda m: PerTensorReference(adabelief_official, _rename(groups(m, wd, BELIEF['lr'])),
                                            lr=BELIEF['lr'], beta1=0.9, beta2=0.95, eps=1e-12, wd=wd,
                                            decouple=decouple)
    raise KeyError(name)


def _rename(gs):
    return [{('wd' if k == 'weight_decay' else k): v for k, v in g.items()} for g in gs]


def ours(name, wd, cls=None, decouple=True, **extra):
    if name == 'lion':
        cls = cls or Lion
        return lambda m: cls(groups(m, wd, LION['lr']), weight_decay=wd, **LION, **extra)
    if name == 'cautious':
        cls = cls or CautiousAdamW
        return lambda m: cls(groups(m, wd, CAUTIOUS['lr']), weight_decay=wd, **CAUTIOUS, **extra)
    if name == 'adabelief':
        cls = cls or AdaBelief
        return lambda m: cls(groups(m, wd, BELIEF['lr']), weight_decay=wd, weight_decouple=decouple,
                             **BELIEF, **extra)
    raise KeyError(name)


@pytest.mark.parametrize('foreach', [False, True])
@pytest.mark.parametrize('wd', [0., 0.1])
@pytest.mark.parametrize('name', ['lion', 'cautious', 'adabelief'])
def test_matches_official(name, wd, foreach):
    ref = reference(name, wd)
    a, _, _ = train(ours(name, wd, foreach=foreach))
    b, _, _ = train(lambda m: _renamed(ref(m)))
    assert max_diff(a, b) <= 1e-6
    if wd > 0:
        c, _, _ = train(lambda m: _renamed(reference(name, 0.)(m)))
        assert max_diff(b, c) > 1e-4


def _renamed(ref):
    """Group overrides are written as `weight_decay`; the transcriptions call it `wd`"""
    for g in ref.groups:
        if 'weight_decay' in g:
            g['wd'] = g.pop('weight_decay')
    return ref


def test_adabelief_coupled_decay_matches_official():
    a, _, _ = train(ours('adabelief', 0.1, decouple=False))
    b, _, _ = train(lambda m: _renamed(reference('adabelief', 0.1, decouple=False)(m)))
    assert max_diff(a, b) <= 1e-6


# ### Mutants

class LionNoInterpolation(Lion):
    """The sign of the momentum alone (beta1 = beta2)"""
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, betas=(group['betas'][1], group['betas'][1])), grad, param)


class LionNoSign(Lion):
    def step_param(self, state, group, grad, param):
        beta1, beta2 = group['betas']
        param.mul_(1 - group['lr'] * group['weight_decay'])
        param.add_(state['m'].lerp(grad, 1 - beta1), alpha=-group['lr'] * 100)
        state['m'].lerp_(grad, 1 - beta2)


class CautiousNoMask(CautiousAdamW):
    def step_param(self, state, group, grad, param):
        m = state['m']
        beta1, beta2 = group['betas']
        state['step'] += 1
        t = state['step']
        param.mul_(1 - group['lr'] * group['weight_decay'])
        m.lerp_(grad, 1 - beta1)
        state['v'].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        param.addcdiv_(m, state['v'].sqrt().add_(group['eps']),
                       value=-group['lr'] * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t))


class CautiousNoRescale(CautiousAdamW):
    def step_param(self, state, group, grad, param):
        orig = torch.Tensor.div_
        torch.Tensor.div_ = lambda self, other: self
        try:
            super().step_param(state, group, grad, param)
        finally:
            torch.Tensor.div_ = orig


class AdaBeliefNoBiasCorrection(AdaBelief):
    def step_param(self, state, group, grad, param):
        state['step'] = 10 ** 6 - 1
        super().step_param(state, group, grad, param)


class NoDecay:
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, weight_decay=0.), grad, param)


class AdaBeliefIsAdam(AdaBelief):
    """The second moment of g instead of g - m"""
    def step_param(self, state, group, grad, param):
        beta1, beta2 = group['betas']
        state['step'] += 1
        t = state['step']
        param.mul_(1 - group['lr'] * group['weight_decay'])
        state['m'].lerp_(grad, 1 - beta1)
        state['s'].mul_(beta2).addcmul_(grad, grad, value=1 - beta2).add_(group['eps'])
        den = (state['s'].sqrt() / math.sqrt(1 - beta2 ** t)).add_(group['eps'])
        param.addcdiv_(state['m'], den, value=-group['lr'] / (1 - beta1 ** t))


MUTANTS = [('lion', LionNoInterpolation), ('lion', LionNoSign), ('lion', type('LionNoDecay', (NoDecay, Lion), {})),
           ('cautious', CautiousNoMask), ('cautious', CautiousNoRescale),
           ('cautious', type('CautiousNoDecay', (NoDecay, CautiousAdamW), {})),
           ('adabelief', AdaBeliefIsAdam), ('adabelief', AdaBeliefNoBiasCorrection),
           ('adabelief', type('AdaBeliefNoDecay', (NoDecay, AdaBelief), {}))]


@pytest.mark.parametrize('name,mutant', MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_comparison_detects_mutants(name, mutant):
    a, _, _ = train(ours(name, 0.1, cls=mutant, foreach=False))
    b, _, _ = train(lambda m: _renamed(reference(name, 0.1)(m)))
    assert max_diff(a, b) > 1e-4


# ## Schedule-Free AdamW

SF = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, warmup_steps=10)


def train_sf(make, n_steps=100, switch_every=0):
    """Train; every `switch_every` steps, evaluate the model in eval mode (x) and switch back"""
    model = make_model()
    opt = make(model)
    evals = []
    for t, (x, y) in enumerate(make_data(n_steps), start=1):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if switch_every and t % switch_every == 0:
            opt.eval()
            with torch.no_grad():
                evals.append(F.cross_entropy(model(x), y).item())
            opt.train()
    opt.eval()
    x_weights = flat(model)
    opt.train()
    return flat(model), x_weights, evals


@pytest.mark.parametrize('foreach', [False, True])
@pytest.mark.parametrize('wd', [0., 0.1])
def test_schedule_free_matches_official_reference(wd, foreach):
    ours_y, ours_x, ours_evals = train_sf(
        lambda m: ScheduleFreeAdamW(groups(m, wd, SF['lr']), weight_decay=wd, foreach=foreach, chunk_size=50, **SF), switch_every=25)
    ref_y, ref_x, ref_evals = train_sf(
        lambda m: ScheduleFreeReference(groups(m, wd, SF['lr']), weight_decay=wd, **SF), switch_every=25)
    # The gradient point y, the evaluation weights x, and the losses measured in eval mode
    assert max_diff(ours_y, ref_y) <= 1e-6
    assert max_diff(ours_x, ref_x) <= 1e-6
    assert max(abs(a - b) for a, b in zip(ours_evals, ref_evals)) <= 1e-6
    # x and y differ, so a wrong switch would be seen
    assert max_diff(ref_x, ref_y) > 1e-3


class SFNoAveraging(ScheduleFreeAdamW):
    """c = 1: x follows z, no averaging"""
    def _advance(self, group):
        gamma, _ = super()._advance(group)
        return gamma, 1.


class SFNoBiasCorrection(ScheduleFreeAdamW):
    def _advance(self, group):
        gamma, c = super()._advance(group)
        return gamma / math.sqrt(1 - group['betas'][1] ** group['k']), c


class SFNoDecay(ScheduleFreeAdamW):
    def _step_param(self, state, group, grad, y, gamma, c):
        super()._step_param(state, dict(group, weight_decay=0.), grad, y, gamma, c)


@pytest.mark.parametrize('mutant', [SFNoAveraging, SFNoBiasCorrection, SFNoDecay])
def test_schedule_free_comparison_detects_mutants(mutant):
    a, ax, _ = train_sf(lambda m: mutant(groups(m, 0.1, SF['lr']), weight_decay=0.1, foreach=False, **SF))
    b, bx, _ = train_sf(lambda m: ScheduleFreeReference(groups(m, 0.1, SF['lr']), weight_decay=0.1, **SF))
    assert max(max_diff(a, b), max_diff(ax, bx)) > 1e-4


def test_schedule_free_step_in_eval_mode_is_refused():
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.ones(2)
    opt = ScheduleFreeAdamW([p])
    opt.step()
    opt.eval()
    with pytest.raises(RuntimeError, match='train'):
        opt.step()


def test_schedule_free_eval_train_round_trip():
    p = torch.nn.Parameter(torch.randn(5, dtype=torch.float64))
    opt = ScheduleFreeAdamW([p], lr=0.1)
    for _ in range(5):
        p.grad = torch.randn(5, dtype=torch.float64)
        opt.step()
    y = p.detach().clone()
    opt.eval()
    opt.eval()  # a second call changes nothing
    x = p.detach().clone()
    opt.train()
    assert not torch.allclose(x, y)
    assert torch.allclose(p.detach(), y, atol=1e-12)


# ## State dictionaries and bad input

@pytest.mark.parametrize('make', [
    lambda m: Lion(groups(m, 0.1, 1e-3), weight_decay=0.1),
    lambda m: CautiousAdamW(groups(m, 0.1, 1e-2), weight_decay=0.1),
    lambda m: AdaBelief(groups(m, 0.1, 1e-2), weight_decay=0.1),
    lambda m: ScheduleFreeAdamW(groups(m, 0.1, 1e-2), weight_decay=0.1, warmup_steps=3),
], ids=['lion', 'cautious', 'adabelief', 'schedule_free'])
def test_state_dict_round_trip(make):
    assert round_trip_is_bit_identical(make)


def _param():
    return [torch.nn.Parameter(torch.zeros(2, 2))]


@pytest.mark.parametrize('cls,kwargs,name', [
    (Lion, dict(lr=-1.), 'lr'), (Lion, dict(betas=(0.9, 1.)), 'betas[1]'), (Lion, dict(weight_decay=-1.), 'weight_decay'),
    (CautiousAdamW, dict(eps=-1.), 'eps'), (AdaBelief, dict(betas=(1.5, 0.9)), 'betas[0]'),
    (AdaBelief, dict(weight_decay=float('inf')), 'weight_decay'),
    (ScheduleFreeAdamW, dict(warmup_steps=-1), 'warmup_steps'), (ScheduleFreeAdamW, dict(r=-1.), 'r'),
    (ScheduleFreeAdamW, dict(betas=(0., 0.9)), 'betas[0]'),
])
def test_bad_hyper_parameters(cls, kwargs, name):
    with pytest.raises(ValueError, match=f"`{name.replace('[', '.').replace(']', '.')}`"):
        cls(_param(), **kwargs)
