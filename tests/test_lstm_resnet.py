"""
Tests of `labml_nn.lstm` (against `torch.nn.LSTMCell` and `torch.nn.LSTM` with copied weights) and
`labml_nn.resnet` (residual and bottleneck blocks against their definitions, shapes, identity at
initialization with zero-initialized residuals).
"""

import pytest
import torch
from torch import nn

from labml_nn.lstm import LSTM, LSTMCell
from labml_nn.resnet import BottleneckResidualBlock, ResidualBlock, ResNetBase, ShortcutProjection


def copy_cell(ours: LSTMCell, weight_ih, weight_hh, bias_ih, bias_hh):
    with torch.no_grad():
        ours.input_linear.weight.copy_(weight_ih)
        ours.hidden_linear.weight.copy_(weight_hh)
        ours.input_linear.bias.copy_(bias_ih)
        ours.hidden_linear.bias.copy_(bias_hh)


def test_lstm_cell_equals_torch():
    torch.manual_seed(0)
    theirs = nn.LSTMCell(5, 7).double()
    ours = LSTMCell(5, 7).double()
    copy_cell(ours, theirs.weight_ih, theirs.weight_hh, theirs.bias_ih, theirs.bias_hh)
    x = torch.randn(3, 5, dtype=torch.float64)
    state = (torch.randn(3, 7, dtype=torch.float64), torch.randn(3, 7, dtype=torch.float64))
    h1, c1 = ours(x, state)
    h2, c2 = theirs(x, state)
    torch.testing.assert_close(h1, h2)
    torch.testing.assert_close(c1, c2)
    (h1.sum() + c1.square().sum()).backward()
    (h2.sum() + c2.square().sum()).backward()
    torch.testing.assert_close(ours.input_linear.weight.grad, theirs.weight_ih.grad)
    torch.testing.assert_close(ours.hidden_linear.weight.grad, theirs.weight_hh.grad)
    # zero state by default
    torch.testing.assert_close(ours(x)[0], theirs(x)[0])


def test_lstm_cell_gate_order_matters():
    """Swapping the forget and input gates (a mutation) breaks the comparison"""
    torch.manual_seed(0)
    theirs = nn.LSTMCell(4, 6).double()
    ours = LSTMCell(4, 6).double()
    perm = torch.cat([torch.arange(6, 12), torch.arange(0, 6), torch.arange(12, 24)])
    copy_cell(ours, theirs.weight_ih[perm], theirs.weight_hh[perm], theirs.bias_ih[perm], theirs.bias_hh[perm])
    x = torch.randn(2, 4, dtype=torch.float64)
    state = (torch.randn(2, 6, dtype=torch.float64), torch.randn(2, 6, dtype=torch.float64))
    assert not torch.allclose(ours(x, state)[1], theirs(x, state)[1])


def test_multi_layer_lstm_equals_torch():
    torch.manual_seed(1)
    theirs = nn.LSTM(5, 6, num_layers=2).double()
    ours = LSTM(5, 6, n_layers=2).double()
    for layer in range(2):
        copy_cell(ours.cells[layer], *(getattr(theirs, f'{n}_l{layer}') for n in
                                       ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh')))
    x = torch.randn(9, 3, 5, dtype=torch.float64)
    state = (torch.randn(2, 3, 6, dtype=torch.float64), torch.randn(2, 3, 6, dtype=torch.float64))
    out1, (h1, c1) = ours(x, state)
    out2, (h2, c2) = theirs(x, state)
    torch.testing.assert_close(out1, out2)
    torch.testing.assert_close(h1, h2)
    torch.testing.assert_close(c1, c2)


def test_residual_block_is_relu_of_residual_plus_shortcut():
    torch.manual_seed(0)
    block = ResidualBlock(4, 4).double().eval()
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    # transcription: ReLU(BN(conv(ReLU(BN(conv(x))))) + x)
    f = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x)))))
    torch.testing.assert_close(block(x), torch.relu(f + x))
    assert isinstance(block.shortcut, nn.Identity)
    # A block that changes the shape uses a projection
    down = ResidualBlock(4, 8, stride=2).double().eval()
    assert isinstance(down.shortcut, ShortcutProjection)
    assert down(x).shape == (2, 8, 3, 3)
    torch.testing.assert_close(down(x), torch.relu(down.residual(x) + down.shortcut.bn(down.shortcut.conv(x))))


def test_bottleneck_block():
    torch.manual_seed(0)
    block = BottleneckResidualBlock(16, 4, 16).double().eval()
    x = torch.randn(2, 16, 5, 5, dtype=torch.float64)
    f = block.bn3(block.conv3(torch.relu(block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x))))))))
    torch.testing.assert_close(block(x), torch.relu(f + x))
    assert block.conv2.in_channels == 4 and block.conv2.out_channels == 4
    assert BottleneckResidualBlock(16, 4, 32, stride=2)(x.float()).shape == (2, 32, 3, 3)


@pytest.mark.parametrize('bottlenecks', [None, [2, 4]])
def test_zero_init_residual_blocks_are_identity(bottlenecks):
    torch.manual_seed(0)
    net = ResNetBase([2, 2], [8, 16], bottlenecks, img_channels=1, first_kernel_size=3,
                     zero_init_residual=True).double().eval()
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    assert net(x).shape == (3, 16)
    # the second block of each stage has an identity shortcut: with gamma = 0 it returns ReLU(x) = x
    # (its input is already non-negative, the output of a ReLU)
    h = net.act(net.bn(net.conv(x)))
    h = net.blocks[0](h)
    torch.testing.assert_close(net.blocks[1](h), h)
    with pytest.raises(ValueError, match='n_blocks'):
        ResNetBase([2], [8, 16])
