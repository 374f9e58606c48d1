"""Tiled attention with online softmax against scaled_dot_product_attention, values and gradients."""

import pytest
import torch
import torch.nn.functional as F

from labml_nn.transformers.flash import FlashAttention, flash_attention
from labml_nn.transformers.mha import causal_mask


def inputs(seq_q, seq_k, seed=0):
    g = torch.Generator().manual_seed(seed)
    make = lambda n: torch.randn(2, 3, n, 16, generator=g, dtype=torch.double, requires_grad=True)
    return make(seq_q), make(seq_k), make(seq_k)


@pytest.mark.parametrize('seq_q,seq_k,causal,tiles', [
    (37, 37, False, (8, 16)), (37, 37, True, (8, 16)), (50, 50, True, (16, 7)),
    (13, 45, True, (5, 9)), (13, 45, False, (64, 64)), (1, 30, True, (4, 4))])
def test_flash_equals_sdpa(seq_q, seq_k, causal, tiles):
    q, k, v = inputs(seq_q, seq_k)
    ours = flash_attention(q, k, v, is_causal=causal, tile_q=tiles[0], tile_k=tiles[1])
    mask = causal_mask(seq_q, seq_k) if causal else None
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(ours, ref)
    w = torch.randn_like(ref)
    g_ours = torch.autograd.grad((ours * w).sum(), (q, k, v))
    g_ref = torch.autograd.grad((ref * w).sum(), (q, k, v))
    for name, a, b in zip('qkv', g_ours, g_ref):
        torch.testing.assert_close(a, b, msg=f'gradient of {name}')


def test_flash_backward_passes_gradcheck():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 1, 5, 4, generator=g, dtype=torch.double, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(lambda a, b, c: flash_attention(a, b, c, is_causal=True, tile_q=2, tile_k=3),
                                    (q, k, v))


def test_mutation_without_rescaling_fails(monkeypatch):
    """Mutation: dropping the correction e^(m_old - m_new) of the online softmax breaks the equality."""
    q, k, v = inputs(20, 20)
    ref = F.scaled_dot_product_attention(q, k, v)
    real_exp = torch.exp
    calls = {'n': 0}

    def exp(x):
        # The correction is the exp whose argument has one dimension less than the scores
        calls['n'] += 1
        out = real_exp(x)
        return torch.ones_like(out) if x.dim() == 3 else out
    monkeypatch.setattr(torch, 'exp', exp)
    broken = flash_attention(q, k, v, tile_q=8, tile_k=5)
    assert calls['n'] > 0
    assert not torch.allclose(broken, ref)


def test_flash_argument_checks():
    q, k, v = inputs(4, 4)
    with pytest.raises(ValueError, match='tile sizes'):
        flash_attention(q, k, v, tile_q=0)
    with pytest.raises(ValueError, match='seq_q <= seq_k'):
        flash_attention(q, k[:, :, :2], v[:, :, :2], is_causal=True)
