"""LeNet-5 as LeCun, Bottou, Bengio & Haffner describe it ("Gradient-based learning applied to
document recognition", Proc. IEEE 1998, Section II.B), layer by layer:

======  =====================================================  ==========
layer   what                                                   parameters
======  =====================================================  ==========
C1      6 maps 28x28, 5x5 convolution                          156
S2      6 maps 14x14: 2x2 sums x a coefficient + a bias        12
C3      16 maps 10x10, 5x5, over the S2 maps of Table I        1,516
S4      16 maps 5x5, as S2                                     32
C5      120 maps 1x1, 5x5 over all 16 maps                     48,120
F6      84 units                                               10,164
output  10 Euclidean RBF units, fixed 84-vectors               840
======  =====================================================  ==========

Every layer up to F6 is squashed by the scaled tanh f(a) = 1.7159 tanh(2a/3) (Appendix A): the
60,000 trainable parameters of the paper; the RBF centres are ``requires_grad=False``
parameters, 60,840 in all.

The output unit i gives the squared distance y_i = ||x - w_i||^2 of F6's output to its centre
w_i; the model returns -y_i, so the argmax is the class and a softmax cross-entropy on it is
y_D + log(sum_i exp(-y_i)), the paper's MAP criterion (Eq. 9) without its constant "rubbish
class" term exp(-j). The paper draws its centres as 7x12 bitmaps of the characters; those
bitmaps are not published as numbers, so the centres here are random +-1 codes, which the
paper names as the alternative ("chosen at random with equal probabilities").

The paper's input is 32x32: the MNIST digits (28x28) are centred in it. Images under 32 px are
zero-padded to 32 by the first layer, so the network is the paper's at every size up to 32;
larger images widen F6's input (C5's maps are then bigger than 1x1).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.conv import ActLayer
from ..ops.shapes import conv_output_size
from ._base import ImageClassifier
from ._registry import register_model
from .lenet import _PAPER

PAPER_SIZE = 32

# Table I: the S2 maps each C3 map reads. Maps 0-5 take every three neighbouring maps, 6-11
# every four neighbouring, 12-14 three non-neighbouring sets of four, 15 all six: 60 in all.
TABLE_I: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


def _uniform_(tensor: torch.Tensor, fan_in: int) -> None:
    """The paper's initialisation (Appendix A): uniform in +-2.4 / fan-in."""
    nn.init.uniform_(tensor, -2.4 / fan_in, 2.4 / fan_in)


class ScaledTanh(nn.Module):
    """f(a) = A tanh(S a) with A = 1.7159 and S = 2/3 (Appendix A), so f(+-1) = +-1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class TrainableSubsampling(nn.Module):
    """S2 and S4: each map's non-overlapping ``kernel_size`` x ``kernel_size`` sums, times a
    trainable coefficient, plus a trainable bias (two parameters per map)."""

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        _uniform_(self.weight, kernel_size**2)
        _uniform_(self.bias, kernel_size**2)

    def sliding_window(self) -> tuple:
        """The window arithmetic of the receptive-field walk: non-overlapping k x k."""
        k = (self.kernel_size, self.kernel_size)
        return k, k, (0, 0), (1, 1), False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # A mean times the window's size (exact: a power of two) rather than divisor_override,
        # which the ONNX exporter drops.
        k = self.kernel_size
        sums = F.avg_pool2d(x, k) * (k * k)  # (B, C, H / 2, W / 2)
        return sums * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartialConv2d(nn.Module):
    """A convolution in which output map j reads only the input maps ``connections[j]``
    (C3 with Table I): one ``kernel_size`` x ``kernel_size`` kernel per listed connection and
    one bias per output map, scattered into a dense kernel with zeros elsewhere.

    Args:
        in_channels: input maps.
        connections: for each output map, the input maps it reads.
        kernel_size: side of the square kernels.
    """

    def __init__(
        self, in_channels: int, connections: Sequence[Sequence[int]], kernel_size: int
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = len(connections)
        self.kernel_size = kernel_size
        self.connections = tuple(tuple(maps) for maps in connections)
        flat = [j * in_channels + i for j, maps in enumerate(self.connections) for i in maps]
        # Where each kernel goes in the flattened (out * in, k, k) dense kernel.
        self.register_buffer("index", torch.tensor(flat, dtype=torch.long), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(flat), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels))
        start = 0
        for j, maps in enumerate(self.connections):  # each map's own fan-in
            fan_in = len(maps) * kernel_size**2
            _uniform_(self.weight[start : start + len(maps)], fan_in)
            _uniform_(self.bias[j : j + 1], fan_in)
            start += len(maps)

    def dense_weight(self) -> torch.Tensor:
        """The (out, in, k, k) kernel, zero where Table I has no connection."""
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels * self.in_channels, k, k)
        dense = dense.index_copy(0, self.index, self.weight)
        return dense.view(self.out_channels, self.in_channels, k, k)

    def sliding_window(self) -> tuple:
        """The window arithmetic of the receptive-field walk: a valid k x k convolution."""
        k = (self.kernel_size, self.kernel_size)
        return k, (1, 1), (0, 0), (1, 1), False

    def macs(self, inputs: tuple, output: torch.Tensor) -> int:
        """Multiply-accumulates of a call (for ``summary``): k x k per listed connection and
        output position, the zeros of the dense kernel left out."""
        per_map = output.numel() // self.out_channels  # batch x height x width
        return per_map * len(self.index) * self.kernel_size**2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)  # (B, out, H - k + 1, W - k + 1)


class EuclideanRBF(nn.Module):
    """The output layer: ``-||x - w_i||^2`` for each class i, with fixed centres w_i of +-1.

    Args:
        in_features: length of the centres (84 for F6).
        num_classes: one centre per class.
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.in_features = in_features
        self.num_classes = num_classes
        codes = torch.randint(0, 2, (num_classes, in_features)).float() * 2 - 1
        self.centers = nn.Parameter(codes, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distances = (x.unsqueeze(1) - self.centers).square().sum(-1)  # (B, classes)
        return -distances


class RBFClassifier(ImageClassifier):
    """An :class:`ImageClassifier` whose head ends in :class:`EuclideanRBF` units."""

    @property
    def num_classes(self) -> int:
        return self.head.output.num_classes

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the RBF units by ``num_classes`` new random centres."""
        old = self.head.output
        self.head.output = EuclideanRBF(old.in_features, num_classes).to(old.centers.device)


def make_lenet1998(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = PAPER_SIZE,
    act_layer: ActLayer = ScaledTanh,
) -> RBFClassifier:
    """Build LeNet-5 as in the 1998 paper.

    Args:
        num_classes: RBF output units.
        in_channels: image channels (the paper's one; C1 then has 156 parameters).
        image_size: image side; under 32 px the image is zero-padded to 32.
        act_layer: the squashing function after every layer up to F6.

    Returns:
        The network.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if image_size < PAPER_SIZE:
        missing = PAPER_SIZE - image_size
        layers["pad"] = nn.ZeroPad2d(
            (missing // 2, missing - missing // 2, missing // 2, missing - missing // 2)
        )  # (B, C, 32, 32)
    side = max(image_size, PAPER_SIZE)
    side = conv_output_size(side, 5)  # C1
    side = conv_output_size(side, 2, stride=2)  # S2
    side = conv_output_size(side, 5)  # C3
    side = conv_output_size(side, 2, stride=2)  # S4
    side = conv_output_size(side, 5)  # C5
    layers["c1"] = nn.Conv2d(in_channels, 6, 5)  # (B, 6, 28, 28)
    layers["act1"] = act_layer()
    layers["s2"] = TrainableSubsampling(6)  # (B, 6, 14, 14)
    layers["act2"] = act_layer()
    layers["c3"] = PartialConv2d(6, TABLE_I, 5)  # (B, 16, 10, 10)
    layers["act3"] = act_layer()
    layers["s4"] = TrainableSubsampling(16)  # (B, 16, 5, 5)
    layers["act4"] = act_layer()
    layers["c5"] = nn.Conv2d(16, 120, 5)  # (B, 120, 1, 1)
    layers["act5"] = act_layer()
    head = nn.Sequential(
        OrderedDict(
            flatten=nn.Flatten(),  # (B, 120)
            f6=nn.Linear(120 * side * side, 84),  # (B, 84)
            act6=act_layer(),
            output=EuclideanRBF(84, num_classes),  # (B, classes)
        )
    )
    model = RBFClassifier(nn.Sequential(layers), head)
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            fan_in = math.prod(m.weight.shape[1:])
            _uniform_(m.weight, fan_in)
            _uniform_(m.bias, fan_in)
    return model


@register_model(
    "lenet5_1998",
    family="LeNet",
    year=1998,
    paper=_PAPER,
    input_size=(1, PAPER_SIZE, PAPER_SIZE),
    num_classes=10,
)
def lenet5_1998(
    *, num_classes: int = 10, in_channels: int = 1, image_size: int = PAPER_SIZE
) -> RBFClassifier:
    """LeNet-5 as in the 1998 paper: trainable subsampling, Table I's partial C3, scaled tanh
    and Euclidean RBF outputs; 60,000 trainable parameters and 840 fixed RBF ones at 1x32x32
    and 10 classes. Images under 32 px (MNIST's 28) are zero-padded to 32, as the paper centres
    its digits in a 32x32 field."""
    return make_lenet1998(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
