"""The course's and the papers' counts for whole networks, beside the registered models' own:
AlexNet's parameters and neurons, the D2L course's complexity table of AlexNet and LeNet,
GoogLeNet's Table 1, VGG's Table 2, the Inception argument and the light-weight networks.

Ours is counted when the check runs, with :func:`classicnets.analysis.summary` (parameters and
multiply-adds, on PyTorch's meta device) or from the modules' parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..analysis import summary
from ..models import create_model
from .reproduce_arithmetic import printed
from .reproduce_outcome import Outcome, compare

ALEXNET_PAPER = "Krizhevsky et al. 2012 as the course tabulates it"


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):  # shapes only: nothing is allocated
        return create_model(name, **kwargs)


def _weights(module: nn.Module) -> int:
    return sum(p.numel() for n, p in module.named_parameters() if n.endswith("weight"))


def alexnet_counts(mode: str) -> list[Outcome]:
    """``alexnet_original``'s parameters, layer by layer and in total, and its neurons."""
    result = summary("alexnet_original")
    layers = {row.name.rsplit(".", 1)[-1]: row for row in result.rows if row.params}
    course = {  # per layer, with biases except fc8's; they add up to the course's 60,964,224
        "conv1": 34_944,
        "conv2": 307_456,
        "conv3": 885_120,
        "conv4": 663_936,
        "conv5": 442_624,
        "fc6": 37_752_832,
        "fc7": 16_781_312,
        "fc8": 4_096_000,
    }
    no_bias = "the course counts fc8's 4,096,000 weights but not its 1,000 biases"
    outcomes = [
        compare(
            "alexnet",
            f"{name} parameters",
            figure,
            layers[name].params,
            why=no_bias if name == "fc8" else "",
            source=ALEXNET_PAPER,
        )
        for name, figure in course.items()
    ]
    outcomes.append(
        compare(
            "alexnet",
            "parameters, total",
            60_964_224,
            result.total_params,
            why="the course leaves out fc8's 1,000 biases (see fc8)",
            source=ALEXNET_PAPER,
        )
    )
    # The paper's "neurons" are the outputs of the convolutions and fully connected layers.
    neurons = sum(
        math.prod(row.output_shape) for row in result.rows if row.type in ("Conv2d", "Linear")
    )
    outcomes.append(
        compare(
            "alexnet",
            "neurons (outputs of conv1-5 and fc6-8)",
            659_272,
            neurons,
            source=ALEXNET_PAPER,
        )
    )
    return outcomes


COMPLEXITY = "d2l course slides, AlexNet lecture, complexity table"
TEN_TIMES = (
    "the course's LeNet figure is 10x ours: its column is off by a factor of ten "
    "(e.g. conv1 makes 28·28·6·25 = 117,600 multiply-adds, not 1.2 M)"
)


def complexity_table(mode: str) -> list[Outcome]:
    """D2L's AlexNet (one tower, 224 px, 1,000 classes) and LeNet rows: parameters and the
    multiply-adds the slides call FLOPs."""
    alex = {r.name.rsplit(".", 1)[-1]: r for r in summary("alexnet", num_classes=1000).rows}
    lenet = {r.name: r for r in summary("lenet5").rows}

    def both(*rows):
        return sum(r.params for r in rows), sum(r.macs for r in rows)

    groups = [  # (net, row, course params and unit, course mult-adds and unit, our rows)
        ("AlexNet", "conv1", (35, 1e3), (101, 1e6), [alex["conv1"]]),
        ("AlexNet", "conv2", (614, 1e3), (415, 1e6), [alex["conv2"]]),
        ("AlexNet", "conv3-5", (3, 1e6), (445, 1e6), [alex[f"conv{i}"] for i in (3, 4, 5)]),
        ("AlexNet", "dense1", (26, 1e6), (26, 1e6), [alex["fc6"]]),
        ("AlexNet", "dense2", (16, 1e6), (16, 1e6), [alex["fc7"]]),
        ("LeNet", "conv1", (150, 1), (1.2, 1e6), [lenet["features.0"]]),
        ("LeNet", "conv2", (2.4, 1e3), (2.4, 1e6), [lenet["features.3"]]),
        ("LeNet", "dense1", (0.48, 1e6), (0.48, 1e6), [lenet["head.1"]]),
        ("LeNet", "dense2", (0.1, 1e6), (0.1, 1e6), [lenet["head.3"]]),
    ]
    units = {1: "", 1e3: "K", 1e6: "M", 1e9: "G"}
    outcomes = []
    for net, row, (p, p_unit), (f, f_unit), rows in groups:
        params, macs = both(*rows)
        off = TEN_TIMES if net == "LeNet" else ""
        bias = "the course counts conv1's 150 weights, not its 6 biases" if row == "conv1" else ""
        outcomes += [
            printed(
                "complexity",
                f"{net} {row} parameters ({units[p_unit] or 'count'})",
                p,
                params,
                p_unit,
                _places(p),
                source=COMPLEXITY,
                why=bias if net == "LeNet" and row == "conv1" else off,
            ),
            printed(
                "complexity",
                f"{net} {row} FLOPs (mult-adds, {units[f_unit]})",
                f,
                macs,
                f_unit,
                _places(f),
                source=COMPLEXITY,
                why=off,
            ),
        ]
    total = summary("alexnet", num_classes=1000).total_macs
    outcomes.append(
        printed(
            "complexity", "AlexNet FLOPs, total (mult-adds, G)", 1, total, 1e9, 0, source=COMPLEXITY
        )
    )
    return outcomes


def _places(figure: float) -> int:
    """Decimals the course printed: 0.48 -> 2, 2.4 -> 1, 35 -> 0."""
    text = f"{figure:g}"
    return len(text.split(".")[1]) if "." in text else 0


GOOGLENET = "Szegedy et al. 2014, Table 1 (params in K = 1,024 weights, ops in M mult-adds)"
# Table 1's columns: params (K) and ops (M) of each row.
TABLE_1 = [
    ("conv1 7x7/2", 2.7, 34),
    ("conv2 3x3 (after its 1x1 reduce)", 112, 360),
    ("inception3a", 159, 128),
    ("inception3b", 380, 304),
    ("inception4a", 364, 73),
    ("inception4b", 437, 88),
    ("inception4c", 463, 100),
    ("inception4d", 580, 119),
    ("inception4e", 840, 170),
    ("inception5a", 1072, 54),
    ("inception5b", 1388, 71),
    ("linear", 1000, 1),
]
OWN_COLUMNS = (
    "Table 1's figure does not follow from its own channel columns, from which ours is counted"
)
STEM = (
    "a 7x7 convolution of 3 to 64 channels has 9,408 weights and makes 118 M multiply-adds on "
    "its 112x112 output; Table 1's 2.7K and 34M do not follow from its own row"
)


def googlenet_table(mode: str) -> list[Outcome]:
    """Each row of GoogLeNet's Table 1: weights (the paper counts no biases) and multiply-adds
    of the registered ``googlenet`` at 224 px."""
    model = _meta("googlenet", aux_logits=False)
    rows = summary(model, (3, 224, 224)).rows
    stem = model.features.stem
    parts = {
        "conv1 7x7/2": (stem.conv1, "features.stem.conv1."),
        "conv2 3x3 (after its 1x1 reduce)": (
            nn.ModuleList([stem.conv2_reduce, stem.conv2]),
            ("features.stem.conv2_reduce.", "features.stem.conv2."),
        ),
        "linear": (model.head.fc, "head.fc"),
    }
    outcomes = []
    for name, params_k, ops_m in TABLE_1:
        module, prefix = parts.get(name, (getattr(model.features, name, None), f"features.{name}."))
        macs = sum(row.macs for row in rows if row.name.startswith(prefix))
        why = STEM if name.startswith("conv1") else OWN_COLUMNS
        weights = _weights(module)
        outcomes += [
            printed(
                "googlenet",
                f"{name} params (K)",
                params_k,
                weights,
                1024,
                _places(params_k),
                source=GOOGLENET,
                why=why,
            ),
            printed("googlenet", f"{name} ops (M)", ops_m, macs, 1e6, 0, source=GOOGLENET, why=why),
        ]
    return outcomes


VGG_TABLE_2 = [
    ("A", "vgg11", 133),
    ("A-LRN", "vgg11_lrn", 133),
    ("B", "vgg13", 133),
    ("C", "vgg16_c", 134),
    ("D", "vgg16", 138),
    ("E", "vgg19", 144),
]


def vgg_table(mode: str) -> list[Outcome]:
    """VGG's Table 2: millions of parameters of configurations A to E at 1,000 classes."""
    source = "Simonyan & Zisserman 2014, Table 2"
    return [
        printed(
            "vgg",
            f"VGG {config} ({name}) parameters (M)",
            millions,
            sum(p.numel() for p in _meta(name, num_classes=1000).parameters()),
            1e6,
            0,
            source=source,
        )
        for config, name, millions in VGG_TABLE_2
    ]


def inception_argument(mode: str) -> list[Outcome]:
    """GoogLeNet's module 3a against one 3x3 or one 5x5 convolution of the same 192x28x28
    input to 256 channels: parameters and multiply-adds (the slides say FLOPs)."""
    source = "d2l course slides, GoogLeNet lecture"
    size = (192, 28, 28)
    block = _meta("googlenet").features.inception3a
    with torch.device("meta"):
        conv3, conv5 = nn.Conv2d(192, 256, 3, padding=1), nn.Conv2d(192, 256, 5, padding=2)
    outcomes = []
    for name, module, params_m, macs_m in (
        ("Inception 3a", block, 0.16, 128),
        ("3x3 convolution", conv3, 0.44, 346),
        ("5x5 convolution", conv5, 1.22, 963),
    ):
        counted = summary(module, size)
        outcomes += [
            printed(
                "inception",
                f"{name}: parameters (M)",
                params_m,
                counted.total_params,
                1e6,
                2,
                source=source,
            ),
            printed(
                "inception",
                f"{name}: FLOPs (mult-adds, M)",
                macs_m,
                counted.total_macs,
                1e6,
                0,
                source=source,
            ),
        ]
    return outcomes


# Parameters at 1,000 classes and 224 px: torchvision's model docs (timm's for MobileNet v1 and
# GhostNet); multiply-adds in millions from the papers' tables.
PUBLISHED_PARAMS = {
    "mobilenet_v1": 4_231_976,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856,
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
    "shufflenet_v2_x0_5": 1_366_792,
    "shufflenet_v2_x1_0": 2_278_604,
    "shufflenet_v2_x1_5": 3_503_624,
    "shufflenet_v2_x2_0": 7_393_996,
    "ghostnet": 5_182_508,
    "efficientnet_b0": 5_288_548,
}
PAPER_MACS = {
    "mobilenet_v1": (569, "Howard et al. 2017, Table 1"),
    "mobilenet_v2": (300, "Sandler et al. 2018, Table 4"),
    "mobilenet_v3_large": (219, "Howard et al. 2019, Table 3"),
    "mobilenet_v3_small": (56, "Howard et al. 2019, Table 3"),
    "shufflenet_v2_x0_5": (41, "Ma et al. 2018, Table 5"),
    "shufflenet_v2_x1_0": (146, "Ma et al. 2018, Table 5"),
    "shufflenet_v2_x1_5": (299, "Ma et al. 2018, Table 5"),
    "shufflenet_v2_x2_0": (591, "Ma et al. 2018, Table 5"),
    "ghostnet": (141, "Han et al. 2020, Table 7"),
}


def lightweight_counts(mode: str) -> list[Outcome]:
    """The light-weight networks' published parameter counts and their papers' multiply-adds."""
    outcomes = []
    for name, published in PUBLISHED_PARAMS.items():
        counted = summary(name, (3, 224, 224), num_classes=1000)
        outcomes.append(
            compare(
                "lightweight",
                f"{name} parameters",
                published,
                counted.total_params,
                source="torchvision / timm model docs",
            )
        )
        if name in PAPER_MACS:
            millions, source = PAPER_MACS[name]
            gap = abs(counted.total_macs / 1e6 / millions - 1)
            why = (
                f"{gap:.1%} apart: ours counts the multiply-adds of convolutions and linear "
                "layers only, and the paper does not say exactly what its count includes"
            )
            outcomes.append(
                printed(
                    "lightweight",
                    f"{name} mult-adds at 224 px (M)",
                    millions,
                    counted.total_macs,
                    1e6,
                    0,
                    source=source,
                    why=why,
                )
            )
    return outcomes


MODEL_CHECKS: dict[str, Callable[[str], list[Outcome]]] = {
    "alexnet": alexnet_counts,
    "complexity": complexity_table,
    "googlenet": googlenet_table,
    "vgg": vgg_table,
    "inception": inception_argument,
    "lightweight": lightweight_counts,
}
