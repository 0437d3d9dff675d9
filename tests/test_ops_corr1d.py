"""1-D cross-correlation and convolution: the course's narrow, wide and same sizes, the [-1, 0, 1]
filter worked by hand, parity with numpy and torch's conv1d, and one sentence for a tensor of the
wrong rank, in both directions (1-D into the 2-D ops, 2-D/4-D into the 1-D ones)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from _threads import one_thread  # noqa: F401
from classicnets.errors import ShapeError
from classicnets.ops import conv2d, pool2d
from classicnets.ops.corr1d import conv1d, conv1d_output_size, corr1d, padding_1d

SEQUENCE = [1, 1, 2, -1, 1, -3, 1]  # n = 7
EDGE = [-1, 0, 1]  # m = 3


@pytest.mark.parametrize(
    ("n", "m", "mode", "size"),
    [
        (7, 3, "narrow", 5),  # n - m + 1
        (7, 3, "wide", 9),  # n + m - 1
        (7, 3, "same", 7),  # n
        (7, 4, "narrow", 4),
        (7, 4, "wide", 10),
        (7, 4, "same", 7),
        (7, 3, "valid", 5),
        (7, 3, "full", 9),
    ],
)
def test_course_sizes_narrow_wide_same(n, m, mode, size):
    assert conv1d_output_size(n, m, mode) == size
    out = conv1d(torch.arange(float(n)), torch.ones(m), mode=mode)
    assert out.shape == (size,)


def test_edge_filter_by_hand():
    # Cross-correlation with [-1, 0, 1]: y[t] = x[t + 2] - x[t], a (doubled) central
    # difference, i.e. the derivative of the sequence; x = 1 1 2 -1 1 -3 1.
    assert corr1d(SEQUENCE, EDGE).tolist() == [2 - 1, -1 - 1, 1 - 2, -3 + 1, 1 - 1]
    # The convolution reverses the kernel to [1, 0, -1]: y[t] = x[t] - x[t + 2].
    assert conv1d(SEQUENCE, EDGE).tolist() == [-1, 2, 1, 2, 0]
    # Wide: two zeros at each end, 0 0 1 1 2 -1 1 -3 1 0 0.
    assert corr1d(SEQUENCE, EDGE, mode="wide").tolist() == [1, 1, 1, -2, -1, -2, 0, 3, -1]
    # Same: one zero at each end, 0 1 1 2 -1 1 -3 1 0.
    assert corr1d(SEQUENCE, EDGE, mode="same").tolist() == [1, 1, -2, -1, -2, 0, 3]


def test_edge_filter_finds_the_step_and_the_slope():
    step = [0, 0, 0, 5, 5, 5]
    assert corr1d(step, EDGE).tolist() == [0, 5, 5, 0]  # non-zero only where the step is
    ramp = [3, 5, 7, 9, 11]  # slope 2
    assert corr1d(ramp, EDGE).tolist() == [4, 4, 4]  # 2 x the slope


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_even_kernel_same_puts_the_extra_zero_at_the_end():
    assert padding_1d("same", 3, 2) == (0, 1)
    assert padding_1d("same", 5, 4) == (1, 2)
    assert corr1d([1, 2, 3], [1, 1], mode="same").tolist() == [3, 5, 3]  # 1 2 3 0
    x, k = torch.randn(1, 1, 9), torch.randn(1, 1, 4)
    torch.testing.assert_close(corr1d(x, k, mode="same"), F.conv1d(x, k, padding="same"))
    torch.testing.assert_close(corr1d(x, k, mode="same"), F.conv1d(F.pad(x, (1, 2)), k))


def test_same_with_a_stride_keeps_ceil_n_over_s():  # TensorFlow's rule
    assert padding_1d("same", 6, 3, stride=2) == (0, 1)
    assert padding_1d("same", 5, 3, stride=2) == (1, 1)
    x, k = torch.randn(1, 1, 6), torch.randn(1, 1, 3)
    out = corr1d(x, k, mode="same", stride=2)
    assert out.shape == (1, 1, 3)
    torch.testing.assert_close(out, F.conv1d(F.pad(x, (0, 1)), k, stride=2))


@settings(max_examples=40, deadline=None)
@given(
    x=st.lists(st.integers(-9, 9), min_size=1, max_size=12),
    k=st.lists(st.integers(-9, 9), min_size=1, max_size=5),
)
def test_signal_forms_match_numpy(x, k):
    assert conv1d(x, k, mode="wide").tolist() == np.convolve(x, k, "full").tolist()
    assert corr1d(x, k, mode="wide").tolist() == np.correlate(x, k, "full").tolist()
    if len(x) >= len(k):
        assert conv1d(x, k).tolist() == np.convolve(x, k, "valid").tolist()
        assert corr1d(x, k).tolist() == np.correlate(x, k, "valid").tolist()
    else:
        with pytest.raises(ShapeError, match="gives an empty output"):
            conv1d(x, k)


@st.composite
def batched_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 3), st.integers(0, 3))))
    pads = (padding, padding) if isinstance(padding, int) else padding
    length = max(1, d * (k - 1) + 1 - sum(pads)) + draw(st.integers(0, 6))
    return {
        "shape": (draw(st.integers(1, 2)), groups * draw(st.integers(1, 2)), length),
        "weight": (groups * draw(st.integers(1, 2)), None, k),
        "groups": groups,
        "stride": s,
        "dilation": d,
        "padding": padding,
        "pads": pads,
        "bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(max_examples=40, deadline=None)
@given(batched_cases())
def test_batched_form_matches_torch_conv1d_with_gradients(case):
    g = torch.Generator().manual_seed(case["seed"])
    x = torch.randn(case["shape"], generator=g, requires_grad=True)
    c_out, _, k = case["weight"]
    w = torch.randn(c_out, case["shape"][1] // case["groups"], k, generator=g, requires_grad=True)
    b = torch.randn(c_out, generator=g) if case["bias"] else None
    common = {"stride": case["stride"], "dilation": case["dilation"], "groups": case["groups"]}
    ours = corr1d(x, w, padding=case["padding"], bias=b, **common)
    ref = F.conv1d(F.pad(x, case["pads"]), w, b, **common)
    torch.testing.assert_close(ours, ref)
    n = conv1d_output_size(case["shape"][2], k, case["pads"], case["stride"], case["dilation"])
    assert ours.shape[-1] == n
    upstream = torch.randn(ref.shape, generator=g)
    ours_grads = torch.autograd.grad((ours * upstream).sum(), (x, w))
    ref_grads = torch.autograd.grad((ref * upstream).sum(), (x, w))
    for a, r in zip(ours_grads, ref_grads, strict=True):
        torch.testing.assert_close(a, r)
    flipped = conv1d(x, w, padding=case["padding"], bias=b, **common)
    torch.testing.assert_close(flipped, F.conv1d(F.pad(x, case["pads"]), w.flip(-1), b, **common))


def test_single_example_with_channels_drops_the_batch():
    x, w = torch.randn(3, 8), torch.randn(2, 3, 3)
    assert corr1d(x, w, mode="same").shape == (2, 8)
    torch.testing.assert_close(corr1d(x, w), F.conv1d(x[None], w)[0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: corr1d(torch.zeros(1, 1, 5, 5), [1, 2]), r"got shape \(1, 1, 5, 5\); a batch of"),
        (lambda: corr1d(torch.zeros(3, 5), [1, 2]), "a matrix goes to ops.corr2d"),
        (lambda: conv1d(torch.zeros(3, 5), torch.zeros(2, 2)), "2-D kernel goes to ops.corr2d"),
        (lambda: corr1d([1, 2, 3], torch.zeros(1, 1, 2)), "a single signal x"),
        (lambda: corr1d([1, 2], EDGE), "corr1d: input 2 with kernel 3 and padding 0 gives an"),
        (lambda: conv1d([1, 2, 3], [1], mode="circular"), "mode must be one of 'narrow'"),
        (lambda: corr1d([1, 2, 3], [1], mode="wide", padding=1), "not both"),
        (lambda: corr1d([1, 2, 3], [1], bias=[1.0]), "a bias needs the channel form"),
        (lambda: corr1d([1, 2, 3], [1], padding=(1, 2, 3)), "a pair \\(before, after\\)"),
        (lambda: conv1d_output_size(3, 5), "conv1d: input 3 with kernel 5"),
        (lambda: conv1d_output_size(8, 3, stride=0), "stride must be a positive integer"),
    ],
)
def test_wrong_shapes_for_1d_ops_raise_one_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: conv2d(torch.zeros(7), torch.zeros(1, 1, 3, 3)), r"\(7,\); a 1-D signal"),
        (lambda: conv2d(torch.zeros(3, 7), torch.zeros(1, 1, 3, 3)), "ops.corr2d, a signal"),
        (lambda: pool2d(torch.zeros(7), 2), r"got 1 \(shape \(7,\)\); pool a 1-D signal"),
    ],
)
def test_1d_inputs_to_2d_ops_point_at_the_right_op(call, message):
    with pytest.raises(ShapeError, match=message) as err:
        call()
    assert str(err.value).count(". ") == 0  # one sentence


def test_pool2d_hint_works_as_it_says():
    x = torch.tensor([1.0, 3.0, 2.0, 5.0, 4.0])
    torch.testing.assert_close(pool2d(x[None], (1, 2))[0], F.max_pool1d(x[None], 2)[0])
