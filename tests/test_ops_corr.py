"""corr2d and friends against the worked examples of Dive into Deep Learning (sections 7.2-7.4),
scipy's convolution and torch's conv2d; the step-by-step explanations line by line."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from classicnets.errors import ShapeError
from classicnets.ops import (
    convolve2d,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    explain_corr2d,
    explain_pool2d,
)

X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
K = [[0, 1], [2, 3]]


def test_corr2d_of_the_textbook_example():
    assert corr2d(X, K).tolist() == [[19, 25], [37, 43]]


def test_corr2d_with_padding_1():
    expected = [[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]]
    assert corr2d(X, K, padding=1).tolist() == expected


def test_corr2d_with_padding_1_and_stride_3_2():
    assert corr2d(X, K, padding=1, stride=(3, 2)).tolist() == [[0, 8], [6, 8]]


def test_corr2d_keeps_integers_integer():
    assert corr2d(X, K).dtype == torch.int64
    assert corr2d(torch.tensor(X, dtype=torch.float64), K).dtype == torch.float64


def test_corr2d_matches_torch_on_random_floats():
    g = torch.Generator().manual_seed(0)
    x, k = torch.randn(7, 9, generator=g), torch.randn(3, 2, generator=g)
    ref = F.conv2d(x[None, None], k[None, None], padding=(1, 2), stride=(2, 1))[0, 0]
    torch.testing.assert_close(corr2d(x, k, padding=(1, 2), stride=(2, 1)), ref)


def test_corr2d_multi_in_two_channels():
    x = [X, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]
    k = [K, [[1, 2], [3, 4]]]
    assert corr2d_multi_in(x, k).tolist() == [[56, 72], [104, 120]]


def test_corr2d_multi_in_out_stacks_one_output_per_kernel():
    x = torch.tensor([X, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]])
    k = torch.tensor([K, [[1, 2], [3, 4]]])
    k = torch.stack((k, k + 1, k + 2))  # (3, 2, 2, 2)
    expected = [
        [[56, 72], [104, 120]],
        [[76, 100], [148, 172]],
        [[96, 128], [192, 224]],
    ]
    assert corr2d_multi_in_out(x, k).tolist() == expected


def test_1x1_convolution_is_a_matrix_product_over_channels():
    g = torch.Generator().manual_seed(1)
    x, k = torch.randn(3, 3, 3, generator=g), torch.randn(2, 3, 1, 1, generator=g)
    expected = (k.reshape(2, 3) @ x.reshape(3, 9)).reshape(2, 3, 3)
    torch.testing.assert_close(corr2d_multi_in_out(x, k), expected)


def test_convolve2d_flips_the_kernel():
    assert convolve2d(X, K).tolist() == [[5, 11], [23, 29]]


def test_convolve2d_matches_scipy_and_the_formula():
    rng = np.random.default_rng(2)
    x, k = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))
    ours = convolve2d(x, k).numpy()
    np.testing.assert_allclose(ours, scipy.signal.convolve2d(x, k, mode="valid"), atol=1e-12)
    # y_ij = sum_uv w_uv x_(i-u+1, j-v+1) (1-based), the valid part starting at i = k_h, j = k_w
    kh, kw = k.shape
    for i in range(ours.shape[0]):
        for j in range(ours.shape[1]):
            total = sum(
                k[u, v] * x[i + kh - 1 - u, j + kw - 1 - v] for u in range(kh) for v in range(kw)
            )
            assert ours[i, j] == pytest.approx(total)


def test_explain_corr2d_writes_every_sum():
    assert explain_corr2d(X, K) == [
        "Y[0,0] = 0×0 + 1×1 + 3×2 + 4×3 = 19",
        "Y[0,1] = 1×0 + 2×1 + 4×2 + 5×3 = 25",
        "Y[1,0] = 3×0 + 4×1 + 6×2 + 7×3 = 37",
        "Y[1,1] = 4×0 + 5×1 + 7×2 + 8×3 = 43",
    ]


def test_explain_corr2d_shows_padding_and_stride():
    assert explain_corr2d(X, K, padding=1, stride=(3, 2)) == [
        "Y[0,0] = 0×0 + 0×1 + 0×2 + 0×3 = 0",
        "Y[0,1] = 0×0 + 0×1 + 1×2 + 2×3 = 8",
        "Y[1,0] = 0×0 + 6×1 + 0×2 + 0×3 = 6",
        "Y[1,1] = 7×0 + 8×1 + 0×2 + 0×3 = 8",
    ]


def test_explain_corr2d_brackets_negative_numbers():
    assert explain_corr2d([[10, 0]], [[1, -1]]) == ["Y[0,0] = 10×1 + 0×(-1) = 10"]
    assert explain_corr2d([[0.5, 2]], [[1, 1]]) == ["Y[0,0] = 0.5×1 + 2×1 = 2.5"]


def test_explain_pool2d_max_and_avg():
    assert explain_pool2d(X, 2, stride=1) == [
        "Y[0,0] = max(0, 1, 3, 4) = 4",
        "Y[0,1] = max(1, 2, 4, 5) = 5",
        "Y[1,0] = max(3, 4, 6, 7) = 7",
        "Y[1,1] = max(4, 5, 7, 8) = 8",
    ]
    assert explain_pool2d(X, 2, stride=1, mode="avg")[0] == "Y[0,0] = (0 + 1 + 3 + 4) / 4 = 2"


def test_explain_pool2d_shows_padding_as_minus_infinity():
    lines = explain_pool2d(X, 2, padding=1)
    assert lines[0] == "Y[0,0] = max(-∞, -∞, -∞, 0) = 0"
    assert lines[-1] == "Y[1,1] = max(4, 5, 7, 8) = 8"


def test_explain_pool2d_leaves_out_the_ceil_mode_overhang():
    lines = explain_pool2d(X, 2, ceil_mode=True, mode="avg")
    assert lines == [
        "Y[0,0] = (0 + 1 + 3 + 4) / 4 = 2",
        "Y[0,1] = (2 + 5) / 2 = 3.5",
        "Y[1,0] = (6 + 7) / 2 = 6.5",
        "Y[1,1] = (8) / 1 = 8",
    ]
    reference = F.avg_pool2d(torch.tensor([[X]], dtype=torch.float32), 2, ceil_mode=True)
    assert reference.flatten().tolist() == [2, 3.5, 6.5, 8]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: corr2d([[1, 2], [3]], K), "X must be a matrix"),
        (lambda: corr2d([1, 2, 3], K), r"X must be a matrix \(h, w\), got shape \(3,\)"),
        (lambda: corr2d(X, [[1] * 4] * 4), "input 3x3 with kernel 4 and padding 0"),
        (
            lambda: corr2d_multi_in(torch.zeros(2, 3, 3), torch.zeros(3, 2, 2)),
            "input has 2 channels but the weight",
        ),
        (lambda: corr2d_multi_in_out(torch.zeros(2, 3, 3), torch.zeros(2, 2, 2)), "c_o, c_i"),
    ],
)
def test_bad_shapes_raise_one_sentence(call, message):
    with pytest.raises(ShapeError, match=message):
        call()
