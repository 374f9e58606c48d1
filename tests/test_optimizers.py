"""
Tests of `labml_nn.optimizers`: Adam and AdamW against `torch.optim`, Sophia-G against a transcription of
the paper's algorithm and of the official implementation's update, the GNB estimator against the exact
Gauss-Newton diagonal, bad input, state dictionaries, and (marked slow) the fused path and DDP.
"""

import os
import socket

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from labml_nn.optimizers import WeightDecay, iterate_chunks
from labml_nn.optimizers.adam import Adam, AdamW
from labml_nn.optimizers.sophia import Sophia, gnb_loss

N_IN, N_HIDDEN, N_CLASSES, BATCH = 8, 16, 4, 32


def make_model(seed: int = 0, dtype=torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(N_IN, N_HIDDEN), nn.Tanh(), nn.Linear(N_HIDDEN, N_CLASSES)).to(dtype)


def make_data(n_steps: int, seed: int = 1, dtype=torch.float32):
    """Mini-batches `(x, y)` of a random classification problem"""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(N_CLASSES, N_IN, generator=g)
    batches = []
    for _ in range(n_steps):
        x = torch.randn(BATCH, N_IN, generator=g).to(dtype)
        y = torch.distributions.Categorical(logits=x.float() @ w.T).sample()
        batches.append((x, y))
    return batches


def param_groups(model: nn.Module):
    """Several groups, with overrides, as a transformer's optimizer would have"""
    return [
        {'params': [model[0].weight], 'lr': 3e-3},
        {'params': [model[0].bias, model[2].bias], 'weight_decay': 0.},
        {'params': [model[2].weight]},
    ]


def flat_params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# ## Adam and AdamW against `torch.optim`

def run_adam(cls, kwargs, n_steps=100):
    model = make_model()
    opt = cls(param_groups(model), **kwargs)
    for x, y in make_data(n_steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return flat_params(model)


@pytest.mark.parametrize('foreach', [False, True])
@pytest.mark.parametrize('ours,theirs', [(Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW)])
def test_adam_matches_torch(ours, theirs, foreach):
    kwargs = dict(lr=1e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)
    # A small `chunk_size` splits the tensors across chunks
    a = run_adam(ours, dict(kwargs, foreach=foreach, chunk_size=100))
    b = run_adam(theirs, kwargs)
    assert (a - b).abs().max().item() <= 1e-6
    # The weight decay must matter in this test, or it could not catch a mistake in it
    c = run_adam(theirs, dict(kwargs, weight_decay=0.))
    assert (a - c).abs().max().item() > 1e-4


def test_adam_absolute_weight_decay():
    # With no gradient signal (lr = 0 for the Adam part is impossible), compare one step by hand:
    # the absolute decay shrinks by (1 - wd) whatever the learning rate
    p = nn.Parameter(torch.ones(3))
    p.grad = torch.zeros(3)
    opt = AdamW([p], lr=0.5, weight_decay=0.25, absolute=True)
    opt.step()
    # The Adam part of the step is zero because m = 0
    assert torch.allclose(p.detach(), torch.full((3,), 0.75))


# ## Sophia-G against the paper
#
# A direct transcription of Algorithm 3 of the paper, on a flat list of tensors, written
# without any code from the implementation: every `k` steps (t mod k = 1) the Hessian EMA takes
# B * g_hat * g_hat, then m, weight decay, and the clipped step.

def paper_sophia_step(theta, m, h, g, lr, beta1, gamma, eps, wd):
    m_new = beta1 * m + (1 - beta1) * g
    theta = theta - lr * wd * theta
    z = m_new / torch.maximum(gamma * h, torch.full_like(h, eps))
    clipped = torch.where(z > 1, torch.ones_like(z), torch.where(z < -1, -torch.ones_like(z), z))
    return theta - lr * clipped, m_new, (z.abs() > 1).sum().item()


def paper_hessian_ema(h, g_hat, beta2, batch_size):
    return beta2 * h + (1 - beta2) * (batch_size * g_hat * g_hat)


def sampled_labels(model_fn, x, seed):
    """Labels sampled from the model's own distribution (shared by both runs of a comparison)"""
    with torch.no_grad():
        probs = torch.softmax(model_fn(x), dim=-1)
    return torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed)).squeeze(-1)


SOPHIA_HP = dict(lr=2e-2, betas=(0.9, 0.95), eps=1e-12, rho=2.0, weight_decay=0.2)
K = 4
N_SOPHIA_STEPS = 30


def run_sophia_ours(make_opt, n_steps=N_SOPHIA_STEPS, k=K, dtype=torch.float64):
    """
    Train with our optimizer; return the parameters and the optimizer.
    The comparisons run in float64, so that they test the algorithm and not the order of roundings.
    """
    model = make_model(dtype=dtype)
    opt = make_opt(list(model.parameters()))
    for t, (x, y) in enumerate(make_data(n_steps, dtype=dtype), start=1):
        if t % k == 1:
            y_hat = sampled_labels(model, x, seed=t)
            opt.zero_grad()
            F.cross_entropy(model(x), y_hat).backward()
            opt.update_hessian(BATCH)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return flat_params(model), opt


def run_sophia_paper(n_steps=N_SOPHIA_STEPS, k=K, lr=SOPHIA_HP['lr'], betas=SOPHIA_HP['betas'],
                     eps=SOPHIA_HP['eps'], gamma=SOPHIA_HP['rho'], wd=SOPHIA_HP['weight_decay']):
    """The paper's algorithm on a separate copy of the model; returns parameters and the clip fraction"""
    model = make_model(dtype=torch.float64)
    thetas = [p.detach().clone() for p in model.parameters()]
    ms = [torch.zeros_like(p) for p in thetas]
    hs = [torch.zeros_like(p) for p in thetas]
    n_clipped, n_total = 0, 0

    def forward(x):
        return torch.tanh(x @ thetas[0].T + thetas[1]) @ thetas[2].T + thetas[3]

    def grads_of(x, y):
        ts = [t.clone().requires_grad_() for t in thetas]
        out = torch.tanh(x @ ts[0].T + ts[1]) @ ts[2].T + ts[3]
        return torch.autograd.grad(F.cross_entropy(out, y), ts)

    for t, (x, y) in enumerate(make_data(n_steps, dtype=torch.float64), start=1):
        if t % k == 1:
            g_hat = grads_of(x, sampled_labels(forward, x, seed=t))
            hs = [paper_hessian_ema(h, gh, betas[1], BATCH) for h, gh in zip(hs, g_hat)]
        g = grads_of(x, y)
        for i in range(len(thetas)):
            thetas[i], ms[i], c = paper_sophia_step(thetas[i], ms[i], hs[i], g[i], lr, betas[0], gamma, eps, wd)
            n_clipped += c
            n_total += thetas[i].numel()
    return torch.cat([t.flatten() for t in thetas]), n_clipped / n_total


def sophia_variants():
    return {
        'per-tensor': lambda ps: Sophia(ps, **SOPHIA_HP, foreach=False),
        'multi-tensor': lambda ps: Sophia(ps, **SOPHIA_HP),
        'multi-tensor, small chunks': lambda ps: Sophia(ps, **SOPHIA_HP, chunk_size=7),
    }


@pytest.fixture(scope='module')
def paper_run():
    return run_sophia_paper()


@pytest.mark.parametrize('variant', list(sophia_variants()))
def test_sophia_matches_paper(variant, paper_run):
    ours, _ = run_sophia_ours(sophia_variants()[variant])
    ref, clip_fraction = paper_run
    # The run must exercise both sides of the clip, or a change to it could go unnoticed
    assert 0.1 < clip_fraction < 0.9
    assert (ours - ref).abs().max().item() <= 1e-6


def test_sophia_multi_tensor_is_bit_identical_to_per_tensor():
    a, _ = run_sophia_ours(sophia_variants()['per-tensor'])
    b, _ = run_sophia_ours(sophia_variants()['multi-tensor, small chunks'])
    assert torch.equal(a, b)


# ### Mutations: a changed clip, EMA or weight decay must be detected by the comparison above

class _ClipAtTwo(Sophia):
    def step_param(self, state, group, grad, param):
        param.mul_(1 - group['lr'] * group['weight_decay'])
        state['m'].lerp_(grad, 1 - group['betas'][0])
        ratio = (state['m'] / (state['h'] * group['rho']).clamp(min=group['eps'])).clamp(-2., 2.)
        param.add_(ratio, alpha=-group['lr'])


class _NoClip(Sophia):
    def step_param(self, state, group, grad, param):
        param.mul_(1 - group['lr'] * group['weight_decay'])
        state['m'].lerp_(grad, 1 - group['betas'][0])
        param.add_(state['m'] / (state['h'] * group['rho']).clamp(min=group['eps']), alpha=-group['lr'])


class _MomentumEmaSwapped(Sophia):
    def step_param(self, state, group, grad, param):
        param.mul_(1 - group['lr'] * group['weight_decay'])
        state['m'].lerp_(grad, group['betas'][0])
        ratio = (state['m'] / (state['h'] * group['rho']).clamp(min=group['eps'])).clamp(-1., 1.)
        param.add_(ratio, alpha=-group['lr'])


class _HessianEmaWithoutBatchSize(Sophia):
    @torch.no_grad()
    def update_hessian(self, n_tokens):
        super().update_hessian(1)


class _HessianEmaBeta1(Sophia):
    @torch.no_grad()
    def update_hessian(self, n_tokens):
        for group in self.param_groups:
            for p in group['params']:
                state = self.state[p]
                if not state:
                    self.init_state(state, group, p)
                state['h'].mul_(group['betas'][0]).addcmul_(p.grad, p.grad, value=(1 - group['betas'][0]) * n_tokens)


class _NoWeightDecay(Sophia):
    def step_param(self, state, group, grad, param):
        state['m'].lerp_(grad, 1 - group['betas'][0])
        ratio = (state['m'] / (state['h'] * group['rho']).clamp(min=group['eps'])).clamp(-1., 1.)
        param.add_(ratio, alpha=-group['lr'])


class _WeightDecayNotScaledByLr(Sophia):
    def step_param(self, state, group, grad, param):
        param.mul_(1 - group['weight_decay'] * 0.1)
        state['m'].lerp_(grad, 1 - group['betas'][0])
        ratio = (state['m'] / (state['h'] * group['rho']).clamp(min=group['eps'])).clamp(-1., 1.)
        param.add_(ratio, alpha=-group['lr'])


@pytest.mark.parametrize('mutant', [_ClipAtTwo, _NoClip, _MomentumEmaSwapped, _HessianEmaWithoutBatchSize,
                                    _HessianEmaBeta1, _NoWeightDecay, _WeightDecayNotScaledByLr])
def test_sophia_comparison_detects_mutations(mutant, paper_run):
    ours, _ = run_sophia_ours(lambda ps: mutant(ps, **SOPHIA_HP, foreach=False))
    ref, _ = paper_run
    assert (ours - ref).abs().max().item() > 1e-4


# ## Sophia-G against the official implementation
#
# A transcription of the update of `SophiaG` in github.com/Liuhong99/Sophia: `update_hessian` keeps an EMA
# of the squared gradient (no batch-size factor) and `step(bs)` scales it by `rho * bs` inside the clip,
# `lr * sign(m) * min(|m| / (rho * bs * h + 1e-15), 1)`, after a decoupled, lr-scaled weight decay.

def official_update_hessian(hs, grads, beta2):
    for h, g in zip(hs, grads):
        h.mul_(beta2).addcmul_(g, g, value=1 - beta2)


def official_step(params, grads, ms, hs, lr, beta1, rho, weight_decay, bs):
    for p, g, m, h in zip(params, grads, ms, hs):
        p.mul_(1 - lr * weight_decay)
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        ratio = (m.abs() / (rho * bs * h + 1e-15)).clamp(None, 1)
        p.addcmul_(m.sign(), ratio, value=-lr)


def test_sophia_matches_official_under_mapping():
    # Official hyper-parameters; `bs` deliberately differs from the Hessian batch `BATCH`
    lr, betas, rho_official, wd, bs = 2e-2, (0.9, 0.95), 0.08, 0.2, 25 * BATCH
    # The mapping stated on the page: rho = rho' * bs / B, eps = 1e-15
    rho = rho_official * bs / BATCH

    ours, opt = run_sophia_ours(lambda ps: Sophia(ps, lr=lr, betas=betas, eps=1e-15, rho=rho, weight_decay=wd))

    model = make_model(dtype=torch.float64)
    params = list(model.parameters())
    ms = [torch.zeros_like(p) for p in params]
    hs = [torch.zeros_like(p) for p in params]
    n_clipped, n_total = 0, 0
    for t, (x, y) in enumerate(make_data(N_SOPHIA_STEPS, dtype=torch.float64), start=1):
        if t % K == 1:
            y_hat = sampled_labels(model, x, seed=t)
            grads = torch.autograd.grad(F.cross_entropy(model(x), y_hat), params)
            official_update_hessian(hs, grads, betas[1])
        grads = torch.autograd.grad(F.cross_entropy(model(x), y), params)
        with torch.no_grad():
            for m, h, g in zip(ms, hs, grads):
                m_next = betas[0] * m + (1 - betas[0]) * g
                n_clipped += (m_next.abs() >= rho_official * bs * h + 1e-15).sum().item()
                n_total += m.numel()
            official_step(params, grads, ms, hs, lr, betas[0], rho_official, wd, bs)
    assert 0.1 < n_clipped / n_total < 0.9
    assert (ours - flat_params(model)).abs().max().item() <= 1e-6
    # Our Hessian EMA is the official one times the batch size
    for p, h in zip(opt.param_groups[0]['params'], hs):
        assert torch.allclose(opt.state[p]['h'], BATCH * h, rtol=1e-5, atol=0)


# ## The Gauss-Newton-Bartlett estimator

def test_gnb_estimate_is_unbiased_for_the_gauss_newton_diagonal():
    """
    For a linear softmax classifier, logits = x W^T, the diagonal of the Gauss-Newton matrix of the mean
    cross-entropy is exactly mean_b x_bd^2 p_bc (1 - p_bc). The average of B * g_hat^2 over many label
    samples must approach it (and would be B times too small without the factor B).
    """
    torch.manual_seed(0)
    n, d, c = 16, 5, 3
    x = torch.randn(n, d)
    w = nn.Parameter(torch.randn(c, d))
    p = torch.softmax(x @ w.detach().T, dim=-1)
    exact = torch.einsum('bd,bc->cd', x ** 2, p * (1 - p)) / n

    opt = Sophia([w], betas=(0.9, 0.), weight_decay=0.)
    n_samples = 1000
    total = torch.zeros_like(w)
    for _ in range(n_samples):
        w.grad = None
        gnb_loss(x @ w.T).backward()
        # With beta2 = 0 the EMA is the latest estimate B * g_hat^2
        opt.update_hessian(n)
        total += opt.state[w]['h']
    estimate = total / n_samples
    assert ((estimate - exact).abs() / exact).mean().item() < 0.1


def test_gnb_loss_shapes():
    logits = torch.randn(2, 3, 7, requires_grad=True)
    loss = gnb_loss(logits)
    assert loss.shape == ()
    loss.backward()
    assert logits.grad.shape == logits.shape


# ## Sophia-G on a small problem

def test_sophia_decreases_loss_on_logistic_regression():
    g = torch.Generator().manual_seed(0)
    n, d = 256, 10
    x = torch.randn(n, d, generator=g) * torch.logspace(-1, 1, d)
    y = (x @ torch.randn(d, generator=g) > 0).long()
    model = nn.Linear(d, 2)
    opt = Sophia(model.parameters(), lr=0.05, rho=0.05, weight_decay=0.)

    def loss_fn():
        return F.cross_entropy(model(x), y)

    initial = loss_fn().item()
    for t in range(100):
        if t % 5 == 0:
            opt.zero_grad()
            gnb_loss(model(x)).backward()
            opt.update_hessian(n)
            for p in model.parameters():
                assert (opt.state[p]['h'] >= 0).all()
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    assert loss_fn().item() < 0.5 * initial


# ## State

def test_sophia_state_is_two_emas():
    model = make_model()
    opt = Sophia(model.parameters())
    F.cross_entropy(model(torch.randn(4, N_IN)), torch.zeros(4, dtype=torch.long)).backward()
    opt.step()
    state_bytes = 0
    for p in model.parameters():
        assert set(opt.state[p]) == {'m', 'h'}
        state_bytes += sum(t.numel() * t.element_size() for t in opt.state[p].values())
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    assert state_bytes == 2 * param_bytes


def test_parameters_without_gradients_are_skipped():
    model = make_model()
    frozen = model[0].weight
    before = frozen.detach().clone()
    for opt in [Sophia(model.parameters(), weight_decay=0.5), Adam(model.parameters(), weight_decay=0.5)]:
        opt.zero_grad()
        F.cross_entropy(model(torch.randn(4, N_IN)), torch.zeros(4, dtype=torch.long)).backward()
        frozen.grad = None
        opt.step()
        if isinstance(opt, Sophia):
            opt.update_hessian(4)
        assert torch.equal(frozen.detach(), before)
        assert frozen not in opt.state
        assert model[2].weight in opt.state


def test_update_hessian_before_any_step():
    model = make_model()
    opt = Sophia(model.parameters())
    x = torch.randn(BATCH, N_IN)
    gnb_loss(model(x)).backward()
    opt.update_hessian(BATCH)
    for p in model.parameters():
        assert (opt.state[p]['h'] >= 0).all() and opt.state[p]['h'].sum() > 0
        assert not opt.state[p]['m'].any()
    opt.zero_grad()
    F.cross_entropy(model(x), torch.zeros(BATCH, dtype=torch.long)).backward()
    opt.step()
    assert all(opt.state[p]['m'].any() for p in model.parameters())


def train_steps(model, opt, batches, start, k=3):
    for t, (x, y) in enumerate(batches, start=start):
        if isinstance(opt, Sophia) and t % k == 1:
            opt.zero_grad()
            torch.manual_seed(t)
            gnb_loss(model(x)).backward()
            opt.update_hessian(BATCH)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize('make_opt', [
    lambda ps: Sophia(ps, lr=1e-2, rho=0.1),
    lambda ps: Sophia(ps, lr=1e-2, rho=0.1, foreach=False),
    lambda ps: AdamW(ps, lr=1e-2),
    lambda ps: Adam(ps, lr=1e-2, weight_decay=0.1),
], ids=['sophia', 'sophia-per-tensor', 'adamw', 'adam-l2'])
def test_state_dict_round_trip_is_bit_identical(make_opt, tmp_path):
    batches = make_data(20)
    # The uninterrupted run
    model = make_model()
    opt = make_opt(param_groups(model))
    train_steps(model, opt, batches, start=1)
    uninterrupted = flat_params(model)

    # Save after 9 steps, through a file as a training script would
    model = make_model()
    opt = make_opt(param_groups(model))
    train_steps(model, opt, batches[:9], start=1)
    path = tmp_path / 'checkpoint.pt'
    torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict()}, path)

    # Load into a fresh model and a fresh optimizer, and continue
    checkpoint = torch.load(path)
    model = make_model(seed=123)
    model.load_state_dict(checkpoint['model'])
    opt = make_opt(param_groups(model))
    opt.load_state_dict(checkpoint['optimizer'])
    train_steps(model, opt, batches[9:], start=10)
    assert torch.equal(flat_params(model), uninterrupted)


# ## Bad input

@pytest.mark.parametrize('kwargs,name', [
    (dict(lr=-1e-3), 'lr'),
    (dict(lr=float('nan')), 'lr'),
    (dict(betas=(1.0, 0.99)), 'betas[0]'),
    (dict(betas=(0.9, -0.1)), 'betas[1]'),
    (dict(betas=(0.9,)), 'betas'),
    (dict(eps=-1e-8), 'eps'),
    (dict(eps=0.), 'eps'),
    (dict(rho=0.), 'rho'),
    (dict(rho=-1.), 'rho'),
    (dict(weight_decay=-0.1), 'weight_decay'),
    (dict(chunk_size=0), 'chunk_size'),
    (dict(fused=True, foreach=False), 'fused'),
])
def test_sophia_bad_hyper_parameters(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`".replace('[', r'\[').replace(']', r'\]')):
        Sophia(make_model().parameters(), **kwargs)


@pytest.mark.parametrize('kwargs,name', [
    (dict(lr=-1.), 'lr'),
    (dict(betas=(0.9, 1.5)), 'betas[1]'),
    (dict(eps=-1.), 'eps'),
    (dict(weight_decay=-1.), 'weight_decay'),
])
@pytest.mark.parametrize('cls', [Adam, AdamW])
def test_adam_bad_hyper_parameters(cls, kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`".replace('[', r'\[').replace(']', r'\]')):
        cls(make_model().parameters(), **kwargs)


def test_bad_group_override_is_reported_with_its_group():
    model = make_model()
    with pytest.raises(ValueError, match=r"`rho`.*parameter group 1"):
        Sophia([{'params': [model[0].weight]}, {'params': [model[2].weight], 'rho': -1.}])


@pytest.mark.parametrize('n_tokens', [0, -5, float('nan'), float('inf'), None, True])
def test_update_hessian_bad_n_tokens(n_tokens):
    opt = Sophia(make_model().parameters())
    with pytest.raises(ValueError, match='`n_tokens`'):
        opt.update_hessian(n_tokens)


@pytest.mark.parametrize('make_opt', [lambda ps: Sophia(ps), lambda ps: Sophia(ps, foreach=False),
                                      lambda ps: Adam(ps)])
def test_sparse_gradients_raise(make_opt):
    emb = nn.Embedding(10, 4, sparse=True)
    opt = make_opt(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match='sparse gradients'):
        opt.step()
    if isinstance(opt, Sophia):
        with pytest.raises(RuntimeError, match='sparse gradients'):
            opt.update_hessian(2)


# ## The building blocks

def test_iterate_chunks_covers_every_element_once():
    a = [torch.arange(10.), torch.arange(3.).reshape(3, 1), torch.arange(20.).reshape(4, 5).T, torch.arange(7.)]
    b = [t.clone() * 0 for t in a]
    sizes = []
    for xs, ys in iterate_chunks([a, b], 4):
        # Non-contiguous tensors come whole; others at most 4 elements per chunk
        if not (len(xs) == 1 and not xs[0].is_contiguous()):
            assert sum(x.numel() for x in xs) <= 4
        sizes.append(sum(x.numel() for x in xs))
        torch._foreach_add_(ys, xs)
        torch._foreach_add_(ys, 1.)
    for x, y in zip(a, b):
        assert torch.equal(y, x + 1)
    assert sum(sizes) == sum(t.numel() for t in a)


def test_weight_decay_modes():
    group = dict(lr=0.1, weight_decay=0.5, weight_decouple=True, weight_decay_absolute=False)
    p, g = torch.ones(2), torch.ones(2)
    assert WeightDecay.apply(p, g, group) is g and torch.allclose(p, torch.full((2,), 0.95))
    p = torch.ones(2)
    assert torch.allclose(WeightDecay.apply(p, g, dict(group, weight_decay_absolute=True)), g)
    assert torch.allclose(p, torch.full((2,), 0.5))
    p = torch.ones(2)
    coupled = WeightDecay.apply(p, g, dict(group, weight_decouple=False))
    assert torch.allclose(coupled, torch.full((2,), 1.5)) and torch.equal(p, torch.ones(2))
    with pytest.raises(ValueError, match='`weight_decay`'):
        WeightDecay(-1.)


# ## The fused path (compiles with `torch.compile`, which takes a while on a CPU)

@pytest.mark.slow
def test_sophia_fused_matches_paper(paper_run):
    # Both `step` and `update_hessian` take the fused path
    ours, _ = run_sophia_ours(lambda ps: Sophia(ps, **SOPHIA_HP, fused=True))
    ref, _ = paper_run
    assert (ours - ref).abs().max().item() <= 1e-6


# ## Distributed data parallel: two processes on halves of the batch equal one process on the whole batch

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world_size, port, out_dir):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world_size)
    try:
        model = DistributedDataParallel(make_model())
        opt = Sophia(model.parameters(), **SOPHIA_HP)
        half = BATCH // world_size
        for t, (x, y) in enumerate(make_data(8), start=1):
            x, y = x[rank * half:(rank + 1) * half], y[rank * half:(rank + 1) * half]
            if t % K == 1:
                y_hat = torch.multinomial(torch.softmax(model(x).detach(), -1), 1,
                                          generator=torch.Generator().manual_seed(t * 10 + rank)).squeeze(-1)
                opt.zero_grad()
                F.cross_entropy(model(x), y_hat).backward()
                # Gradients are averaged over the processes: the estimate covers the global batch
                opt.update_hessian(BATCH)
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        torch.save(flat_params(model.module), os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_sophia_under_ddp(tmp_path):
    import torch.multiprocessing as mp
    world_size = 2
    mp.spawn(_ddp_worker, args=(world_size, _free_port(), str(tmp_path)), nprocs=world_size)
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in range(world_size)]
    assert torch.equal(ranks[0], ranks[1])

    # One process on the whole batch, with the same sampled labels
    model = make_model()
    opt = Sophia(model.parameters(), **SOPHIA_HP)
    half = BATCH // world_size
    for t, (x, y) in enumerate(make_data(8), start=1):
        if t % K == 1:
            y_hat = torch.cat([
                torch.multinomial(torch.softmax(model(x[r * half:(r + 1) * half]).detach(), -1), 1,
                                  generator=torch.Generator().manual_seed(t * 10 + r)).squeeze(-1)
                for r in range(world_size)])
            opt.zero_grad()
            F.cross_entropy(model(x), y_hat).backward()
            opt.update_hessian(BATCH)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert (ranks[0] - flat_params(model)).abs().max().item() <= 1e-6
