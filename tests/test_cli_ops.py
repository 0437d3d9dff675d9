"""The ``conv``, ``pool``, ``shape`` and ``kernels`` commands: what they print, what they write,
and one clear sentence (exit code 2) for every mistake the issue lists."""

from __future__ import annotations

import re

import pytest

from classicnets.cli import main

X = "0 1 2; 3 4 5; 6 7 8"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_conv_prints_matrices_and_every_sum(capsys):
    code, out, err = run(capsys, "conv", "--input", X, "--kernel", "0 1; 2 3", "--explain")
    assert code == 0 and not err
    for title in ("X (3×3)", "K (2×2)", "Y = X ⋆ K (2×2)"):
        assert title in out
    assert "Y[0,0] = 0×0 + 1×1 + 3×2 + 4×3 = 19" in out
    assert "Y[1,1] = 4×0 + 5×1 + 7×2 + 8×3 = 43" in out
    assert "height: ⌊(3 + 2×0 − 2) / 1⌋ + 1 = 2" in out


def test_conv_with_commas_padding_and_two_strides(capsys):
    code, out, _ = run(
        capsys, "conv", "-i", "0,1,2;3,4,5;6,7,8", "-k", "0,1;2,3", "-p", "1", "-s", "3,2",
        "--explain",
    )  # fmt: skip
    assert code == 0
    sums = [line for line in out.splitlines() if line.startswith("Y[")]
    assert [line.rsplit("= ", 1)[1] for line in sums] == ["0", "8", "6", "8"]
    assert "width: ⌊(3 + 2×1 − 2) / 2⌋ + 1 = 2" in out


def test_conv_without_explain_prints_no_sums(capsys):
    code, out, _ = run(capsys, "conv", "--input", X, "--kernel", "0 1; 2 3")
    assert code == 0
    assert "Y[0,0]" not in out
    assert re.search(r"\b19\s+25\b", out) and re.search(r"\b37\s+43\b", out)


def test_true_convolution_flips_the_kernel(capsys):
    argv = ("conv", "--input", X, "--kernel", "0 1; 2 3", "--true-convolution", "--explain")
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "K flipped" in out and "Y = X * K" in out
    assert "Y[0,0] = 0×3 + 1×2 + 3×1 + 4×0 = 5" in out
    assert "Y[1,1] = 4×3 + 5×2 + 7×1 + 8×0 = 29" in out


def test_pool_max_and_avg(capsys):
    code, out, _ = run(capsys, "pool", "--input", X, "--size", "2", "--stride", "1", "--explain")
    assert code == 0
    assert "Y[0,0] = max(0, 1, 3, 4) = 4" in out and "Y[1,1] = max(4, 5, 7, 8) = 8" in out
    argv = ("pool", "-i", "3 4 6 5; 2 4 6 8; 1 6 7 5; 9 7 4 6", "--explain")
    code, out, _ = run(capsys, *argv)
    sums = [line.rsplit("= ", 1)[1] for line in out.splitlines() if line.startswith("Y[")]
    assert code == 0 and sums == ["4", "8", "9", "7"]
    code, out, _ = run(capsys, "pool", "-i", X, "--stride", "1", "--mode", "avg", "--explain")
    assert code == 0 and "Y[0,0] = (0 + 1 + 3 + 4) / 4 = 2" in out


def test_shape_prints_each_layer_and_its_receptive_field(capsys):
    code, out, err = run(capsys, "shape", "lenet5")
    assert code == 0 and not err
    assert re.search(r"features\.5\s+│\s+AvgPool2d\s+│\s+16×5×5\s+│\s+16×16\s+│\s+4×4", out)
    assert re.search(r"head\.0\s+│\s+Flatten\s+│\s+400\s+│\s+—", out)
    assert "sees 16×16 pixels of the 1×28×28 input" in out


def test_shape_with_another_input_size(capsys):
    code, out, _ = run(capsys, "shape", "lenet5", "--input", "1x32x32")
    assert code == 0 and "16×6×6" in out and "576" in out


def test_kernels_writes_a_png_grid(capsys, tmp_path):
    target = tmp_path / "grid.png"
    argv = ("kernels", "--image", "coins", "--kernel", "sobel_x", "sharpen", "--out", str(target))
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in out and "2 kernels" in out


def test_kernels_out_is_a_png_file_and_never_overwritten_unasked(capsys, tmp_path):
    folder = tmp_path / "figures"
    folder.mkdir()
    code, _, err = run(capsys, "kernels", "--kernel", "edge", "--out", str(folder))
    assert code == 2 and "is a folder; name a file, e.g." in err and not list(folder.iterdir())
    code, _, err = run(capsys, "kernels", "--kernel", "edge", "--out", str(tmp_path / "k.jpg"))
    assert code == 2 and "must name a .png file" in err
    mine = folder / "mine.png"
    mine.write_bytes(b"my own picture")
    code, _, err = run(capsys, "kernels", "--kernel", "edge", "--out", str(mine))
    assert code == 2 and "exists; pass --force" in err and mine.read_bytes() == b"my own picture"
    code, out, _ = run(capsys, "kernels", "--kernel", "edge", "--out", str(mine), "--force")
    assert code == 0 and mine.read_bytes()[:4] == b"\x89PNG" and f"wrote {mine}" in out


def test_kernels_from_an_image_file(capsys, tmp_path):
    import numpy as np
    import skimage.io

    source = tmp_path / "tiny.png"
    skimage.io.imsave(source, (np.arange(400).reshape(20, 20) % 256).astype(np.uint8))
    target = tmp_path / "out.png"
    code, _, _ = run(capsys, "kernels", "--image", str(source), "--kernel", "edge", "--out",
                     str(target))  # fmt: skip
    assert code == 0 and target.exists()


def test_kernels_list(capsys):
    code, out, _ = run(capsys, "kernels", "--list")
    assert code == 0
    assert "gaussian_blur" in out and "0.0625" in out and "emboss" in out


def _garbage(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"this is not a picture")
    return str(path)


BAD = [
    (("conv", "-i", "0 1 2; 3 4", "-k", "1"), "--input: row 2 has 2 numbers but row 1 has 3"),
    (("conv", "-i", X, "-k", "0 a; 2 3"), "--kernel: 'a' is not a number"),
    (("conv", "-i", ";", "-k", "1"), "--input is empty"),
    (
        ("conv", "-i", X, "-k", "1 1 1 1; 1 1 1 1; 1 1 1 1; 1 1 1 1"),
        "conv2d: input 3x3 with kernel 4 and padding 0 gives an empty output (3 - 4 + 0 + 1 = 0)",
    ),
    (("conv", "-i", X, "-k", "0 1; 2 3", "-s", "0"), "stride must be a positive integer, got 0"),
    (("conv", "-i", X, "-k", "0 1; 2 3", "-s", "1.5"), "--stride: '1.5' is not N or H,W"),
    (("conv", "-i", X, "-k", "0 1; 2 3", "-p", "-1"), "padding must not be negative, got -1"),
    (("pool", "-i", X, "--size", "5"), "pool2d: input 3x3 with kernel 5 and padding 0 gives"),
    (("pool", "-i", X, "--size", "2", "-s", "0,1"), "stride must be a positive integer, got 0"),
    (("pool", "-i", X, "--size", "2", "-p", "2"), "padding 2 is more than half the kernel"),
    (("kernels", "--kernel", "sobelx"), "Unknown kernel 'sobelx'. Did you mean 'sobel_x'?"),
    (("kernels", "--image", "no/such/file.png"), "Image 'no/such/file.png' is neither"),
    (("kernels", "--image", "GARBAGE"), "as an image"),
    (("shape", "lenet_5"), "Unknown model 'lenet_5'. Did you mean 'lenet5'?"),
    (("shape", "lenet5", "--input", "28x28"), "--input: '28x28' is not CxHxW"),
    (("shape", "lenet5", "--input", "1x2x2"), "at least 12x12 pixels, got 2x2"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a[:3]) for a, _ in BAD])
def test_bad_input_is_one_clear_sentence(capsys, tmp_path, argv, message):
    argv = tuple(_garbage(tmp_path) if a == "GARBAGE" else a for a in argv)
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in err + out
