"""Asymmetric padding ((top, bottom), (left, right)) and "same" padding in conv2d and pool2d,
against torch's own ops run on an input padded by F.pad, and TensorFlow's "same" rule (the odd
row or column of zeros at the bottom/right) worked by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from _threads import one_thread  # noqa: F401
from classicnets.errors import ShapeError
from classicnets.ops import conv2d, conv_output_size, corr2d, pool2d
from classicnets.ops.shapes import padding_pairs, same_padding

TOL = {"atol": 1e-5, "rtol": 1e-5}


def _torch_pads(pairs) -> tuple[int, int, int, int]:
    """((top, bottom), (left, right)) -> F.pad's (left, right, top, bottom)."""
    (top, bottom), (left, right) = pairs
    return (left, right, top, bottom)


@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pairs = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2))
    size = [max(1, d[i] * (k[i] - 1) + 1 - sum(pairs[i])) + draw(st.integers(0, 4)) for i in (0, 1)]
    return {
        "x": (draw(st.integers(1, 2)), groups * draw(st.integers(1, 2)), *size),
        "c_out": groups * draw(st.integers(1, 2)),
        "kernel": k,
        "stride": s,
        "dilation": d,
        "pairs": pairs,
        "groups": groups,
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(max_examples=50, deadline=None)
@given(conv_cases())
def test_conv2d_asymmetric_padding_matches_f_pad_then_conv2d(case):
    g = torch.Generator().manual_seed(case["seed"])
    x = torch.randn(case["x"], generator=g, requires_grad=True)
    c_group = case["x"][1] // case["groups"]
    w = torch.randn(case["c_out"], c_group, *case["kernel"], generator=g, requires_grad=True)
    common = {k: case[k] for k in ("stride", "dilation", "groups")}
    ours = conv2d(x, w, padding=case["pairs"], **common)
    ref = F.conv2d(F.pad(x, _torch_pads(case["pairs"])), w, **common)
    torch.testing.assert_close(ours, ref, **TOL)
    size = conv_output_size(case["x"][2:], case["kernel"], case["pairs"], **common_no_groups(case))
    assert tuple(ours.shape[2:]) == size
    upstream = torch.randn(ref.shape, generator=g)
    for a, r in zip(
        torch.autograd.grad((ours * upstream).sum(), (x, w)),
        torch.autograd.grad((ref * upstream).sum(), (x, w)),
        strict=True,
    ):
        torch.testing.assert_close(a, r, **TOL)


def common_no_groups(case) -> dict:
    return {"stride": case["stride"], "dilation": case["dilation"]}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel", [(1, 1), (2, 2), (3, 2), (4, 4), (2, 5)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_matches_torch_same_at_stride_1(kernel, dilation):
    x, w = torch.randn(2, 3, 7, 6), torch.randn(4, 3, *kernel)
    ours = conv2d(x, w, padding="same", dilation=dilation)
    torch.testing.assert_close(ours, F.conv2d(x, w, padding="same", dilation=dilation), **TOL)
    assert ours.shape[2:] == (7, 6)


def test_even_kernel_same_puts_the_extra_zero_at_the_bottom_right():
    assert same_padding(5, 2) == (0, 1)  # total 1: floor 0 on top, ceil 1 below
    assert same_padding(5, 4) == (1, 2)
    assert padding_pairs("same", (5, 5), (4, 2), (1, 1), (1, 1)) == ((1, 2), (0, 1))
    X = [[1, 2], [3, 4]]
    # 2x2 kernel of ones with the zero row/column after: 1 2 0 / 3 4 0 / 0 0 0
    assert corr2d(X, [[1, 1], [1, 1]], padding="same").tolist() == [[10, 6], [7, 4]]


@pytest.mark.parametrize(
    ("n", "k", "s", "pads"),
    [(6, 3, 2, (0, 1)), (5, 3, 2, (1, 1)), (7, 2, 2, (0, 1)), (8, 2, 2, (0, 0)), (4, 5, 1, (2, 2))],
)
def test_same_with_stride_follows_tensorflow(n, k, s, pads):
    # TensorFlow: out = ceil(n / s), total = max((out - 1) s + k - n, 0), extra after.
    assert same_padding(n, k, s) == pads
    x, w = torch.randn(1, 1, n, n), torch.randn(1, 1, k, k)
    ours = conv2d(x, w, stride=s, padding="same")
    assert ours.shape[2:] == (-(-n // s),) * 2
    ref = F.conv2d(F.pad(x, (*pads, *pads)), w, stride=s)
    torch.testing.assert_close(ours, ref, **TOL)
    assert conv_output_size(n, k, padding="same", stride=s) == -(-n // s)


@settings(max_examples=50, deadline=None)
@given(
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    data=st.data(),
    extra=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    mode=st.sampled_from(["max", "avg"]),
    count_include_pad=st.booleans(),
)
def test_pool2d_asymmetric_padding_matches_f_pad_then_pool(
    k, s, data, extra, mode, count_include_pad
):
    pairs = tuple(
        (data.draw(st.integers(0, ki // 2)), data.draw(st.integers(0, ki // 2))) for ki in k
    )
    size = [max(1, k[i] - sum(pairs[i])) + extra[i] for i in (0, 1)]
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    ours = pool2d(x, k, s, pairs, mode=mode, count_include_pad=count_include_pad)
    if mode == "max":
        ref = F.max_pool2d(F.pad(x, _torch_pads(pairs), value=-torch.inf), k, s)
    else:
        sums = F.avg_pool2d(F.pad(x, _torch_pads(pairs)), k, s, divisor_override=1)
        ones = torch.ones(1, 1, *size, dtype=x.dtype)
        counted = F.pad(ones, _torch_pads(pairs), value=1.0 if count_include_pad else 0.0)
        ref = sums / F.avg_pool2d(counted, k, s, divisor_override=1)
    torch.testing.assert_close(ours, ref)


def test_keras_same_pooling_on_an_odd_map():
    x = torch.arange(25.0).reshape(5, 5)
    # 2x2/2 "same" on 5x5: 3x3 out, one row and column of padding at the bottom/right.
    assert pool2d(x, 2, padding="same").tolist() == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]
    avg = pool2d(x, 2, padding="same", mode="avg", count_include_pad=False)
    assert avg[2].tolist() == [20.5, 22.5, 24.0]  # Keras divides by the real cells only
    assert avg[0, 0].item() == (0 + 1 + 5 + 6) / 4


def test_symmetric_forms_still_mean_what_they_meant():
    x, w = torch.randn(1, 2, 6, 5), torch.randn(3, 2, 3, 3)
    torch.testing.assert_close(conv2d(x, w, padding=((1, 1), 2)), conv2d(x, w, padding=(1, 2)))
    torch.testing.assert_close(conv2d(x, w, padding="valid"), conv2d(x, w))
    assert conv_output_size((6, 5), 3, ((0, 1), (2, 2))) == (5, 7)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), padding=(1, 2, 3, 4)),
            r"padding must be an integer, \(p_h, p_w\), \(\(top, bottom\), \(left, right\)\), 'v",
        ),
        (
            lambda: conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), padding="full"),
            "'valid' or 'same', got 'full'",
        ),
        (
            lambda: conv_output_size((2, 2), 5, ((0, 1), (2, 2))),
            r"input 2x2 with kernel 5 and padding \(\(0, 1\), \(2, 2\)\) gives an empty output",
        ),
        (lambda: conv_output_size(5, 3, ((1, -1),)), "padding must not be negative, got -1"),
        (lambda: pool2d(torch.zeros(4, 4), 2, padding=((0, 2), 0)), "padding 2 is more than half"),
        (lambda: conv_output_size(5, 3, "same", stride=0), "stride must be a positive integer"),
    ],
)
def test_bad_padding_raises_one_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()
