"""conv_output_size against the numbers course notes publish and against the shapes torch makes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from classicnets.errors import ShapeError
from classicnets.ops import conv_output_size


def test_lenet_first_layer_keeps_28():  # 28x28, 5x5 kernel, padding 2
    assert conv_output_size(28, 5, padding=2) == 28
    assert conv_output_size((28, 28), 5, padding=2) == (28, 28)


def test_alexnet_first_layer_and_pooling():  # 227, 11x11 stride 4 -> 55, 3x3/2 pooling -> 27
    assert conv_output_size(227, 11, stride=4) == 55
    assert conv_output_size(55, 3, stride=2) == 27


@pytest.mark.parametrize(("start", "layers", "end"), [(32, 7, 4), (240, 10, 200)])
def test_a_stack_of_valid_5x5_convolutions_shrinks_by_4_each(start, layers, end):
    size = (start, start)
    for _ in range(layers):
        size = conv_output_size(size, 5)
    assert size == (end, end)


def test_tuples_per_dimension():
    assert conv_output_size((28, 32), (5, 3), padding=(2, 1), stride=(1, 2)) == (28, 16)
    assert conv_output_size(np.int64(9), np.int64(3)) == 7  # numpy integers are integers


def test_dilation_widens_the_kernel():
    assert conv_output_size(10, 3, dilation=2) == 6  # span 5


def test_total_padding_form_of_course_notes():
    # floor((n - k + p_total + s) / s)
    assert conv_output_size(28, 5, padding_total=4) == 28
    assert conv_output_size(8, 3, padding_total=1, stride=2) == 4
    assert conv_output_size((8, 6), 3, padding_total=(1, 2)) == (7, 6)


def test_empty_output_says_what_it_received():
    with pytest.raises(ShapeError) as err:
        conv_output_size((3, 3), 5)
    assert str(err.value) == (
        "conv2d: input 3x3 with kernel 5 and padding 0 gives an empty output "
        "(3 - 5 + 0 + 1 = -1); use a smaller kernel or more padding."
    )


def test_empty_output_with_dilation_and_total_padding():
    with pytest.raises(ShapeError, match=r"kernel 3 with dilation 3 \(span 7\)"):
        conv_output_size((5, 9), 3, dilation=3)
    with pytest.raises(ShapeError, match=r"total padding 1 gives an empty output \(3 - 5 \+ 1"):
        conv_output_size(3, 5, padding_total=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 8, "kernel": 3, "stride": 0}, "stride must be a positive integer, got 0"),
        ({"n": 8, "kernel": 0}, "kernel size must be a positive integer, got 0"),
        ({"n": 0, "kernel": 3}, "input size must be a positive integer, got 0"),
        ({"n": 8, "kernel": 3, "padding": -1}, "padding must not be negative, got -1"),
        ({"n": 8, "kernel": 3, "dilation": 0}, "dilation must be a positive integer"),
        ({"n": 8, "kernel": 2.5}, "kernel size must be an integer or a tuple of 1 integers"),
        ({"n": (8, 8), "kernel": (3, 3, 3)}, "kernel size must be an integer or a tuple of 2"),
        ({"n": 8, "kernel": True}, "got True"),
        ({"n": 8.0, "kernel": 3}, "input size must be an integer or a tuple of integers"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ShapeError, match=message):
        conv_output_size(**kwargs)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 6),
    p=st.integers(0, 3),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
)
def test_conv_size_matches_torch(n, k, p, s, d):
    x, w = torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k)
    try:
        expected = F.conv2d(x, w, stride=s, padding=p, dilation=d).shape[-1]
    except RuntimeError:  # torch refuses an empty output
        with pytest.raises(ShapeError, match="gives an empty output"):
            conv_output_size(n, k, padding=p, stride=s, dilation=d)
        return
    assert conv_output_size(n, k, padding=p, stride=s, dilation=d) == expected


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    d=st.integers(1, 2),
    ceil_mode=st.booleans(),
    data=st.data(),
)
def test_pool_size_matches_torch_including_ceil_mode(n, k, s, d, ceil_mode, data):
    p = data.draw(st.integers(0, k // 2))  # torch allows at most half the kernel
    x = torch.zeros(1, 1, n, n)
    try:
        expected = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil_mode).shape[-1]
    except RuntimeError:
        with pytest.raises(ShapeError):
            conv_output_size(n, k, p, s, d, ceil_mode)
        return
    if expected <= 0:  # older torch versions return an empty tensor instead of raising
        with pytest.raises(ShapeError):
            conv_output_size(n, k, p, s, d, ceil_mode)
        return
    assert conv_output_size(n, k, p, s, d, ceil_mode) == expected


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), k=st.integers(1, 5), pt=st.integers(0, 5), s=st.integers(1, 3))
def test_total_padding_matches_torch_with_uneven_padding(n, k, pt, s):
    x = F.pad(torch.zeros(1, 1, 1, n), (pt // 2, pt - pt // 2))  # the odd pixel goes right
    if x.shape[-1] < k:
        with pytest.raises(ShapeError):
            conv_output_size(n, k, stride=s, padding_total=pt)
        return
    expected = F.conv2d(x, torch.zeros(1, 1, 1, k), stride=s).shape[-1]
    assert conv_output_size(n, k, stride=s, padding_total=pt) == expected
