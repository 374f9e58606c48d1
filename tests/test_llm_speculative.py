"""Speculative decoding: greedy = the target's greedy output; sampled tokens follow the target's distribution."""

import pytest
import torch

from labml_nn.sampling import speculative
from labml_nn.sampling.generate import generate
from labml_nn.sampling.speculative import speculative_generate, verify
from labml_nn.transformers.gpt import GPT
from labml_nn.transformers.kv_cache import KVCache
from labml_nn.transformers.llama import Llama

# Upper 1e-4 quantiles of the chi-square distribution (from standard tables), by degrees of freedom.
# A correct implementation fails a test that uses them with probability 1e-4 for a random seed;
# the seeds below are fixed, so the tests are deterministic.
CHI2_1E4 = {2: 18.421, 4: 23.513, 5: 25.745}


def chi_square(counts, probs):
    expected = probs * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())


def spread(model, std):
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(std=std)
    return model.eval()


def models(n_vocab=20):
    torch.manual_seed(0)
    target = spread(Llama(n_vocab, 32, 4, 2, 2, 64), 0.5)
    draft = spread(GPT(n_vocab, 16, 2, 1, 64), 0.5)
    return target, draft


@pytest.mark.parametrize('gamma', [1, 3, 5])
def test_greedy_speculative_equals_target_greedy(gamma):
    target, draft = models()
    prompt = torch.randint(0, 20, (1, 5), generator=torch.Generator().manual_seed(gamma))
    expected = generate(target, prompt, 30, cache=KVCache(2, 64))
    got = speculative_generate(target, draft, prompt, 30, target_cache=KVCache(2, 64),
                               draft_cache=KVCache(1, 64), gamma=gamma, temperature=0)
    assert torch.equal(got, expected)


def test_greedy_speculative_with_the_target_as_draft_accepts_everything(monkeypatch):
    target, _ = models()
    calls = []
    original = speculative.verify_greedy
    monkeypatch.setattr(speculative, 'verify_greedy', lambda p, d: calls.append(1) or original(p, d))
    prompt = torch.tensor([[1, 2, 3]])
    got = speculative_generate(target, target, prompt, 20, target_cache=KVCache(2, 64),
                               draft_cache=KVCache(2, 64), gamma=4, temperature=0)
    assert torch.equal(got, generate(target, prompt, 20))
    # Every round emits gamma + 1 tokens: 20 tokens in 4 rounds
    assert len(calls) == 4


def test_verify_emits_the_target_distribution():
    """First emitted token ~ p_1 for a draft q far from p (chi-square, false-failure rate 1e-4)."""
    p = torch.tensor([[0.1, 0.4, 0.2, 0.25, 0.05], [0.2] * 5], dtype=torch.float64)
    q = torch.tensor([[0.4, 0.1, 0.1, 0.1, 0.3]], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    n = 4000
    first = torch.zeros(5, dtype=torch.float64)
    for _ in range(n):
        x = torch.multinomial(q[0], 1, generator=g)
        first[verify(p, q, x, g)[0]] += 1
    assert chi_square(first, p[0]) < CHI2_1E4[4]


def test_mutation_residual_from_p_breaks_the_distribution(monkeypatch):
    """Mutation: drawing the replacement from p instead of max(0, p - q) is detected by the same test."""
    def wrong_verify(p, q, drafts, generator=None):
        x = drafts[0]
        if torch.rand((), generator=generator) * q[0, x] <= p[0, x]:
            return drafts[:1]
        return torch.multinomial(p[0], 1, generator=generator)
    p = torch.tensor([[0.1, 0.4, 0.2, 0.25, 0.05], [0.2] * 5], dtype=torch.float64)
    q = torch.tensor([[0.4, 0.1, 0.1, 0.1, 0.3]], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    first = torch.zeros(5, dtype=torch.float64)
    for _ in range(4000):
        x = torch.multinomial(q[0], 1, generator=g)
        first[wrong_verify(p, q, x, g)[0]] += 1
    assert chi_square(first, p[0]) > CHI2_1E4[4]


@pytest.mark.slow
def test_speculative_sampling_first_token_follows_target():
    """End to end with two models: the first new token ~ the target's softmax (chi-square, rate 1e-4)."""
    torch.manual_seed(0)
    target = spread(Llama(6, 16, 2, 1, 1, 16), 0.5)
    draft = spread(GPT(6, 8, 2, 1, 16), 0.5)
    prompt = torch.tensor([[1, 4, 2]])
    p = target(prompt)[0, -1].softmax(-1).double().detach()
    q = draft(prompt)[0, -1].softmax(-1).double().detach()
    # The draft differs from the target, so the test exercises rejections
    assert (p - q).abs().sum() > 0.2
    g = torch.Generator().manual_seed(1)
    n = 800
    counts = torch.zeros(6, dtype=torch.float64)
    for _ in range(n):
        out = speculative_generate(target, draft, prompt, 1, target_cache=KVCache(1, 16),
                                   draft_cache=KVCache(1, 16), gamma=2, temperature=1.0, generator=g)
        counts[out[0, -1]] += 1
    assert chi_square(counts, p) < CHI2_1E4[5]


def test_speculative_argument_checks():
    target, draft = models()
    with pytest.raises(ValueError, match='one sequence'):
        speculative_generate(target, draft, torch.zeros(2, 3, dtype=torch.long), 2,
                             target_cache=KVCache(2, 64), draft_cache=KVCache(1, 64))
    with pytest.raises(ValueError, match='gamma'):
        speculative_generate(target, draft, torch.zeros(1, 3, dtype=torch.long), 2,
                             target_cache=KVCache(2, 64), draft_cache=KVCache(1, 64), gamma=0)
