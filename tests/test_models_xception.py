"""Xception (Chollet 2017): the published count, the flows of Figure 5, the block's arithmetic
and the small-input form."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.models import (
    create_model,
    model_info,
    xception,  # noqa: F401  (registers)
)
from classicnets.models.xception import (
    ENTRY_FLOW,
    EXIT_FLOW,
    MIDDLE_FLOW,
    XceptionBlock,
    separable,
)

PUBLISHED = {"xception": 22_855_952}  # timm's legacy_xception, 1,000 classes, 299 px


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_published_parameter_count(name, expected):
    with torch.device("meta"):
        assert _params(create_model(name)) == expected


def test_registry_entry():
    info = model_info("xception")
    assert (info.family, info.year, info.input_size) == ("Xception", 2017, (3, 299, 299))
    assert info.small_input_below == 64


def test_flows_are_figure_5():
    assert [row[0][-1] for row in ENTRY_FLOW] == [128, 256, 728]
    assert len(MIDDLE_FLOW) == 8 and all(row[0] == (728, 728, 728) for row in MIDDLE_FLOW)
    assert EXIT_FLOW == (((728, 1024), 2, True),)
    with torch.device("meta"):
        model = create_model("xception")
    separables = [m for m in model.modules() if type(m).__name__ == "DepthwiseSeparable"]
    assert len(separables) == 2 * 3 + 3 * 8 + 2 + 2  # 34 separable convolutions
    shortcuts = [m.shortcut for m in model.modules() if isinstance(m, XceptionBlock)]
    assert sum(not isinstance(s, nn.Identity) for s in shortcuts) == 4  # 1x1/2 projections


def test_native_shapes_on_meta():
    with torch.device("meta"):
        model = create_model("xception").eval()
        x = torch.zeros(2, 3, 299, 299)
        assert model.features.conv2(model.features.conv1(x)).shape == (2, 64, 147, 147)
        assert model.forward_features(x).shape == (2, 2048, 10, 10)
        assert model(x).shape == (2, 1000)


@pytest.mark.parametrize("channels, size, last", [(1, 28, 2), (3, 32, 2), (3, 64, 2)])
def test_small_input_form(channels, size, last):
    torch.manual_seed(0)
    model = create_model("xception", num_classes=10, in_channels=channels, image_size=size)
    small = size < 64
    assert model.features.conv1.conv.stride == ((1, 1) if small else (2, 2))
    with torch.no_grad():
        features = model.eval().forward_features(torch.randn(1, channels, size, size))
    assert features.shape == (1, 2048, last, last)
    assert _params(model) == PUBLISHED["xception"] - 990 * 2049 + (channels - 3) * 32 * 9


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    model = create_model("xception", num_classes=10, image_size=32)
    out = model.train()(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_separable_has_nothing_between_depthwise_and_pointwise():
    conv = separable(8, 16)
    assert list(dict(conv.depthwise.named_children())) == ["conv"]
    assert list(dict(conv.pointwise.named_children())) == ["conv", "norm"]
    assert conv.depthwise.conv.groups == 8 and conv.depthwise.conv.bias is None


def test_block_is_pooled_residual_plus_projection():
    torch.manual_seed(0)
    block = XceptionBlock(8, (16, 16), 2).eval()
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        h = block.residual[1](torch.relu(x))  # SepConv, BN, ReLU
        h = block.residual[2](h)  # SepConv, BN
        expected = nn.functional.max_pool2d(h, 3, 2, 1) + block.shortcut(x)
        assert torch.allclose(block(x), expected)
    assert block(x).shape == (2, 16, 5, 5)
    assert block.shortcut.conv.kernel_size == (1, 1) and block.shortcut.conv.stride == (2, 2)


def test_middle_block_adds_its_input():
    torch.manual_seed(0)
    block = XceptionBlock(8, (8, 8, 8)).eval()
    assert isinstance(block.shortcut, nn.Identity)
    for norm in [m for m in block.modules() if isinstance(m, nn.BatchNorm2d)]:
        nn.init.zeros_(norm.weight)  # the residual branch outputs zeros
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        assert torch.equal(block(x), x)  # the input before the ReLU, as in the paper


def test_first_block_does_not_start_with_relu():
    block = XceptionBlock(64, (128, 128), 2, relu_first=False)
    assert not isinstance(block.residual[0], nn.ReLU)
