"""The pictures of a trained image classifier: the numbers behind them (confusion counts, the
most confident mistakes, the receptive region of a unit against the input gradient's support)
and that every plot writes one whole PNG of a sane size."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.analysis import receptive_field
from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.layers.conv import BasicBlock, ConvBNAct
from classicnets.models import create_model
from classicnets.viz.confusion import confusion_matrix, plot_confusion
from classicnets.viz.features import display_image, plot_features, top_channels
from classicnets.viz.filters import find_conv, normalise_filters, plot_filters
from classicnets.viz.mistakes import most_confident_mistakes, plot_mistakes
from classicnets.viz.receptive import find_layer_field, plot_receptive, receptive_region
from classicnets.viz.saliency import plot_saliency

CLASSES = tuple(f"class {i}" for i in range(10))


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _raw(channels: int, size: int, count: int | None = None) -> torch.Tensor:
    shape = (channels, size, size) if count is None else (count, channels, size, size)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=_generator())


def _normalised(raw: torch.Tensor) -> torch.Tensor:
    return (raw.float() / 255 - 0.5) / 0.25


def _check_png(path: Path) -> tuple[int, int]:
    """A whole PNG of a sane size, alone in its folder (no temporary file left behind)."""
    assert path.is_file() and path.stat().st_size > 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert 200 <= width <= 5000 and 150 <= height <= 5000, (width, height)
    return width, height


# --- confusion matrix and mistakes -----------------------------------------------------------


def test_confusion_matrix_counts_like_a_loop():
    labels = torch.randint(0, 5, (300,), generator=_generator(1))
    predictions = torch.randint(0, 5, (300,), generator=_generator(2))
    expected = torch.zeros(5, 5, dtype=torch.int64)
    for true, predicted in zip(labels.tolist(), predictions.tolist(), strict=True):
        expected[true, predicted] += 1
    matrix = confusion_matrix(predictions, labels, 5)
    assert matrix.dtype == torch.int64
    assert torch.equal(matrix, expected)
    assert matrix.sum() == 300


def test_confusion_matrix_errors():
    with pytest.raises(ShapeError, match="3 predictions for 2 labels"):
        confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1]), 2)
    with pytest.raises(ClassicnetsError, match="holds class 4, outside 0 to 2"):
        confusion_matrix(torch.tensor([0, 4]), torch.tensor([0, 1]), 3)
    with pytest.raises(ClassicnetsError, match="argmax"):
        confusion_matrix(torch.rand(4), torch.tensor([0, 1, 0, 1]), 2)


def test_most_confident_mistakes_by_hand():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.55, 0.45]])
    labels = torch.tensor([1, 1, 0, 0, 1])
    # Wrong: 0 (said 0 at 0.9), 3 (said 1 at 0.7), 4 (said 0 at 0.55); 1 and 2 are right.
    assert most_confident_mistakes(probs, labels, 5).tolist() == [0, 3, 4]
    assert most_confident_mistakes(probs, labels, 2).tolist() == [0, 3]
    assert most_confident_mistakes(probs, torch.tensor([0, 1, 0, 1, 0]), 3).tolist() == []
    with pytest.raises(ClassicnetsError, match="k must be 1 or more"):
        most_confident_mistakes(probs, labels, 0)
    with pytest.raises(ShapeError, match="5 rows of probabilities for 4 labels"):
        most_confident_mistakes(probs, labels[:4], 3)


def test_most_confident_mistakes_against_a_full_sort():
    probs = torch.randn(200, 7, generator=_generator(3)).softmax(1)
    labels = torch.randint(0, 7, (200,), generator=_generator(4))
    wrong = [i for i in range(200) if int(probs[i].argmax()) != int(labels[i])]
    expected = sorted(wrong, key=lambda i: (-float(probs[i].max()), i))[:10]
    assert most_confident_mistakes(probs, labels, 10).tolist() == expected


def test_plot_confusion_writes_one_png(tmp_path):
    labels = torch.randint(0, 10, (400,), generator=_generator(5))
    predictions = torch.where(torch.rand(400, generator=_generator(6)) < 0.6, labels, 0)
    _check_png(plot_confusion(predictions, labels, CLASSES, tmp_path / "c" / "confusion.png", "t"))


def test_plot_confusion_many_classes(tmp_path):
    names = [f"c{i}" for i in range(60)]  # neither numbers in the cells nor tick labels
    labels = torch.randint(0, 60, (500,), generator=_generator(7))
    _check_png(plot_confusion(labels.roll(1), labels, names, tmp_path / "confusion.png", "t"))


def test_plot_mistakes_writes_one_png(tmp_path):
    probs = torch.randn(40, 10, generator=_generator(8)).softmax(1)
    labels = torch.randint(0, 10, (40,), generator=_generator(9))
    path = plot_mistakes(_raw(1, 12, 40), labels, probs, CLASSES, tmp_path / "m.png", "t", k=6)
    _check_png(path)


def test_plot_mistakes_without_mistakes(tmp_path):
    probs = torch.eye(10)
    path = plot_mistakes(_raw(3, 8, 10), torch.arange(10), probs, CLASSES, tmp_path / "m.png", "t")
    _check_png(path)


# --- filters and features --------------------------------------------------------------------


def test_normalise_filters_stretches_each_filter_alone():
    weight = torch.randn(5, 3, 4, 4, generator=_generator(10))
    weight[2] = 0.7  # a constant filter
    scaled = normalise_filters(weight)
    for i in (0, 1, 3, 4):
        assert scaled[i].min() == 0 and torch.isclose(scaled[i].max(), torch.tensor(1.0))
        expected = (weight[i] - weight[i].min()) / (weight[i].max() - weight[i].min())
        torch.testing.assert_close(scaled[i], expected)
    assert torch.all(scaled[2] == 0.5)


def test_find_conv():
    lenet = create_model("lenet5", num_classes=10, image_size=16, seed=0)
    assert find_conv(lenet) == ("features.0", lenet.features[0])
    assert find_conv(lenet, "features.3")[0] == "features.3"
    vgg = create_model("vgg11", num_classes=10, image_size=32, seed=0)
    assert find_conv(vgg, "features.conv2_1")[0] == "features.conv2_1.conv"  # a block's conv
    with pytest.raises(ClassicnetsError, match="'head.1' \\(Linear\\) holds no Conv2d"):
        find_conv(lenet, "head.1")
    with pytest.raises(ClassicnetsError, match="no layer 'features.9'"):
        find_conv(lenet, "features.9")
    with pytest.raises(ClassicnetsError, match="no Conv2d layer"):
        find_conv(create_model("mlp", num_classes=10, image_size=8, seed=0))


@pytest.mark.parametrize(("channels", "layer"), [(3, None), (1, None), (3, "features.3")])
def test_plot_filters_writes_one_png(tmp_path, channels, layer):
    model = create_model("lenet5", num_classes=10, in_channels=channels, image_size=16, seed=0)
    _check_png(plot_filters(model, tmp_path / "filters.png", "lenet5", layer=layer))


def test_top_channels_are_the_largest_means():
    maps = torch.randn(12, 5, 5, generator=_generator(11))
    means = maps.mean(dim=(1, 2))
    expected = sorted(range(12), key=lambda c: -float(means[c]))[:4]
    assert top_channels(maps, 4).tolist() == expected
    assert top_channels(maps, 50).numel() == 12


def test_plot_features_writes_one_png(tmp_path):
    model = create_model("lenet5", num_classes=10, in_channels=3, image_size=16, seed=0)
    raw = _raw(3, 16)
    _check_png(plot_features(model, _normalised(raw), raw, tmp_path / "features.png", "t", top=4))


def test_plot_features_errors(tmp_path):
    mlp = create_model("mlp", num_classes=10, in_channels=1, image_size=8, seed=0)
    raw = _raw(1, 8)
    with pytest.raises(ClassicnetsError, match="no 4-D feature maps"):
        plot_features(mlp, _normalised(raw), raw, tmp_path / "f.png", "t")
    with pytest.raises(ClassicnetsError, match="uint8"):
        display_image(raw.float())
    assert list(tmp_path.iterdir()) == []


def test_plot_saliency_writes_one_png(tmp_path):
    model = create_model("lenet5_relu", num_classes=10, in_channels=3, image_size=16, seed=0)
    raw = _raw(3, 16)
    x = _normalised(raw)
    _check_png(plot_saliency(model, x, raw, None, CLASSES, tmp_path / "s.png", "t"))
    with pytest.raises(ClassicnetsError, match="out of range"):
        plot_saliency(model, x, raw, 10, CLASSES, tmp_path / "bad.png", "t")


def test_plot_saliency_without_feature_maps(tmp_path):
    mlp = create_model("mlp", num_classes=10, in_channels=1, image_size=8, seed=0)
    raw = _raw(1, 8)
    _check_png(plot_saliency(mlp, _normalised(raw), raw, 3, CLASSES, tmp_path / "s.png", "t"))


# --- receptive regions -----------------------------------------------------------------------


def _output_of(model: nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    seen = {}
    handle = dict(model.named_modules())[layer].register_forward_hook(
        lambda _m, _i, out: seen.update(out=out)
    )
    try:
        model(x)
    finally:
        handle.remove()
    return seen["out"]


def _gradient_support(model: nn.Module, layer: str, unit, x: torch.Tensor) -> torch.Tensor:
    """The input pixels where d unit / d input is non-zero (over channels)."""
    image = x.clone().requires_grad_(True)
    out = _output_of(model, layer, image)
    (grad,) = torch.autograd.grad(out[0, 0, unit[0], unit[1]], image)
    return grad[0].abs().sum(0) != 0


def _box_mask(box, size) -> torch.Tensor:
    top, left, bottom, right = box
    mask = torch.zeros(size, dtype=torch.bool)
    mask[top : bottom + 1, left : right + 1] = True
    return mask


def _check_regions_against_gradients(model, size, layers):
    x = torch.randn(1, *size, generator=_generator(12), dtype=torch.float64)
    fields = receptive_field(model, size)
    for layer in layers:
        field = find_layer_field(fields, layer)
        rows, cols = field.output_shape[-2:]
        for unit in {(0, 0), (rows - 1, cols - 1), (rows // 2, cols // 2), (0, cols - 1)}:
            region = receptive_region(field, unit, size[1:])
            support = _gradient_support(model, layer, unit, x)
            assert torch.equal(support, _box_mask(region.clipped, size[1:])), (layer, unit)


def test_receptive_regions_of_lenet5_are_the_gradient_support():
    # Sigmoids and average pooling: every pixel in the field moves the unit.
    model = create_model("lenet5", num_classes=10, image_size=28, seed=0).double().eval()
    layers = [f"features.{i}" for i in range(6)]
    _check_regions_against_gradients(model, (1, 28, 28), layers)


def test_lenet5_region_by_hand():
    model = create_model("lenet5", num_classes=10, image_size=28, seed=0)
    fields = receptive_field(model, (1, 28, 28))
    first = receptive_region(find_layer_field(fields, "features.0"), (0, 0), (28, 28))
    assert first.size == (5, 5)
    assert first.unclipped == (-2, -2, 2, 2)  # the 5x5 kernel hangs over the padding of 2
    assert first.clipped == (0, 0, 2, 2)
    assert first.touches_border
    # S4 (features.5): field 16, jump 4; unit (2, 3) is centred at 5.5 + 4 * (2, 3).
    deep = receptive_region(find_layer_field(fields, "features.5"), (2, 3), (28, 28))
    assert deep.size == (16, 16) and deep.jump == (4, 4)
    assert deep.unclipped == (6, 10, 21, 25) == deep.clipped


def _resnet_like() -> nn.Sequential:
    torch.manual_seed(0)
    tanh = {"act_layer": nn.Tanh}  # no dead units: every pixel in the field has a gradient
    return (
        nn.Sequential(
            OrderedDict(
                stem=ConvBNAct(1, 4, 3, **tanh),
                block1=BasicBlock(4, 8, stride=2, **tanh),
                block2=BasicBlock(8, 8, **tanh),
            )
        )
        .double()
        .eval()
    )


def test_receptive_regions_of_a_residual_net_are_the_gradient_support():
    model = _resnet_like()
    fields = receptive_field(model, (1, 16, 16))
    # stem 3; block1: 3 + 2 (3x3/2) = 5, + 2 * 2 = 9, its 1x1/2 shortcut sees only 3; block2
    # adds two 3x3 at jump 2: 17.
    sizes = {
        "stem": 3,
        "block1.conv1.conv": 5,
        "block1.shortcut": 3,
        "block1": 9,
        "block2": 17,
    }
    for layer, side in sizes.items():
        assert find_layer_field(fields, layer).receptive_field == (side, side), layer
    _check_regions_against_gradients(model, (1, 16, 16), list(sizes))


def test_receptive_region_errors():
    model = create_model("lenet5", num_classes=10, image_size=28, seed=0)
    fields = receptive_field(model, (1, 28, 28))
    with pytest.raises(ClassicnetsError, match="Unknown layer 'featres.3'.*'features.3'"):
        find_layer_field(fields, "featres.3")
    with pytest.raises(ClassicnetsError, match="outside layer 'features.3''s 10x10 output"):
        receptive_region(find_layer_field(fields, "features.3"), (10, 0), (28, 28))
    with pytest.raises(ClassicnetsError, match="no height and width"):
        receptive_region(find_layer_field(fields, "head.0"), (0, 0), (28, 28))


@pytest.mark.parametrize(("layer", "unit"), [("features.3", (0, 0)), ("features.5", None)])
def test_plot_receptive_writes_one_png(tmp_path, layer, unit):
    model = create_model("lenet5", num_classes=10, image_size=28, seed=0)
    path = plot_receptive(model, _raw(1, 28), layer, unit, tmp_path / "rf.png", "t", (1, 28, 28))
    _check_png(path)


def test_plot_receptive_of_a_block(tmp_path):
    path = plot_receptive(
        _resnet_like(), _raw(1, 16), "block2", (1, 1), tmp_path / "rf.png", "t", (1, 16, 16)
    )
    _check_png(path)
