"""Depthwise-separable and grouped convolution arithmetic (ops/separable.py) and the ``conv
--separable`` / ``conv --groups`` commands: the costs against MobileNet's numbers and the
multiply-adds torch layers do, the connections against what torch's grouped convolutions and a
channel shuffle actually wire together."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from classicnets.analysis import summary
from classicnets.cli import main
from classicnets.errors import ShapeError
from classicnets.layers.mobile import DepthwiseSeparable
from classicnets.ops.separable import (
    after_shuffle,
    conv_cost,
    explain_groups,
    explain_separable,
    grouped_connections,
    ranges,
    separable_cost,
    shuffle_order,
)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- costs


def test_mobilenet_table_3_layer():
    """Howard et al. 2017, Table 3: a 14x14 layer with D_K=3, M=N=512 costs 462 million
    mult-adds as a standard convolution and 52.3 million depthwise separable."""
    cost = separable_cost(3, 512, 512, 14)
    assert cost.standard == conv_cost(3, 512, 512, 14) == 462_422_016
    assert (cost.depthwise, cost.pointwise) == (903_168, 51_380_224)
    assert cost.total == 52_283_392
    assert cost.ratio == Fraction(1, 512) + Fraction(1, 9) == Fraction(521, 4608)


def test_the_course_example():
    """The MobileNet lecture of Andrew Ng's CNN course: 6x6x3 input, 3x3 kernels, 5 filters,
    4x4x5 output: 2160 multiplications; depthwise 432 + pointwise 240 = 672, 0.31 of it."""
    cost = separable_cost(3, 3, 5, 4)
    assert (cost.standard, cost.depthwise, cost.pointwise, cost.total) == (2160, 432, 240, 672)
    assert cost.ratio == Fraction(672, 2160) == Fraction(1, 5) + Fraction(1, 9)
    assert round(float(cost.ratio), 2) == 0.31


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 11), st.integers(1, 2048), st.integers(1, 2048), st.integers(1, 224)
)  # fmt: skip
def test_ratio_is_one_over_n_plus_one_over_k_squared(k, m, n, f):
    cost = separable_cost(k, m, n, f)
    assert cost.total == cost.depthwise + cost.pointwise
    assert cost.standard == conv_cost(k, m, n, f)
    assert cost.ratio == Fraction(1, n) + Fraction(1, k * k)  # exact, whatever M and D_F
    assert cost.saving == 1 / cost.ratio


def test_3x3_saves_between_8_and_9_times():
    """MobileNet (section 3.1): "3x3 depthwise separable convolutions use between 8 to 9 times
    less computation". The saving 9N/(N+9) stays under 9 and reaches 8 at N=72; MobileNet's
    first separable layer (N=64) saves 576/73 = 7.9x, every later one (N >= 128) 8.4-8.9x."""
    assert separable_cost(3, 32, 64, 112).saving == Fraction(576, 73)
    assert separable_cost(3, 64, 71, 56).saving < 8 <= separable_cost(3, 64, 72, 56).saving
    for n in (128, 256, 512, 1024, 10**6):  # Table 1's pointwise widths after the first
        assert 8 < separable_cost(3, n, n, 7).saving < 9
    for n in range(72, 5000):
        assert 8 <= separable_cost(3, 1, n, 1).saving < 9


@pytest.mark.parametrize(("k", "m", "n", "f", "stride"), [(3, 8, 16, 10, 1), (5, 4, 6, 9, 2)])
def test_costs_are_the_multiply_adds_torch_layers_do(k, m, n, f, stride):
    """D_F is the output map's side: a stride-2 layer on 2*D_F pixels costs the same."""
    side = f * stride
    standard = nn.Conv2d(m, n, k, stride=stride, padding=k // 2, bias=False)
    separable = DepthwiseSeparable(m, n, k, stride)
    assert summary(standard, (m, side, side)).total_macs == conv_cost(k, m, n, f)
    assert summary(separable, (m, side, side)).total_macs == separable_cost(k, m, n, f).total


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 3, 5, 4), "separable_cost: kernel size must be a positive integer, got 0."),
        ((3, -1, 5, 4), "separable_cost: in_channels must be a positive integer, got -1."),
        ((3, 3, 5.0, 4), "separable_cost: out_channels must be a positive integer, got 5.0."),
        ((3, 3, 5, True), "separable_cost: feature size must be a positive integer, got True."),
    ],
)
def test_bad_sizes_are_one_sentence(args, message):
    with pytest.raises(ShapeError) as err:
        separable_cost(*args)
    assert str(err.value) == message
    with pytest.raises(ShapeError, match="^conv_cost: "):
        conv_cost(*args)


# ---------------------------------------------------------------- groups and the shuffle


def _wiring(net: nn.Module, channels: int) -> list[list[int]]:
    """The inputs each output of ``net`` depends on, read off torch's Jacobian (all weights 1,
    so no connection can cancel)."""
    for p in net.parameters():
        nn.init.ones_(p)
    x = torch.ones(channels, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: net(v.view(1, -1, 1, 1)).flatten(), x)
    return [torch.nonzero(row).flatten().tolist() for row in jac]


class Shuffle(nn.Module):  # written from ShuffleNet's description, independently of the ops
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def _stack(m: int, n: int, g: int, shuffle: bool) -> nn.Module:
    layers = [nn.Conv2d(m, n, 1, groups=g, bias=False), Shuffle(g) if shuffle else nn.Identity()]
    return nn.Sequential(*layers, nn.Conv2d(n, n, 1, groups=g, bias=False)).double()


def test_grouped_connections_small_examples():
    assert grouped_connections(6, 6, 3) == [[0, 1], [0, 1], [2, 3], [2, 3], [4, 5], [4, 5]]
    assert grouped_connections(6, 9, 3) == [[0, 1]] * 3 + [[2, 3]] * 3 + [[4, 5]] * 3
    assert grouped_connections(4, 2, 2) == [[0, 1], [2, 3]]
    assert grouped_connections(3, 2, 1) == [[0, 1, 2]] * 2
    assert grouped_connections(4, 4, 4) == [[0], [1], [2], [3]]  # depthwise


@pytest.mark.parametrize(("m", "n", "g"), [(6, 6, 3), (6, 9, 3), (8, 4, 2), (4, 4, 4), (5, 5, 1)])
def test_grouped_connections_are_torchs(m, n, g):
    conv = nn.Conv2d(m, n, 1, groups=g, bias=False).double()
    assert grouped_connections(m, n, g) == _wiring(conv, m)


def test_shuffle_order_small_examples():
    assert shuffle_order(6, 3) == [0, 2, 4, 1, 3, 5]  # [[0, 1], [2, 3], [4, 5]] transposed
    assert shuffle_order(6, 2) == [0, 3, 1, 4, 2, 5]
    assert shuffle_order(12, 3) == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    assert shuffle_order(5, 1) == shuffle_order(5, 5) == [0, 1, 2, 3, 4]


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12))
def test_shuffle_order_is_the_permutation_torch_applies(g, per_group):
    c = g * per_group
    order = shuffle_order(c, g)
    assert sorted(order) == list(range(c))
    x = torch.arange(c).view(1, c, 1, 1)
    assert Shuffle(g)(x).flatten().tolist() == order


def test_after_shuffle_with_6_channels_in_3_groups():
    """Two channels per group cannot hold three groups: each output sees two of them."""
    assert after_shuffle(6, 6, 3) == [[0, 1, 2, 3]] * 2 + [[0, 1, 4, 5]] * 2 + [[2, 3, 4, 5]] * 2
    assert after_shuffle(6, 6, 3, shuffle=False) == grouped_connections(6, 6, 3)


def test_after_shuffle_reaches_every_group_with_enough_channels_per_group():
    assert after_shuffle(9, 9, 3) == [list(range(9))] * 9
    assert after_shuffle(6, 6, 2) == [list(range(6))] * 6
    assert after_shuffle(6, 6, 2, shuffle=False) == [[0, 1, 2]] * 3 + [[3, 4, 5]] * 3
    assert after_shuffle(6, 4, 2, mid_channels=8) == [list(range(6))] * 4


@pytest.mark.parametrize(("m", "n", "g"), [(6, 6, 3), (9, 9, 3), (6, 12, 3), (8, 8, 2), (4, 8, 4)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_after_shuffle_is_what_torch_wires(m, n, g, shuffle):
    assert after_shuffle(m, n, g, shuffle=shuffle) == _wiring(_stack(m, n, g, shuffle), m)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.integers(1, 8))
def test_with_the_shuffle_every_output_sees_every_group_without_it_only_its_own(g, a, b):
    m, n = g * a, g * b
    own = grouped_connections(m, n, g)
    assert after_shuffle(m, n, g, shuffle=False) == own
    seen_groups = [{i // a for i in inputs} for inputs in after_shuffle(m, n, g)]
    assert all(len(groups) == min(b, g) for groups in seen_groups)  # all when N/g >= g


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: grouped_connections(6, 6, 4),
            "grouped convolution: 4 groups do not divide both the 6 input and the 6 output "
            "channels; allowed groups: 1, 2, 3, 6.",
        ),
        (
            lambda: grouped_connections(6, 9, 2),
            "grouped convolution: 2 groups do not divide both the 6 input and the 9 output "
            "channels; allowed groups: 1, 3.",
        ),
        (
            lambda: grouped_connections(6, 6, 0),
            "grouped convolution: groups must be a positive integer, got 0.",
        ),
        (
            lambda: shuffle_order(6, 4),
            "channel shuffle: 4 groups do not divide 6 channels; allowed groups: 1, 2, 3, 6.",
        ),
        (
            lambda: shuffle_order(-6, 3),
            "channel shuffle: channels must be a positive integer, got -6.",
        ),
        (lambda: after_shuffle(6, 6, 3, mid_channels=4), "4 output channels; allowed groups: 1"),
    ],
)
def test_bad_groups_are_one_sentence(call, message):
    with pytest.raises(ShapeError) as err:
        call()
    assert message in str(err.value) and str(err.value).count(". ") == 0


def test_ranges():
    assert ranges([0, 1, 2, 5, 7, 8]) == "0–2, 5, 7, 8"
    assert ranges([4, 0, 1, 9, 10, 11]) == "0, 1, 4, 9–11"


def test_explanations_use_the_computed_numbers():
    lines = explain_separable(3, 512, 512, 14)
    assert "standard:  D_K²·M·N·D_F² = 3²×512×512×14² = 462,422,016 multiply-adds" in lines
    assert "     = 1/N + 1/D_K² = 1/512 + 1/3² = 521/4608 ≈ 0.1131" in lines
    lines = explain_groups(6, 6, 3, shuffle=True)
    assert "  outputs 2, 3 see step-1 channels 1, 4 → inputs 0, 1, 4, 5 (groups 0, 2)" in lines


# ---------------------------------------------------------------- the command line


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


SEPARABLE = ("conv", "--separable", "--kernel-size", "3", "--in-channels", "3")
SEPARABLE += ("--out-channels", "5", "--feature-size", "4")


def test_conv_separable_prints_both_costs_and_the_ratio(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(capsys, *SEPARABLE)
    assert code == 0 and not err
    lines = out.splitlines()
    assert lines == [
        "3×3 convolution, 3 → 5 channels, 4×4 output: D_K=3, M=3, N=5, D_F=4",
        "standard:  D_K²·M·N·D_F² = 3²×3×5×4² = 2,160 multiply-adds",
        "depthwise: D_K²·M·D_F² = 3²×3×4² = 432",
        "pointwise: M·N·D_F² = 3×5×4² = 240",
        "separable: depthwise + pointwise = 432 + 240 = 672",
        "ratio: separable / standard = 672 / 2,160",
        "     = 1/N + 1/D_K² = 1/5 + 1/3² = 14/45 ≈ 0.3111",
        "the separable convolution does 3.214× fewer multiply-adds",
    ]


def test_conv_groups_step_by_step(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    argv = ("conv", "--groups", "3", "--in-channels", "6", "--out-channels", "6")
    code, out, err = run(capsys, *argv)
    assert code == 0 and not err
    assert "  outputs 2, 3 see inputs 2, 3 (group 1)" in out
    assert "  outputs 4, 5 see step-1 channels 4, 5 → inputs 4, 5 (group 2)" in out
    assert "sees only its own group" in out and "Add --shuffle" in out
    code, out, _ = run(capsys, *argv, "--shuffle")
    assert code == 0
    assert "  new order: 0, 2, 4, 1, 3, 5" in out
    assert "  outputs 0, 1 see step-1 channels 0, 2 → inputs 0–3 (groups 0, 1)" in out
    assert "sees 2 of the 3 groups" in out and "9 or more channels (3 per group)" in out
    code, out, _ = run(capsys, "conv", "--groups", "3", "--in-channels", "9", "--out-channels",
                       "9", "--shuffle")  # fmt: skip
    assert code == 0 and "every output of step 3 sees all 3 groups of the input." in out
    assert "  outputs 6–8 see step-1 channels 2, 5, 8 → inputs 0–8 (groups 0–2)" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_conv_with_matrices_still_works(capsys):
    code, out, _ = run(capsys, "conv", "-i", "0 1 2; 3 4 5; 6 7 8", "-k", "0 1; 2 3", "--explain")
    assert code == 0 and "Y[1,1] = 4×0 + 5×1 + 7×2 + 8×3 = 43" in out


BAD = [
    (("conv",), "conv needs --input and --kernel, e.g."),
    (("conv", "-i", "1"), "conv needs --kernel, e.g."),
    (("conv", "-i", "1", "-k", "1", "--shuffle"), "--shuffle goes with --groups, not with"),
    (("conv", "-i", "1", "-k", "1", "--in-channels", "3"), "--in-channels goes with --separable"),
    (SEPARABLE[:4], "missing: --in-channels, --out-channels, --feature-size"),
    ((*SEPARABLE[:-1], "0"), "--feature-size must be a positive integer, got 0."),
    ((*SEPARABLE[:-1], "4.5"), "--feature-size: '4.5' is not a whole number"),
    ((*SEPARABLE, "-i", "1"), "Leave out --input with --separable"),
    ((*SEPARABLE, "--shuffle"), "--shuffle goes with --groups, not with --separable."),
    ((*SEPARABLE, "--groups", "2"), "--separable and --groups are two questions"),
    (("conv", "--groups", "2", "--in-channels", "4"), "--groups needs --in-channels and"),
    (
        ("conv", "--groups", "4", "--in-channels", "6", "--out-channels", "6"),
        "4 groups do not divide both the 6 input and the 6 output channels; allowed groups: 1,",
    ),
    (("conv", "--groups", "-2", "--in-channels", "6", "--out-channels", "6"), "got -2."),
    (
        (
            "conv",
            "--groups",
            "2",
            "--in-channels",
            "6",
            "--out-channels",
            "6",
            "--kernel-size",
            "3",
        ),
        "--kernel-size goes with --separable; which inputs",
    ),  # fmt: skip
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a[1:4]) for a, _ in BAD])
def test_bad_input_is_one_clear_sentence(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in err + out
