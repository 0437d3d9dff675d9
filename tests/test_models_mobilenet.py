"""MobileNet v1, v2, v3 and the inverted residual: published counts, the papers' multiply-adds,
the width and resolution multipliers, the small-input form and a parity test of the block."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.analysis import summary
from classicnets.errors import ShapeError
from classicnets.layers.inverted_residual import InvertedResidual
from classicnets.layers.mobile import SqueezeExcite
from classicnets.models import (
    create_model,
    list_models,
    mobilenet,  # noqa: F401  (registers)
)

NAMES = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"]

# At 1,000 classes and 224 px: timm's mobilenetv1_100, torchvision's model docs for the others.
PUBLISHED = {
    "mobilenet_v1": 4_231_976,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856,
}
# Multiply-adds at 224 px, in millions: v1 Table 1 (569), v2 Table 4 (300), v3 Table 3.
PAPER_MACS = {
    "mobilenet_v1": 569,
    "mobilenet_v2": 300,
    "mobilenet_v3_large": 219,
    "mobilenet_v3_small": 56,
}


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


def test_registered_in_one_family():
    assert list_models("MobileNet") == sorted(NAMES)


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_published_parameter_count(name, expected):
    assert _params(_meta(name)) == expected


@pytest.mark.parametrize("name, millions", PAPER_MACS.items())
def test_macs_within_3_percent_of_the_paper(name, millions):
    macs = summary(name, (3, 224, 224), num_classes=1000).total_macs
    assert abs(macs / 1e6 - millions) <= 0.03 * millions, macs


@pytest.mark.parametrize(
    "width, params_m, macs_m", [(0.75, 2.6, 325), (0.5, 1.3, 149), (0.25, 0.5, 41)]
)
def test_v1_width_multiplier_matches_table_6(width, params_m, macs_m):
    result = summary("mobilenet_v1", (3, 224, 224), num_classes=1000, width=width)
    assert round(result.total_params / 1e6, 1) == params_m
    assert abs(result.total_macs / 1e6 - macs_m) <= 0.03 * macs_m


@pytest.mark.parametrize("size, macs_m", [(192, 418), (160, 290), (128, 186)])
def test_v1_resolution_multiplier_matches_table_7(size, macs_m):
    result = summary("mobilenet_v1", (3, size, size), num_classes=1000)
    assert result.total_params == PUBLISHED["mobilenet_v1"]  # resolution changes no weight
    assert abs(result.total_macs / 1e6 - macs_m) <= 0.03 * macs_m


@pytest.mark.parametrize("name", NAMES)
def test_forward_shapes_native_and_small(name):
    cases = ((3, 224, 7), (1, 28, 4), (3, 32, 4))  # (channels, size, side of the last map)
    for channels, size, side in cases:
        model = _meta(name, num_classes=10, in_channels=channels, image_size=size)
        x = torch.zeros(2, channels, size, size, device="meta")
        assert model.forward_features(x).shape[-2:] == (side, side)
        assert model(x).shape == (2, 10)


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, image_size=12).train()
    out = model(torch.randn(2, 3, 12, 12))
    assert out.shape == (2, 5) and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


@pytest.mark.parametrize("name", NAMES)
def test_small_input_form_switches_at_64(name):
    small, native = _meta(name, image_size=63), _meta(name, image_size=64)
    assert small.features.stem.conv.stride == (1, 1)
    assert native.features.stem.conv.stride == (2, 2)
    assert _params(small) == _params(native)  # only strides change


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("width", [0, -0.5])
def test_non_positive_width_is_one_sentence(name, width):
    with pytest.raises(ShapeError, match=r"^width must be a positive multiplier .*\.$"):
        create_model(name, width=width)


@pytest.mark.parametrize("name", NAMES)
def test_tiny_width_still_builds_with_8_channels(name):
    model = _meta(name, num_classes=10, width=0.01)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert min(m.out_channels for m in convs) >= 8
    assert model(torch.zeros(1, 3, 64, 64, device="meta")).shape == (1, 10)


def test_width_scales_channels_as_torchvision():
    v2 = _meta("mobilenet_v2", width=0.5)
    assert v2.features.stem.out_channels == 16
    assert v2.features.last_conv.out_channels == 1280  # max(1280, 1280 * width)
    assert _meta("mobilenet_v2", width=1.4).features.last_conv.out_channels == 1792
    v3 = _meta("mobilenet_v3_large", width=0.5)
    assert v3.features.last_conv.out_channels == 6 * 80
    assert v3.head.hidden.out_features == 640


def test_v3_rows_use_se_and_activations_of_table_1():
    model = _meta("mobilenet_v3_large")
    first, fourth, seventh = (getattr(model.features, f"block{i}").block for i in (1, 4, 7))
    assert not hasattr(first, "expand")  # exp size 16 == input 16
    assert isinstance(fourth.se, SqueezeExcite) and isinstance(fourth.se.gate, nn.Hardsigmoid)
    assert fourth.se.reduce.out_channels == 24  # make_divisible(72 // 4, 8)
    assert isinstance(fourth.depthwise.act, nn.ReLU)
    assert fourth.depthwise.conv.kernel_size == (5, 5)
    assert isinstance(seventh.depthwise.act, nn.Hardswish) and not hasattr(seventh, "se")
    assert model.features.block4.block.depthwise.norm.eps == 0.001


# --- the inverted residual --------------------------------------------------------------------


def test_inverted_residual_shapes_and_residual():
    kept = InvertedResidual(16, 16, 3, 1, 6)
    assert kept.use_residual and kept.expanded_channels == 96
    assert kept(torch.randn(1, 16, 8, 8)).shape == (1, 16, 8, 8)
    strided = InvertedResidual(16, 16, 3, 2, 6)
    assert not strided.use_residual
    assert strided(torch.randn(1, 16, 8, 8)).shape == (1, 16, 4, 4)
    widened = InvertedResidual(16, 24, 3, 1, 6)
    assert not widened.use_residual
    assert widened(torch.randn(1, 16, 8, 8)).shape == (1, 24, 8, 8)


def test_inverted_residual_t1_has_no_expansion_and_a_linear_projection():
    block = InvertedResidual(32, 16, 3, 1, 1)
    assert list(block.block._modules) == ["depthwise", "project"]
    assert not hasattr(block.block.project, "act")  # the linear bottleneck
    assert sum(isinstance(m, nn.Conv2d) for m in block.modules()) == 2
    expanded = InvertedResidual(16, 24, 3, 2, expanded_channels=64)
    assert expanded.block.expand.conv.out_channels == 64


@pytest.mark.parametrize("se", [False, True])
def test_inverted_residual_matches_a_functional_reference(se):
    torch.manual_seed(0)
    act = nn.Hardswish if se else nn.ReLU6
    block = InvertedResidual(8, 8, 5, 1, expanded_channels=24, se=se, act_layer=act).eval()
    for m in block.modules():  # non-trivial batch-norm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.5, 0.5)
    f = F.hardswish if se else F.relu6

    def conv_bn(x, unit, groups=1):
        y = F.conv2d(x, unit.conv.weight, padding=unit.conv.padding, groups=groups)
        n = unit.norm
        return F.batch_norm(y, n.running_mean, n.running_var, n.weight, n.bias, False, 0, n.eps)

    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        b = block.block
        y = f(conv_bn(x, b.expand))  # (2, 24, 9, 9)
        y = f(conv_bn(y, b.depthwise, groups=24))
        if se:
            s = F.relu(F.conv2d(y.mean((2, 3), keepdim=True), b.se.reduce.weight, b.se.reduce.bias))
            y = y * F.hardsigmoid(F.conv2d(s, b.se.expand.weight, b.se.expand.bias))
        expected = x + conv_bn(y, b.project)  # no activation, then the residual
        assert torch.allclose(block(x), expected, atol=1e-5)
