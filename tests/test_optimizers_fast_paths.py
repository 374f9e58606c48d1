"""
The fast (multi-tensor, batched or chunked) paths of Adafactor, Muon, Cautious AdamW, SOAP and Adam with
float32 master weights against
their per-tensor `step_param`, which is the form the pages explain and which the reference tests check:
in float64, with several parameter groups, shapes that share and do not share a shape, chunks and
batches cut small so that tensors are split between them, a non-contiguous parameter, and parameters that
skip steps (so that one list holds different step counts).
"""

import pytest
import torch

from labml_nn.optimizers.adafactor import Adafactor
from labml_nn.optimizers.adam_fp16 import AdamFP16
from labml_nn.optimizers.cautious import CautiousAdamW
from labml_nn.optimizers.muon import Muon, newton_schulz, newton_schulz_batched
from labml_nn.optimizers.soap import SOAP

MATRICES = [(12, 8), (12, 8), (12, 8), (8, 12), (8, 12), (16, 16), (20, 6), (20, 6), (5, 9)]
MIXED = MATRICES + [(7,), (12,), (12,), (3, 4, 5), (1,)]


def make_params(shapes, seed=0, transposed=()):
    """Parameters in float64; the indices in `transposed` are non-contiguous (the transpose of a matrix)"""
    g = torch.Generator().manual_seed(seed)
    params = []
    for i, s in enumerate(shapes):
        if i in transposed:
            params.append(torch.nn.Parameter(torch.randn(s[::-1], generator=g, dtype=torch.float64).T))
        else:
            params.append(torch.nn.Parameter(torch.randn(s, generator=g, dtype=torch.float64)))
    return params


def three_groups(params):
    """An override of the learning rate, one without decay, one with the defaults"""
    return [{'params': params[0::3], 'lr': 2e-2},
            {'params': params[1::3], 'weight_decay': 0.},
            {'params': params[2::3]}]


def run(make_opt, shapes, n_steps=25, transposed=(), skip_every=4):
    """Random gradients in float64; parameter i has no gradient on the steps where (step + i) % skip_every == 0"""
    params = make_params(shapes, transposed=transposed)
    opt = make_opt(three_groups(params))
    g = torch.Generator().manual_seed(1)
    for step in range(n_steps):
        for i, p in enumerate(params):
            grad = torch.randn(p.shape, generator=g, dtype=torch.float64)
            p.grad = None if skip_every and (step + i) % skip_every == 0 else grad
        opt.step()
    return torch.cat([p.detach().flatten() for p in params]), opt


def max_diff(a, b):
    return (a - b).abs().max().item()


def assert_paths_agree(make, shapes, tol=1e-6, **kwargs):
    fast, opt_fast = run(lambda gs: make(gs, True), shapes, **kwargs)
    slow, opt_slow = run(lambda gs: make(gs, False), shapes, **kwargs)
    start, _ = run(lambda gs: make(gs, False), shapes, n_steps=0, **kwargs)
    # The parameters moved, and both paths moved them alike
    assert max_diff(fast, start) > 1e-3
    assert max_diff(fast, slow) <= tol
    return opt_fast, opt_slow


@pytest.mark.parametrize('wd', [0., 0.1])
def test_adafactor_fast_path(wd):
    assert_paths_agree(lambda gs, fe: Adafactor(gs, lr=1e-2, weight_decay=wd, foreach=fe), MIXED, transposed=(1,))


def test_adafactor_fast_path_with_clipping_and_eps():
    # d = 1 clips, a large eps2 replaces the parameter's RMS
    assert_paths_agree(lambda gs, fe: Adafactor(gs, lr=1e-2, d=1., eps=(1e-30, 2.), weight_decay=0.1, foreach=fe),
                       MIXED)


@pytest.mark.parametrize('nesterov', [True, False])
@pytest.mark.parametrize('adjust', [None, 'match_rms_adamw'])
def test_muon_batched_path(nesterov, adjust):
    def make(gs, fe):
        opt = Muon(gs, lr=2e-2, weight_decay=0.1, nesterov=nesterov, adjust_lr_fn=adjust, ns_dtype=None, foreach=fe)
        # Batches of at most 4 * 50 elements: the three 12 x 8 matrices go into two batches
        opt.chunk_size = 50
        return opt
    opt, _ = assert_paths_agree(make, MATRICES, transposed=(2,))
    params = [p for g in opt.param_groups for p in g['params']]
    one_of_each = [next(p for p in params if p.shape == s) for s in [(12, 8), (8, 12), (20, 6)]]
    assert opt.batches(one_of_each) == [[0], [1], [2]]
    twelve_by_eight = [p for p in params if p.shape == (12, 8)]
    assert opt.batches(twelve_by_eight) == [[0, 1], [2]]


def test_newton_schulz_batched_is_newton_schulz_of_each():
    g = torch.Generator().manual_seed(0)
    for shape in [(3, 6, 10), (3, 10, 6), (2, 7, 7)]:
        x = torch.randn(shape, generator=g, dtype=torch.float64)
        expected = torch.stack([newton_schulz(m, (3.4445, -4.775, 2.0315), 5, 1e-7, None) for m in x])
        got = newton_schulz_batched(x.clone(), (3.4445, -4.775, 2.0315), 5, 1e-7)
        assert max_diff(got, expected) <= 1e-12


def test_muon_batched_path_in_bfloat16_follows_the_per_tensor_path_for_one_step():
    # In bfloat16 the batched products may round differently; after one step the two agree to
    # bfloat16's precision times the step
    def make(gs, fe):
        return Muon(gs, lr=2e-2, weight_decay=0.1, foreach=fe)
    fast, _ = run(lambda gs: make(gs, True), MATRICES, n_steps=1, skip_every=0)
    slow, _ = run(lambda gs: make(gs, False), MATRICES, n_steps=1, skip_every=0)
    assert max_diff(fast, slow) <= 2e-2 * 1.5 * 2 ** -7


@pytest.mark.parametrize('wd', [0., 0.1])
def test_cautious_chunked_path(wd):
    # Chunks of 37 elements split every matrix between chunks and pack vectors together
    opt, _ = assert_paths_agree(lambda gs, fe: CautiousAdamW(gs, lr=1e-2, betas=(0.9, 0.95), weight_decay=wd,
                                                             foreach=fe, chunk_size=37), MIXED, transposed=(4,))
    assert opt.chunk_numel(torch.device('cpu')) == 37


def test_cautious_chunked_path_with_a_mostly_masked_tensor():
    # Five steps along +1, then three along -1 except in one coordinate of 2000: the momentum still
    # points along +1, the mask keeps that one coordinate, and its mean is below the floor 1e-3
    n = 2000
    p_fast = torch.nn.Parameter(torch.ones(n, dtype=torch.float64))
    p_slow = torch.nn.Parameter(torch.ones(n, dtype=torch.float64))
    fast = CautiousAdamW([p_fast], lr=1e-2, foreach=True, chunk_size=300)
    slow = CautiousAdamW([p_slow], lr=1e-2, foreach=False)
    for step in range(8):
        grad = torch.full((n,), 1. if step < 5 else -1., dtype=torch.float64)
        grad[0] = 1.
        p_fast.grad, p_slow.grad = grad.clone(), grad.clone()
        fast.step()
        slow.step()
    assert max_diff(p_fast.detach(), p_slow.detach()) <= 1e-12
    assert max_diff(p_fast.detach(), torch.ones(n, dtype=torch.float64)) > 1e-3


@pytest.mark.parametrize('max_dim', [10000, 10])
def test_soap_batched_path(max_dim):
    # Refreshes every 3 steps; with max_precond_dim = 10 some dimensions are not rotated
    def make(gs, fe):
        opt = SOAP(gs, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.05, precondition_frequency=3,
                   max_precond_dim=max_dim, foreach=fe)
        opt.chunk_size = 50
        return opt
    opt, _ = assert_paths_agree(make, MIXED, transposed=(0,))
    # The bases were refreshed, and the moments are not views of a shared batch
    p = opt.param_groups[0]['params'][0]
    assert opt.state[p]['step'] > 3
    ms = [s['m'] for s in opt.state.values()]
    assert len({m.untyped_storage().data_ptr() for m in ms}) == len(ms)


@pytest.mark.parametrize('decouple', [False, True])
def test_adam_fp16_chunked_path(decouple):
    # bfloat16 parameters, chunks of 37 elements; the master copies must agree with the per-tensor path
    def run16(foreach):
        g = torch.Generator().manual_seed(0)
        params = [torch.nn.Parameter(torch.randn(s, generator=g).to(torch.bfloat16)) for s in MIXED]
        opt = AdamFP16(three_groups(params), lr=1e-3, weight_decay=0.1, weight_decouple=decouple,
                       foreach=foreach, chunk_size=37)
        for step in range(20):
            for i, p in enumerate(params):
                grad = torch.randn(p.shape, generator=g).to(torch.bfloat16)
                p.grad = None if (step + i) % 4 == 0 else grad
            opt.step()
        return params, opt
    fast, opt_fast = run16(True)
    slow, opt_slow = run16(False)
    for a, b in zip(fast, slow):
        assert torch.equal(a, b) and a.dtype == torch.bfloat16
        assert max_diff(opt_fast.state[a]['master'], opt_slow.state[b]['master']) <= 1e-6
    assert max_diff(opt_fast.state[fast[0]]['master'], fast[0].detach().float()) > 0
