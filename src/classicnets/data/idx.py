"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun's "THE MNIST DATABASE" page).

An IDX file is: two zero bytes, a type byte (0x08 = unsigned byte, ...), a byte with the number of
dimensions, that many big-endian int32 sizes, then the data. Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError

_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path, expected_md5: str | None = None) -> np.ndarray:
    """Read an IDX file (optionally ``.gz``) into a numpy array, checking its header.

    Args:
        path: the file.
        expected_md5: the official md5, mentioned in the error when the file is damaged.

    Raises:
        CorruptFileError: bad magic number, unknown type, or a length that does not match the
            header (a truncated download), with the file named.
    """
    path = Path(path)

    def damaged(reason: str) -> CorruptFileError:
        hint = ""
        if expected_md5 is not None:
            from .download import md5sum

            actual = md5sum(path)
            if actual != expected_md5:
                hint = f" (md5 {actual}, expected {expected_md5})"
        return CorruptFileError(
            f"{path} is not a valid IDX file: {reason}{hint}; delete it and download it again."
        )

    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        if isinstance(err, FileNotFoundError | PermissionError):
            raise CorruptFileError(f"Cannot read {path}: {err.strerror}.") from None
        raise damaged(f"the gzip stream is broken ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise damaged(f"the magic number is {raw[:4].hex() or 'missing'}, expected 0000TTNN")
    dtype = _TYPES.get(raw[2])
    if dtype is None:
        raise damaged(f"unknown data type byte 0x{raw[2]:02x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise damaged(f"the header declares {ndim} dimensions but is cut short")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise damaged(
            f"the header declares shape {shape} ({expected:,} bytes of data) but the file holds "
            f"{len(raw) - header:,}"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
