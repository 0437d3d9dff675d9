"""Darknet-19, Darknet-53 and CSPDarknet-53: published parameter counts, the papers' operation
counts, the small-input forms and the blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture: one thread)
from classicnets.analysis import summary
from classicnets.layers.darknet import CSPStage, DarknetResidual
from classicnets.models import (
    create_model,
    darknet,  # noqa: F401  (registers)
)
from classicnets.models.darknet import DARKNET19

NAMES = ("darknet19", "darknet53", "cspdarknet53")

# darknet19: computed from YOLO9000's Table 6 (the paper gives no count; see the builder's
# docstring and the test below); darknet53 and cspdarknet53: timm's model cards.
PUBLISHED = {
    "darknet19": 20_842_376,
    "darknet53": 41_609_928,
    "cspdarknet53": 27_642_184,
}

# The papers' operation counts are FLOPs (2 x MACs): Darknet-19 5.58 billion at 224 px
# (YOLO9000, Section 3 "Faster"), Darknet-53 18.7 billion at 256 px (YOLOv3, Table 2).
PAPER_MACS = {"darknet19": (224, 5.58e9 / 2), "darknet53": (256, 18.7e9 / 2)}


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_published_parameter_count(name, expected):
    assert _params(_meta(name)) == expected


def test_darknet19_count_follows_from_table_6():
    weights, filters, channels = 0, 0, 3
    for spec in DARKNET19:
        if spec != "M":
            out, kernel = spec
            weights += channels * out * kernel * kernel
            filters += out
            channels = out
    assert sum(spec != "M" for spec in DARKNET19) == 18  # plus the classifier: 19 convolutions
    assert sum(spec == "M" for spec in DARKNET19) == 5
    assert weights + 2 * filters + 1024 * 1000 + 1000 == PUBLISHED["darknet19"]


@pytest.mark.parametrize("name", PAPER_MACS)
def test_operation_counts_within_3_percent_of_the_papers(name):
    size, expected = PAPER_MACS[name]
    macs = summary(name, (3, size, size), num_classes=1000).total_macs
    assert abs(macs - expected) <= 0.03 * expected


@pytest.mark.parametrize("name", NAMES)
def test_native_and_small_input_shapes(name):
    for channels, size, side in ((3, 224, 7), (1, 28, 2), (3, 32, 2)):
        model = _meta(name, num_classes=10, in_channels=channels, image_size=size)
        x = torch.zeros(2, channels, size, size, device="meta")
        assert model.forward_features(x).shape[-2:] == (side, side), (name, size)
        assert model(x).shape == (2, 10)


def test_small_input_forms_remove_the_first_downsampling():
    def pools(model):
        return sum(isinstance(m, nn.MaxPool2d) for m in model.modules())

    assert pools(_meta("darknet19", image_size=64)) == 5
    assert pools(_meta("darknet19", image_size=63)) == 4
    for name in ("darknet53", "cspdarknet53"):
        native, small = _meta(name, image_size=64), _meta(name, image_size=32)
        assert native.features.stem.conv.stride == small.features.stem.conv.stride == (1, 1)
        assert native.features.stage1.down.conv.stride == (2, 2)
        assert small.features.stage1.down.conv.stride == (1, 1)
        assert _params(native) == _params(small)  # only a stride changes


def test_darknet19_classifier_is_a_1x1_convolution():
    model = _meta("darknet19", num_classes=10)
    assert isinstance(model.head.conv, nn.Conv2d)
    assert model.head.conv.kernel_size == (1, 1)
    assert model.head.conv.bias is not None
    assert model.num_classes == 10


@pytest.mark.parametrize("name", NAMES)
def test_gradient_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=4, image_size=12)
    out = model(torch.randn(2, 3, 12, 12))
    assert out.shape == (2, 4) and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_leaky_relu_slope_is_a_tenth_everywhere():
    model = _meta("cspdarknet53")
    slopes = {m.negative_slope for m in model.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.1}
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())


def test_darknet_residual_shape_parameters_and_identity():
    torch.manual_seed(0)
    block = DarknetResidual(8, 4)
    x = torch.randn(2, 8, 6, 6)
    assert block(x).shape == x.shape
    assert _params(block) == 8 * 4 + 2 * 4 + 4 * 8 * 9 + 2 * 8
    nn.init.zeros_(block.conv2.norm.weight)
    nn.init.zeros_(block.conv2.norm.bias)
    # a zero branch (LeakyReLU(0) = 0) leaves the identity
    assert torch.equal(block.eval()(x), x)


def test_csp_stage_shape_and_split():
    torch.manual_seed(0)
    stage = CSPStage(16, 32, 2).eval()
    x = torch.randn(2, 16, 8, 8)
    assert stage(x).shape == (2, 32, 4, 4)
    assert CSPStage(16, 32, 1, stride=1)(x).shape == (2, 32, 8, 8)
    assert stage.split_skip.out_channels == stage.split_main.out_channels == 16
    with torch.no_grad():  # the stage is the composition its docstring describes
        down = stage.down(x)
        main = stage.transition(stage.blocks[1](stage.blocks[0](stage.split_main(down))))
        expected = stage.merge(torch.cat([stage.split_skip(down), main], dim=1))
        assert torch.equal(stage(x), expected)


def test_csp_stage_parameters_match_timm_layout():
    # timm's first cspdarknet53 stage (32 -> 64, one unit, expand 2, bottleneck 0.5): 3x3
    # down 32->64, 1x1 64->128 split in two, unit 64->32->64, transitions 64->64 and 128->64.
    def conv(i, o, k):
        return i * o * k * k + 2 * o

    expected = (
        conv(32, 64, 3)
        + conv(64, 128, 1)
        + conv(64, 32, 1)
        + conv(32, 64, 3)
        + conv(64, 64, 1)
        + conv(128, 64, 1)
    )
    stage = CSPStage(32, 64, 1, part_channels=64, hidden_channels=32)
    assert _params(stage) == expected
    assert _params(_meta("cspdarknet53").features.stage1) == expected
