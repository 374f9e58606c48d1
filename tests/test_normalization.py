"""
Tests of `labml_nn.normalization`: each layer against `torch.nn`'s module (values, gradients, running
statistics, evaluation mode), against transcriptions of the papers where torch has no module, and
mutation tests that change one term and must fail the comparison.
"""

import math

import pytest
import torch
from torch import nn

from labml_nn.normalization.batch_channel_norm import BatchChannelNorm, EstimatedBatchNorm
from labml_nn.normalization.batch_norm import BatchNorm
from labml_nn.normalization.deep_norm import DeepNorm, DeepNormTransformerLayer, deep_norm_constants
from labml_nn.normalization.group_norm import GroupNorm
from labml_nn.normalization.instance_norm import InstanceNorm
from labml_nn.normalization.layer_norm import LayerNorm
from labml_nn.normalization.weight_standardization import Conv2d, weight_standardization

torch.set_default_dtype(torch.float32)


def rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    # an offset and a scale, so that the normalization has something to remove
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * 3 + 2)


def randomize_affine(ours, theirs, seed=1):
    """Give both modules the same random scale and shift (ours: scale/shift or gain/bias)"""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(theirs.weight.shape, generator=g, dtype=torch.float64)
    b = torch.randn(theirs.bias.shape, generator=g, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(w)
        theirs.bias.copy_(b)
        (ours.scale if hasattr(ours, 'scale') else ours.gain).copy_(w)
        (ours.shift if hasattr(ours, 'shift') else ours.bias).copy_(b)


def check_same(ours, theirs, x, ours_params, theirs_params):
    """Same output and same gradients of the input and of the affine parameters"""
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    y1, y2 = ours(x1), theirs(x2)
    torch.testing.assert_close(y1, y2, rtol=1e-10, atol=1e-10)
    g = torch.randn(y1.shape, generator=torch.Generator().manual_seed(7), dtype=y1.dtype)
    (y1 * g).sum().backward()
    (y2 * g).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-9, atol=1e-10)
    for p1, p2 in zip(ours_params, theirs_params):
        torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-9, atol=1e-10)


# ---- batch normalization

@pytest.mark.parametrize('shape', [(8, 3, 5, 4), (16, 3)])
def test_batch_norm_equals_torch_train_running_stats_and_eval(shape):
    ours = BatchNorm(3, momentum=0.2).double()
    theirs = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(3, momentum=0.2).double()
    randomize_affine(ours, theirs)
    for step in range(3):
        x = rand(*shape, seed=step)
        ours.train(), theirs.train()
        ours.zero_grad(), theirs.zero_grad()
        check_same(ours, theirs, x, [ours.scale, ours.shift], [theirs.weight, theirs.bias])
        # running mean and the unbiased running variance
        torch.testing.assert_close(ours.exp_mean, theirs.running_mean, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(ours.exp_var, theirs.running_var, rtol=1e-12, atol=1e-12)
    # Evaluation mode: the running statistics, the same for one example alone as in a batch
    ours.eval(), theirs.eval()
    ours.zero_grad(), theirs.zero_grad()
    x = rand(*shape, seed=10)
    check_same(ours, theirs, x, [ours.scale, ours.shift], [theirs.weight, theirs.bias])
    torch.testing.assert_close(ours(x[:1]), ours(x)[:1])
    # ... and it differs from the training mode output
    ours.train()
    assert not torch.allclose(ours(x), theirs(x))


def test_batch_norm_without_running_stats_and_without_affine():
    ours = BatchNorm(3, affine=False, track_running_stats=False).double().eval()
    theirs = nn.BatchNorm2d(3, affine=False, track_running_stats=False).double().eval()
    check_same(ours, theirs, rand(4, 3, 2, 2), [], [])


def test_batch_norm_mutations_fail():
    """Biased variance in the running average, or eps outside the square root, must be caught"""
    class BiasedRunningVar(BatchNorm):
        def forward(self, x):
            n = x.shape[0] * x[0, 0].numel()
            old = self.exp_var.clone()
            y = super().forward(x)
            # undo the unbiased update and apply a biased one
            with torch.no_grad():
                var_unbiased = (self.exp_var - (1 - self.momentum) * old) / self.momentum
                self.exp_var.copy_((1 - self.momentum) * old + self.momentum * var_unbiased * (n - 1) / n)
            return y

    x = rand(4, 3, 2, 2)
    ours, theirs = BiasedRunningVar(3).double(), nn.BatchNorm2d(3).double()
    ours(x), theirs(x)
    assert not torch.allclose(ours.exp_var, theirs.running_var, rtol=1e-6)

    class EpsOutsideSqrt(BatchNorm):
        def forward(self, x):
            mean = x.mean(dim=[0, 2, 3], keepdim=True)
            var = ((x - mean) ** 2).mean(dim=[0, 2, 3], keepdim=True)
            return (x - mean) / (var.sqrt() + self.eps)

    x = rand(4, 3, 2, 2) * 1e-3
    assert not torch.allclose(EpsOutsideSqrt(3).double()(x), nn.BatchNorm2d(3).double()(x), rtol=1e-4)


def test_batch_norm_bad_input():
    with pytest.raises(ValueError, match='momentum'):
        BatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match='channels'):
        BatchNorm(3)(torch.zeros(2, 4, 2))
    with pytest.raises(ValueError, match='more than one value'):
        BatchNorm(3)(torch.zeros(1, 3))


# ---- layer, instance and group normalization

@pytest.mark.parametrize('normalized_shape', [[6], [4, 6]])
def test_layer_norm_equals_torch(normalized_shape):
    ours = LayerNorm(normalized_shape, eps=1e-3).double()
    theirs = nn.LayerNorm(normalized_shape, eps=1e-3).double()
    randomize_affine(ours, theirs)
    check_same(ours, theirs, rand(2, 3, 4, 6), [ours.gain, ours.bias], [theirs.weight, theirs.bias])


def test_layer_norm_mutation_unbiased_variance_fails():
    class Unbiased(LayerNorm):
        def forward(self, x):
            mean = x.mean(-1, keepdim=True)
            return (x - mean) / torch.sqrt(x.var(-1, keepdim=True, unbiased=True) + self.eps)

    x = rand(3, 6)
    assert not torch.allclose(Unbiased(6).double()(x), nn.LayerNorm(6).double()(x), rtol=1e-3)
    with pytest.raises(ValueError, match='normalized shape'):
        LayerNorm(6)(torch.zeros(2, 5))


def test_instance_norm_equals_torch():
    ours = InstanceNorm(3).double()
    theirs = nn.InstanceNorm2d(3, affine=True).double()
    randomize_affine(ours, theirs)
    check_same(ours, theirs, rand(4, 3, 5, 4), [ours.scale, ours.shift], [theirs.weight, theirs.bias])
    # training and evaluation agree (no running statistics)
    x = rand(4, 3, 5, 4)
    torch.testing.assert_close(ours.eval()(x), ours.train()(x))


@pytest.mark.parametrize('groups', [1, 2, 6])
def test_group_norm_equals_torch(groups):
    ours = GroupNorm(groups, 6).double()
    theirs = nn.GroupNorm(groups, 6).double()
    randomize_affine(ours, theirs)
    check_same(ours, theirs, rand(3, 6, 4, 3), [ours.scale, ours.shift], [theirs.weight, theirs.bias])


def test_group_norm_with_one_channel_per_group_is_instance_norm():
    x = rand(3, 6, 4, 3)
    torch.testing.assert_close(GroupNorm(6, 6).double()(x), InstanceNorm(6).double()(x))
    with pytest.raises(ValueError, match='groups'):
        GroupNorm(4, 6)


# ---- weight standardization

def test_weight_standardization_zero_mean_unit_variance():
    conv = Conv2d(3, 5, 3, eps=0.)
    with torch.no_grad():
        conv.weight.mul_(7).add_(3)
    w = weight_standardization(conv.weight.double(), eps=0.).reshape(5, -1)
    torch.testing.assert_close(w.mean(dim=1), torch.zeros(5, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(w.var(dim=1, unbiased=False), torch.ones(5, dtype=torch.float64))
    # With the default eps the variance is $\sigma^2 / (\sigma^2 + \epsilon)$, still close to one
    w = weight_standardization(conv.weight, eps=1e-5).reshape(5, -1)
    torch.testing.assert_close(w.var(dim=1, unbiased=False), torch.ones(5), rtol=1e-3, atol=0)


def test_weight_standardized_conv_equals_transcription():
    conv = Conv2d(3, 5, 3, padding=1).double()
    x = rand(2, 3, 6, 6).requires_grad_()
    w = conv.weight
    flat = w.reshape(5, -1)
    # the paper's $\hat{W} = (W - \mu) / \sqrt{\sigma^2 + \epsilon}$
    w_hat = ((flat - flat.mean(1, keepdim=True)) / torch.sqrt(flat.var(1, unbiased=False, keepdim=True) + 1e-5))
    expected = torch.nn.functional.conv2d(x, w_hat.view_as(w), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), expected)
    # Gradients reach the raw weights through the standardization: the component along the
    # all-ones direction (a shift of a channel's weights) has no effect, so its gradient sums to zero
    conv(x).square().sum().backward()
    torch.testing.assert_close(conv.weight.grad.reshape(5, -1).sum(1), torch.zeros(5, dtype=torch.float64),
                               atol=1e-8, rtol=0)


# ---- batch-channel normalization

def test_estimated_batch_norm_normalizes_with_updated_estimates():
    bn = EstimatedBatchNorm(3, momentum=0.3).double()
    x = rand(2, 3, 4, 4)
    y = bn(x)
    # transcription: update the estimates with the batch statistics, then use them
    mean = x.mean(dim=[0, 2, 3])
    var = x.var(dim=[0, 2, 3], unbiased=False)
    exp_mean = 0.7 * torch.zeros(3, dtype=torch.float64) + 0.3 * mean
    exp_var = 0.7 * torch.ones(3, dtype=torch.float64) + 0.3 * var
    torch.testing.assert_close(bn.exp_mean, exp_mean)
    torch.testing.assert_close(bn.exp_var, exp_var)
    expected = (x - exp_mean.view(1, -1, 1, 1)) / torch.sqrt(exp_var + 1e-5).view(1, -1, 1, 1)
    torch.testing.assert_close(y, expected)
    # No gradient flows through the estimates: the input gradient is a per-channel constant factor
    x = x.clone().requires_grad_()
    bn.eval()(x).sum().backward()
    torch.testing.assert_close(x.grad, (1 / torch.sqrt(bn.exp_var + 1e-5)).view(1, -1, 1, 1).expand_as(x))


def test_batch_channel_norm_is_batch_norm_then_group_norm():
    torch.manual_seed(0)
    bcn = BatchChannelNorm(6, 2, estimate=False).double()
    bn, gn = nn.BatchNorm2d(6).double(), nn.GroupNorm(2, 6).double()
    x = rand(4, 6, 3, 3)
    torch.testing.assert_close(bcn(x), gn(bn(x)))
    # micro-batch: a batch of one works
    bcn = BatchChannelNorm(6, 2).double()
    assert bcn(rand(1, 6, 3, 3)).shape == (1, 6, 3, 3)


# ---- DeepNorm

def test_deep_norm_constants():
    assert deep_norm_constants(6) == pytest.approx(((12) ** 0.25, 48 ** -0.25))
    a, b = deep_norm_constants(18, 'enc-dec-encoder', 6)
    assert (a, b) == pytest.approx((0.81 * (18 ** 4 * 6) ** (1 / 16), 0.87 * (18 ** 4 * 6) ** (-1 / 16)))
    assert deep_norm_constants(18, 'enc-dec-decoder', 6) == pytest.approx((18 ** 0.25, 72 ** -0.25))
    with pytest.raises(ValueError, match='kind'):
        deep_norm_constants(6, 'both')


def test_deep_norm_is_layer_norm_of_scaled_residual():
    x, gx = rand(2, 5, 8), rand(2, 5, 8, seed=3)
    dn = DeepNorm(2.5, 8).double()
    torch.testing.assert_close(dn(x, gx), nn.functional.layer_norm(2.5 * x + gx, [8]))
    # Post-LN ($\alpha = 1$) is a different function
    assert not torch.allclose(DeepNorm(1., 8).double()(x, gx), dn(x, gx))


def test_deep_norm_layer_initialization_uses_beta():
    torch.manual_seed(0)
    alpha, beta = deep_norm_constants(100)
    layer = DeepNormTransformerLayer(64, 4, 256, alpha, beta)
    # Xavier normal: std = gain * sqrt(2 / (fan_in + fan_out))
    xavier = math.sqrt(2 / (64 + 256))
    assert layer.ff1.weight.std().item() == pytest.approx(beta * xavier, rel=0.05)
    assert layer.value.weight.std().item() == pytest.approx(beta * math.sqrt(2 / 128), rel=0.05)
    assert layer.query.weight.std().item() == pytest.approx(math.sqrt(2 / 128), rel=0.05)
    y = layer(torch.randn(2, 7, 64))
    assert y.shape == (2, 7, 64)
    # causal: the first position does not depend on later ones
    x = torch.randn(1, 7, 64)
    x2 = x.clone()
    x2[:, 3:] = 0
    torch.testing.assert_close(layer(x)[:, :3], layer(x2)[:, :3])
