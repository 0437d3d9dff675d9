"""The naive Inception module (GoogLeNet's Figure 2a) beside the dimension-reduced one: shapes, and
the parameter and MAC arithmetic of inception_costs / conv_vs_inception checked on the built
modules by analysis.summary and torch's FlopCounterMode, for GoogLeNet's inception (3a) and the
course's "Inception vs 3x3 vs 5x5" comparison."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from _threads import one_thread  # noqa: F401
from classicnets.analysis import summary
from classicnets.errors import ShapeError
from classicnets.layers.conv import ConvBNAct, Inception
from classicnets.layers.naive_inception import NaiveInception, conv_vs_inception, inception_costs
from classicnets.models import create_model

# GoogLeNet's Table 1, inception (3a): 192 channels in at 28x28.
ROW_3A = {"c1": 64, "c3": 128, "c5": 32, "pool_proj": 32, "c3_reduce": 96, "c5_reduce": 16}
SIZE = (192, 28, 28)


def _conv_relu(bias: bool):
    def block(in_channels: int, out_channels: int, kernel: int, *rest) -> nn.Module:
        return ConvBNAct(in_channels, out_channels, kernel, *rest, norm_layer=None, bias=bias)

    return block


def _modules(bias: bool) -> dict[str, nn.Module]:
    """Both modules for row (3a), built on the meta device: shapes, no arithmetic."""
    r = ROW_3A
    with torch.device("meta"):
        naive = NaiveInception(192, r["c1"], r["c3"], r["c5"], conv_block=_conv_relu(bias))
        reduced = Inception(
            192, r["c1"], r["c3_reduce"], r["c3"], r["c5_reduce"], r["c5"], r["pool_proj"],
            conv_block=_conv_relu(bias),
        )  # fmt: skip
    return {"naive": naive, "reduced": reduced}


def _flop_counted_macs(module: nn.Module) -> int:
    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, *SIZE, device="meta"))
    return counter.get_total_flops() // 2  # torch counts a multiply-add as 2 FLOPs


@pytest.mark.parametrize("bias", [False, True])
def test_costs_match_summary_and_flop_counter_on_the_built_modules(bias):
    costs = inception_costs(192, 28, **ROW_3A, bias=bias)
    for kind, module in _modules(bias).items():
        report = summary(module, SIZE)
        assert report.total_params == costs[kind]["params"], kind
        assert report.total_macs == costs[kind]["macs"], kind
        assert _flop_counted_macs(module) == costs[kind]["macs"], kind
        for name, branch in module.branches.items():
            part = summary(branch, SIZE)
            assert part.total_params == costs[kind]["branches"][name]["params"], (kind, name)
            assert part.total_macs == costs[kind]["branches"][name]["macs"], (kind, name)


def test_output_widths_and_the_saving():
    costs = inception_costs(192, 28, **ROW_3A)
    modules = _modules(bias=False)
    for kind in ("naive", "reduced"):
        out = modules[kind](torch.zeros(1, *SIZE, device="meta"))
        assert out.shape == (1, costs[kind]["out_channels"], 28, 28)
        assert modules[kind].out_channels == costs[kind]["out_channels"]
    assert costs["naive"]["out_channels"] == 64 + 128 + 32 + 192  # the pool passes 192 on
    assert costs["reduced"]["out_channels"] == 256
    # By hand: the naive 3x3 reads all 192 channels, 192·128·9 weights, 28² times.
    assert costs["naive"]["branches"]["b3x3"]["macs"] == 192 * 128 * 9 * 28 * 28
    assert costs["reduced"]["branches"]["b3x3"]["params"] == 192 * 96 + 96 * 128 * 9
    assert costs["naive"]["macs"] > 2 * costs["reduced"]["macs"]


def test_inception_3a_agrees_with_googlenet_and_table_1():
    with torch.device("meta"):
        block = create_model("googlenet").features.inception3a
    costs = inception_costs(192, 28, **ROW_3A, bias=True)["reduced"]
    report = summary(block, SIZE)
    assert (report.total_params, report.total_macs) == (costs["params"], costs["macs"])
    # Table 1 gives 159K params and 128M ops; the weights come to 163,328 (0.16 M) and
    # 128,049,152 MACs: the ops column agrees, the params column is a little under.
    weights = inception_costs(192, 28, **ROW_3A)["reduced"]
    assert weights["params"] == 163_328 and round(weights["macs"] / 1e6) == 128


def _cut(value: float, digits: int) -> float:
    """The course's rounding: digits cut off, not rounded (1.2288 M reads 1.22 M)."""
    scale = 10**digits
    return math.floor(value * scale) / scale


def test_course_numbers_inception_vs_3x3_vs_5x5():
    rows = conv_vs_inception()
    course = {"inception": (0.16, 128), "conv3x3": (0.44, 346), "conv5x5": (1.22, 963)}
    for name, (params_m, macs_m) in course.items():
        assert _cut(rows[name]["params"] / 1e6, 2) == params_m, name
        assert _cut(rows[name]["macs"] / 1e6, 0) == macs_m, name
        assert rows[name]["out_channels"] == 256
    for kernel in (3, 5):  # the plain convolutions, counted by summary on real layers
        with torch.device("meta"):
            conv = nn.Conv2d(192, 256, kernel, padding=kernel // 2, bias=False)
        report = summary(conv, SIZE)
        row = rows[f"conv{kernel}x{kernel}"]
        assert (report.total_params, report.total_macs) == (row["params"], row["macs"])


def test_naive_module_runs_and_keeps_the_input_in_the_pool_branch():
    torch.manual_seed(0)
    module = NaiveInception(3, 2, 4, 1, conv_block=_conv_relu(True)).eval()
    x = torch.randn(2, 3, 6, 5)
    out = module(x)
    assert out.shape == (2, 2 + 4 + 1 + 3, 6, 5)
    torch.testing.assert_close(out[:, 7:], nn.functional.max_pool2d(x, 3, 1, 1))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: NaiveInception(192, 0, 128, 32), "ch1x1 must be a positive integer, got 0"),
        (lambda: inception_costs(192, 28, **{**ROW_3A, "c3_reduce": -1}), "c3_reduce must"),
        (lambda: conv_vs_inception(size=0), "size must be a positive integer, got 0"),
    ],
)
def test_bad_widths_raise_one_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()
