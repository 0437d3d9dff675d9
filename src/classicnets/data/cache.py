"""A cache of decoded datasets: uint8 ``.npy`` arrays under ``cache_dir()/decoded``.

Decoding an archive or a folder of JPEGs takes seconds to minutes; reading the same arrays back
from ``.npy`` files takes a fraction of a second. An entry lives in a folder named by a hash of the
dataset, the source's path and the decoding options, and records a *fingerprint* of the source
(every file's size and modification time): when the source changes, the fingerprint no longer
matches and the entry is rebuilt. Arrays are written under names that include the fingerprint
and ``meta.json`` is replaced last, so a reader never sees half an entry, even when a writer is
interrupted or two processes build the same entry at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .dataset import ImageDataset
from .download import cache_dir

# Bump when a loader changes what it stores, so old entries are rebuilt rather than misread.
FORMAT_VERSION = 1


def fingerprint(paths: Iterable[str | os.PathLike]) -> str:
    """A hash of each file's resolved path, size and modification time (nanoseconds); folders
    count every file below them."""
    digest = hashlib.sha256()
    for path in paths:
        path = Path(path).resolve()
        files = sorted(_walk(path)) if path.is_dir() else [(str(path), path.stat())]
        for file, stat in files:
            digest.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _walk(folder: Path) -> list[tuple[str, os.stat_result]]:
    """(path, stat) of every file below ``folder``; scandir keeps 100,000 files under a second."""
    found, pending = [], [str(folder)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=True):
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=True):
                    found.append((entry.path, entry.stat()))
    return found


@dataclass
class CacheEntry:
    """Decoded arrays and their JSON-able description (class names, mean, std, ...).

    Arrays are read from disk on first use, so a caller that needs only the test split never
    reads the training images.
    """

    folder: Path
    info: dict[str, Any]
    files: dict[str, str]
    _arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._arrays:
            self._arrays[key] = np.load(self.folder / self.files[key], allow_pickle=False)
        return self._arrays[key]

    def dataset(
        self, name: str, split: str, *, labels: str = "labels", classes: Sequence[str] | None = None
    ) -> ImageDataset:
        """The :class:`ImageDataset` of ``split`` from the arrays ``{split}_images`` and
        ``{split}_{labels}`` and the info's ``classes`` (unless given), ``mean`` and ``std``."""
        return ImageDataset(
            name=name,
            split=split,
            images=torch.from_numpy(self[f"{split}_images"]),
            labels=torch.from_numpy(self[f"{split}_{labels}"].astype(np.int64, copy=False)),
            classes=tuple(self.info["classes"] if classes is None else classes),
            mean=tuple(self.info["mean"]),
            std=tuple(self.info["std"]),
        )


def cached(
    name: str,
    sources: Iterable[str | os.PathLike],
    options: Mapping[str, Any],
    build: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]],
) -> CacheEntry:
    """The decoded dataset from the cache, or ``build()``'s result, which is then cached.

    Args:
        name: the dataset's registry name (a folder under the cache).
        sources: the files or folders the data is decoded from.
        options: anything else that changes the decoded arrays (image size, format).
        build: returns ``(arrays, info)``: named numpy arrays and JSON-able facts about them.

    Returns:
        A :class:`CacheEntry`. If the cache cannot be written (read-only disk, full disk), the
        freshly built arrays are returned all the same, with a warning.
    """
    sources = [Path(s).resolve() for s in sources]
    key = json.dumps(
        {"sources": [str(s) for s in sources], "options": dict(options), "v": FORMAT_VERSION},
        sort_keys=True,
    )
    folder = cache_dir() / "decoded" / name / hashlib.sha256(key.encode()).hexdigest()[:20]
    stamp = fingerprint(sources)
    entry = _read(folder, stamp)
    if entry is not None:
        return entry
    arrays, info = build()
    files = {k: f"{k}-{stamp[:16]}.npy" for k in arrays}
    try:
        _write(folder, stamp, arrays, info, files)
    except OSError as err:
        warnings.warn(
            f"Could not cache decoded {name} in {folder} ({err.strerror or err}); the next load "
            f"will decode it again.",
            stacklevel=2,
        )
    return CacheEntry(folder, info, files, dict(arrays))


def _read(folder: Path, stamp: str) -> CacheEntry | None:
    """The entry in ``folder`` if it is complete and matches ``stamp``; None otherwise."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("fingerprint") != stamp or meta.get("version") != FORMAT_VERSION:
        return None
    files = meta.get("files", {})
    if not all((folder / f).is_file() for f in files.values()):
        return None
    return CacheEntry(folder, meta.get("info", {}), files)


def _write(
    folder: Path,
    stamp: str,
    arrays: Mapping[str, np.ndarray],
    info: Mapping[str, Any],
    files: Mapping[str, str],
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tag = f".tmp-{os.getpid()}"
    for key, array in arrays.items():
        tmp = folder / (files[key] + tag)
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(tmp, folder / files[key])
    meta = {"version": FORMAT_VERSION, "fingerprint": stamp, "files": dict(files), "info": info}
    tmp = folder / ("meta.json" + tag)
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, folder / "meta.json")
    keep = {*files.values(), "meta.json"}
    for old in folder.iterdir():  # arrays of a stale entry
        if old.name not in keep and not old.name.endswith(tag) and ".tmp-" not in old.name:
            old.unlink(missing_ok=True)


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and standard deviation of uint8 images (N, C, H, W), in [0, 1],
    from a 256-bin histogram per channel (no float copy of the images)."""
    values = np.arange(256, dtype=np.float64) / 255.0
    means, stds = [], []
    for c in range(images.shape[1]):
        counts = np.bincount(images[:, c].reshape(-1), minlength=256).astype(np.float64)
        total = counts.sum()
        mean = float((counts * values).sum() / total) if total else 0.0
        var = float((counts * (values - mean) ** 2).sum() / total) if total else 0.0
        means.append(round(mean, 4))
        stds.append(round(var**0.5, 4))
    return tuple(means), tuple(stds)
