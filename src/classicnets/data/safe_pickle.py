"""A restricted unpickler for dataset files that come as pickles (CIFAR's python form).

Unpickling can call any function a file names, so a crafted file could run code. This one admits
only what numpy arrays pickled by Python 2 or 3 need and refuses every other global before it is
looked up, let alone called.
"""

from __future__ import annotations

import codecs
import io
import pickle

import numpy as np

from ..errors import CorruptFileError


class RefusedPickleError(pickle.UnpicklingError):
    """A pickle asked for a global outside the admitted few."""


# What numpy arrays pickled by Python 2 or 3 need, and nothing else: the reconstructors (under
# their numpy 1 and numpy 2 module names; protocol 5 uses _frombuffer), ndarray and dtype,
# scalars, and the codec that Python 3's protocol 2 uses for bytes. Taken from numpy itself
# rather than imported by the names a file gives, so a pickle cannot pick the module.
_RECONSTRUCT = np.zeros(0).__reduce__()[0]
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]
_SCALAR = np.float64(0).__reduce__()[0]
_ADMITTED = {
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; any other global raises
    :class:`RefusedPickleError` before it is looked up, let alone called."""

    def find_class(self, module: str, name: str):
        try:
            return _ADMITTED[(module, name)]
        except KeyError:
            raise RefusedPickleError(f"{module}.{name}") from None


def unpickle(raw: bytes, source: str) -> object:
    """Read a pickled dataset file with :class:`RestrictedUnpickler`.

    Args:
        raw: the file's bytes.
        source: how to name the file in an error.

    Raises:
        CorruptFileError: the file refers to anything but numpy arrays (it could run code), or
            is not a readable pickle.
    """
    try:
        # latin1 is how Python 3 reads Python 2's byte strings, the arrays' data included.
        return RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except RefusedPickleError as err:
        raise CorruptFileError(
            f"{source} asks to call {err} while unpickling, which a dataset file never does; "
            f"refusing to load it (use the official archive)."
        ) from None
    except Exception as err:  # a damaged pickle raises almost any exception type
        raise CorruptFileError(
            f"{source} is not a readable dataset pickle ({type(err).__name__}: {err}); delete it "
            f"and download it again."
        ) from None
