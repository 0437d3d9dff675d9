"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny
Images"), read from the official distributions of https://www.cs.toronto.edu/~kriz/cifar.html.

Both come in two forms, each as a tar archive (any compression ``tarfile`` knows: the official
``.tar.gz``, or an ``.tar.xz`` copy) or as its extracted folder:

- binary: records of label byte(s) then 3,072 pixel bytes, the 32x32 R, G, B planes in turn.
  CIFAR-10 has one label byte and batches ``data_batch_1..5.bin``, ``test_batch.bin``; CIFAR-100
  has two (coarse, fine) in ``train.bin``, ``test.bin``. Class names are text files, one a line.
- python: pickled dicts (``data``: uint8 (N, 3072) in the same order, ``labels`` or
  ``fine_labels``/``coarse_labels``). Pickles can run code, so they are read with
  :func:`.safe_pickle.unpickle`, which admits numpy arrays and refuses anything else.

Decoded arrays are cached (see :mod:`.cache`); missing files are downloaded in binary form.
"""

from __future__ import annotations

import lzma
import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ClassicnetsError, CorruptFileError, DatasetNotFoundError
from ._registry import register_dataset
from .cache import cached, channel_stats
from .dataset import ImageDataset
from .download import RemoteFile, candidate_dirs, download_dir, fetch
from .safe_pickle import unpickle

PIXELS = 3 * 32 * 32  # bytes of one image in both forms
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar")
_URL = "https://www.cs.toronto.edu/~kriz/"


@dataclass(frozen=True)
class CifarLayout:
    """File names of one CIFAR dataset in its two official forms."""

    name: str
    title: str
    bin_folder: str  # what the binary archive extracts to
    py_folder: str
    bin_archive: str  # stem; any suffix of ARCHIVE_SUFFIXES
    py_archive: str
    bin_train: tuple[str, ...]
    bin_test: tuple[str, ...]
    py_train: tuple[str, ...]
    py_test: tuple[str, ...]
    bin_names: dict[str, str]  # label kind -> text file of class names
    py_meta: str
    py_keys: dict[str, str]  # label kind -> key of the labels in a batch
    num_classes: dict[str, int]  # label kind -> classes; binary records hold them in this order
    remote: RemoteFile


CIFAR10 = CifarLayout(
    name="cifar10",
    title="CIFAR-10",
    bin_folder="cifar-10-batches-bin",
    py_folder="cifar-10-batches-py",
    bin_archive="cifar-10-binary",
    py_archive="cifar-10-python",
    bin_train=tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    bin_test=("test_batch.bin",),
    py_train=tuple(f"data_batch_{i}" for i in range(1, 6)),
    py_test=("test_batch",),
    bin_names={"fine": "batches.meta.txt"},
    py_meta="batches.meta",
    py_keys={"fine": "labels"},
    num_classes={"fine": 10},
    # md5 as listed beside the download on the CIFAR page
    remote=RemoteFile(
        "cifar-10-binary.tar.gz",
        "c32a1d4ab5d03f1284b67883e8d87530",
        (_URL + "cifar-10-binary.tar.gz",),
    ),
)
CIFAR100 = CifarLayout(
    name="cifar100",
    title="CIFAR-100",
    bin_folder="cifar-100-binary",
    py_folder="cifar-100-python",
    bin_archive="cifar-100-binary",
    py_archive="cifar-100-python",
    bin_train=("train.bin",),
    bin_test=("test.bin",),
    py_train=("train",),
    py_test=("test",),
    bin_names={"coarse": "coarse_label_names.txt", "fine": "fine_label_names.txt"},
    py_meta="meta",
    py_keys={"coarse": "coarse_labels", "fine": "fine_labels"},
    num_classes={"coarse": 20, "fine": 100},
    remote=RemoteFile(
        "cifar-100-binary.tar.gz",
        "03b5dce01913d631647c71ecec9e9cb8",
        (_URL + "cifar-100-binary.tar.gz",),
    ),
)


# ----------------------------------------------------------------------------- finding files
def _archive_in(folder: Path, stem: str) -> Path | None:
    for suffix in ARCHIVE_SUFFIXES:
        if (folder / (stem + suffix)).is_file():
            return folder / (stem + suffix)
    return None


def find_source(layout: CifarLayout, root: str | os.PathLike | None = None):
    """The first form of the dataset on disk, as ``(folder, path, form)``: the searched folder,
    an archive or extracted folder in it, and ``"bin"`` or ``"py"``. None when there is none.

    Each searched folder (see :func:`.download.candidate_dirs`) may hold the extracted folder,
    the archive, or be the extracted folder itself; binary is preferred (no pickle).
    """
    for folder in candidate_dirs(layout.name, root):
        for form, sub, stem, first in (
            ("bin", layout.bin_folder, layout.bin_archive, layout.bin_train[0]),
            ("py", layout.py_folder, layout.py_archive, layout.py_train[0]),
        ):
            if (folder / first).is_file():
                return folder, folder, form
            if (folder / sub / first).is_file():
                return folder, folder / sub, form
            archive = _archive_in(folder, stem)
            if archive is not None:
                return folder, archive, form
    return None


def locate(layout: CifarLayout, root: str | os.PathLike | None = None) -> Path | None:
    """The folder the dataset would be read from (for ``classicnets data``)."""
    found = find_source(layout, root)
    return found[0] if found else None


def _source_or_download(layout: CifarLayout, root) -> tuple[Path, str]:
    found = find_source(layout, root)
    if found is not None:
        return found[1:]
    try:
        return fetch(layout.remote, download_dir(layout.name, root)), "bin"
    except (OSError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
    where = ", ".join(str(d) for d in dict.fromkeys(candidate_dirs(layout.name, root)))
    raise DatasetNotFoundError(
        f"Dataset '{layout.name}' was not found and could not be downloaded ({reason}); looked "
        f"in {where} for {layout.remote.filename} (or {layout.py_archive}.tar.gz, or the "
        f"extracted {layout.bin_folder}/); put one of them in a folder and pass it with "
        f"--data-dir (or set CLASSICNETS_DATA)."
    )


def read_members(path: Path, names: list[str]) -> dict[str, bytes]:
    """The bytes of each of ``names`` from an extracted folder or a tar archive (read in one
    streaming pass: seeking in a compressed archive would decompress it again).

    Raises:
        CorruptFileError: a file is missing, or the archive cannot be read.
    """
    found: dict[str, bytes] = {}
    if path.is_dir():
        for name in names:
            if (path / name).is_file():
                found[name] = (path / name).read_bytes()
    else:
        wanted = set(names)
        try:
            with tarfile.open(path, "r|*") as tar:
                for member in tar:
                    base = member.name.rsplit("/", 1)[-1]
                    if member.isfile() and base in wanted and base not in found:
                        found[base] = tar.extractfile(member).read()
        except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error) as err:
            raise CorruptFileError(
                f"Cannot read {path} as a tar archive ({err}); delete it and download it again."
            ) from None
    missing = [n for n in names if n not in found]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        kind = "archive" if path.is_file() else "folder"
        raise CorruptFileError(
            f"{path} lacks {missing[0]}{more}; the {kind} is incomplete, so delete it and "
            f"download it again."
        )
    return found


# ---------------------------------------------------------------------------------- decoding
def parse_records(raw: bytes, label_bytes: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Binary-form records -> (images uint8 (N, 3, 32, 32), labels uint8 (N, label_bytes))."""
    size = label_bytes + PIXELS
    if not raw or len(raw) % size:
        raise CorruptFileError(
            f"{source} holds {len(raw):,} bytes, not a whole number of {size:,}-byte records "
            f"({label_bytes} label byte(s) + {PIXELS:,} pixels); the file is truncated or not a "
            f"CIFAR binary batch."
        )
    records = np.frombuffer(raw, np.uint8).reshape(-1, size)
    return records[:, label_bytes:].reshape(-1, 3, 32, 32), records[:, :label_bytes]


def _check_labels(labels: np.ndarray, num_classes: int, kind: str, source: str) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise CorruptFileError(
            f"{source} holds {kind} label {labels[bad[0]]} at record {bad[0]}, outside "
            f"0..{num_classes - 1}; the file is damaged."
        )
    return labels


def _names(text: bytes, source: str, count: int) -> list[str]:
    names = [line.strip() for line in text.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(names) != count:
        raise CorruptFileError(f"{source} lists {len(names)} class names, expected {count}.")
    return names


def _decode_bin(layout: CifarLayout, path: Path):
    kinds = list(layout.num_classes)  # record order: coarse before fine
    texts = list(layout.bin_names.values())
    raw = read_members(path, [*layout.bin_train, *layout.bin_test, *texts])
    arrays, classes = {}, {}
    for kind, text in layout.bin_names.items():
        classes[kind] = _names(raw[text], f"{path}/{text}", layout.num_classes[kind])
    for split, files in (("train", layout.bin_train), ("test", layout.bin_test)):
        parts = [parse_records(raw.pop(f), len(kinds), f"{path}/{f}") for f in files]
        arrays[f"{split}_images"] = np.concatenate([p[0] for p in parts])
        for i, kind in enumerate(kinds):
            labels = [
                _check_labels(p[1][:, i], layout.num_classes[kind], kind, f"{path}/{f}")
                for p, f in zip(parts, files, strict=True)
            ]
            arrays[f"{split}_{kind}"] = np.concatenate(labels)
    return arrays, classes


def _as_str_keys(obj: object, source: str) -> dict:
    if not isinstance(obj, dict):
        raise CorruptFileError(f"{source} holds a {type(obj).__name__}, not a CIFAR batch dict.")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _decode_py(layout: CifarLayout, path: Path):
    raw = read_members(path, [*layout.py_train, *layout.py_test, layout.py_meta])
    source = f"{path}/{layout.py_meta}"
    meta = _as_str_keys(unpickle(raw[layout.py_meta], source), source)
    classes = {}
    for kind, key in layout.py_keys.items():
        names_key = key[: -len("labels")] + "label_names"  # labels -> label_names, ...
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(names_key, [])]
        if len(names) != layout.num_classes[kind]:
            raise CorruptFileError(
                f"{path}/{layout.py_meta} lists {len(names)} {names_key}, expected "
                f"{layout.num_classes[kind]}."
            )
        classes[kind] = names
    arrays = {}
    for split, files in (("train", layout.py_train), ("test", layout.py_test)):
        images, labels = [], {kind: [] for kind in layout.py_keys}
        for f in files:
            source = f"{path}/{f}"
            batch = _as_str_keys(unpickle(raw.pop(f), source), source)
            data = batch.get("data")
            if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != PIXELS:
                shape = getattr(data, "shape", None)
                raise CorruptFileError(
                    f"{source} has no 'data' array of shape (N, {PIXELS}) (found {shape}); it is "
                    f"not a CIFAR python batch."
                )
            images.append(data.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32))
            for kind, key in layout.py_keys.items():
                found = np.asarray(batch.get(key, []))
                if found.shape != (len(data),):
                    raise CorruptFileError(
                        f"{source} has {found.size} '{key}' for {len(data)} images."
                    )
                labels[kind].append(_check_labels(found, layout.num_classes[kind], kind, source))
        arrays[f"{split}_images"] = np.concatenate(images)
        for kind in layout.py_keys:
            arrays[f"{split}_{kind}"] = np.concatenate(labels[kind])
    return arrays, classes


def load_cifar(layout: CifarLayout, split: str, root=None, label: str = "fine") -> ImageDataset:
    """One split of a CIFAR dataset, decoded once and then read from the cache.

    Args:
        layout: :data:`CIFAR10` or :data:`CIFAR100`.
        split: ``"train"`` or ``"test"``.
        root: a folder holding an archive or its extracted folder (``--data-dir``).
        label: ``"fine"`` or (CIFAR-100 only) ``"coarse"``, the 20 superclasses.
    """
    if label not in layout.num_classes:
        raise ClassicnetsError(
            f"--label must be one of {', '.join(sorted(layout.num_classes))} for "
            f"{layout.name}, got '{label}'."
        )
    path, form = _source_or_download(layout, root)

    def build():
        arrays, classes = (_decode_bin if form == "bin" else _decode_py)(layout, path)
        mean, std = channel_stats(arrays["train_images"])
        return arrays, {"classes": classes, "mean": mean, "std": std}

    entry = cached(layout.name, [path], {"form": form}, build)
    return entry.dataset(layout.name, split, labels=label, classes=entry.info["classes"][label])


@register_dataset(
    "cifar10",
    description="CIFAR-10, 50,000 + 10,000 colour 32x32 images of 10 classes (Krizhevsky 2009)",
    image_shape=(3, 32, 32),
    num_classes=10,
    files=(CIFAR10.remote.filename,),
    locate=lambda root: locate(CIFAR10, root),
)
def load_cifar10(split: str, root=None) -> ImageDataset:
    return load_cifar(CIFAR10, split, root)


@register_dataset(
    "cifar100",
    description="CIFAR-100, 50,000 + 10,000 colour 32x32 images of 100 classes, or of their "
    "20 superclasses with --label coarse (Krizhevsky 2009)",
    image_shape=(3, 32, 32),
    num_classes=100,
    files=(CIFAR100.remote.filename,),
    options=("label",),
    locate=lambda root: locate(CIFAR100, root),
)
def load_cifar100(split: str, root=None, label: str = "fine") -> ImageDataset:
    return load_cifar(CIFAR100, split, root, label)
