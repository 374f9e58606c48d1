"""GPT and the LLaMA-style model: structure, initialisation and causality."""

import math

import pytest
import torch
from torch import nn

from labml_nn.normalization.rms_norm import RMSNorm
from labml_nn.transformers.gpt import GPT
from labml_nn.transformers.gqa import GroupedQueryAttention
from labml_nn.transformers.kv_cache import KVCache
from labml_nn.transformers.llama import Llama


def test_gpt_ties_output_to_embeddings():
    model = GPT(30, 32, 4, 2, 16)
    x = torch.randint(0, 30, (2, 5))
    logits = model(x)
    # The output layer is the embedding matrix: changing it changes the logits through both uses
    n_params = sum(p.numel() for p in model.parameters())
    assert not any(p.shape == (30, 32) for name, p in model.named_parameters() if 'token_embedding' not in name)
    h = model.transformer(model.token_embedding(x) + model.position_embedding(torch.arange(5)), is_causal=True)
    torch.testing.assert_close(logits, h @ model.token_embedding.weight.T)
    assert n_params == sum(p.numel() for p in set(model.parameters()))


def test_gpt2_initialisation():
    torch.manual_seed(0)
    L = 4
    model = GPT(50, 256, 4, L, 64)
    std = lambda t: t.detach().std().item()
    assert math.isclose(std(model.token_embedding.weight), 0.02, rel_tol=0.05)
    layer = model.transformer.layers[0]
    assert math.isclose(std(layer.self_attn.query.linear.weight), 0.02, rel_tol=0.05)
    assert math.isclose(std(layer.feed_forward.layer1.weight), 0.02, rel_tol=0.05)
    residual = 0.02 / math.sqrt(2 * L)
    assert math.isclose(std(layer.self_attn.output.weight), residual, rel_tol=0.05)
    assert math.isclose(std(layer.feed_forward.layer2.weight), residual, rel_tol=0.05)
    assert torch.all(layer.self_attn.output.bias == 0)
    assert torch.all(layer.norm_ff.weight == 1)


@pytest.mark.parametrize('make', [lambda: GPT(20, 32, 4, 2, 16), lambda: Llama(20, 32, 4, 2, 2, 16)])
def test_models_are_causal(make):
    torch.manual_seed(0)
    model = make().eval()
    x = torch.randint(0, 20, (1, 10))
    y = x.clone()
    y[0, 6] = (y[0, 6] + 1) % 20
    a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_llama_is_built_from_the_chapter_parts():
    model = Llama(20, 48, 6, 2, 3, 32)
    layer = model.layers[0]
    assert isinstance(layer.attention_norm, RMSNorm) and isinstance(model.norm, RMSNorm)
    assert isinstance(layer.attention, GroupedQueryAttention) and layer.attention.n_kv_heads == 2
    assert layer.attention.rope is not None
    assert isinstance(layer.feed_forward.activation, nn.SiLU) and layer.feed_forward.layer1.out_features == 128
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Linear))
    # The cache holds only the key/value heads: [batch, n_kv_heads, max_len, d_k]
    cache = KVCache(3, 32)
    model(torch.zeros(1, 4, dtype=torch.long), cache=cache)
    assert cache[0].k.shape == (1, 2, 32, 8)


def test_models_refuse_too_long_input():
    with pytest.raises(ValueError, match='max_len=8'):
        GPT(10, 16, 2, 1, 8)(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match='max_len=8'):
        Llama(10, 16, 2, 1, 1, 8)(torch.zeros(1, 9, dtype=torch.long))
