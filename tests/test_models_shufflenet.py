"""SqueezeNet and ShuffleNet v1/v2: the Fire module, channel shuffle and both ShuffleNet units,
parameter counts (torchvision's, or computed from the paper's table where none is published),
MACs against the papers, the small-input forms and the errors a user can cause."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.analysis import summary
from classicnets.errors import ShapeError
from classicnets.layers.fire import Fire
from classicnets.layers.shuffle import ShuffleV1Unit, ShuffleV2Unit, channel_shuffle
from classicnets.models import create_model, shufflenet, squeezenet  # noqa: F401  (registers)
from classicnets.models.shufflenet import REPEATS, STEM_WIDTH, V1_WIDTHS, make_shufflenet_v1

SQUEEZENETS = ["squeezenet1_0", "squeezenet1_1"]
SHUFFLENETS_V1 = [f"shufflenet_v1_g{g}" for g in V1_WIDTHS]
SHUFFLENETS_V2 = [f"shufflenet_v2_{w}" for w in ("x0_5", "x1_0", "x1_5", "x2_0")]
ALL = SQUEEZENETS + SHUFFLENETS_V1 + SHUFFLENETS_V2

# torchvision's model docs for SqueezeNet (1,248,424 is also the total of SqueezeNet's Table 1)
# and ShuffleNet v2. ShuffleNet v1 has no published count: these are Table 1's widths counted
# (see test_v1_counts_follow_from_table_1), with a biased classifier.
PUBLISHED = {
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
    "shufflenet_v2_x0_5": 1_366_792,
    "shufflenet_v2_x1_0": 2_278_604,
    "shufflenet_v2_x1_5": 3_503_624,
    "shufflenet_v2_x2_0": 7_393_996,
}
COUNTED = {
    "shufflenet_v1_g1": 1_531_936,
    "shufflenet_v1_g2": 1_733_848,
    "shufflenet_v1_g3": 1_865_728,
    "shufflenet_v1_g4": 1_968_344,
    "shufflenet_v1_g8": 2_434_768,
}
# Millions of multiply-adds at 224 px: Zhang et al. 2017 Table 1 ("Complexity", 1x, per g),
# Ma et al. 2018 Table 5 ("FLOPs"), torchvision's GFLOPS column for SqueezeNet.
PAPER_MACS = {
    "shufflenet_v1_g1": 143,
    "shufflenet_v1_g2": 140,
    "shufflenet_v1_g3": 137,
    "shufflenet_v1_g4": 133,
    "shufflenet_v1_g8": 137,
    "shufflenet_v2_x0_5": 41,
    "shufflenet_v2_x1_0": 146,
    "shufflenet_v2_x1_5": 299,
    "shufflenet_v2_x2_0": 591,
    "squeezenet1_0": 820,
    "squeezenet1_1": 350,
}


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


# --- channel shuffle --------------------------------------------------------------------------


def _order(channels: int, groups: int) -> list[int]:
    """Which input channel lands at each output position."""
    x = torch.arange(channels, dtype=torch.float32).reshape(1, channels, 1, 1)
    return channel_shuffle(x, groups).flatten().long().tolist()


def test_channel_shuffle_interleaves_the_groups():
    # Groups (0 1 2)(3 4 5) become 0 3 1 4 2 5; groups (0 1)(2 3)(4 5) become 0 2 4 1 3 5.
    assert _order(6, 2) == [0, 3, 1, 4, 2, 5]
    assert _order(6, 3) == [0, 2, 4, 1, 3, 5]
    assert _order(6, 1) == _order(6, 6) == list(range(6))  # one group, or one channel each
    # After a shuffle with g groups, every run of g channels holds one from each group.
    order = _order(12, 3)
    assert all(sorted(c // 4 for c in order[i : i + 3]) == [0, 1, 2] for i in range(0, 12, 3))


@pytest.mark.parametrize("channels, groups", [(6, 2), (12, 3), (12, 4), (240, 3), (1536, 8)])
def test_channel_shuffle_is_a_permutation_undone_by_c_over_g_groups(channels, groups):
    x = torch.randn(2, channels, 3, 2)
    shuffled = channel_shuffle(x, groups)
    assert sorted(_order(channels, groups)) == list(range(channels))
    assert torch.equal(channel_shuffle(shuffled, channels // groups), x)


def test_channel_shuffle_refuses_groups_that_do_not_divide():
    with pytest.raises(ShapeError, match=r"^channel_shuffle: 6 channels cannot be split into 4 "):
        channel_shuffle(torch.zeros(1, 6, 2, 2), 4)
    with pytest.raises(ShapeError, match=r"divide the channels: 1, 2, 3 or 6\.$"):
        channel_shuffle(torch.zeros(1, 6, 2, 2), 4)
    with pytest.raises(ShapeError, match="positive integer, got 0"):
        channel_shuffle(torch.zeros(1, 6, 2, 2), 0)


# --- blocks -----------------------------------------------------------------------------------


def test_fire_concatenates_both_expands():
    torch.manual_seed(0)
    fire = Fire(96, 16, 64, 64)
    x = torch.randn(2, 96, 9, 7)
    out = fire(x)
    assert out.shape == (2, 128, 9, 7) and fire.out_channels == 128
    squeezed = torch.relu(fire.squeeze.conv(x))
    e1, e3 = fire.expand.branches["expand1x1"].conv, fire.expand.branches["expand3x3"].conv
    assert e1.kernel_size == (1, 1) and e3.kernel_size == (3, 3)
    expected = torch.cat([torch.relu(e1(squeezed)), torch.relu(e3(squeezed))], dim=1)
    assert torch.allclose(out, expected)
    assert _params(fire) == 96 * 16 + 16 + 16 * 64 + 64 + 16 * 64 * 9 + 64  # 11,920


def test_shuffle_v1_unit_shapes_and_paths():
    torch.manual_seed(0)
    x = torch.randn(2, 24, 8, 8)
    first = ShuffleV1Unit(24, 240, 2, groups=3, group_first=False).eval()
    assert first.reduce.conv.groups == 1 and first.expand.conv.groups == 3
    assert first.depthwise.conv.groups == 60  # bottleneck = 240 / 4
    out = first(x)
    assert out.shape == (2, 240, 4, 4)
    with torch.no_grad():  # the first 24 channels are the pooled input (Figure 2c)
        assert torch.allclose(out[:, :24], torch.relu(nn.functional.avg_pool2d(x, 3, 2, 1)))
    unit = ShuffleV1Unit(240, 240, groups=3).eval()
    assert unit.reduce.conv.groups == 3
    y = torch.randn(2, 240, 4, 4)
    with torch.no_grad():  # stride 1: act(x + branch), the branch as Figure 2b
        branch = unit.expand(unit.depthwise(channel_shuffle(unit.reduce(y), 3)))
        assert torch.allclose(unit(y), torch.relu(y + branch))


def test_shuffle_v2_unit_passes_the_left_half_through():
    torch.manual_seed(0)
    unit = ShuffleV2Unit(116, 116).eval()
    x = torch.randn(2, 116, 6, 6)
    with torch.no_grad():
        out = unit(x)
        unshuffled = channel_shuffle(out, 58)  # undo the shuffle with 2 groups
        assert torch.equal(unshuffled[:, :58], x[:, :58])
        assert torch.allclose(unshuffled[:, 58:], unit.right(x[:, 58:]))
    down = ShuffleV2Unit(24, 116, 2)
    assert down(torch.randn(2, 24, 7, 7)).shape == (2, 116, 4, 4)
    assert down.left[0].conv.groups == 24 and down.right[1].conv.groups == 58


def test_units_refuse_bad_shapes_in_one_sentence():
    with pytest.raises(ShapeError, match=r"^ShuffleV1Unit bottleneck: 60 channels .* 8 groups"):
        ShuffleV1Unit(24, 240, 2, groups=8, group_first=False)
    with pytest.raises(ShapeError, match=r"1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60\.$"):
        ShuffleV1Unit(24, 240, 2, groups=8, group_first=False)
    with pytest.raises(ShapeError, match=r"^ShuffleV1Unit input: 240 channels .* 7 groups"):
        ShuffleV1Unit(240, 240, groups=7)
    with pytest.raises(ShapeError, match="ShuffleV1Unit input: 24 channels .* 5 groups"):
        ShuffleV1Unit(24, 240, 2, groups=5, bottleneck=60)
    with pytest.raises(ShapeError, match="as many output as input channels, got 24 in and 48"):
        ShuffleV1Unit(24, 48, 1, groups=1)
    with pytest.raises(ShapeError, match="more output than input channels, got 48 in and 48"):
        ShuffleV1Unit(48, 48, 2, groups=1)
    with pytest.raises(ShapeError, match="stride must be 1 or 2, got 3"):
        ShuffleV2Unit(24, 48, 3)
    with pytest.raises(ShapeError, match="two halves.*: 45 channels cannot be split into 2"):
        ShuffleV2Unit(24, 45, 2)
    with pytest.raises(ShapeError, match="cannot be split into 5 groups"):
        make_shufflenet_v1(5, V1_WIDTHS[3])


# --- parameter counts and MACs ----------------------------------------------------------------


@pytest.mark.parametrize("name, expected", (PUBLISHED | COUNTED).items())
def test_parameter_count(name, expected):
    assert _params(_meta(name)) == expected


def _v1_count(groups: int, num_classes: int = 1000) -> int:
    """ShuffleNet v1's parameters from Table 1 alone: conv weights plus two per BN channel."""
    total = 3 * STEM_WIDTH * 9 + 2 * STEM_WIDTH
    channels = STEM_WIDTH
    for stage, (width, count) in enumerate(zip(V1_WIDTHS[groups], REPEATS, strict=True)):
        for unit in range(count):
            out = width - channels if unit == 0 else width
            mid = width // 4
            first_groups = 1 if stage == 0 and unit == 0 else groups
            total += channels * mid // first_groups + 2 * mid  # 1x1 GConv + BN
            total += 9 * mid + 2 * mid  # 3x3 depthwise + BN
            total += mid * out // groups + 2 * out  # 1x1 GConv + BN
            channels = width
    return total + channels * num_classes + num_classes


@pytest.mark.parametrize("groups", list(V1_WIDTHS))
def test_v1_counts_follow_from_table_1(groups):
    assert _v1_count(groups) == COUNTED[f"shufflenet_v1_g{groups}"]


def test_v1_g3_near_the_literature_count():
    # No count in the paper; mmpretrain's shufflenet-v1-1x (g = 3) lists 1.87 M, mindcv 1.89 M.
    assert abs(COUNTED["shufflenet_v1_g3"] / 1.87e6 - 1) < 0.05
    assert abs(COUNTED["shufflenet_v1_g3"] / 1.89e6 - 1) < 0.05


@pytest.mark.parametrize("name, millions", PAPER_MACS.items())
def test_macs_within_3_percent_of_the_paper(name, millions):
    macs = summary(name, (3, 224, 224), num_classes=1000).total_macs
    assert abs(macs / (millions * 1e6) - 1) < 0.03


def test_headline_macs():
    # ShuffleNet 1x (g = 3) is "140 MFLOPs" in Zhang et al.'s Tables 2 and 5; v2 1x 146 M.
    assert abs(summary("shufflenet_v1_g3").total_macs / 140e6 - 1) < 0.03
    assert abs(summary("shufflenet_v2_x1_0").total_macs / 146e6 - 1) < 0.03
    # SqueezeNet v1.1: "2.4x less computation than SqueezeNet 1.0" (its release notes).
    ratio = summary("squeezenet1_0").total_macs / summary("squeezenet1_1").total_macs
    assert abs(ratio / 2.4 - 1) < 0.03


# --- whole networks ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_native_shapes(name):
    model = _meta(name).eval()
    features = model.forward_features(torch.zeros(2, 3, 224, 224, device="meta"))
    assert features.shape[-2:] == ((13, 13) if name.startswith("squeeze") else (7, 7))
    assert model.forward_head(features).shape == (2, 1000)


@pytest.mark.parametrize("name", ["squeezenet1_0", "shufflenet_v1_g3", "shufflenet_v2_x1_0"])
@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32)])
def test_small_input_forms_keep_a_map(name, channels, size):
    torch.manual_seed(0)
    model = create_model(name, num_classes=10, in_channels=channels, image_size=size).eval()
    pools = sum(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert pools == (2 if name.startswith("squeeze") else 0)  # the stem's max pool is gone
    with torch.no_grad():
        x = torch.randn(2, channels, size, size)
        features = model.forward_features(x)
        out = model(x)
    expected = {"squeezenet1_0": size // 4, "shufflenet_v1_g3": 4, "shufflenet_v2_x1_0": 4}
    assert features.shape[-1] == expected[name] >= 2
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_stems_switch_at_64():
    small, native = _meta("squeezenet1_1", image_size=63), _meta("squeezenet1_1", image_size=64)
    assert small.features.conv1.conv.stride == (1, 1) and "pool1" not in small.features._modules
    assert native.features.conv1.conv.stride == (2, 2) and "pool1" in native.features._modules
    small, native = _meta("shufflenet_v2_x0_5", image_size=63), _meta("shufflenet_v2_x0_5")
    assert small.features.stem.conv.conv.stride == (1, 1) and not hasattr(
        small.features.stem, "pool"
    )
    assert native.features.stem.conv.conv.stride == (2, 2) and hasattr(native.features.stem, "pool")


def test_squeezenet_smallest_image():
    assert create_model("squeezenet1_0", num_classes=3, image_size=4)(
        torch.randn(1, 3, 4, 4)
    ).shape == (1, 3)
    with pytest.raises(ShapeError, match="at least 4x4"):
        create_model("squeezenet1_0", image_size=3)


@pytest.mark.parametrize("name", ["squeezenet1_1", "shufflenet_v1_g8", "shufflenet_v2_x0_5"])
def test_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, image_size=12).train()
    model(torch.randn(2, 3, 12, 12)).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_squeezenet_reset_classifier_swaps_conv10():
    torch.manual_seed(0)
    model = create_model("squeezenet1_1", num_classes=10, image_size=32).eval()
    assert model.num_classes == 10 and model._classifier() is model.head.conv10
    model.reset_classifier(4)
    assert isinstance(model.head.conv10, nn.Conv2d) and model.head.conv10.kernel_size == (1, 1)
    assert model.head.conv10.in_channels == 512 and model.num_classes == 4
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 4)
