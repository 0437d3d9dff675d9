"""Inception-ResNet v1 and v2 (Szegedy et al. 2016): counts (timm's for v2, re-derived from
the figures for v1), the residual block's arithmetic, the reductions' widths and the 75 px
minimum."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ShapeError
from classicnets.models import (
    create_model,
    inception_resnet,  # noqa: F401  (registers)
    model_info,
)
from classicnets.models.inception_resnet import (
    CONFIGS,
    MIN_IMAGE_SIZE,
    InceptionResidual,
    inception_resnet_v2,
    reduction_b,
)

PUBLISHED = {
    "inception_resnet_v2": 55_843_464,  # timm, 1,000 classes
    "inception_resnet_v1": 22_756_328,  # no published count: the figures' sum (test below)
}


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_parameter_count(name, expected):
    assert _params(_meta(name)) == expected


def test_v1_count_is_the_sum_of_the_figures():
    def conv(i, o, kh, kw=None):  # a convolution with batch norm (scale and shift), no bias
        return i * o * kh * (kw or kh) + 2 * o

    def linear(i, o):  # the residual's 1x1 projection, with a bias
        return i * o + o

    stem = conv(3, 32, 3) + conv(32, 32, 3) + conv(32, 64, 3)  # Figure 14
    stem += conv(64, 80, 1) + conv(80, 192, 3) + conv(192, 256, 3)
    a = 3 * conv(256, 32, 1) + 3 * conv(32, 32, 3) + linear(96, 256)  # Figure 10
    red_a = conv(256, 384, 3) + conv(256, 192, 1) + conv(192, 192, 3) + conv(192, 256, 3)
    b = 2 * conv(896, 128, 1) + conv(128, 128, 1, 7) + conv(128, 128, 7, 1)  # Figure 11
    b += linear(256, 896)
    red_b = 3 * conv(896, 256, 1) + conv(256, 384, 3) + 3 * conv(256, 256, 3)  # Figure 12
    c = 2 * conv(1792, 192, 1) + conv(192, 192, 1, 3) + conv(192, 192, 3, 1)  # Figure 13
    c += linear(384, 1792)
    total = stem + 5 * a + red_a + 10 * b + red_b + 5 * c + linear(1792, 1000)
    assert total == PUBLISHED["inception_resnet_v1"]


def test_registry_entries():
    for name in PUBLISHED:
        info = model_info(name)
        assert (info.family, info.year, info.input_size) == (
            "Inception-ResNet",
            2016,
            (3, 299, 299),
        )
        assert info.min_image_size == MIN_IMAGE_SIZE == 75


@pytest.mark.parametrize(
    "name, stem, widths, last",
    [
        ("inception_resnet_v1", 256, (256, 896, 1792), 1792),
        ("inception_resnet_v2", 320, (320, 1088, 2080), 1536),
    ],
)
def test_native_shapes_on_meta(name, stem, widths, last):
    shapes = {}
    with torch.device("meta"):
        model = create_model(name).eval()
        x = torch.zeros(1, 3, 299, 299)
        for stage, module in model.features.named_children():
            x = module(x)
            shapes[stage] = tuple(x.shape[1:])
        assert model(torch.zeros(1, 3, 299, 299)).shape == (1, 1000)
    assert shapes["stem"] == (stem, 35, 35)
    assert shapes["block_a1"] == (widths[0], 35, 35)
    assert shapes["reduction_a"] == shapes["block_b1"] == (widths[1], 17, 17)
    assert shapes["reduction_b"] == shapes["block_c1"] == (widths[2], 8, 8)
    assert x.shape == (1, last, 8, 8)


def test_blocks_and_scales_as_configured():
    model = _meta("inception_resnet_v2")
    blocks = [m for m in model.modules() if isinstance(m, InceptionResidual)]
    assert [b.scale for b in blocks] == [0.17] * 10 + [0.10] * 20 + [0.20] * 9 + [1.0]
    assert all(isinstance(b.act, nn.ReLU) for b in blocks[:-1])
    assert isinstance(blocks[-1].act, nn.Identity)  # timm's last Block8: no ReLU
    v1 = [m for m in _meta("inception_resnet_v1").modules() if isinstance(m, InceptionResidual)]
    assert [b.scale for b in v1] == [0.17] * 5 + [0.10] * 10 + [0.20] * 5
    assert all(isinstance(b.act, nn.ReLU) for b in v1)


def test_residual_block_arithmetic():
    torch.manual_seed(0)
    block = InceptionResidual(16, (((4, 1),), ((4, 1), (6, 3))), 0.2).eval()
    x = torch.randn(2, 16, 7, 7)
    with torch.no_grad():
        concat = torch.cat([branch(x) for branch in block.branches.branches.values()], dim=1)
        assert concat.shape == (2, 10, 7, 7)
        assert torch.allclose(block(x), torch.relu(x + 0.2 * block.up(concat)))
        nn.init.zeros_(block.up.weight)
        nn.init.zeros_(block.up.bias)
        assert torch.equal(block(x), torch.relu(x))  # a zero residual leaves relu(x)
    assert isinstance(block.up, nn.Conv2d) and block.up.bias is not None  # linear, no BN


@pytest.mark.parametrize("name", PUBLISHED)
def test_each_block_type_keeps_its_shape(name):
    config = CONFIGS[name]
    channels = {"inception_resnet_v1": (256, 896, 1792), "inception_resnet_v2": (320, 1088, 2080)}
    stages = (config.block_a, config.block_b, config.block_c)
    with torch.device("meta"):
        for stage, c, size in zip(stages, channels[name], (35, 17, 8), strict=True):
            block = InceptionResidual(c, stage.branches, stage.scale)
            assert block(torch.zeros(2, c, size, size)).shape == (2, c, size, size)
        red_b = reduction_b(channels[name][1], config.reduction_b)
        out = red_b(torch.zeros(2, channels[name][1], 17, 17))
    assert out.shape == (2, channels[name][2], 8, 8) == (2, red_b.out_channels, 8, 8)


def test_v1_forward_backward_at_the_minimum():
    torch.manual_seed(0)
    model = create_model("inception_resnet_v1", num_classes=10, image_size=75)
    out = model.train()(torch.randn(2, 3, 75, 75))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_v2_forward_at_the_minimum():
    torch.manual_seed(0)
    model = create_model("inception_resnet_v2", num_classes=10, image_size=75).eval()
    with torch.no_grad():
        features = model.forward_features(torch.randn(1, 3, 75, 75))
        assert features.shape == (1, 1536, 1, 1)
        assert model.forward_head(features).shape == (1, 10)


@pytest.mark.parametrize("name", PUBLISHED)
def test_too_small_an_image_is_one_sentence(name):
    with pytest.raises(ShapeError, match=r"at least 75x75 pixels, got 74x74") as err:
        create_model(name, image_size=74)
    assert str(err.value).count(". ") == 0 and str(err.value).endswith(".")


def test_builder_checks_the_size_itself():
    with pytest.raises(ShapeError, match="inception_resnet_v2"):
        inception_resnet_v2(image_size=32)
