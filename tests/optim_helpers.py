"""
Shared pieces of the tests of the optimizer pages: a small model in float64, fixed batches, training
loops over our optimizer and a reference, and the state-dict round trip.
"""

import copy
import io

import torch
import torch.nn as nn
import torch.nn.functional as F

N_IN, N_HIDDEN, N_CLASSES, BATCH = 8, 12, 4, 16


def make_model(seed: int = 0, bias: bool = True, dtype=torch.float64) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(N_IN, N_HIDDEN, bias=bias), nn.Tanh(),
                         nn.Linear(N_HIDDEN, N_HIDDEN, bias=bias), nn.Tanh(),
                         nn.Linear(N_HIDDEN, N_CLASSES, bias=bias)).to(dtype)


def make_data(n_steps: int, seed: int = 1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(N_CLASSES, N_IN, generator=g, dtype=torch.float64)
    out = []
    for _ in range(n_steps):
        x = torch.randn(BATCH, N_IN, generator=g, dtype=torch.float64)
        y = torch.distributions.Categorical(logits=x @ w.T).sample()
        out.append((x.to(dtype), y))
    return out


def groups(model: nn.Module, weight_decay: float, lr: float):
    """Three groups with overrides: a learning rate, no decay, the defaults"""
    ws = [m.weight for m in model if isinstance(m, nn.Linear)]
    bs = [m.bias for m in model if isinstance(m, nn.Linear) and m.bias is not None]
    out = [{'params': [ws[0]], 'lr': lr * 2},
           {'params': [ws[1]] + bs, 'weight_decay': 0.},
           {'params': [ws[2]]}]
    return out


def flat(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def train(make_opt, n_steps: int = 100, bias: bool = True, dtype=torch.float64, seed: int = 0,
          data_seed: int = 1, train_mode=None):
    """Train a fresh model with `make_opt(model)`; returns the flat parameters and the optimizer"""
    model = make_model(seed, bias, dtype)
    opt = make_opt(model)
    for x, y in make_data(n_steps, data_seed, dtype):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return flat(model), opt, model


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def round_trip_is_bit_identical(make_opt, bias: bool = True, before=None, after=None) -> bool:
    """
    Train 6 steps, save, train 6 more; then load the saved model and optimizer into fresh objects and
    train the same 6 steps. `before`/`after` are called on the optimizer around the save (Schedule-Free
    switches to eval weights to save).
    """
    data = make_data(12, dtype=torch.float64)
    model = make_model(0, bias)
    opt = make_opt(model)

    def run(m, o, batches):
        for x, y in batches:
            o.zero_grad()
            F.cross_entropy(m(x), y).backward()
            o.step()

    run(model, opt, data[:6])
    buf = io.BytesIO()
    torch.save({'model': model.state_dict(), 'opt': opt.state_dict()}, buf)
    run(model, opt, data[6:])
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    model2 = make_model(1, bias)
    model2.load_state_dict(saved['model'])
    opt2 = make_opt(model2)
    opt2.load_state_dict(saved['opt'])
    run(model2, opt2, data[6:])
    return torch.equal(flat(model), flat(model2))
