"""LeNet-5 as in LeCun et al. 1998: each layer's parameter count as Section II.B gives it, Table
I's connections, the trainable subsampling and the partial convolution against hand-written
references, the RBF output and its cross-entropy, and the padding of 28 px digits to 32."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.models import create_model, lenet1998, model_info  # noqa: F401  (registers)
from classicnets.models.lenet1998 import (
    TABLE_I,
    EuclideanRBF,
    PartialConv2d,
    ScaledTanh,
    TrainableSubsampling,
)

# Section II.B: "C1 ... 156 trainable parameters", "S2 has 12", "C3 has 1,516", "S4 has 32",
# "C5 ... 48,120 trainable connections", "F6 ... 10,164"; the output's 10 x 84 RBF centres.
PER_LAYER = {
    "features.c1": 156,
    "features.s2": 12,
    "features.c3": 1_516,
    "features.s4": 32,
    "features.c5": 48_120,
    "head.f6": 10_164,
    "head.output": 840,
}


def _count(module: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def test_parameters_per_layer_as_the_paper_counts():
    with torch.device("meta"):
        model = create_model("lenet5_1998")
    counts = {name: _count(model.get_submodule(name)) for name in PER_LAYER}
    assert counts == PER_LAYER
    assert _count(model) == 60_840
    assert _count(model, trainable_only=True) == 60_000  # the paper's "60,000"
    info = model_info("lenet5_1998")
    assert (info.family, info.input_size, info.num_classes) == ("LeNet", (1, 32, 32), 10)


def test_table_i_connections():
    assert len(TABLE_I) == 16 and sum(len(maps) for maps in TABLE_I) == 60
    assert all(len(set(maps)) == len(maps) and set(maps) <= set(range(6)) for maps in TABLE_I)
    # Every three, then every four, neighbouring S2 maps (cyclically), three other fours, all.
    assert [set(m) for m in TABLE_I[:6]] == [{i % 6, (i + 1) % 6, (i + 2) % 6} for i in range(6)]
    assert [set(m) for m in TABLE_I[6:12]] == [{(i + d) % 6 for d in range(4)} for i in range(6)]
    assert TABLE_I[12:15] == ((0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5))
    assert TABLE_I[15] == tuple(range(6))
    # Row 0 of the printed table: S2 map 0 feeds C3 maps 0, 4, 5, 6, 9, 10, 11, 12, 14, 15.
    assert [j for j, maps in enumerate(TABLE_I) if 0 in maps] == [0, 4, 5, 6, 9, 10, 11, 12, 14, 15]


def test_partial_conv_is_sixteen_small_convolutions():
    torch.manual_seed(0)
    layer = PartialConv2d(6, TABLE_I, 5)
    x = torch.randn(2, 6, 14, 14)
    out = layer(x)
    assert out.shape == (2, 16, 10, 10)
    start = 0
    for j, maps in enumerate(TABLE_I):
        kernel = layer.weight[start : start + len(maps)].unsqueeze(0)  # (1, |maps|, 5, 5)
        expected = F.conv2d(x[:, list(maps)], kernel, layer.bias[j : j + 1])
        assert torch.allclose(out[:, j : j + 1], expected, atol=1e-5)
        start += len(maps)
    dense = layer.dense_weight()
    assert torch.count_nonzero(dense.abs().sum((2, 3))) == 60  # zero off the table
    out.sum().backward()
    assert layer.weight.grad.shape == (60, 5, 5) and torch.count_nonzero(layer.weight.grad) > 0


def test_trainable_subsampling_sums_times_coefficient_plus_bias():
    torch.manual_seed(0)
    layer = TrainableSubsampling(3)
    x = torch.randn(2, 3, 6, 6)
    sums = x.reshape(2, 3, 3, 2, 3, 2).sum((3, 5))  # the four inputs of each unit, added
    expected = sums * layer.weight.view(1, 3, 1, 1) + layer.bias.view(1, 3, 1, 1)
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_scaled_tanh_is_one_at_one():
    f = ScaledTanh()
    a = torch.tensor([-1.0, 0.0, 1.0, 50.0])
    assert torch.allclose(f(a), torch.tensor([-1.0, 0.0, 1.0, 1.7159]), atol=1e-4)
    assert torch.allclose(f(a), 1.7159 * torch.tanh(2 * a / 3))


def test_rbf_output_is_minus_squared_distance_and_cross_entropy_is_the_map_criterion():
    torch.manual_seed(0)
    rbf = EuclideanRBF(84, 10)
    assert set(rbf.centers.unique().tolist()) == {-1.0, 1.0}
    assert not rbf.centers.requires_grad
    x = torch.randn(4, 84)
    y = torch.cdist(x, rbf.centers).square()
    assert torch.allclose(rbf(x), -y, atol=1e-4)
    target = torch.tensor([0, 3, 9, 5])
    assert torch.equal(rbf(rbf.centers[target]).argmax(1), target)  # a centre is its class
    # Eq. 9 without the rubbish class: y_D + log(sum_i exp(-y_i)).
    criterion = (y[torch.arange(4), target] + torch.logsumexp(-y, dim=1)).mean()
    assert torch.allclose(F.cross_entropy(rbf(x), target), criterion, atol=1e-3)


def test_shapes_per_layer_at_32_px():
    model = create_model("lenet5_1998").eval()
    x = torch.randn(2, 1, 32, 32)
    shapes = {}
    with torch.no_grad():
        for name, layer in model.features.named_children():
            x = layer(x)
            shapes[name] = tuple(x.shape[1:])
    assert "pad" not in shapes
    assert {k: v for k, v in shapes.items() if not k.startswith("act")} == {
        "c1": (6, 28, 28),
        "s2": (6, 14, 14),
        "c3": (16, 10, 10),
        "s4": (16, 5, 5),
        "c5": (120, 1, 1),
    }


def test_28_px_digits_are_padded_to_32_and_keep_the_paper_counts():
    model = create_model("lenet5_1998", image_size=28)
    assert model.features.pad.padding == (2, 2, 2, 2)
    assert _count(model) == 60_840
    x = torch.zeros(2, 1, 28, 28)
    with torch.no_grad():
        assert model.features.pad(x).shape == (2, 1, 32, 32)
        assert model(x).shape == (2, 10)
    odd = create_model("lenet5_1998", image_size=13)  # 19 missing: 9 before, 10 after
    assert odd.features.pad.padding == (9, 10, 9, 10)
    with torch.device("meta"):
        wide = create_model("lenet5_1998", image_size=40)  # 40-36-18-14-7-3: C5 maps 3x3
    assert wide.head.f6.in_features == 120 * 9


def test_every_trainable_parameter_gets_a_gradient_and_init_is_the_papers():
    torch.manual_seed(0)
    model = create_model("lenet5_1998", image_size=28).train()
    out = model(torch.randn(4, 1, 28, 28))
    F.cross_entropy(out, torch.tensor([0, 1, 2, 3])).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []
    assert model.head.output.centers.grad is None
    c5 = model.features.c5.weight
    assert c5.abs().max() <= 2.4 / (16 * 25)  # uniform in +-2.4 / fan-in (Appendix A)
    assert c5.abs().max() > 0.9 * 2.4 / (16 * 25)
    bound = 2.4 / (3 * 25)  # C3 map 0 reads three maps
    assert model.features.c3.weight[:3].abs().max() <= bound
    assert math.isclose(2.4 / 4, 0.6) and model.features.s2.weight.abs().max() <= 0.6


def test_reset_classifier_keeps_rbf_units():
    model = create_model("lenet5_1998")
    model.reset_classifier(3)
    assert isinstance(model.head.output, EuclideanRBF)
    assert model.num_classes == 3
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 32, 32)).shape == (1, 3)
    state = model.state_dict()  # the fixed codes travel with a checkpoint
    assert state["head.output.centers"].shape == (3, 84)


def test_the_summary_counts_c3_by_its_connections_only():
    from classicnets.analysis import summary

    c1, c3, c5, f6 = 6 * 25 * 28 * 28, 60 * 25 * 10 * 10, 120 * 16 * 25, 84 * 120
    # C3's dense kernel has zeros where Table I has no connection: they are not work
    assert summary("lenet5_1998", (1, 32, 32)).total_macs == c1 + c3 + c5 + f6
