"""
The optimizer pages that `torch.optim` also has (AMSGrad, RAdam, Adafactor, Muon): same constructor
arguments, the same parameters after 100 steps in float64 with three parameter groups, weight decay on
and off; mutants (a changed moving average, bias correction, clip, orthogonalisation or decay) must
fail the same comparison; state dictionaries resume bit-identically; bad hyper-parameters are refused.
"""

import inspect
import math

import pytest
import torch

from labml_nn.optimizers import WeightDecay
from labml_nn.optimizers.adafactor import Adafactor
from labml_nn.optimizers.amsgrad import AMSGrad
from labml_nn.optimizers.muon import Muon, newton_schulz
from labml_nn.optimizers.radam import RAdam

from optim_helpers import groups, max_diff, round_trip_is_bit_identical, train

LR = {'amsgrad': 1e-2, 'radam': 1e-2, 'adafactor': 1e-2, 'muon': 2e-2}


def ours_and_torch(name, wd, decoupled=False, foreach=True, **extra):
    lr = LR[name]
    if name == 'amsgrad':
        kw = dict(lr=lr, betas=(0.8, 0.95), eps=1e-6, weight_decay=wd, decoupled_weight_decay=decoupled)
        return (lambda m: AMSGrad(groups(m, wd, lr), foreach=foreach, chunk_size=50, **kw, **extra),
                lambda m: torch.optim.Adam(groups(m, wd, lr), amsgrad=True, **kw))
    if name == 'radam':
        kw = dict(lr=lr, betas=(0.8, 0.95), eps=1e-6, weight_decay=wd, decoupled_weight_decay=decoupled)
        return (lambda m: RAdam(groups(m, wd, lr), foreach=foreach, chunk_size=50, **kw, **extra),
                lambda m: torch.optim.RAdam(groups(m, wd, lr), **kw))
    if name == 'adafactor':
        kw = dict(lr=lr, weight_decay=wd)
        return (lambda m: Adafactor(groups(m, wd, lr), foreach=foreach, **kw, **extra),
                lambda m: torch.optim.Adafactor(groups(m, wd, lr), **kw))
    if name == 'muon':
        kw = dict(lr=lr, weight_decay=wd)
        return (lambda m: Muon(groups(m, wd, lr), foreach=foreach, **kw, **extra),
                lambda m: torch.optim.Muon(groups(m, wd, lr), **kw))
    raise KeyError(name)


CASES = [(n, wd, dec, fe) for n in ['amsgrad', 'radam'] for wd in [0., 0.1] for dec in [False, True]
         for fe in [False, True] if not (wd == 0. and dec)] + \
        [(n, wd, True, fe) for n in ['adafactor', 'muon'] for wd in [0., 0.1] for fe in [False, True]
         if not (n == 'muon' and fe)]
# Muon's batched path is compared with its per-tensor path in `test_optimizers_fast_paths.py`: in bfloat16
# its batched products round differently from torch's, and those differences grow over 100 steps


@pytest.mark.parametrize('name,wd,decoupled,foreach', CASES)
def test_matches_torch(name, wd, decoupled, foreach):
    ours, theirs = ours_and_torch(name, wd, decoupled, foreach)
    bias = name != 'muon'
    a, _, _ = train(ours, bias=bias)
    b, _, _ = train(theirs, bias=bias)
    assert max_diff(a, b) <= 1e-6
    if wd > 0:
        # The decay must matter here, or the comparison could not catch a mistake in it
        c, _, _ = train(ours_and_torch(name, 0., decoupled, foreach)[1], bias=bias)
        assert max_diff(b, c) > 1e-4


def test_muon_float32_iteration_matches_torch_only_loosely():
    # With the iteration in the parameters' own precision the result differs from torch's bfloat16
    ours, theirs = ours_and_torch('muon', 0.1, ns_dtype=None)
    a, _, _ = train(ours, n_steps=20, bias=False)
    b, _, _ = train(theirs, n_steps=20, bias=False)
    assert 1e-6 < max_diff(a, b) < 0.1


@pytest.mark.parametrize('name,cls', [('amsgrad', (AMSGrad, torch.optim.Adam)), ('radam', (RAdam, torch.optim.RAdam)),
                                      ('adafactor', (Adafactor, torch.optim.Adafactor)),
                                      ('muon', (Muon, torch.optim.Muon))])
def test_constructor_arguments_and_defaults_match_torch(name, cls):
    ours, theirs = cls
    po = inspect.signature(ours.__init__).parameters
    pt = inspect.signature(theirs.__init__).parameters
    skip = {'self', 'params', 'foreach', 'maximize', 'capturable', 'differentiable', 'fused', 'amsgrad'}
    for arg, p in pt.items():
        if arg in skip:
            continue
        assert arg in po, f"{ours.__name__} lacks `{arg}`"
        assert po[arg].default == p.default, f"{ours.__name__}.{arg}: {po[arg].default} != {p.default}"


# ## Mutants

class AdamNoMax(AMSGrad):
    """AMSGrad without the running maximum: plain Adam"""
    def step_param(self, state, group, grad, param):
        state['v_max'] = state['v']
        super().step_param(state, group, grad, param)


class AMSGradNoBiasCorrection(AMSGrad):
    def step_param(self, state, group, grad, param):
        beta1, beta2 = group['betas']
        state['step'] += 1
        m, v, v_max = state['m'], state['v'], state['v_max']
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        torch.maximum(v_max, v, out=v_max)
        param.addcdiv_(m, v_max.sqrt().add_(group['eps']), value=-group['lr'])


class RAdamNoRectification(RAdam):
    def step_param(self, state, group, grad, param):
        import labml_nn.optimizers.radam as radam
        orig = radam.rectification
        radam.rectification = lambda t, b: None if orig(t, b) is None else 1.
        try:
            super().step_param(state, group, grad, param)
        finally:
            radam.rectification = orig


class RAdamSlowSecondMoment(RAdam):
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, betas=(group['betas'][0], 0.99)), grad, param)


class AdafactorNoClip(Adafactor):
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, d=1e9), grad, param)


class AdafactorNoRelativeStep(Adafactor):
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, eps=(group['eps'][0], 1.)), grad, param)
        # eps2 = 1 > RMS(theta): the step no longer scales with the parameter


class AdafactorFullSecondMoment(Adafactor):
    """The unfactored second moment"""
    def init_state(self, state, group, param):
        state['step'] = 0
        state['v'] = param.new_zeros(param.numel())

    def step_param(self, state, group, grad, param):
        # Run the vector branch on the whole matrix
        Adafactor.step_param(self, state, group, grad.reshape(-1), _Flat(param))


class _Flat:
    """A matrix seen as a vector by `Adafactor.step_param` (dim() == 1), updated in place"""
    def __init__(self, p):
        self.p = p

    def dim(self):
        return 1

    def __getattr__(self, name):
        return getattr(self.p.view(-1), name)


class MuonNoOrthogonalisation(Muon):
    def step_param(self, state, group, grad, param):
        import labml_nn.optimizers.muon as muon
        orig = muon.newton_schulz
        muon.newton_schulz = lambda g, *a: g / g.norm().clamp(min=1e-7)
        try:
            super().step_param(state, group, grad, param)
        finally:
            muon.newton_schulz = orig


class MuonNoMomentum(Muon):
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, momentum=0.), grad, param)


class NoDecay:
    """Mixin: the weight decay is skipped"""
    def step_param(self, state, group, grad, param):
        super().step_param(state, dict(group, weight_decay=0.), grad, param)


MUTANTS = [
    ('amsgrad', AdamNoMax, {}), ('amsgrad', AMSGradNoBiasCorrection, {}),
    ('amsgrad', type('AMSGradNoDecay', (NoDecay, AMSGrad), {}), {}),
    ('radam', RAdamNoRectification, {}), ('radam', RAdamSlowSecondMoment, {}),
    ('radam', type('RAdamNoDecay', (NoDecay, RAdam), {}), {}),
    ('adafactor', AdafactorNoClip, {}), ('adafactor', AdafactorNoRelativeStep, {}),
    ('adafactor', AdafactorFullSecondMoment, {}),
    ('adafactor', type('AdafactorNoDecay', (NoDecay, Adafactor), {}), {}),
    ('muon', MuonNoOrthogonalisation, {}), ('muon', MuonNoMomentum, {}),
    ('muon', type('MuonNoDecay', (NoDecay, Muon), {}), {}),
]


@pytest.mark.parametrize('name,mutant,extra', MUTANTS, ids=[m[1].__name__ for m in MUTANTS])
def test_comparison_detects_mutants(name, mutant, extra):
    _, theirs = ours_and_torch(name, 0.1, True, False)
    lr, wd = LR[name], 0.1
    bias = name != 'muon'
    # The mutants change `step_param`, the per-tensor path
    kw = dict(weight_decay=wd, lr=lr, foreach=False)
    if name in ('amsgrad', 'radam'):
        kw.update(betas=(0.8, 0.95), eps=1e-6, decoupled_weight_decay=True)
    a, _, _ = train(lambda m: mutant(groups(m, wd, lr), **kw), bias=bias)
    b, _, _ = train(theirs, bias=bias)
    assert max_diff(a, b) > 1e-4


# ## Properties of the pages' claims

def test_newton_schulz_equalises_singular_values():
    g = torch.randn(32, 64, dtype=torch.float64) @ torch.diag(torch.logspace(0, -3, 64, dtype=torch.float64))
    o = newton_schulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7, None)
    s = torch.linalg.svdvals(o)
    assert s.min() > 0.3 and s.max() < 1.6
    assert torch.linalg.svdvals(g).max() / torch.linalg.svdvals(g).min() > 100
    # The same singular vectors: O and U V^T agree in sign structure
    u, _, vh = torch.linalg.svd(g, full_matrices=False)
    assert torch.nn.functional.cosine_similarity((u @ vh).flatten(), o.flatten(), dim=0) > 0.9


def test_newton_schulz_does_not_modify_its_input():
    g = torch.randn(5, 3, dtype=torch.float64)
    g0 = g.clone()
    newton_schulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7, None)
    assert torch.equal(g, g0)


def test_adafactor_state_is_sublinear():
    p = torch.nn.Parameter(torch.zeros(64, 32))
    p.grad = torch.randn(64, 32)
    opt = Adafactor([p])
    opt.step()
    n_state = sum(t.numel() for t in opt.state[p].values() if torch.is_tensor(t))
    assert n_state == 64 + 32


# ## State dictionaries and bad input

@pytest.mark.parametrize('make', [
    lambda m: AMSGrad(groups(m, 0.1, 1e-2)), lambda m: RAdam(groups(m, 0.1, 1e-2)),
    lambda m: Adafactor(groups(m, 0.1, 1e-2)),
], ids=['amsgrad', 'radam', 'adafactor'])
def test_state_dict_round_trip(make):
    assert round_trip_is_bit_identical(make)


def test_muon_state_dict_round_trip():
    assert round_trip_is_bit_identical(lambda m: Muon(groups(m, 0.1, 1e-2)), bias=False)


def _param():
    return [torch.nn.Parameter(torch.zeros(2, 2))]


@pytest.mark.parametrize('cls,kwargs,name', [
    (AMSGrad, dict(lr=-1.), 'lr'), (AMSGrad, dict(betas=(1., 0.9)), 'betas[0]'),
    (AMSGrad, dict(weight_decay=-1.), 'weight_decay'),
    (RAdam, dict(eps=-1.), 'eps'), (RAdam, dict(betas=(0.9,)), 'betas'),
    (Adafactor, dict(beta2_decay=0.5), 'beta2_decay'), (Adafactor, dict(d=0.5), 'd'),
    (Adafactor, dict(eps=(None, -1.)), 'eps[1]'), (Adafactor, dict(lr=float('nan')), 'lr'),
    (Muon, dict(momentum=1.), 'momentum'), (Muon, dict(ns_steps=-1), 'ns_steps'),
    (Muon, dict(adjust_lr_fn='x'), 'adjust_lr_fn'), (Muon, dict(weight_decay=-0.1), 'weight_decay'),
])
def test_bad_hyper_parameters(cls, kwargs, name):
    with pytest.raises(ValueError, match=f"`{name.replace('[', '.').replace(']', '.')}`"):
        cls(_param(), **kwargs)


def test_muon_refuses_vectors():
    with pytest.raises(ValueError, match='`params`'):
        Muon([torch.nn.Parameter(torch.zeros(3))])
