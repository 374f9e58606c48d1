"""Tests of the transformer modules: shapes, masking and agreement with the equations."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labml_nn.transformers.feed_forward import FeedForward
from labml_nn.transformers.mha import MultiHeadAttention
from labml_nn.transformers.models import (
    Decoder, EmbeddingsWithLearnedPositionalEncoding, EmbeddingsWithPositionalEncoding, Encoder, EncoderDecoder,
    Generator, TransformerLayer)
from labml_nn.transformers.positional_encoding import (
    LearnedPositionalEncoding, SinusoidalPositionalEncoding, sinusoidal_positional_encoding)
from labml_nn.transformers.utils import subsequent_mask


def direct_attention(mha: MultiHeadAttention, xq, xk, xv, mask=None):
    """Multi-head attention transcribed from the equations, one head and one batch element at a time."""
    heads, d_k = mha.heads, mha.d_k
    batch, seq_q, _ = xq.shape
    out = torch.zeros(batch, seq_q, heads * d_k, dtype=xq.dtype)
    for b in range(batch):
        for i in range(heads):
            rows = slice(i * d_k, (i + 1) * d_k)
            # Q = X W^Q_i + b, with the head's rows of the combined projection
            q = xq[b] @ mha.query.linear.weight[rows].T + mha.query.linear.bias[rows]
            k = xk[b] @ mha.key.linear.weight[rows].T + mha.key.linear.bias[rows]
            v = xv[b] @ mha.value.linear.weight[rows].T + mha.value.linear.bias[rows]
            scores = q @ k.T / math.sqrt(d_k)
            if mask is not None:
                m = mask
                while m.dim() > 2:
                    m = m[b] if m.shape[0] > 1 else m[0]
                scores = scores.masked_fill(~m, float('-inf'))
            out[b, :, rows] = torch.softmax(scores, dim=-1) @ v
    return out @ mha.output.weight.T + mha.output.bias


def test_subsequent_mask_is_lower_triangular():
    m = subsequent_mask(5)
    assert m.dtype == torch.bool and m.shape == (5, 5)
    for i in range(5):
        for j in range(5):
            assert bool(m[i, j]) == (j <= i)


@pytest.mark.parametrize('case', ['plain', 'causal_flag', 'causal_mask', 'padding', 'cross'])
def test_attention_matches_direct_formula(case):
    torch.manual_seed(0)
    mha = MultiHeadAttention(heads=4, d_model=32, dropout_prob=0.0).double()
    seq_q, seq_k = (5, 7) if case == 'cross' else (6, 6)
    xq = torch.randn(3, seq_q, 32, dtype=torch.double)
    xkv = xq if case != 'cross' else torch.randn(3, seq_k, 32, dtype=torch.double)
    mask, kwargs = None, {}
    if case == 'causal_flag':
        kwargs = {'is_causal': True}
        mask = subsequent_mask(seq_q)
    elif case == 'causal_mask':
        mask = subsequent_mask(seq_q)
        kwargs = {'mask': mask}
    elif case == 'padding':
        # Hide the last two keys of the second sequence
        mask = torch.ones(3, 1, 1, seq_k, dtype=torch.bool)
        mask[1, ..., -2:] = False
        kwargs = {'mask': mask}
    got = mha(query=xq, key=xkv, value=xkv, **kwargs)
    expected = direct_attention(mha, xq, xkv, xkv, mask)
    assert got.shape == (3, seq_q, 32)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_attention_matches_torch_multihead_attention():
    torch.manual_seed(1)
    ours = MultiHeadAttention(heads=4, d_model=16, dropout_prob=0.0)
    ref = nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.query.linear.weight, ours.key.linear.weight,
                                            ours.value.linear.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.query.linear.bias, ours.key.linear.bias, ours.value.linear.bias]))
        ref.out_proj.weight.copy_(ours.output.weight)
        ref.out_proj.bias.copy_(ours.output.bias)
    x = torch.randn(2, 9, 16)
    # nn.MultiheadAttention's boolean mask marks the pairs that may NOT attend
    expected, _ = ref(x, x, x, attn_mask=~subsequent_mask(9), need_weights=False)
    torch.testing.assert_close(ours(query=x, key=x, value=x, is_causal=True), expected, rtol=1e-5, atol=1e-5)


def test_attention_argument_checks():
    with pytest.raises(ValueError, match='divisible'):
        MultiHeadAttention(heads=3, d_model=16)
    mha = MultiHeadAttention(heads=2, d_model=8)
    x = torch.randn(1, 3, 8)
    with pytest.raises(ValueError, match='not both'):
        mha(query=x, key=x, value=x, mask=subsequent_mask(3), is_causal=True)


def test_attention_dropout_only_in_training():
    torch.manual_seed(0)
    mha = MultiHeadAttention(heads=2, d_model=8, dropout_prob=0.5)
    x = torch.randn(2, 6, 8)
    mha.eval()
    a, b = mha(query=x, key=x, value=x), mha(query=x, key=x, value=x)
    torch.testing.assert_close(a, b)
    mha.train()
    assert not torch.allclose(mha(query=x, key=x, value=x), a)


@pytest.mark.parametrize('gated', [False, True])
def test_feed_forward_matches_formula(gated):
    torch.manual_seed(0)
    ff = FeedForward(8, 32, dropout_prob=0.0, activation=nn.GELU(), is_gated=gated).double()
    x = torch.randn(2, 5, 8, dtype=torch.double)
    h = F.gelu(x @ ff.layer1.weight.T + ff.layer1.bias)
    if gated:
        h = h * (x @ ff.linear_v.weight.T + ff.linear_v.bias)
    expected = h @ ff.layer2.weight.T + ff.layer2.bias
    torch.testing.assert_close(ff(x), expected)
    # Each position is transformed on its own
    torch.testing.assert_close(ff(x[:, 2:3]), ff(x)[:, 2:3])


def test_feed_forward_default_activation_is_relu():
    ff = FeedForward(4, 8, dropout_prob=0.0)
    assert isinstance(ff.activation, nn.ReLU)
    assert FeedForward(4, 8).activation is not ff.activation


def test_sinusoidal_encoding_matches_formula():
    pe = sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16)
    for p in (0, 1, 7, 49):
        for i in range(8):
            angle = p / 10000 ** (2 * i / 16)
            assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
            assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)


def test_sinusoidal_encoding_shift_is_a_rotation():
    # PE_{p+k} is the same linear map of PE_p for every p: a rotation of each (sin, cos) pair
    pe = sinusoidal_positional_encoding(64, 8).double()
    k = 5
    a = torch.linalg.lstsq(pe[:-k], pe[k:]).solution
    torch.testing.assert_close(pe[:-k] @ a, pe[k:], rtol=1e-6, atol=1e-6)


def test_positional_encoding_modules():
    x = torch.zeros(2, 10, 16)
    fixed = SinusoidalPositionalEncoding(16, 12)
    torch.testing.assert_close(fixed(x), sinusoidal_positional_encoding(12, 16)[:10].expand(2, 10, 16))
    assert not list(fixed.parameters())
    learned = LearnedPositionalEncoding(16, 12)
    assert [p.shape for p in learned.parameters()] == [torch.Size([12, 16])]
    torch.testing.assert_close(learned(x), learned.pe[:10].expand(2, 10, 16))
    for module in (fixed, learned):
        with pytest.raises(ValueError, match='max_len'):
            module(torch.zeros(1, 13, 16))
    with pytest.raises(ValueError, match='even'):
        sinusoidal_positional_encoding(4, 7)


def make_layer(d_model=16, heads=2, cross=False, dropout=0.0):
    return TransformerLayer(d_model=d_model,
                            self_attn=MultiHeadAttention(heads, d_model, dropout),
                            src_attn=MultiHeadAttention(heads, d_model, dropout) if cross else None,
                            feed_forward=FeedForward(d_model, 4 * d_model, dropout),
                            dropout_prob=dropout)


def test_pre_norm_layer_matches_formula():
    torch.manual_seed(0)
    layer = make_layer().double()
    x = torch.randn(2, 5, 16, dtype=torch.double)
    z = layer.norm_self_attn(x)
    x1 = x + layer.self_attn(query=z, key=z, value=z, is_causal=True)
    expected = x1 + layer.feed_forward(layer.norm_ff(x1))
    torch.testing.assert_close(layer(x=x, is_causal=True), expected)


def test_encoder_copies_are_independent_and_causal():
    torch.manual_seed(0)
    enc = Encoder(make_layer(), 3)
    assert len(enc.layers) == 3
    assert enc.layers[0].self_attn.query.linear.weight is not enc.layers[1].self_attn.query.linear.weight
    x = torch.randn(2, 8, 16)
    y = enc(x, is_causal=True)
    assert y.shape == (2, 8, 16)
    changed = x.clone()
    changed[:, 5] += torch.randn(16)
    y2 = enc(changed, is_causal=True)
    # Outputs before position 5 don't see the change, those from 5 on do
    torch.testing.assert_close(y2[:, :5], y[:, :5])
    assert not torch.allclose(y2[:, 5:], y[:, 5:])


def test_encoder_decoder_shapes_and_masks():
    torch.manual_seed(0)
    d = 16
    model = EncoderDecoder(Encoder(make_layer(d), 2), Decoder(make_layer(d, cross=True), 2),
                           EmbeddingsWithPositionalEncoding(d, 11, 20),
                           EmbeddingsWithLearnedPositionalEncoding(d, 13, 20), Generator(13, d))
    src = torch.randint(0, 11, (2, 7))
    tgt = torch.randint(0, 13, (2, 5))
    # The last two source tokens of every sequence are padding
    src_mask = torch.ones(2, 1, 1, 7, dtype=torch.bool)
    src_mask[..., 5:] = False
    logits = model(src, tgt, src_mask)
    assert logits.shape == (2, 5, 13)
    # Changing padding changes nothing; changing a real source token changes the output
    padded = src.clone()
    padded[:, 5:] = (padded[:, 5:] + 1) % 11
    torch.testing.assert_close(model(padded, tgt, src_mask), logits)
    real = src.clone()
    real[:, 0] = (real[:, 0] + 1) % 11
    assert not torch.allclose(model(real, tgt, src_mask), logits)
    # The decoder is causal: changing target token 3 leaves the logits of positions 0..2 alone
    tgt2 = tgt.clone()
    tgt2[:, 3] = (tgt2[:, 3] + 1) % 13
    torch.testing.assert_close(model(src, tgt2, src_mask)[:, :3], logits[:, :3])
    with pytest.raises(ValueError, match='src_attn'):
        Decoder(make_layer(d), 1)


def test_embeddings_scale():
    torch.manual_seed(0)
    emb = EmbeddingsWithPositionalEncoding(64, 100, 10)
    x = emb.embedding(torch.arange(100)) * emb.scale
    # Token vectors start with entries of size about 1, like the sinusoids
    assert 0.8 < x.std().item() < 1.2


def small_model(n_vocab=40, learned=False, dropout=0.0):
    from labml_nn.transformers.basic.autoregressive_experiment import AutoregressiveTransformer, Config
    cfg = Config(d_model=32, heads=4, d_ff=64, n_layers=2, seq_len=24, dropout=dropout, learned_positions=learned)
    return AutoregressiveTransformer(n_vocab, cfg)


@pytest.mark.parametrize('learned', [False, True])
def test_autoregressive_model_is_causal(learned):
    torch.manual_seed(0)
    model = small_model(learned=learned).eval()
    x = torch.randint(0, 40, (3, 24))
    logits = model(x)
    assert logits.shape == (3, 24, 40)
    for t in (0, 10, 23):
        changed = x.clone()
        changed[:, t] = (changed[:, t] + 1) % 40
        new = model(changed)
        # A future token never changes an earlier output...
        torch.testing.assert_close(new[:, :t], logits[:, :t])
        # ...and the changed position itself does change
        assert not torch.allclose(new[:, t], logits[:, t])


def test_untrained_loss_is_close_to_log_vocab():
    torch.manual_seed(0)
    model = small_model(n_vocab=65)
    x = torch.randint(0, 65, (8, 24))
    y = torch.randint(0, 65, (8, 24))
    loss = F.cross_entropy(model(x).reshape(-1, 65), y.reshape(-1))
    assert abs(loss.item() - math.log(65)) < 0.05
