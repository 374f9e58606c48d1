"""
Adam with float32 master weights: for a bfloat16 (and float16) model, the master copy follows
`torch.optim.Adam`/`AdamW` on float32 weights given the same gradients, the model holds the master
rounded; without the master copy small steps are lost; the state dict resumes bit-identically.
"""

import io

import pytest
import torch

from labml_nn.optimizers.adam import Adam
from labml_nn.optimizers.adam_fp16 import AdamFP16


def gradients(n_steps, shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(s, generator=g) * 1e-2 for s in shapes] for _ in range(n_steps)]


SHAPES = [(16, 8), (8,), (4, 16)]


def run(opt_cls, dtype, kwargs, n_steps=100, foreach=True):
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s).to(dtype)) for s in SHAPES]
    groups_ = [{'params': params[:1], 'lr': 2e-3}, {'params': params[1:2], 'weight_decay': 0.}, {'params': params[2:]}]
    opt = opt_cls(groups_, foreach=foreach, **kwargs) if opt_cls is not torch.optim.Adam and \
        opt_cls is not torch.optim.AdamW else opt_cls(groups_, **kwargs)
    for gs in gradients(n_steps, SHAPES):
        for p, g in zip(params, gs):
            # The 16-bit model's gradient, as the reference sees it: rounded to the model's type
            p.grad = g.to(torch.bfloat16).to(dtype)
        opt.step()
    return params, opt


@pytest.mark.parametrize('foreach', [False, True])
@pytest.mark.parametrize('decouple', [False, True])
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_master_weights_follow_float32_adam(dtype, decouple, foreach):
    kw = dict(lr=1e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    ours, opt = run(AdamFP16, dtype, dict(kw, weight_decouple=decouple), foreach=foreach)
    ref, _ = run(torch.optim.AdamW if decouple else torch.optim.Adam, torch.float32, kw)
    # The float32 reference starts from the same (rounded) weights
    for p, r in zip(ours, ref):
        master = opt.state[p]['master']
        assert master.dtype == torch.float32
    # Compare with a float32 run that started from the 16-bit weights
    torch.manual_seed(0)
    start = [torch.randn(s).to(dtype).float() for s in SHAPES]
    params = [torch.nn.Parameter(s.clone()) for s in start]
    ropt = (torch.optim.AdamW if decouple else torch.optim.Adam)(
        [{'params': params[:1], 'lr': 2e-3}, {'params': params[1:2], 'weight_decay': 0.}, {'params': params[2:]}], **kw)
    for gs in gradients(100, SHAPES):
        for p, g in zip(params, gs):
            p.grad = g.to(torch.bfloat16).to(dtype).float()
        ropt.step()
    for p, r in zip(ours, params):
        assert (opt.state[p]['master'] - r.detach()).abs().max().item() <= 1e-6
        assert torch.equal(p.detach(), r.detach().to(dtype))


def test_without_master_weights_small_steps_are_lost():
    # Weights of size ~1 in bfloat16 and Adam steps of 1e-4: plain Adam on the 16-bit weights never moves
    p16 = torch.nn.Parameter(torch.ones(100, dtype=torch.bfloat16))
    pm = torch.nn.Parameter(torch.ones(100, dtype=torch.bfloat16))
    plain, master = Adam([p16], lr=1e-4), AdamFP16([pm], lr=1e-4)
    for _ in range(200):
        p16.grad = torch.ones(100, dtype=torch.bfloat16)
        pm.grad = torch.ones(100, dtype=torch.bfloat16)
        plain.step()
        master.step()
    assert torch.equal(p16.detach(), torch.ones(100, dtype=torch.bfloat16))
    # 200 steps of 1e-4 move the master by 0.02, several bfloat16 gaps below 1 (2^-8 / 2 = 0.002)
    assert abs(master.state[pm]['master'][0].item() - 0.98) < 1e-3
    assert pm.detach()[0].item() < 0.99


def test_float32_parameters_are_plain_adam():
    a, _ = run(AdamFP16, torch.float32, dict(lr=1e-3))
    b, _ = run(Adam, torch.float32, dict(lr=1e-3))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_state_dict_round_trip():
    params, opt = run(AdamFP16, torch.bfloat16, dict(lr=1e-3, weight_decay=0.1), n_steps=5)
    buf = io.BytesIO()
    torch.save({'p': [p.detach().clone() for p in params], 'opt': opt.state_dict()}, buf)
    gs = gradients(5, SHAPES, seed=3)
    for grads in gs:
        for p, g in zip(params, grads):
            p.grad = g.to(torch.bfloat16)
        opt.step()
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    params2 = [torch.nn.Parameter(p.clone()) for p in saved['p']]
    opt2 = AdamFP16([{'params': params2[:1], 'lr': 2e-3}, {'params': params2[1:2], 'weight_decay': 0.},
                     {'params': params2[2:]}], lr=1e-3, weight_decay=0.1)
    opt2.load_state_dict(saved['opt'])
    for grads in gs:
        for p, g in zip(params2, grads):
            p.grad = g.to(torch.bfloat16)
        opt2.step()
    assert all(torch.equal(a, b) for a, b in zip(params, params2))
