"""
The schedule pages (warm-up, Noam, warm-up + cosine decay) against `torch.optim.Adam`/`AdamW` driven by
`torch.optim.lr_scheduler.LambdaLR` with the schedule's formula written here; a changed schedule must
fail the comparison; state dictionaries resume bit-identically; bad arguments are refused.
"""

import math

import pytest
import torch

from labml_nn.optimizers.adam_warmup import AdamWarmup
from labml_nn.optimizers.adam_warmup_cosine_decay import AdamWarmupCosineDecay
from labml_nn.optimizers.noam import Noam

from optim_helpers import groups, make_data, make_model, max_diff, round_trip_is_bit_identical, flat

import torch.nn.functional as F

LR = 2e-2
N_STEPS = 100


# The formulas, for step t = 1, 2, ... (LambdaLR counts from 0, so it is given t - 1)
def warmup_factor(t, warmup=30):
    return min(1., t / warmup)


def noam_factor(t, d_model=64, warmup=30):
    return d_model ** -0.5 * min(t ** -0.5, t * warmup ** -1.5)


def cosine_factor(t, warmup=20, total=80, r=0.1):
    if t < warmup:
        return t / warmup
    if t > total:
        return r
    return r + (1 - r) * 0.5 * (1 + math.cos(math.pi * (t - warmup) / (total - warmup)))


SCHEDULES = {
    'warmup': (lambda ps, **kw: AdamWarmup(ps, warmup=30, **kw), warmup_factor, LR),
    'noam': (lambda ps, **kw: Noam(ps, d_model=64, warmup=30, **kw), noam_factor, 1.),
    'cosine': (lambda ps, **kw: AdamWarmupCosineDecay(ps, warmup=20, total_steps=80, min_lr_ratio=0.1, **kw),
               cosine_factor, LR),
}


def run(make_opt, scheduler_factor=None, n_steps=N_STEPS):
    model = make_model()
    opt = make_opt(model)
    sched = None if scheduler_factor is None else \
        torch.optim.lr_scheduler.LambdaLR(opt, lambda e: scheduler_factor(e + 1))
    for x, y in make_data(n_steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if sched is not None:
            sched.step()
    return flat(model)


@pytest.mark.parametrize('foreach', [False, True])
@pytest.mark.parametrize('decouple,wd', [(False, 0.), (False, 0.05), (True, 0.1)])
@pytest.mark.parametrize('name', list(SCHEDULES))
def test_schedule_matches_lambda_lr(name, decouple, wd, foreach):
    make, factor, lr = SCHEDULES[name]
    kw = dict(lr=lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=wd)
    ours = run(lambda m: make(groups(m, wd, lr), weight_decouple=decouple, foreach=foreach, chunk_size=64, **kw))
    torch_cls = torch.optim.AdamW if decouple else torch.optim.Adam
    ref = run(lambda m: torch_cls(groups(m, wd, lr), **kw), factor)
    assert max_diff(ours, ref) <= 1e-6


@pytest.mark.parametrize('name,wrong', [
    ('warmup', lambda t: 1.),                                  # no warm-up
    ('warmup', lambda t: min(1., (t - 1) / 30)),               # off by one step
    ('noam', lambda t: 64 ** -0.5 * t ** -0.5),                # no warm-up
    ('cosine', lambda t: cosine_factor(t, r=0.)),              # decay to zero instead of the floor
    ('cosine', lambda t: t / 20 if t < 20 else max(0.1, 1 - 0.9 * (t - 20) / 60)),  # linear decay
])
def test_comparison_detects_a_wrong_schedule(name, wrong):
    make, _, lr = SCHEDULES[name]
    kw = dict(lr=lr, betas=(0.9, 0.98), eps=1e-8)
    ours = run(lambda m: make(groups(m, 0., lr), **kw))
    ref = run(lambda m: torch.optim.Adam(groups(m, 0., lr), **kw), wrong)
    assert max_diff(ours, ref) > 1e-4


def test_cosine_values():
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = AdamWarmupCosineDecay(p, lr=1., warmup=10, total_steps=110, min_lr_ratio=0.)
    g = opt.param_groups[0]
    assert opt.get_lr(g, 5) == 0.5
    assert opt.get_lr(g, 10) == 1.
    assert abs(opt.get_lr(g, 60) - 0.5) < 1e-12
    assert opt.get_lr(g, 110) == 0.
    assert opt.get_lr(g, 500) == 0.


@pytest.mark.parametrize('name', list(SCHEDULES))
def test_state_dict_round_trip(name):
    make, _, lr = SCHEDULES[name]
    assert round_trip_is_bit_identical(lambda m: make(groups(m, 0.1, lr), lr=lr, weight_decay=0.1,
                                                      weight_decouple=True))


def _p():
    return [torch.nn.Parameter(torch.zeros(2))]


@pytest.mark.parametrize('make,name', [
    (lambda: AdamWarmup(_p(), warmup=-1), 'warmup'), (lambda: AdamWarmup(_p(), warmup=1.5), 'warmup'),
    (lambda: Noam(_p(), warmup=0), 'warmup'), (lambda: Noam(_p(), d_model=0), 'd_model'),
    (lambda: AdamWarmupCosineDecay(_p(), warmup=10, total_steps=10), 'total_steps'),
    (lambda: AdamWarmupCosineDecay(_p(), min_lr_ratio=2.), 'min_lr_ratio'),
    (lambda: AdamWarmup(_p(), lr=-1.), 'lr'),
])
def test_bad_arguments(make, name):
    with pytest.raises(ValueError, match=f'`{name}`'):
        make()
