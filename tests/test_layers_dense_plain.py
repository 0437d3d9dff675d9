"""The DenseNet layer without bottleneck (BN-ReLU-Conv3x3) and a dense block of them: the
five-layer block of growth 4 with its channel count at every layer, the layer's arithmetic
against a hand-written BN-ReLU-conv, and that it is a drop-in for densenet_basic's own block."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from _threads import one_thread  # noqa: F401
from classicnets.errors import ShapeError
from classicnets.layers.dense_plain import PlainDenseBlock, PlainDenseLayer, dense_block_channels
from classicnets.models import create_model


@pytest.mark.parametrize("in_channels", [3, 16])  # an RGB input; the CIFAR DenseNet's stem
def test_five_layer_block_of_growth_4_widths(in_channels):
    block = PlainDenseBlock(5, in_channels, 4)
    widths = dense_block_channels(5, in_channels, 4)
    assert widths == [in_channels + 4 * i for i in range(6)]
    seen = []

    def record(_module, args, out):
        seen.append((args[0].shape[1], out.shape[1]))  # (channels in, channels out)

    hooks = [layer.register_forward_hook(record) for layer in block]
    out = block(torch.randn(2, in_channels, 6, 6))
    for hook in hooks:
        hook.remove()
    assert seen == list(zip(widths[:-1], widths[1:], strict=True))  # each layer adds k = 4
    assert out.shape == (2, in_channels + 20, 6, 6) and block.out_channels == in_channels + 20
    # Every layer's 3x3 conv: (k_0 + 4(l - 1)) inputs -> 4 outputs, no bias, no 1x1 before it.
    convs = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs] == [(4, w, 3, 3) for w in widths[:-1]]


def test_layer_is_bn_relu_conv3x3_then_concatenation():
    torch.manual_seed(0)
    layer = PlainDenseLayer(3, 4).eval()
    with torch.no_grad():
        layer.norm.running_mean.uniform_(-1, 1)
        layer.norm.running_var.uniform_(0.5, 2)
        layer.norm.weight.uniform_(0.5, 2)
    x = torch.randn(2, 3, 5, 5)
    bn = layer.norm
    by_hand = F.relu(
        (x - bn.running_mean[:, None, None])
        / torch.sqrt(bn.running_var[:, None, None] + bn.eps)
        * bn.weight[:, None, None]
        + bn.bias[:, None, None]
    )
    expected = torch.cat([x, F.conv2d(by_hand, layer.conv.weight, padding=1)], dim=1)
    torch.testing.assert_close(layer(x), expected)


def test_drop_in_for_densenet_basic_block():
    theirs = create_model("densenet_basic", depth=13).features.block1  # 3 layers per block
    ours = PlainDenseBlock(3, 16, 12)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(1, 16, 4, 4)
    torch.testing.assert_close(ours.eval()(x), theirs.eval()(x))
    assert ours.out_channels == theirs.out_channels == 16 + 3 * 12


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: PlainDenseBlock(0, 3, 4), "num_layers must be a positive integer, got 0"),
        (lambda: PlainDenseLayer(3, 0), "growth_rate must be a positive integer, got 0"),
        (lambda: dense_block_channels(5, True, 4), "in_channels must be a positive integer"),
    ],
)
def test_bad_sizes_raise_one_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()
