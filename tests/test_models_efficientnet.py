"""EfficientNet V1 and V2: published parameter counts, B0's multiply-adds, the compound scaling,
the MBConv / Fused-MBConv blocks against a functional reference, stochastic depth, the
small-input form and the bad inputs. Only B0 and V2-S run real forward passes, at tiny sizes;
everything else is built on the meta device."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.analysis import summary
from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.layers.mbconv import FusedMBConv, MBConv, StochasticDepth
from classicnets.models import create_model, efficientnet, model_info  # noqa: F401  (registers)
from classicnets.models.efficientnet import B0_STAGES, SCALING, make_efficientnet

# torchvision's model docs (num_params of the IMAGENET1K weights), 1,000 classes.
PUBLISHED = {
    "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184,
    "efficientnet_b2": 9_109_994,
    "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616,
    "efficientnet_b5": 30_389_784,
    "efficientnet_b6": 43_040_704,
    "efficientnet_b7": 66_347_960,
    "efficientnet_v2_s": 21_458_488,
    "efficientnet_v2_m": 54_139_356,
    "efficientnet_v2_l": 118_515_272,
}
RESOLUTION = {f"efficientnet_{v}": r for v, (_, _, r, _) in SCALING.items()} | {
    "efficientnet_v2_s": 384,
    "efficientnet_v2_m": 480,
    "efficientnet_v2_l": 480,
}


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_published_parameter_count(name, expected):
    assert _params(_meta(name)) == expected


@pytest.mark.parametrize("name, resolution", RESOLUTION.items())
def test_native_input_size_is_the_variants_resolution(name, resolution):
    info = model_info(name)
    assert info.input_size == (3, resolution, resolution)
    assert info.family == "EfficientNet" and info.small_input_below == 64
    with torch.device("meta"):
        model = create_model(name, num_classes=10).eval()
        assert model(torch.zeros(1, 3, resolution, resolution)).shape == (1, 10)
        # 32x downsampling at the native size: 224 -> 7, 600 -> 19, 480 -> 15
        side = model.forward_features(torch.zeros(1, 3, resolution, resolution)).shape[-1]
    assert side == math.ceil(resolution / 32)


def test_b0_macs_match_the_paper():
    # Tan & Le 2019, Table 2: 0.39 B "FLOPS" (multiply-adds) at 224 px.
    macs = summary("efficientnet_b0", (3, 224, 224), num_classes=1000).total_macs
    assert abs(macs - 390e6) / 390e6 < 0.03


def test_compound_scaling_rule_gives_b1_to_b3():
    # d = 1.2**phi, w = 1.1**phi, r = 224 * 1.15**phi; alpha * beta**2 * gamma**2 ~ 2.
    assert abs(1.2 * 1.1**2 * 1.15**2 - 2) < 0.1
    for variant, phi in (("b1", 0.5), ("b2", 1), ("b3", 2)):
        width, depth, resolution, _ = SCALING[variant]
        assert round(1.2**phi, 1) == depth
        assert round(1.1**phi, 1) == width
        assert abs(224 * 1.15**phi - resolution) < 5


def test_b0_is_table_1_and_b7_scales_it():
    b0 = _meta("efficientnet_b0").features
    assert b0.stem.conv.out_channels == 32 and b0.stem.conv.stride == (2, 2)
    for i, (_, ratio, kernel, stride, channels, layers) in enumerate(B0_STAGES):
        stage = getattr(b0, f"stage{i + 1}")
        assert len(stage) == layers
        assert stage[0].out_channels == channels
        assert stage[0].block.depthwise.conv.kernel_size == (kernel, kernel)
        assert stage[0].block.depthwise.conv.stride == (stride, stride)
        assert hasattr(stage[0].block, "expand") == (ratio != 1)
    assert b0.head_conv.out_channels == 1280
    b7 = _meta("efficientnet_b7")
    repeats = [len(getattr(b7.features, f"stage{i}")) for i in range(1, 8)]
    assert repeats == [math.ceil(n * 3.1) for *_, n in B0_STAGES] == [4, 7, 7, 10, 10, 13, 4]
    assert b7.features.stem.conv.out_channels == 64
    assert b7.features.head_conv.out_channels == 2560
    assert b7.head.dropout.p == 0.5
    assert b7.features.stem.norm.eps == 1e-3 and b0.stem.norm.eps == 1e-5
    v2 = _meta("efficientnet_v2_s").features
    assert v2.head_conv.out_channels == 1280 and v2.stem.norm.eps == 1e-3
    assert isinstance(v2.stage3[0], FusedMBConv) and isinstance(v2.stage4[0], MBConv)


def test_stochastic_depth_rises_linearly_over_blocks():
    blocks = [
        b for name, b in _meta("efficientnet_b0").features.named_children() if "stage" in name
    ]
    blocks = [block for stage in blocks for block in stage]
    assert len(blocks) == 16
    for i, block in enumerate(blocks):
        if block.use_residual:
            assert block.drop_path.p == pytest.approx(0.2 * i / 16)
        else:
            assert isinstance(block.drop_path, nn.Identity)


def test_stochastic_depth_identity_in_eval_and_mean_preserving_in_training():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 5)
    drop = StochasticDepth(0.3)
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(StochasticDepth(0.0).train()(x), x)
    out = drop.train()(torch.ones(20_000, 2, 1, 1))
    rows = out[:, 0, 0, 0]
    assert torch.equal(out[:, 0], out[:, 1])  # a whole sample is kept or dropped
    assert all(v == 0.0 or v == pytest.approx(1 / 0.7) for v in rows.unique().tolist())
    assert rows.mean().item() == pytest.approx(1.0, abs=0.03)
    batch = StochasticDepth(0.5, mode="batch").train()(torch.ones(64, 1))
    assert batch.unique().numel() == 1
    assert torch.equal(StochasticDepth(1.0).train()(x), torch.zeros_like(x))
    with pytest.raises(ClassicnetsError, match="in \\[0, 1\\]"):
        StochasticDepth(1.5)


def _bn(x, norm):
    return F.batch_norm(
        x, norm.running_mean, norm.running_var, norm.weight, norm.bias, eps=norm.eps
    )


def _conv_bn(x, unit, act=True):
    conv = unit.conv
    y = F.conv2d(x, conv.weight, None, conv.stride, conv.padding, groups=conv.groups)
    y = _bn(y, unit.norm)
    return F.silu(y) if act else y


def _randomise_norms(module):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def test_mbconv_matches_a_functional_reference():
    torch.manual_seed(0)
    block = MBConv(16, 16, kernel_size=5, stride=1, expand_ratio=6).eval()
    _randomise_norms(block)
    # expand 16*6 = 96, SE squeezes to a quarter of the INPUT channels (4, not 24).
    assert block.block.se.reduce.out_channels == 4 and block.use_residual
    x = torch.randn(2, 16, 9, 9)
    y = _conv_bn(x, block.block.expand)  # (2, 96, 9, 9)
    y = _conv_bn(y, block.block.depthwise)  # (2, 96, 9, 9), 5x5 per channel
    se = block.block.se
    s = F.silu(F.conv2d(y.mean((2, 3), keepdim=True), se.reduce.weight, se.reduce.bias))
    y = y * torch.sigmoid(F.conv2d(s, se.expand.weight, se.expand.bias))
    y = _conv_bn(y, block.block.project, act=False)  # (2, 16, 9, 9), linear
    with torch.no_grad():
        torch.testing.assert_close(block(x), x + y)
    # Parameters: 1x1 expand, depthwise 5x5, SE, 1x1 project, and two floats per BN channel.
    expected = 16 * 96 + 96 * 25 + (96 * 4 + 4) + (4 * 96 + 96) + 96 * 16 + 2 * (96 + 96 + 16)
    assert _params(block) == expected


def test_mbconv_ratio_one_and_strided_shapes():
    one = MBConv(32, 16, 3, 1, expand_ratio=1)
    assert not hasattr(one.block, "expand") and not one.use_residual
    assert one.block.se.reduce.out_channels == 8  # 32 // 4
    strided = MBConv(24, 24, 3, 2, expand_ratio=6)
    assert not strided.use_residual
    assert strided(torch.randn(2, 24, 9, 9)).shape == (2, 24, 5, 5)
    assert MBConv(24, 40, 5, 1)(torch.randn(1, 24, 7, 7)).shape == (1, 40, 7, 7)
    assert MBConv(4, 8, 3, 1, expand_ratio=1).block.se.reduce.out_channels == 1  # at least 1


def test_fused_mbconv_matches_a_functional_reference():
    torch.manual_seed(0)
    block = FusedMBConv(24, 24, 3, 1, expand_ratio=4).eval()
    _randomise_norms(block)
    assert block.use_residual and not hasattr(block.block, "se")
    x = torch.randn(2, 24, 6, 6)
    y = _conv_bn(x, block.block.fused)  # (2, 96, 6, 6): a full 3x3 replaces 1x1 + depthwise
    y = _conv_bn(y, block.block.project, act=False)  # (2, 24, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(block(x), x + y)
    assert _params(block) == 24 * 96 * 9 + 96 * 24 + 2 * (96 + 24)
    one = FusedMBConv(24, 24, 3, 1, expand_ratio=1).eval()
    assert list(dict(one.block.named_children())) == ["fused"]  # one 3x3 conv, BN, SiLU
    assert _params(one) == 24 * 24 * 9 + 2 * 24
    assert FusedMBConv(24, 48, 3, 2)(torch.randn(1, 24, 8, 8)).shape == (1, 48, 4, 4)


@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_v2_s"])
def test_native_form_forward(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7, image_size=64).eval()
    assert model.features.stem.conv.stride == (2, 2)
    with torch.no_grad():
        features = model.forward_features(torch.randn(2, 3, 64, 64))
        assert features.shape == (2, 1280, 2, 2)  # 64 / 32
        out = model.forward_head(features)
    assert out.shape == (2, 7) and torch.isfinite(out).all()


def _stride(block: nn.Module) -> int:
    return max(m.stride[0] for m in block.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_v2_s"])
def test_small_input_form_ends_at_4x4(name):
    small = create_model(name, num_classes=10, in_channels=1, image_size=28)
    assert small.features.stem.conv.stride == (1, 1)
    assert _stride(small.features.stage2[0]) == 1  # the first stride-2 stage
    assert _stride(small.features.stage3[0]) == 2
    with torch.no_grad():
        assert small.eval().forward_features(torch.randn(1, 1, 28, 28)).shape[-2:] == (4, 4)


def test_every_variant_keeps_a_32px_image_at_4x4():
    with torch.device("meta"):  # shapes only
        for name in PUBLISHED:
            model = create_model(name, num_classes=10, image_size=32).eval()
            assert model.forward_features(torch.zeros(1, 3, 32, 32)).shape[-2:] == (4, 4)


@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_v2_s"])
def test_gradient_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, image_size=12).train()
    model(torch.randn(2, 3, 12, 12)).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def _one_sentence(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message.endswith(".")
    return message


@pytest.mark.parametrize("size", [1, 2])
def test_image_smaller_than_the_stem_is_refused(size):
    with pytest.raises(ShapeError, match="at least 3x3") as error:
        create_model("efficientnet_b0", image_size=size)
    assert f"{size}x{size}" in _one_sentence(error)
    with pytest.raises(ShapeError, match="at least 3x3") as error:
        efficientnet.efficientnet_v2_s(image_size=size)  # the builder checks on its own too
    _one_sentence(error)


@pytest.mark.parametrize("width", [0, -1.0])
def test_non_positive_multipliers_are_refused(width):
    with pytest.raises(ShapeError, match="positive multiplier") as error:
        make_efficientnet(B0_STAGES, stem_channels=32, width=width)
    assert str(width) in _one_sentence(error)
    with pytest.raises(ShapeError, match="depth must be a positive"):
        make_efficientnet(B0_STAGES, stem_channels=32, depth=width)
