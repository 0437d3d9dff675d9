"""The IDX reader: real headers, and one clear error per kind of damage."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from classicnets.data.idx import read_idx
from classicnets.errors import CorruptFileError


def write_idx(path, array: np.ndarray, type_byte: int = 0x08, compress: bool = True) -> None:
    header = bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    raw = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def test_reads_images_and_labels(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x.gz", images)
    write_idx(tmp_path / "y", np.array([7, 1], dtype=np.uint8), compress=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "y"), [7, 1])


def test_reads_big_endian_int32(tmp_path):
    values = np.array([[1, -2], [300000, 4]], dtype=np.int32)
    write_idx(tmp_path / "i.gz", values, type_byte=0x0C)
    np.testing.assert_array_equal(read_idx(tmp_path / "i.gz"), values)


def test_truncated_file_names_file_and_sizes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((10, 28, 28), np.uint8), compress=False)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptFileError, match=r"train-images-idx3-ubyte.*\(10, 28, 28\)"):
        read_idx(path)


def test_bad_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(CorruptFileError, match="magic number"):
        read_idx(path)


def test_unknown_type_byte(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x05")
    with pytest.raises(CorruptFileError, match="data type"):
        read_idx(path)


def test_broken_gzip_reports_md5_mismatch(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    write_idx(path, np.arange(100, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CorruptFileError, match=r"gzip.*md5 [0-9a-f]{32}, expected 0{32}"):
        read_idx(path, expected_md5="0" * 32)


def test_missing_file(tmp_path):
    with pytest.raises(CorruptFileError, match="Cannot read"):
        read_idx(tmp_path / "nope.gz")
