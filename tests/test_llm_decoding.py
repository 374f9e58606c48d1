"""KV cache and sampling: cached generation equals recompute-the-prefix generation, and the sampling rules."""

import pytest
import torch

from labml_nn.sampling.generate import generate
from labml_nn.sampling.samplers import (greedy, min_p_filter, sample, top_k_filter, top_p_filter)
from labml_nn.transformers.basic.autoregressive_experiment import AutoregressiveTransformer, Config
from labml_nn.transformers.gpt import GPT
from labml_nn.transformers.kv_cache import KVCache, LayerKVCache
from labml_nn.transformers.llama import Llama


def basic_model(learned=False, seed=0):
    torch.manual_seed(seed)
    cfg = Config(d_model=32, heads=4, d_ff=64, n_layers=2, seq_len=48, learned_positions=learned)
    model = AutoregressiveTransformer(20, cfg).eval()
    # Larger output weights than the untrained default, so that greedy choices are not near-ties
    with torch.no_grad():
        model.generator.projection.weight.mul_(20)
    return model


def gpt_model(seed=0):
    torch.manual_seed(seed)
    model = GPT(20, 32, 4, 2, 48).eval()
    # Larger random weights than GPT-2's initialisation, so that the generated tokens vary
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(std=0.5)
    return model


def llama_model(seed=0, n_kv_heads=2):
    torch.manual_seed(seed)
    model = Llama(20, 32, 4, n_kv_heads, 2, 48).eval()
    with torch.no_grad():
        model.output.weight.mul_(30)
    return model


def models():
    yield 'basic', basic_model(), lambda: KVCache(2, 48)
    yield 'basic-learned', basic_model(learned=True), lambda: KVCache(2, 48)
    yield 'gpt', gpt_model(), lambda: KVCache(2, 48)
    yield 'llama-gqa', llama_model(), lambda: KVCache(2, 48)
    yield 'llama-mqa', llama_model(n_kv_heads=1), lambda: KVCache(2, 48)


# ---------------------------------------------------------------- the cache

def test_layer_cache_appends_and_refuses_overflow():
    c = LayerKVCache(5)
    k = torch.randn(1, 2, 3, 4)
    a, b = c.append(k, k + 1)
    assert c.length == 3 and torch.equal(a, k) and torch.equal(b, k + 1)
    k2 = torch.randn(1, 2, 2, 4)
    a, _ = c.append(k2, k2)
    assert a.shape == (1, 2, 5, 4) and torch.equal(a[:, :, 3:], k2)
    with pytest.raises(ValueError, match='max_len=5'):
        c.append(k2[:, :, :1], k2[:, :, :1])


@pytest.mark.parametrize('name,model,new_cache', list(models()), ids=lambda v: v if isinstance(v, str) else '')
def test_cached_logits_equal_full_forward(name, model, new_cache):
    x = torch.randint(0, 20, (2, 12))
    full = model(x)
    cache = new_cache()
    parts = [model(x[:, :5], cache=cache)] + [model(x[:, i:i + 1], cache=cache) for i in range(5, 12)]
    torch.testing.assert_close(torch.cat(parts, dim=1), full, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name,model,new_cache', list(models()), ids=lambda v: v if isinstance(v, str) else '')
def test_greedy_generation_with_cache_equals_without(name, model, new_cache):
    # A prompt of its own generator: the global one's state depends on which tests ran before
    prompt = torch.randint(0, 20, (3, 4), generator=torch.Generator().manual_seed(0))
    slow = generate(model, prompt, 30)
    fast = generate(model, prompt, 30, cache=new_cache())
    assert torch.equal(slow, fast)
    assert torch.equal(slow[:, :4], prompt)
    # Not a degenerate constant sequence
    assert len(set(slow[0, 4:].tolist())) > 1


@pytest.mark.parametrize('name,model,new_cache', list(models()), ids=lambda v: v if isinstance(v, str) else '')
def test_seeded_sampling_with_cache_equals_without(name, model, new_cache):
    prompt = torch.randint(0, 20, (2, 3))

    def run(cache):
        g = torch.Generator().manual_seed(7)
        return generate(model, prompt, 25, cache=cache,
                        sampler=lambda z: sample(z, temperature=1.5, top_k=10, generator=g))
    assert torch.equal(run(None), run(new_cache()))


def test_mutation_positions_not_offset_breaks_cached_generation(monkeypatch):
    """Mutation: decoding without advancing the positions by the cache length gives different logits."""
    model = basic_model()
    x = torch.randint(0, 20, (1, 8))
    full = model(x)
    cache = KVCache(2, 48)
    model(x[:, :7], cache=cache)
    embed_forward = model.embed.forward
    monkeypatch.setattr(model.embed, 'forward', lambda t, offset=0: embed_forward(t, 0))
    assert not torch.allclose(model(x[:, 7:], cache=cache)[:, -1], full[:, -1], atol=1e-3)


def test_generate_argument_checks():
    model = basic_model()
    cache = KVCache(2, 48)
    model(torch.zeros(1, 2, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match='empty KV cache'):
        generate(model, torch.zeros(1, 2, dtype=torch.long), 3, cache=cache)


# ---------------------------------------------------------------- sampling rules

def test_filters_on_a_known_distribution():
    probs = torch.tensor([[0.05, 0.5, 0.15, 0.3]])
    logits = probs.log()
    kept = lambda z: torch.isfinite(z)[0].tolist()
    assert kept(top_k_filter(logits, 2)) == [False, True, False, True]
    # 0.5 + 0.3 = 0.8 reaches p = 0.8: two tokens; p = 0.81 needs the third
    assert kept(top_p_filter(logits, 0.79)) == [False, True, False, True]
    assert kept(top_p_filter(logits, 0.81)) == [False, True, True, True]
    assert kept(top_p_filter(logits, 0.1)) == [False, True, False, False]
    # min-p 0.3: threshold 0.15 keeps 0.5, 0.3 and 0.15
    assert kept(min_p_filter(logits, 0.3)) == [False, True, True, True]
    assert kept(min_p_filter(logits, 0.31)) == [False, True, False, True]
    assert greedy(logits).tolist() == [1]


def test_filtered_sampling_matches_renormalised_distribution():
    """Top-p sampling draws from the kept tokens with renormalised probabilities (chi-square, 1e-4 false-failure rate)."""
    probs = torch.tensor([0.05, 0.5, 0.15, 0.3])
    g = torch.Generator().manual_seed(0)
    n = 20000
    draws = sample(probs.log().expand(n, 4), top_p=0.81, generator=g)
    counts = torch.bincount(draws, minlength=4).double()
    assert counts[0] == 0
    expected = torch.tensor([0.5, 0.15, 0.3]) / 0.95 * n
    chi2 = ((counts[1:] - expected) ** 2 / expected).sum().item()
    # 2 degrees of freedom: P(chi2 > 18.42) = 1e-4
    assert chi2 < 18.42


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    p1 = (logits / 0.5).softmax(-1)
    p2 = (logits / 2.0).softmax(-1)
    assert p1[0, 0] > logits.softmax(-1)[0, 0] > p2[0, 0]
    with pytest.raises(ValueError, match='temperature'):
        sample(logits, temperature=-1.0)
    assert sample(logits, temperature=0).tolist() == [0]
