"""Tiny files in each official dataset format, written from scratch for the data tests."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

CIFAR10_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def cifar_records(images: np.ndarray, *label_columns: np.ndarray) -> bytes:
    """Binary-form records: the label byte(s), then the 3,072 pixel bytes of each image."""
    labels = np.stack(label_columns, 1).astype(np.uint8)
    return np.concatenate([labels, images.reshape(len(images), -1)], 1).tobytes()


def random_images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)


def write_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    """A tar archive holding ``files`` (member name -> content)."""
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def cifar10_binary(per_batch: int = 3, seed: int = 0) -> tuple[dict[str, bytes], dict]:
    """The members of a CIFAR-10 binary archive (``cifar-10-batches-bin/...``) and what they
    hold: ``{"train": (images, labels), "test": (...)}``."""
    files, truth = {}, {}
    rng = np.random.default_rng(seed)
    parts = {"train": [], "test": []}
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        images = random_images(per_batch, seed + i)
        labels = rng.integers(0, 10, per_batch)
        files[f"cifar-10-batches-bin/{name}"] = cifar_records(images, labels)
        parts["test" if name.startswith("test") else "train"].append((images, labels))
    for split, chunks in parts.items():
        truth[split] = (
            np.concatenate([c[0] for c in chunks]),
            np.concatenate([c[1] for c in chunks]),
        )
    files["cifar-10-batches-bin/batches.meta.txt"] = ("\n".join(CIFAR10_NAMES) + "\n\n").encode()
    return files, truth


def cifar100_truth(n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    truth = {}
    for split, n in (("train", n_train), ("test", n_test)):
        fine = rng.integers(0, 100, n)
        truth[split] = (random_images(n, seed + n), fine // 5, fine)  # images, coarse, fine
    truth["fine_names"] = [f"fine{i}" for i in range(100)]
    truth["coarse_names"] = [f"coarse{i}" for i in range(20)]
    return truth


def cifar100_binary(truth: dict) -> dict[str, bytes]:
    files = {}
    for split in ("train", "test"):
        images, coarse, fine = truth[split]
        files[f"cifar-100-binary/{split}.bin"] = cifar_records(images, coarse, fine)
    for kind in ("fine", "coarse"):
        text = "\n".join(truth[f"{kind}_names"]) + "\n"
        files[f"cifar-100-binary/{kind}_label_names.txt"] = text.encode()
    return files


def cifar100_python(truth: dict) -> dict[str, bytes]:
    """As Python 3 writes it with protocol 2 and byte-string keys."""
    files = {}
    for split in ("train", "test"):
        images, coarse, fine = truth[split]
        batch = {
            b"data": images.reshape(len(images), -1),
            b"fine_labels": fine.tolist(),
            b"coarse_labels": coarse.tolist(),
            b"filenames": [b"x.png"] * len(images),
        }
        files[f"cifar-100-python/{split}"] = pickle.dumps(batch, protocol=2)
    meta = {
        b"fine_label_names": [n.encode() for n in truth["fine_names"]],
        b"coarse_label_names": [n.encode() for n in truth["coarse_names"]],
    }
    files["cifar-100-python/meta"] = pickle.dumps(meta, protocol=2)
    return files


# --- a Python 2 cPickle (protocol 2) stream, opcode by opcode, as the official files were made
def _py2_str(s: bytes) -> bytes:
    return (b"U" + bytes([len(s)]) + s) if len(s) < 256 else (b"T" + struct.pack("<i", len(s)) + s)


def _py2_int(i: int) -> bytes:
    return b"K" + bytes([i]) if 0 <= i < 256 else b"J" + struct.pack("<i", i)


def _py2_value(value) -> bytes:
    if isinstance(value, str):
        return _py2_str(value.encode())
    if isinstance(value, int):
        return _py2_int(value)
    if isinstance(value, list):
        return b"](" + b"".join(_py2_value(v) for v in value) + b"e"
    assert isinstance(value, np.ndarray) and value.dtype == np.uint8
    dtype = (
        b"cnumpy\ndtype\n" + _py2_str(b"u1") + _py2_int(0) + _py2_int(1) + b"\x87R"
        b"("
        + _py2_int(3)
        + _py2_str(b"|")
        + b"NNN"
        + _py2_int(-1)
        + _py2_int(-1)
        + _py2_int(0)
        + b"tb"
    )
    shape = b"(" + b"".join(_py2_int(d) for d in value.shape) + b"t"
    return (
        b"cnumpy.core.multiarray\n_reconstruct\n"
        + b"cnumpy\nndarray\n"
        + _py2_int(0)
        + b"\x85"
        + _py2_str(b"b")
        + b"\x87R"
        + b"("
        + _py2_int(1)
        + shape
        + dtype
        + b"\x89"
        + _py2_str(value.tobytes())
        + b"tb"
    )


def py2_pickle(obj: dict) -> bytes:
    """``obj`` (str keys; str, int, list or uint8-array values) pickled the way Python 2's
    cPickle.dump(obj, f, 2) writes it: byte strings, numpy 1's module names."""
    items = b"".join(_py2_value(k) + _py2_value(v) for k, v in obj.items())
    return b"\x80\x02}(" + items + b"u."


def cifar10_python(per_batch: int = 2, seed: int = 0) -> tuple[dict[str, bytes], dict]:
    files, parts = {}, {"train": [], "test": []}
    rng = np.random.default_rng(seed)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        images = random_images(per_batch, seed + 10 + i)
        labels = rng.integers(0, 10, per_batch)
        batch = {
            "batch_label": "batch",
            "labels": labels.tolist(),
            "data": images.reshape(per_batch, -1),
        }
        files[f"cifar-10-batches-py/{name}"] = py2_pickle(batch)
        parts["test" if name.startswith("test") else "train"].append((images, labels))
    files["cifar-10-batches-py/batches.meta"] = py2_pickle(
        {"label_names": CIFAR10_NAMES, "num_vis": 3072}
    )
    truth = {
        s: (np.concatenate([c[0] for c in p]), np.concatenate([c[1] for c in p]))
        for s, p in parts.items()
    }
    return files, truth


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def save_image(path: Path, array: np.ndarray, fmt: str | None = None) -> Path:
    """Write an (H, W) or (H, W, C) uint8 array as an image file."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)
    return path
