"""LoRA: starts as the base model, only adapters train, merged = unmerged."""

import pytest
import torch
from torch import nn

from labml_nn.lora import LoRALinear, add_lora, set_merged
from labml_nn.transformers.gpt import GPT


def adapted_gpt():
    torch.manual_seed(0)
    model = GPT(20, 32, 4, 2, 16).double()
    names = add_lora(model, r=4, alpha=8)
    return model, names


def test_adapters_start_as_the_base_model_and_only_they_train():
    torch.manual_seed(0)
    base = GPT(20, 32, 4, 2, 16).double()
    x = torch.randint(0, 20, (2, 10))
    before = base(x)
    names = add_lora(base, r=4, alpha=8)
    assert 'transformer.layers.0.self_attn.query.linear' in names
    assert 'transformer.layers.1.feed_forward.layer2' in names
    torch.testing.assert_close(base(x), before)
    trainable = {n for n, p in base.named_parameters() if p.requires_grad}
    assert trainable and all(n.endswith(('lora_a', 'lora_b')) for n in trainable)


def test_lora_linear_matches_formula():
    torch.manual_seed(0)
    lin = nn.Linear(6, 5).double()
    lora = LoRALinear(lin, r=2, alpha=6)
    with torch.no_grad():
        lora.lora_b.normal_()
    x = torch.randn(3, 6, dtype=torch.double)
    W0, b, A, B = lin.weight, lin.bias, lora.lora_a, lora.lora_b
    torch.testing.assert_close(lora(x), x @ W0.T + b + (6 / 2) * x @ A.T @ B.T)


def test_merged_equals_unmerged_and_unmerge_restores():
    model, _ = adapted_gpt()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith('lora_b'):
                p.normal_(std=0.1)
    model.eval()
    x = torch.randint(0, 20, (2, 12))
    unmerged = model(x)
    weights = {n: p.clone() for n, p in model.named_parameters() if n.endswith('base.weight')}
    set_merged(model, True)
    torch.testing.assert_close(model(x), unmerged)
    assert any(not torch.equal(p, weights[n]) for n, p in model.named_parameters() if n in weights)
    set_merged(model, False)
    for n, p in model.named_parameters():
        if n in weights:
            torch.testing.assert_close(p, weights[n])
    torch.testing.assert_close(model(x), unmerged)


def test_mutation_merge_without_scaling_differs(monkeypatch):
    model, _ = adapted_gpt()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith('lora_b'):
                p.normal_(std=0.1)
    x = torch.randint(0, 20, (1, 8))
    unmerged = model(x)
    monkeypatch.setattr(LoRALinear, 'delta', lambda self: self.lora_b @ self.lora_a)
    set_merged(model, True)
    assert not torch.allclose(model(x), unmerged)


def test_fine_tuning_changes_only_adapters_and_lowers_loss():
    model, _ = adapted_gpt()
    frozen = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x = torch.randint(0, 20, (4, 12), generator=torch.Generator().manual_seed(0))
    losses = []
    for _ in range(20):
        loss = nn.functional.cross_entropy(model(x[:, :-1]).flatten(0, 1), x[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n


def test_rank_is_checked():
    with pytest.raises(ValueError, match='rank'):
        LoRALinear(nn.Linear(2, 2), r=0, alpha=1)
