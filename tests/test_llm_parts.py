"""RMSNorm, GLU variants, rotary embeddings, ALiBi and grouped-query attention against their references."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.normalization.rms_norm import RMSNorm
from labml_nn.transformers.alibi import alibi_bias, alibi_slopes
from labml_nn.transformers.glu_variants import glu_feed_forward, glu_hidden_size
from labml_nn.transformers.gqa import GroupedQueryAttention
from labml_nn.transformers.mha import MultiHeadAttention
from labml_nn.transformers.rope import RotaryPositionalEmbeddings


# ---------------------------------------------------------------- RMSNorm

@pytest.mark.parametrize('eps,affine,dtype', [(None, True, torch.float32), (1e-5, True, torch.float64),
                                              (1e-6, False, torch.float32)])
def test_rms_norm_equals_torch(eps, affine, dtype):
    torch.manual_seed(0)
    ours = RMSNorm(16, eps=eps, elementwise_affine=affine).to(dtype)
    ref = nn.RMSNorm(16, eps=eps, elementwise_affine=affine).to(dtype)
    if affine:
        with torch.no_grad():
            ours.weight.copy_(torch.randn(16))
            ref.weight.copy_(ours.weight)
    x = (torch.randn(3, 5, 16) * 3 + 1).to(dtype)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1, y2 = ours(x1), ref(x2)
    torch.testing.assert_close(y1, y2)
    w = torch.randn_like(y1)
    (y1 * w).sum().backward()
    (y2 * w).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    if affine:
        torch.testing.assert_close(ours.weight.grad, ref.weight.grad)


def test_rms_norm_is_not_layer_norm_and_eps_matters():
    """Mutations: subtracting the mean (LayerNorm) or dropping eps breaks the agreement."""
    x = torch.randn(4, 8) + 2
    ref = nn.RMSNorm(8, eps=1e-2, elementwise_affine=False)(x)
    assert not torch.allclose(F.layer_norm(x, (8,), eps=1e-2), ref, atol=1e-3)
    assert not torch.allclose(RMSNorm(8, eps=0.0, elementwise_affine=False)(x * 0.1), 
                              nn.RMSNorm(8, eps=1e-2, elementwise_affine=False)(x * 0.1), atol=1e-3)
    torch.testing.assert_close(RMSNorm(8, eps=1e-2, elementwise_affine=False)(x), ref)
    with pytest.raises(ValueError, match='eps'):
        RMSNorm(8, eps=-1.0)


# ---------------------------------------------------------------- GLU variants

@pytest.mark.parametrize('variant,f', [('glu', torch.sigmoid), ('reglu', torch.relu),
                                       ('geglu', F.gelu), ('swiglu', lambda z: z * torch.sigmoid(z))])
def test_glu_variants_match_paper_formula(variant, f):
    torch.manual_seed(0)
    ffn = glu_feed_forward(variant, 8, 12).double()
    x = torch.randn(2, 3, 8, dtype=torch.double)
    W, V, W2 = ffn.layer1.weight.T, ffn.linear_v.weight.T, ffn.layer2.weight.T
    # FFN_variant(x) = (f(x W) * x V) W2, no biases (Shazeer 2020, eq. 6)
    expected = (f(x @ W) * (x @ V)) @ W2
    torch.testing.assert_close(ffn(x), expected)
    # Mutation: the activation on the other branch gives a different function
    assert not torch.allclose(ffn(x), ((x @ W) * f(x @ V)) @ W2)
    assert all(m.bias is None for m in (ffn.layer1, ffn.linear_v, ffn.layer2))


def test_glu_hidden_size_matches_parameter_count():
    d = 48
    d_ff = glu_hidden_size(d)
    assert d_ff == 128
    plain = 2 * d * 4 * d
    assert 3 * d * d_ff == plain
    assert glu_hidden_size(4096, 256) == 11008  # LLaMA-7B
    with pytest.raises(ValueError, match='variant'):
        glu_feed_forward('tanhglu', 4, 4)


# ---------------------------------------------------------------- RoPE

def rope_complex(x, positions, base=10000.0):
    """Transcription with complex numbers: pairs (x_2i, x_2i+1) times exp(i m theta_i)."""
    d = x.shape[-1]
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    z = torch.view_as_complex(x.double().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    rot = torch.polar(torch.ones_like(theta), positions.double()[:, None] * theta[None])
    return torch.view_as_real(z * rot).flatten(-2)


def test_rope_matches_complex_rotation():
    rope = RotaryPositionalEmbeddings(8, 32)
    x = torch.randn(2, 3, 5, 8, dtype=torch.float64)
    torch.testing.assert_close(rope(x), rope_complex(x, torch.arange(5)))
    torch.testing.assert_close(rope(x, offset=7), rope_complex(x, torch.arange(7, 12)))
    torch.testing.assert_close(rope(x).norm(dim=-1), x.norm(dim=-1))


def test_rope_scores_depend_only_on_the_offset():
    """Property: q·k of positions (m, n) equals that of (m + s, n + s) for any shift s; not so without RoPE's pairing."""
    g = torch.Generator().manual_seed(0)
    rope = RotaryPositionalEmbeddings(16, 64)
    for _ in range(20):
        q = torch.randn(1, 1, 1, 16, generator=g, dtype=torch.float64)
        k = torch.randn(1, 1, 1, 16, generator=g, dtype=torch.float64)
        m, n, s = (int(t) for t in torch.randint(0, 20, (3,), generator=g))
        a = (rope(q, m) * rope(k, n)).sum()
        b = (rope(q, m + s) * rope(k, n + s)).sum()
        torch.testing.assert_close(a, b)
    # The scores do depend on the offset
    q = torch.randn(1, 1, 1, 16, generator=g, dtype=torch.float64)
    assert not torch.allclose((rope(q, 3) * rope(q, 0)).sum(), (rope(q, 5) * rope(q, 0)).sum())


def test_rope_mutation_wrong_sign_breaks_offset_property():
    """Mutation: rotating odd features with the wrong sign is not a rotation and breaks the property."""
    class Broken(RotaryPositionalEmbeddings):
        def forward(self, x, offset=0):
            seq = x.shape[-2]
            cos, sin = self.cos[offset:offset + seq].to(x.dtype), self.sin[offset:offset + seq].to(x.dtype)
            e, o = x[..., 0::2], x[..., 1::2]
            return torch.stack((e * cos - o * sin, e * sin - o * cos), -1).flatten(-2)
    rope = Broken(16, 64)
    q = torch.randn(1, 1, 1, 16, dtype=torch.float64)
    k = torch.randn(1, 1, 1, 16, dtype=torch.float64)
    assert not torch.allclose((rope(q, 2) * rope(k, 1)).sum(), (rope(q, 9) * rope(k, 8)).sum())


# ---------------------------------------------------------------- ALiBi

def paper_slopes(n):
    """Transcription of get_slopes from the paper's official code (ofirpress/attention_with_linear_biases)."""
    def power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        ratio = start
        return [start * ratio ** i for i in range(n)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + paper_slopes(2 * closest)[0::2][:n - closest]


@pytest.mark.parametrize('n', [1, 2, 3, 5, 6, 8, 12, 16, 20, 24])
def test_alibi_slopes_equal_papers(n):
    torch.testing.assert_close(alibi_slopes(n), torch.tensor(paper_slopes(n)), rtol=1e-6, atol=0)


def test_alibi_slopes_eight_heads_and_mutation():
    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0 ** -i for i in range(1, 9)]))
    # Mutation: a plain geometric sequence 2^(-8h/n) for n = 12 is not the paper's rule
    wrong = 2.0 ** (-8.0 * torch.arange(1, 13) / 12)
    assert not torch.allclose(wrong, torch.tensor(paper_slopes(12)))


def test_alibi_bias_is_linear_in_distance_and_causal():
    bias = alibi_bias(4, 3, 5)
    slopes = torch.tensor(paper_slopes(4))
    for h in range(4):
        for i in range(3):
            for j in range(5):
                pos = i + 2
                if j > pos:
                    assert bias[h, i, j] == float('-inf')
                else:
                    assert math.isclose(bias[h, i, j].item(), -slopes[h].item() * (pos - j), rel_tol=1e-6)
    # The bias of the last query equals the last row of the full bias (cached decoding)
    torch.testing.assert_close(alibi_bias(4, 1, 5), alibi_bias(4, 5, 5)[:, -1:])


# ---------------------------------------------------------------- GQA

def test_gqa_with_all_heads_equals_mha():
    torch.manual_seed(0)
    mha = MultiHeadAttention(heads=4, d_model=32, dropout_prob=0.0, bias=True).double()
    gqa = GroupedQueryAttention(32, 4, 4, bias=True).double()
    with torch.no_grad():
        for ours, theirs in ((gqa.query, mha.query.linear), (gqa.key, mha.key.linear),
                             (gqa.value, mha.value.linear), (gqa.output, mha.output)):
            ours.weight.copy_(theirs.weight)
            ours.bias.copy_(theirs.bias)
    x = torch.randn(2, 7, 32, dtype=torch.double)
    torch.testing.assert_close(gqa(x), mha(query=x, key=x, value=x, is_causal=True))
    gqa.fused = False
    torch.testing.assert_close(gqa(x), mha(query=x, key=x, value=x, is_causal=True))


@pytest.mark.parametrize('n_kv', [1, 2, 3, 6])
def test_gqa_equals_sdpa_enable_gqa(n_kv):
    torch.manual_seed(n_kv)
    gqa = GroupedQueryAttention(24, 6, n_kv, fused=False).double()
    x = torch.randn(2, 5, 24, dtype=torch.double, requires_grad=True)
    q = gqa.query(x).view(2, 5, 6, 4).transpose(1, 2)
    k = gqa.key(x).view(2, 5, n_kv, 4).transpose(1, 2)
    v = gqa.value(x).view(2, 5, n_kv, 4).transpose(1, 2)
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    expected = gqa.output(o.transpose(1, 2).reshape(2, 5, 24))
    got = gqa(x)
    torch.testing.assert_close(got, expected)
    gx1, = torch.autograd.grad(got.sum(), x)
    gx2, = torch.autograd.grad(expected.sum(), x)
    torch.testing.assert_close(gx1, gx2)
    gqa.fused = True
    torch.testing.assert_close(gqa(x), expected)


def test_gqa_grouping_order_matters(monkeypatch):
    """Mutation: tiling the key/value heads (repeat) instead of grouping them (repeat_interleave) fails."""
    torch.manual_seed(0)
    gqa = GroupedQueryAttention(24, 6, 2, fused=False).double()
    x = torch.randn(1, 5, 24, dtype=torch.double)
    good = gqa(x)
    gqa.fused = True
    torch.testing.assert_close(gqa(x), good)
    gqa.fused = False
    monkeypatch.setattr(torch.Tensor, 'repeat_interleave',
                        lambda self, n, dim: self.repeat(*[n if d == dim else 1 for d in range(self.dim())]))
    assert not torch.allclose(gqa(x), good)


def test_gqa_argument_checks():
    with pytest.raises(ValueError, match='n_kv_heads'):
        GroupedQueryAttention(24, 6, 4)
    with pytest.raises(ValueError, match='n_heads'):
        GroupedQueryAttention(25, 6, 2)
