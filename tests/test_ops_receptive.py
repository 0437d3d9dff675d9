"""receptive_field against hand-worked stacks and against the receptive field autograd reveals:
the input pixels whose gradient reaches one output cell."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from classicnets.analysis import receptive_field
from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.models import create_model, list_models, model_info

SMALL = 80  # side of the images the registry-wide test uses where a model takes them


def _convs(n: int) -> nn.Sequential:
    layers = []
    for _ in range(n):
        layers += [nn.Conv2d(1, 1, 3), nn.ReLU()]
    return nn.Sequential(*layers)


@pytest.mark.parametrize(("layers", "field"), [(1, 3), (2, 5), (3, 7)])
def test_stacked_3x3_convolutions_see_5x5_then_7x7(layers, field):
    rows = receptive_field(_convs(layers), (1, 16, 16))
    assert rows[-1].receptive_field == (field, field)
    assert rows[-1].output_shape == (1, 16 - 2 * layers, 16 - 2 * layers)


def _vgg16_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    for convs in (2, 2, 3, 3, 3):  # VGG-16, configuration D (widths do not change the field)
        layers += [nn.Conv2d(1, 1, 3, padding=1) for _ in range(convs)] + [nn.MaxPool2d(2)]
    return nn.Sequential(*layers)


def _alexnet_features() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 1, 11, stride=4, padding=2),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(1, 1, 5, padding=2),
        nn.MaxPool2d(3, 2),
        *(nn.Conv2d(1, 1, 3, padding=1) for _ in range(3)),
        nn.MaxPool2d(3, 2),
    )


# Araujo, Norris & Sim, "Computing receptive fields of convolutional neural networks", Distill
# 2019, Table 1: AlexNet 195, VGG-16 212 (after the last pooling layer).
@pytest.mark.parametrize(
    ("features", "size", "field"), [(_alexnet_features, 224, 195), (_vgg16_features, 64, 212)]
)
def test_published_receptive_fields(features, size, field):
    assert receptive_field(features(), (1, size, size))[-1].receptive_field == (field, field)


def test_lenet5_layer_by_layer():
    rows = receptive_field("lenet5")
    spatial = [(r.name, r.output_shape, r.receptive_field, r.jump, r.start) for r in rows[:7]]
    assert spatial == [
        ("input", (1, 28, 28), (1, 1), (1, 1), (0.0, 0.0)),
        ("features.0", (6, 28, 28), (5, 5), (1, 1), (0.0, 0.0)),  # 5x5, padding 2
        ("features.1", (6, 28, 28), (5, 5), (1, 1), (0.0, 0.0)),  # sigmoid
        ("features.2", (6, 14, 14), (6, 6), (2, 2), (0.5, 0.5)),  # 2x2/2 pooling
        ("features.3", (16, 10, 10), (14, 14), (2, 2), (4.5, 4.5)),  # 5x5 valid
        ("features.4", (16, 10, 10), (14, 14), (2, 2), (4.5, 4.5)),
        ("features.5", (16, 5, 5), (16, 16), (4, 4), (5.5, 5.5)),
    ]
    flatten = rows[7]
    assert (flatten.layer, flatten.output_shape, flatten.receptive_field) == (
        "Flatten",
        (400,),
        None,
    )
    assert all(r.receptive_field is None and r.jump is None for r in rows[7:])
    assert rows[-1].output_shape == (10,)


def test_input_size_override_rebuilds_the_model():
    rows = receptive_field("lenet5", (1, 32, 32))
    assert rows[6].output_shape == (16, 6, 6)
    assert rows[-1].output_shape == (10,)


def _two(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _gradient_support(model: nn.Module, size: int, cell: tuple[int, int]) -> list[set[int]]:
    """Rows and columns of the input pixels whose gradient reaches output cell ``cell``."""
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    model(x)[0, 0, cell[0], cell[1]].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    return [set(rows.tolist()), set(cols.tolist())]


def _taps_back(model: nn.Sequential, sizes: list[int], cell: int, axis: int, clip: bool):
    """The input indices a cell reads, walking the windows backwards: cell i of a layer reads
    i·s - p + t·d for t < k (a reference independent of the forward recurrence)."""
    windows = [m for m in model if not isinstance(m, nn.Tanh)]
    reached = {cell}
    for layer, n_in in zip(reversed(windows), reversed(sizes[:-1]), strict=True):
        k, s, p = (_two(getattr(layer, a)) for a in ("kernel_size", "stride", "padding"))
        d = _two(getattr(layer, "dilation", 1))
        reached = {i * s[axis] - p[axis] + t * d[axis] for i in reached for t in range(k[axis])}
        if clip:  # padding, and cells past the edge, lead nowhere
            reached = {i for i in reached if 0 <= i < n_in}
    return reached


@st.composite
def stacks(draw):
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        if draw(st.booleans()):
            p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
            d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            conv = nn.Conv2d(1, 1, k, s, p, d, bias=False)
            nn.init.ones_(conv.weight)  # positive weights: no gradient can cancel out
            layers += [conv, nn.Tanh()]
        else:  # average pooling spreads its gradient over the whole window
            p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
            layers.append(nn.AvgPool2d(k, s, p, ceil_mode=draw(st.booleans())))
    return nn.Sequential(*layers).double()


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_field_jump_and_start_match_the_gradient_of_one_output_cell(model):
    size = 48
    try:
        rows = receptive_field(model, (1, size, size))
    except ShapeError:
        assume(False)  # the stack shrinks the input to nothing
    window_rows = [r for r, m in zip(rows[1:], model, strict=True) if not isinstance(m, nn.Tanh)]
    last = rows[-1]
    cell = (last.output_shape[1] // 2, last.output_shape[2] // 2)
    support = _gradient_support(model, size, cell)
    assume(all(support))  # a cell that reads padding only has no field to compare
    for axis in (0, 1):
        sizes = [size] + [r.output_shape[1 + axis] for r in window_rows]
        # The field: the span of what the cell would read if every layer were padded forever.
        for i in (0, cell[axis]):
            taps = _taps_back(model, sizes, i, axis, clip=False)
            centre = last.start[axis] + i * last.jump[axis]
            half = (last.receptive_field[axis] - 1) / 2
            assert (min(taps), max(taps)) == (centre - half, centre + half)
        # And autograd agrees with the backward walk about what the cell really reads.
        assert support[axis] == _taps_back(model, sizes, cell[axis], axis, clip=True)


def test_branches_join_with_the_widest_field():
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return x + self.conv(x)  # the sum is no module: the walk takes the widest field

    class TwoBranches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.small, self.large = nn.Conv2d(1, 1, 1), nn.Conv2d(1, 1, 5, padding=2)

        def forward(self, x):
            return torch.cat([self.small(x), self.large(x)], dim=1)

    rows = receptive_field(nn.Sequential(Residual(), nn.ReLU()), (1, 8, 8))
    assert rows[-1].receptive_field == (3, 3)
    rows = receptive_field(nn.Sequential(TwoBranches(), nn.Conv2d(2, 1, 3, padding=1)), (1, 8, 8))
    assert [r.receptive_field for r in rows[1:]] == [(1, 1), (5, 5), (7, 7)]


def test_global_average_pooling_sees_the_whole_input():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    rows = receptive_field(model, (1, 8, 8))
    assert rows[2].receptive_field == (8, 8)
    assert rows[2].output_shape == (4, 1, 1)
    assert rows[3].receptive_field is None


def test_same_padding_conv():
    rows = receptive_field(nn.Conv2d(1, 1, 3, padding="same"), (1, 5, 5))
    assert (rows[1].output_shape, rows[1].receptive_field, rows[1].start) == (
        (1, 5, 5),
        (3, 3),
        (0.0, 0.0),
    )


def _one_image_model_per_file() -> list[str]:
    """The shortest-named image model of each model file: every architecture, kept fast."""
    chosen: dict[str, str] = {}
    for name in sorted(list_models(), key=lambda n: (len(n), n)):
        info = model_info(name)
        if "sequence" not in info.tags and len(info.input_size) == 3:
            chosen.setdefault(info.builder.__module__, name)
    return sorted(chosen.values())


@pytest.mark.parametrize("name", _one_image_model_per_file())
def test_registered_models_walk_to_the_end_of_their_features(name):
    info = model_info(name)
    channels, side = info.input_size[0], min(info.input_size[1], SMALL)
    try:  # a small image keeps the test fast where the model takes one
        model = create_model(name, image_size=side)
    except ClassicnetsError:
        model, side = create_model(name), info.input_size[1]
    features: list[tuple[int, ...]] = []
    model.features.register_forward_hook(lambda m, i, out: features.append(tuple(out.shape)))
    rows = receptive_field(model, (channels, side, side))
    assert rows[0].output_shape == (channels, side, side)
    assert rows[-1].output_shape == (info.num_classes,)
    if len(features[0]) == 4:  # the walk follows the features to their very end
        walked = [r for r in rows if r.name.split(".")[0] == "features" and r.jump is not None]
        assert walked[-1].output_shape[1:] == features[0][2:]  # last branch: (H, W) only


@pytest.mark.parametrize(
    ("model", "size", "error", "message"),
    [
        (
            nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)),
            (1, 8, 8),
            ShapeError,
            "maps 6x6 to 12x12 but is not a Conv2d or pooling layer",
        ),
        (
            nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(4)),
            (1, 8, 8),
            ShapeError,
            "windows of unequal size",
        ),
        (nn.Conv2d(1, 1, 3), None, ClassicnetsError, "give input_size"),
        (nn.Conv2d(1, 1, 3), (1, 8), ShapeError, "three positive integers"),
        (nn.Conv2d(3, 1, 3), (1, 8, 8), ShapeError, "Conv2d cannot take a 1x8x8 input"),
        ("lenet5", (1, 2, 2), ShapeError, "at least 12x12 pixels, got 2x2"),
        ("lenet_5", None, ClassicnetsError, "Did you mean 'lenet5'"),
    ],
)
def test_honest_errors(model, size, error, message):
    with pytest.raises(error, match=message):
        receptive_field(model, size)


def test_a_size_change_outside_modules_is_reported():
    class Sneaky(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return self.b(torch.nn.functional.max_pool2d(self.a(x), 2))

    with pytest.raises(ShapeError, match=r"b \(Conv2d\) gets a 4x4 input but the layers followed"):
        receptive_field(Sneaky(), (1, 8, 8))
