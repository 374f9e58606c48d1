"""Attention written out (einsum) against the fused kernel, and the bottom-right causal mask."""

import math

import pytest
import torch
import torch.nn.functional as F

from labml_nn.transformers import mha as mha_module
from labml_nn.transformers.mha import MultiHeadAttention, attention, causal_mask


def qkv(seq_q, seq_k, batch=2, heads=3, d_k=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, heads, seq_q, d_k, generator=g, dtype=torch.double, requires_grad=True)
    k = torch.randn(batch, heads, seq_k, d_k, generator=g, dtype=torch.double, requires_grad=True)
    v = torch.randn(batch, heads, seq_k, d_k, generator=g, dtype=torch.double, requires_grad=True)
    return q, k, v


def test_causal_mask_is_bottom_right():
    m = causal_mask(3, 5)
    for i in range(3):
        for j in range(5):
            assert bool(m[i, j]) == (j <= i + 2)
    assert torch.equal(causal_mask(4, 4), torch.ones(4, 4, dtype=torch.bool).tril())
    with pytest.raises(ValueError, match='seq_q <= seq_k'):
        causal_mask(5, 3)


@pytest.mark.parametrize('case', ['plain', 'causal', 'causal_short_q', 'padding'])
def test_einsum_attention_equals_sdpa_values_and_grads(case):
    seq_q, seq_k = (3, 7) if case == 'causal_short_q' else (6, 6)
    q, k, v = qkv(seq_q, seq_k)
    kwargs, ref_kwargs = {}, {}
    if case in ('causal', 'causal_short_q'):
        kwargs = {'is_causal': True}
        ref_kwargs = {'attn_mask': causal_mask(seq_q, seq_k)}
    if case == 'padding':
        mask = torch.ones(2, 1, 1, seq_k, dtype=torch.bool)
        mask[0, ..., -2:] = False
        kwargs = ref_kwargs = {'attn_mask': mask}
        kwargs = {'mask': mask}
    ours = attention(q, k, v, **kwargs)
    ref = F.scaled_dot_product_attention(q, k, v, **ref_kwargs)
    torch.testing.assert_close(ours, ref)
    w = torch.randn_like(ref)
    g_ours = torch.autograd.grad((ours * w).sum(), (q, k, v))
    g_ref = torch.autograd.grad((ref * w).sum(), (q, k, v))
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b)


def test_einsum_attention_equals_direct_formula():
    q, k, v = qkv(4, 4)
    ours = attention(q, k, v, is_causal=True)
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.ones(4, 4).triu(1).bool(), float('-inf'))
    torch.testing.assert_close(ours, s.softmax(-1) @ v)


def test_einsum_dropout_drops_attention_weights():
    q, k, v = qkv(5, 5)
    torch.manual_seed(3)
    ours = attention(q, k, v, dropout_p=0.4)
    weights = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(-1)
    torch.manual_seed(3)
    keep = F.dropout(torch.ones_like(weights), p=0.4)
    torch.testing.assert_close(ours, (weights * keep) @ v)
    assert not torch.allclose(ours, weights @ v)


def test_queries_at_the_end_read_like_the_last_rows_of_full_attention():
    """What a KV cache needs: the last m queries against all keys = the last m rows of full causal attention."""
    q, k, v = qkv(7, 7)
    full = attention(q, k, v, is_causal=True)
    for m in (1, 3):
        torch.testing.assert_close(attention(q[:, :, -m:], k, v, is_causal=True), full[:, :, -m:])


def test_top_left_alignment_would_break_cached_decoding(monkeypatch):
    """Mutation: PyTorch's own top-left causal alignment fails the property above."""
    q, k, v = qkv(7, 7)
    full = attention(q, k, v, is_causal=True)
    # The kernel's own `is_causal` with fewer queries than keys is top-left
    top_left = F.scaled_dot_product_attention(q[:, :, -3:], k, v, is_causal=True)
    assert not torch.allclose(top_left, full[:, :, -3:])
    monkeypatch.setattr(mha_module, 'causal_mask',
                        lambda sq, sk, device=None: torch.ones(sq, sk, dtype=torch.bool, device=device).tril())
    assert not torch.allclose(mha_module.attention(q[:, :, -3:], k, v, is_causal=True), full[:, :, -3:])


@pytest.mark.parametrize('case', ['causal', 'cross', 'padding'])
def test_module_einsum_path_equals_fused_path(case):
    torch.manual_seed(0)
    fused = MultiHeadAttention(heads=4, d_model=32, dropout_prob=0.0).double()
    plain = MultiHeadAttention(heads=4, d_model=32, dropout_prob=0.0, fused=False).double()
    plain.load_state_dict(fused.state_dict())
    x = torch.randn(2, 6, 32, dtype=torch.double)
    kv = torch.randn(2, 9, 32, dtype=torch.double) if case == 'cross' else x
    kwargs = {'is_causal': True} if case == 'causal' else {}
    if case == 'padding':
        mask = torch.ones(2, 1, 1, 6, dtype=torch.bool)
        mask[1, ..., :2] = False
        kwargs = {'mask': mask}
    a = fused(query=x, key=kv, value=kv, **kwargs)
    b = plain(query=x, key=kv, value=kv, **kwargs)
    torch.testing.assert_close(a, b)
    a.square().sum().backward()
    b.square().sum().backward()
    for (name, p1), p2 in zip(fused.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, msg=name)


def test_module_causal_with_fewer_queries_is_bottom_right():
    torch.manual_seed(0)
    mha = MultiHeadAttention(heads=2, d_model=16, dropout_prob=0.0).double()
    x = torch.randn(1, 5, 16, dtype=torch.double)
    full = mha(query=x, key=x, value=x, is_causal=True)
    last = mha(query=x[:, -2:], key=x, value=x, is_causal=True)
    torch.testing.assert_close(last, full[:, -2:])
