"""Mixture of experts: one expert = dense FFN; routing, capacity and the balance loss against a token-by-token transcription."""

import math

import pytest
import torch

from labml_nn.transformers.feed_forward import FeedForward
from labml_nn.transformers.moe import MixtureOfExperts


def test_one_expert_equals_dense_ffn():
    torch.manual_seed(0)
    dense = FeedForward(16, 32, 0.0, activation=torch.nn.GELU()).double()
    moe = MixtureOfExperts(16, 32, n_experts=1, k=1, capacity_factor=1.0, expert=dense).double()
    x = torch.randn(3, 5, 16, dtype=torch.double)
    y, stats = moe(x)
    torch.testing.assert_close(y, dense(x))
    assert stats['dropped'] == 0
    torch.testing.assert_close(stats['balance_loss'], torch.tensor(1.0, dtype=torch.double))


def transcription(moe, x):
    """Routing, capacity and the Switch loss, one token and one choice at a time."""
    x = x.reshape(-1, x.shape[-1])
    T, E, k = x.shape[0], moe.n_experts, moe.k
    C = math.ceil(moe.capacity_factor * k * T / E) if moe.capacity_factor else T
    probs = torch.softmax(x @ moe.router.weight.T, dim=-1)
    used = [0] * E
    y = torch.zeros_like(x)
    counts = torch.zeros(E)
    kept = 0
    order = probs.argsort(dim=-1, descending=True)[:, :k]
    for rank in range(k):
        for t in range(T):
            i = int(order[t, rank])
            counts[i] += 1
            chosen = probs[t, order[t]]
            gate = chosen[rank] if k == 1 else chosen[rank] / chosen.sum()
            if used[i] < C:
                used[i] += 1
                kept += 1
                y[t] += gate * moe.experts[i](x[t:t + 1])[0]
    f = counts / (k * T)
    loss = E * (f * probs.mean(0)).sum()
    return y, loss, 1 - kept / (k * T)


@pytest.mark.parametrize('E,k,c', [(4, 1, 1.0), (4, 2, 1.0), (3, 2, 0.5), (5, 1, 0.0)])
def test_moe_matches_transcription(E, k, c):
    torch.manual_seed(E * 10 + k)
    moe = MixtureOfExperts(8, 12, n_experts=E, k=k, capacity_factor=c).double()
    x = torch.randn(2, 9, 8, dtype=torch.double)
    y, stats = moe(x)
    y_ref, loss_ref, dropped_ref = transcription(moe, x)
    torch.testing.assert_close(y.reshape(-1, 8), y_ref)
    torch.testing.assert_close(stats['balance_loss'], loss_ref.to(stats['balance_loss'].dtype))
    assert math.isclose(float(stats['dropped']), dropped_ref, abs_tol=1e-6)
    if c == 0.5:
        assert dropped_ref > 0


def test_mutation_no_capacity_differs_when_tokens_are_dropped():
    torch.manual_seed(1)
    moe = MixtureOfExperts(8, 12, n_experts=3, k=1, capacity_factor=0.5).double()
    x = torch.randn(1, 12, 8, dtype=torch.double)
    limited, stats = moe(x)
    assert stats['dropped'] > 0
    moe.capacity_factor = 0
    assert not torch.allclose(moe(x)[0], limited)


def test_balance_loss_gradient_pushes_away_from_the_favoured_expert():
    torch.manual_seed(0)
    moe = MixtureOfExperts(4, 8, n_experts=2, k=1, capacity_factor=0)
    with torch.no_grad():
        moe.router.weight.copy_(torch.tensor([[3.0, 0, 0, 0], [0, 0, 0, 0]]))
    x = torch.rand(64, 1, 4) + 0.5
    _, stats = moe(x)
    assert stats['counts'][0] > stats['counts'][1]
    stats['balance_loss'].backward()
    # Gradient descent lowers the favoured expert's router weights
    assert moe.router.weight.grad[0, 0] > 0


def test_moe_argument_checks():
    with pytest.raises(ValueError, match='k'):
        MixtureOfExperts(4, 8, n_experts=2, k=3)
    with pytest.raises(ValueError, match='capacity_factor'):
        MixtureOfExperts(4, 8, n_experts=2, capacity_factor=-1)
