"""
Tests of `labml_nn.activations`: Swish/SiLU and GELU against `torch.nn.functional`, the fuzzy tiling
activation against a transcription of its definition, and mutation tests.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from labml_nn.activations.fta import FTA
from labml_nn.activations.gelu import GELU, gelu, gelu_tanh
from labml_nn.activations.swish import SiLU, Swish


def grid():
    return torch.linspace(-8, 8, 2001, dtype=torch.float64)


def check_same(f, g, x):
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1, y2 = f(x1), g(x2)
    torch.testing.assert_close(y1, y2, rtol=1e-12, atol=1e-12)
    y1.sum().backward()
    y2.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-10, atol=1e-12)


def test_silu_equals_torch():
    check_same(SiLU(), F.silu, grid())


def test_swish_beta():
    x = grid()
    check_same(Swish(1.702), lambda t: t * torch.sigmoid(1.702 * t), x)
    # beta = 0 is x / 2
    torch.testing.assert_close(Swish(0.)(x), x / 2)
    # learnable beta receives a gradient
    s = Swish(1.0, learnable=True)
    s(x.float()).sum().backward()
    assert s.beta.grad is not None and s.beta.grad.abs() > 0
    # the minimum of SiLU is about -0.278 near x = -1.278
    y = SiLU()(x)
    assert y.min().item() == pytest.approx(-0.2785, abs=1e-3)
    assert x[y.argmin()].item() == pytest.approx(-1.278, abs=0.01)


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
def test_gelu_equals_torch(approximate):
    check_same(GELU(approximate), lambda t: F.gelu(t, approximate=approximate), grid())


def test_gelu_forms_differ_by_less_than_1e3_and_mutation_fails():
    x = grid()
    diff = (gelu(x) - gelu_tanh(x)).abs().max().item()
    assert 1e-5 < diff < 1e-3
    # a wrong cubic coefficient in the tanh form is caught by the comparison
    wrong = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.04 * x ** 3)))
    assert not torch.allclose(wrong, F.gelu(x, approximate='tanh'), rtol=1e-6, atol=1e-6)
    # x * Phi(x) with Phi the normal CDF
    torch.testing.assert_close(gelu(x), x * torch.distributions.Normal(0., 1.).cdf(x))
    with pytest.raises(ValueError, match='approximate'):
        GELU('sigmoid')


def fta_reference(z, low, high, delta, eta):
    """Direct transcription of the paper's definition, one scalar at a time"""
    k = round((high - low) / delta)
    out = []
    for v in z.flatten().tolist():
        for i in range(k):
            c = low + i * delta
            x = max(c - v, 0.) + max(v - delta - c, 0.)
            i_plus = (x if eta - x >= 0 else 0.) + (1. if x - eta > 0 else 0.)
            out.append(1. - i_plus)
    return torch.tensor(out, dtype=torch.float64).view(*z.shape[:-1], z.shape[-1] * k)


@pytest.mark.parametrize('eta', [0., 0.1, 0.25])
def test_fta_equals_definition(eta):
    g = torch.Generator().manual_seed(0)
    z = (torch.rand(3, 4, generator=g, dtype=torch.float64) * 2.4 - 1.2)
    fta = FTA(-1., 1., 0.25, eta).double()
    y = fta(z)
    assert y.shape == (3, 32)
    torch.testing.assert_close(y, fta_reference(z, -1., 1., 0.25, eta))


def test_fta_sparse_with_gradients_only_when_fuzzy():
    z = torch.tensor([[0.3, -0.62]], dtype=torch.float64)
    # hard tiling: exactly one active tile per input inside the range, and no gradient
    hard = FTA(-1., 1., 0.25, 0.).double()
    y = hard(z).view(2, 8)
    assert (y.sum(dim=1) == 1).all()
    zr = z.clone().requires_grad_()
    hard(zr).sum().backward()
    assert (zr.grad == 0).all()
    # fuzzy: the neighbouring tiles are partially active, the output is still sparse, and gradients flow
    fuzzy = FTA(-1., 1., 0.25, 0.25).double()
    y = fuzzy(z).view(2, 8)
    assert ((y > 0).sum(dim=1) <= 3).all() and ((y > 0) & (y < 1)).any()
    zr = z.clone().requires_grad_()
    (fuzzy(zr) * torch.arange(16.)).sum().backward()
    assert (zr.grad != 0).all()


def test_fta_bad_arguments():
    with pytest.raises(ValueError, match='delta'):
        FTA(-1., 1., 0.3, 0.1)
    with pytest.raises(ValueError, match='upper_limit'):
        FTA(1., -1., 0.25, 0.1)
    with pytest.raises(ValueError, match='eta'):
        FTA(-1., 1., 0.25, -0.1)
