"""The course's worked convolution arithmetic, recomputed now by :mod:`classicnets.ops` and
:mod:`classicnets.analysis`: the small matrices, the output sizes, receptive fields, parameter
and multiply-add counts, and the argument against a fully connected layer on a photograph.

Only the course's side of each line is written here; ours is always computed when the check
runs. Each check takes the mode (``"quick"`` or ``"full"``), which arithmetic ignores.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..analysis import receptive_field, summary
from ..ops import (
    conv_cost,
    conv_output_size,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    pool2d,
    separable_cost,
)
from .reproduce_outcome import CLOSE, DIFFERENT, EQUAL, Outcome, compare

D2L = "Dive into Deep Learning"
X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]  # the course's 3x3 input
K = [[0, 1], [2, 3]]  # and its 2x2 kernel


def printed(
    group: str,
    what: str,
    course: float,
    ours: float,
    unit: float,
    places: int,
    *,
    source: str,
    why: str = "",
) -> Outcome:
    """The verdict on a figure the course prints rounded, e.g. ``0.16`` (M) for 163,696.

    ``ours`` is expressed in ``unit`` and shown with two more decimals than the course's
    ``places``: ``✓`` when it rounds to the course's digits; ``≈`` when it only truncates to them
    (the figure was cut, not rounded); otherwise :func:`compare` decides, with ``why``.
    """
    shown = ours / unit
    ours_text = round(shown, places + 2)
    if round(shown, places) == round(course, places):
        return Outcome(group, what, course, ours_text, EQUAL, "", source)
    scale = 10**places
    if math.floor(shown * scale + 1e-9) / scale == round(course, places):
        cut = (
            f"ours, {shown:.{places + 2}f}, truncates to the printed {course:.{places}f} "
            f"but rounds to {round(shown, places):.{places}f}"
        )
        return Outcome(group, what, course, ours_text, CLOSE, cut, source)
    return compare(group, what, course, ours_text, why=why, source=source)


def exactly(group: str, what: str, course: object, ours: object, *, source: str, why: str = ""):
    """``✓`` when ``ours`` (numbers, lists of numbers) equals the course's figure, else ``✗``."""
    mark = EQUAL if ours == course else DIFFERENT
    return Outcome(group, what, course, ours, mark, "" if mark == EQUAL else why, source)


def conv_examples(mode: str) -> list[Outcome]:
    """The cross-correlations of D2L sections 7.2 to 7.4, and a 1x1 convolution as a matmul."""
    second = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    two_channels = torch.tensor([X, second])
    kernels = torch.tensor([K, [[1, 2], [3, 4]]])
    three_out = torch.stack((kernels, kernels + 1, kernels + 2))  # (3, 2, 2, 2)
    rows = [
        ("3x3 input 0..8 ⋆ 2x2 kernel 0..3", [[19, 25], [37, 43]], corr2d(X, K), "7.2.1"),
        (
            "the same with padding 1",
            [[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]],
            corr2d(X, K, padding=1),
            "Fig. 7.3.2",
        ),
        (
            "padding 1, stride 3 down and 2 across",
            [[0, 8], [6, 8]],
            corr2d(X, K, padding=1, stride=(3, 2)),
            "Fig. 7.3.3",
        ),
        (
            "two input channels, summed",
            [[56, 72], [104, 120]],
            corr2d_multi_in(two_channels, kernels),
            "7.4.1",
        ),
        (
            "three output channels (kernels K, K+1, K+2)",
            [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]],
            corr2d_multi_in_out(two_channels, three_out),
            "7.4.2",
        ),
    ]
    outcomes = [
        exactly("conv", what, course, ours.tolist(), source=f"{D2L}, {where}")
        for what, course, ours, where in rows
    ]
    # 1x1 convolution: a fully connected layer applied at every pixel, over the channels.
    g = torch.Generator().manual_seed(0)
    x, k = torch.randn(3, 3, 3, generator=g), torch.randn(2, 3, 1, 1, generator=g)
    as_matmul = (k.reshape(2, 3) @ x.reshape(3, 9)).reshape(2, 3, 3)
    gap = (corr2d_multi_in_out(x, k) - as_matmul).abs().sum().item()
    outcomes.append(
        Outcome(
            "conv",
            "1x1 convolution (3 -> 2 channels, 3x3) minus the matmul over channels, |sum|",
            "< 1e-6",
            f"{gap:.1e}",
            EQUAL if gap < 1e-6 else DIFFERENT,
            "" if gap < 1e-6 else "our 1x1 convolution differs from the matrix product",
            f"{D2L}, 7.4.3",
        )
    )
    return outcomes


def pool_examples(mode: str) -> list[Outcome]:
    """Max and average pooling of D2L section 7.5 and the course notes' 4x4 max pooling."""
    sixteen = torch.arange(16).reshape(4, 4)
    two = torch.stack((sixteen, sixteen + 1))  # (2, 4, 4)
    rows = [
        ("max 2x2, stride 1, of 0..8", [[4, 5], [7, 8]], pool2d(torch.tensor(X), 2, 1), "7.5.1"),
        (
            "average 2x2, stride 1, of 0..8",
            [[2.0, 3.0], [5.0, 6.0]],
            pool2d(torch.tensor(X, dtype=torch.float64), 2, 1, mode="avg"),
            "7.5.1",
        ),
        ("max 3x3 of 0..15 (stride = window)", [[10]], pool2d(sixteen, 3), "7.5.2"),
        (
            "max 3x3, padding 1, stride 2, of 0..15",
            [[5, 7], [13, 15]],
            pool2d(sixteen, 3, 2, 1),
            "7.5.2",
        ),
        (
            "max 2x3, padding (0, 1), stride (2, 3), of 0..15",
            [[5, 7], [13, 15]],
            pool2d(sixteen, (2, 3), (2, 3), (0, 1)),
            "7.5.2",
        ),
        (
            "two channels (0..15 and 1..16): max 3x3, padding 1, stride 2",
            [[[5, 7], [13, 15]], [[6, 8], [14, 16]]],
            pool2d(two, 3, 2, 1),
            "7.5.3",
        ),
    ]
    outcomes = [
        exactly("pool", what, course, ours.tolist(), source=f"{D2L}, {where}")
        for what, course, ours, where in rows
    ]
    grid = torch.tensor([[3, 4, 6, 5], [2, 4, 6, 8], [1, 6, 7, 5], [9, 7, 4, 6]])
    outcomes.append(
        exactly(
            "pool",
            "max 2x2, stride 2, of the notes' 4x4 grid",
            [[4, 8], [9, 7]],
            pool2d(grid, 2).tolist(),
            source="course notes, max pooling",
        )
    )
    return outcomes


def shape_examples(mode: str) -> list[Outcome]:
    """Output sizes: D2L section 7.3's examples, LeNet's and AlexNet's first layers, the
    shrinking stack of 5x5 convolutions and the notes' total-padding form."""

    def stack(n: int, layers: int) -> int:
        for _ in range(layers):
            n = conv_output_size(n, 5)
        return n

    rows = [
        ("8x8, 3x3 kernel, padding 1", [8, 8], conv_output_size((8, 8), 3, 1), "7.3.1"),
        (
            "8x8, 5x3 kernel, padding (2, 1)",
            [8, 8],
            conv_output_size((8, 8), (5, 3), (2, 1)),
            "7.3.1",
        ),
        ("8x8, 3x3, padding 1, stride 2", [4, 4], conv_output_size((8, 8), 3, 1, 2), "7.3.2"),
        (
            "8x8, 3x5 kernel, padding (0, 1), stride (3, 4)",
            [2, 2],
            conv_output_size((8, 8), (3, 5), (0, 1), (3, 4)),
            "7.3.2",
        ),
        ("240x240 after ten 5x5 convolutions", 200, stack(240, 10), "7.3.1"),
        ("LeNet: 28x28, 5x5 kernel, padding 2", 28, conv_output_size(28, 5, 2), "7.6"),
        ("AlexNet: 227, 11x11 kernel, stride 4", 55, conv_output_size(227, 11, 0, 4), "8.1"),
        ("AlexNet: 55, 3x3 pooling, stride 2", 27, conv_output_size(55, 3, 0, 2), "8.1"),
    ]
    outcomes = [
        exactly(
            "shapes",
            what,
            course,
            list(ours) if isinstance(ours, tuple) else ours,
            source=f"{D2L}, {where}",
        )
        for what, course, ours, where in rows
    ]
    notes = "course notes, ⌊(n − k + p_total + s) / s⌋"
    outcomes += [
        exactly(
            "shapes",
            "28, 5x5, total padding 4",
            28,
            conv_output_size(28, 5, padding_total=4),
            source=notes,
        ),
        exactly(
            "shapes",
            "8, 3x3, total padding 1, stride 2",
            4,
            conv_output_size(8, 3, stride=2, padding_total=1),
            source=notes,
        ),
    ]
    return outcomes


def receptive_examples(mode: str) -> list[Outcome]:
    """Receptive fields: stacked 3x3 convolutions (VGG, Section 2.3) and the published fields of
    AlexNet's and VGG-16's convolutional parts (Araujo et al., Distill 2019, Table 1)."""
    outcomes = []
    for layers, field in ((2, 5), (3, 7)):
        convs = nn.Sequential(*(nn.Conv2d(1, 1, 3) for _ in range(layers)))
        ours = receptive_field(convs, (1, 16, 16))[-1].receptive_field
        outcomes.append(
            exactly(
                "receptive",
                f"{layers} stacked 3x3 convolutions see",
                [field, field],
                list(ours),
                source="Simonyan & Zisserman 2014, Section 2.3",
            )
        )
    alexnet = nn.Sequential(
        nn.Conv2d(1, 1, 11, 4, 2),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(1, 1, 5, padding=2),
        nn.MaxPool2d(3, 2),
        *(nn.Conv2d(1, 1, 3, padding=1) for _ in range(3)),
        nn.MaxPool2d(3, 2),
    )
    vgg16 = nn.Sequential(
        *(
            layer
            for convs in (2, 2, 3, 3, 3)  # configuration D; widths do not change the field
            for layer in (*(nn.Conv2d(1, 1, 3, padding=1) for _ in range(convs)), nn.MaxPool2d(2))
        )
    )
    distill = "Araujo, Norris & Sim, Distill 2019, Table 1"
    for name, layers, size, field in (("AlexNet", alexnet, 224, 195), ("VGG-16", vgg16, 64, 212)):
        ours = receptive_field(layers, (1, size, size))[-1].receptive_field
        outcomes.append(
            exactly(
                "receptive", f"{name}'s last pooling sees (pixels)", field, ours[0], source=distill
            )
        )
    return outcomes


def params_examples(mode: str) -> list[Outcome]:
    """Parameter and multiply-add counts of single layers: three 3x3 against one 7x7 (VGG), and
    MobileNet's standard against depthwise-separable convolution (Howard et al., Table 3)."""
    c = 64  # any width: both counts scale with C²
    three = sum(summary(nn.Conv2d(c, c, 3, bias=False), (c, 8, 8)).total_params for _ in range(3))
    seven = summary(nn.Conv2d(c, c, 7, bias=False), (c, 8, 8)).total_params
    vgg = "Simonyan & Zisserman 2014, Section 2.3"
    outcomes = [
        exactly(
            "params",
            "three 3x3 layers, C to C channels: weights / C²",
            27,
            three / c**2,
            source=vgg,
        ),
        exactly("params", "one 7x7 layer: weights / C²", 49, seven / c**2, source=vgg),
        printed(
            "params",
            "7x7 over three 3x3: % more weights",
            81,
            (seven / three - 1) * 100,
            1,
            0,
            source=vgg,
        ),
    ]
    cost = separable_cost(3, 512, 512, 14)
    mobilenet = "Howard et al. 2017, Table 3 (14x14, 3x3, 512 -> 512)"
    outcomes += [
        printed(
            "params",
            "standard convolution, mult-adds (M)",
            462,
            conv_cost(3, 512, 512, 14),
            1e6,
            0,
            source=mobilenet,
        ),
        printed(
            "params",
            "depthwise separable, mult-adds (M)",
            52.3,
            cost.total,
            1e6,
            1,
            source=mobilenet,
        ),
    ]
    return outcomes


# The speeds D2L section 8.1 quotes: a CPU's floating point rarely passes 1 TFLOPS, and an A100
# reaches about 20 TFLOPS in general-purpose FP32.
CPU_FLOPS, GPU_FLOPS = 1e12, 20e12
IMAGENET_TRAIN = 1_281_167  # ILSVRC-2012 training images


def mlp_examples(mode: str) -> list[Outcome]:
    """The fully connected layer on a 12-megapixel photograph: 36 M inputs, 3.6 B parameters with
    100 hidden units, 14 GB of float32 weights, and the compute of one pass over ImageNet."""
    slides = "d2l course slides, 'convolutional layer' (cats and dogs at 12 MP)"
    side_h, side_w = 3000, 4000  # a 12-megapixel photograph
    with torch.device("meta"):  # shapes only: 14 GB of weights are never allocated
        layer = nn.Sequential(nn.Flatten(), nn.Linear(3 * side_h * side_w, 100))
    counted = summary(layer, (3, side_h, side_w))
    inputs = layer[1].in_features
    pass_flops = 2 * counted.total_macs * IMAGENET_TRAIN
    hours_cpu, minutes_gpu = pass_flops / CPU_FLOPS / 3600, pass_flops / GPU_FLOPS / 60
    estimate = (
        "the course's derivation was not found; ours assumes one forward pass over ImageNet's "
        f"{IMAGENET_TRAIN:,} training images at 2 FLOPs per multiply-add, which takes "
        f"{hours_cpu:.1f} h at D2L's 1 TFLOPS CPU and {minutes_gpu:.0f} min at 20 TFLOPS (FP32 GPU)"
    )
    return [
        printed("mlp", "inputs of a 12-megapixel RGB photo (M)", 36, inputs, 1e6, 0, source=slides),
        printed(
            "mlp",
            "one hidden layer of 100 units: parameters (B)",
            3.6,
            counted.total_params,
            1e9,
            1,
            source=slides,
        ),
        printed(
            "mlp", "its float32 weights (GB)", 14, counted.total_params * 4, 1e9, 0, source=slides
        ),
        compare(
            "mlp",
            "compute of the estimate (PFLOP)",
            10,
            round(pass_flops / 1e15, 2),
            why=estimate,
            source=slides,
        ),
    ]


ARITHMETIC_CHECKS: dict[str, Callable[[str], list[Outcome]]] = {
    "conv": conv_examples,
    "pool": pool_examples,
    "shapes": shape_examples,
    "receptive": receptive_examples,
    "params": params_examples,
    "mlp": mlp_examples,
}
