"""The classic kernels: their published matrices, the edge-detection example of course notes, and
apply_kernel against scipy's correlation on the scikit-image photos."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import skimage.data
import torch

from classicnets.errors import ShapeError, UnknownNameError
from classicnets.ops import apply_kernel, get_kernel, list_kernels

PUBLISHED = {
    "vertical_edge": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal_edge": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "sobel_x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel_y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
}


def test_every_classic_kernel_is_listed():
    expected = set(PUBLISHED) | {"gaussian_blur", "box_blur"}
    assert set(list_kernels()) == expected
    assert list_kernels() == sorted(list_kernels())


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_matrices(name):
    kernel = get_kernel(name)
    assert kernel.dtype == torch.float32
    assert kernel.tolist() == PUBLISHED[name]


def test_blurs_are_scaled_means():
    gaussian = torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    torch.testing.assert_close(get_kernel("gaussian_blur"), gaussian)
    torch.testing.assert_close(get_kernel("box_blur"), torch.full((3, 3), 1 / 9))


def test_horizontal_kernels_are_the_transposes_of_the_vertical_ones():
    assert torch.equal(get_kernel("horizontal_edge"), get_kernel("vertical_edge").T)
    assert torch.equal(get_kernel("sobel_y"), get_kernel("sobel_x").T)


def test_get_kernel_returns_a_copy_and_forgives_spelling():
    get_kernel("sharpen")[1, 1] = 0
    assert get_kernel("sharpen")[1, 1] == 5
    assert torch.equal(get_kernel("Sobel-X"), get_kernel("sobel_x"))


def test_unknown_kernel_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Unknown kernel 'sobelx'. Did you mean 'sobel_x'"):
        get_kernel("sobelx")


def test_vertical_edge_finds_the_edge_of_the_10_0_image():
    image = torch.tensor([[10, 10, 10, 0, 0, 0]] * 6)
    assert apply_kernel(image, "vertical_edge").tolist() == [[0, 30, 30, 0]] * 4
    assert apply_kernel(image.T, "vertical_edge").tolist() == [[0, 0, 0, 0]] * 4


def test_apply_kernel_matches_scipy_on_the_camera_photo():
    photo = skimage.data.camera()[200:264, 200:280]  # a 64x80 crop keeps the test fast
    for name in ("sobel_x", "gaussian_blur", "emboss"):
        kernel = get_kernel(name).double().numpy()
        expected = scipy.signal.correlate2d(photo.astype(np.float64), kernel, mode="valid")
        np.testing.assert_allclose(apply_kernel(photo, name).numpy(), expected, rtol=1e-5)


def test_apply_kernel_filters_each_colour_channel_on_its_own():
    photo = skimage.data.astronaut()[:40, :50]  # (40, 50, 3)
    out = apply_kernel(photo, [[0, 1], [-1, 0]])
    assert out.shape == (39, 49, 3)
    for c in range(3):
        channel = photo[..., c].astype(np.float64)
        expected = scipy.signal.correlate2d(channel, [[0, 1], [-1, 0]], mode="valid")
        np.testing.assert_allclose(out[..., c].numpy(), expected)


@pytest.mark.parametrize(
    ("image", "kernel", "message"),
    [
        (np.zeros(5), "identity", r"image must be \(H, W\) or \(H, W, C\)"),
        (np.zeros((5, 5)), [1, 2, 3], "kernel must be a matrix"),
        (np.zeros((2, 2)), "identity", "input 2x2 with kernel 3 and padding 0"),
    ],
)
def test_apply_kernel_bad_shapes(image, kernel, message):
    with pytest.raises(ShapeError, match=message):
        apply_kernel(image, kernel)


def test_photo_loader_and_grid(tmp_path):
    from classicnets.viz.kernels import load_photo, plot_kernel_grid

    coins = load_photo("coins")
    assert coins.shape == (303, 384) and 0 <= coins.min() and coins.max() <= 1
    path = plot_kernel_grid(coins[:64, :64], ["sobel_x", "box_blur"], tmp_path / "a" / "k.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
