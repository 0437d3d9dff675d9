"""GhostNet: the published parameter count, the paper's multiply-adds, the small-input form,
the width multiplier and the ghost blocks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture: one thread)
from classicnets.analysis import summary
from classicnets.errors import ShapeError
from classicnets.layers.conv import ConvBNAct
from classicnets.layers.ghost import GhostBottleneck, GhostModule
from classicnets.models import (
    create_model,
    ghostnet,  # noqa: F401  (registers)
)

# timm's ghostnet_100 model card.
PUBLISHED = {"ghostnet": 5_182_508}
# The paper's ImageNet comparison (Han et al. 2020, Table 7): FLOPs (multiply-adds) by width.
PAPER_MACS = {0.5: 42e6, 1.0: 141e6, 1.3: 226e6}


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta(**kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model("ghostnet", **kwargs)


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_published_parameter_count(name, expected):
    assert _params(_meta()) == expected


@pytest.mark.parametrize("width", PAPER_MACS)
def test_macs_within_3_percent_of_the_paper(width):
    macs = summary("ghostnet", (3, 224, 224), num_classes=1000, width=width).total_macs
    assert abs(macs - PAPER_MACS[width]) <= 0.03 * PAPER_MACS[width]


def test_native_and_small_input_shapes():
    for channels, size, side in ((3, 224, 7), (1, 28, 4), (3, 32, 4)):
        model = _meta(num_classes=10, in_channels=channels, image_size=size)
        x = torch.zeros(2, channels, size, size, device="meta")
        features = model.forward_features(x)
        assert features.shape == (2, 960, side, side), size
        assert model(x).shape == (2, 10)


def test_small_input_form_removes_two_downsamplings():
    native, small = _meta(image_size=64), _meta(image_size=63)
    assert native.features.stem.conv.stride == (2, 2)
    assert small.features.stem.conv.stride == (1, 1)
    assert isinstance(native.features.stage2[0].depthwise, ConvBNAct)
    assert isinstance(small.features.stage2[0].depthwise, nn.Identity)
    assert isinstance(small.features.stage4[0].depthwise, ConvBNAct)  # later ones stay


def test_real_forward_at_cifar_size():
    torch.manual_seed(0)
    model = create_model("ghostnet", num_classes=10, image_size=32).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    model = create_model("ghostnet", num_classes=4, image_size=12, width=0.5)
    out = model(torch.randn(2, 3, 12, 12))
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_width_scales_channels_in_multiples_of_4_but_not_the_head():
    model = _meta(width=0.5)
    assert model.features.stem.out_channels == 8
    assert model.features.conv.out_channels == 480
    assert model.head.conv.out_channels == 1280
    blocks = [m for m in model.modules() if isinstance(m, GhostBottleneck)]
    assert len(blocks) == 16
    widths = [w for b in blocks for w in (b.expand.out_channels, b.out_channels)]
    assert all(w % 4 == 0 for w in widths)
    assert widths[:4] == [8, 8, 24, 12]  # Table 1's 16, 16, 48, 24 halved


@pytest.mark.parametrize("width", [0, -1.0])
def test_width_must_be_positive(width):
    with pytest.raises(ShapeError) as error:
        create_model("ghostnet", width=width)
    message = str(error.value)
    assert str(width) in message and "positive" in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence


@pytest.mark.parametrize("out, ratio", [(16, 2), (5, 2), (9, 3)])
def test_ghost_module_shapes_and_intrinsic_maps(out, ratio):
    torch.manual_seed(0)
    module = GhostModule(6, out, ratio=ratio).eval()
    primary = math.ceil(out / ratio)
    assert module.primary.conv.out_channels == primary
    assert module.cheap.conv.groups == primary
    assert module.cheap.conv.out_channels == primary * (ratio - 1)
    x = torch.randn(2, 6, 5, 5)
    with torch.no_grad():
        y = module(x)
        assert y.shape == (2, out, 5, 5)
        intrinsic = module.primary(x)
        assert torch.equal(y[:, :primary], intrinsic[:, :out])
        ghosts = module.cheap(intrinsic)
        assert torch.equal(y[:, primary:], ghosts[:, : out - primary])


def test_ghost_module_without_relu_is_linear():
    module = GhostModule(4, 8, relu=False)
    assert not any(isinstance(m, nn.ReLU) for m in module.modules())
    assert sum(isinstance(m, nn.ReLU) for m in GhostModule(4, 8).modules()) == 2


def test_ghost_bottleneck_stride_se_and_shortcut():
    torch.manual_seed(0)
    x = torch.randn(2, 24, 8, 8)
    same = GhostBottleneck(24, 72, 24).eval()
    assert isinstance(same.shortcut, nn.Identity)
    assert isinstance(same.depthwise, nn.Identity) and isinstance(same.se, nn.Identity)
    assert same(x).shape == (2, 24, 8, 8)

    down = GhostBottleneck(24, 72, 40, kernel_size=5, stride=2, se_ratio=0.25).eval()
    assert down(x).shape == (2, 40, 4, 4)
    assert down.depthwise.conv.stride == (2, 2) and down.depthwise.conv.groups == 72
    assert down.se.reduce.out_channels == 20  # make_divisible(72 * 0.25, 4), as timm
    assert isinstance(down.se.gate, nn.Hardsigmoid)
    assert down.shortcut.depthwise.conv.groups == 24
    assert down.shortcut.pointwise.conv.out_channels == 40
    with torch.no_grad():  # the block is the composition its docstring describes
        branch = down.project(down.se(down.depthwise(down.expand(x))))
        assert torch.equal(down(x), branch + down.shortcut(x))
