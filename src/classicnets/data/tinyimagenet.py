"""TinyImageNet (Stanford CS231N, 2015: "Tiny ImageNet Visual Recognition Challenge"): 200 classes
of 64x64 colour images, 500 training and 50 validation images per class.

The official ``tiny-imagenet-200`` tree, extracted or still in its zip::

    wnids.txt                              the 200 WordNet ids, one a line
    words.txt                              "<wnid>\\t<names, comma separated>" (class names)
    train/<wnid>/images/<wnid>_<i>.JPEG
    val/images/val_<i>.JPEG, val/val_annotations.txt  "<file>\\t<wnid>\\t<box>"
    test/images/...                        unlabelled, not used

The labelled validation set is this dataset's ``test`` split. Classes are the sorted wnids, named
by the first name words.txt gives. Grey JPEGs are converted to RGB.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, DatasetNotFoundError
from ._registry import register_dataset
from .cache import cached, channel_stats
from .dataset import ImageDataset
from .download import RemoteFile, candidate_dirs, download_dir, fetch
from .folder import decode_images

NAME = "tinyimagenet"
TREE = "tiny-imagenet-200"
SIZE = 64
# URL and md5 as distributed for Stanford's CS231N course.
REMOTE = RemoteFile(
    "tiny-imagenet-200.zip",
    "90528d7ca1a48142e341f4ef8d21d0de",
    ("http://cs231n.stanford.edu/tiny-imagenet-200.zip",),
)


class Tree:
    """The files of a ``tiny-imagenet-200`` tree, from a folder or from the zip, by their path
    relative to the tree's top (``train/n01443537/images/n01443537_0.JPEG``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            top = str(path)
            self.names = {
                os.path.relpath(os.path.join(d, f), top).replace(os.sep, "/")
                for d, _, files in os.walk(top)
                for f in files
            }
            self._prefix = ""
        else:
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as err:
                raise CorruptFileError(
                    f"Cannot read {path} as a zip archive ({err}); delete it and download it again."
                ) from None
            members = [n for n in self._zip.namelist() if not n.endswith("/")]
            self._prefix = f"{TREE}/" if all(n.startswith(f"{TREE}/") for n in members) else ""
            self.names = {n[len(self._prefix) :] for n in members}

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def where(self, name: str) -> str:
        """How to name a file of the tree in a message."""
        return f"{self.path}/{name}" if self._zip is None else f"{self.path}:{self._prefix}{name}"

    def read(self, name: str) -> bytes:
        if self._zip is None:
            return (self.path / name).read_bytes()
        try:
            return self._zip.read(self._prefix + name)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise CorruptFileError(
                f"Cannot read {self.where(name)} ({err}); the zip is damaged, download it again."
            ) from None

    def text(self, name: str, why: str) -> list[str]:
        """Non-empty lines of a text file of the tree; ``why`` says what it is needed for."""
        if name not in self:
            raise CorruptFileError(
                f"{self.where(name)} is missing; it {why}, so the TinyImageNet tree is "
                f"incomplete (extract {REMOTE.filename} again)."
            )
        return [ln.strip() for ln in self.read(name).decode("utf-8").splitlines() if ln.strip()]

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def find_tree(root: str | os.PathLike | None = None) -> tuple[Path, Path] | None:
    """``(searched folder, tree folder or zip)`` of the first copy on disk, or None."""
    for folder in candidate_dirs(NAME, root):
        for path in (folder, folder / TREE):
            if (path / "wnids.txt").is_file():
                return folder, path
        if (folder / REMOTE.filename).is_file():
            return folder, folder / REMOTE.filename
    return None


def _tree_or_download(root) -> Path:
    found = find_tree(root)
    if found is not None:
        return found[1]
    try:
        return fetch(REMOTE, download_dir(NAME, root))
    except (OSError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
    where = ", ".join(str(d) for d in dict.fromkeys(candidate_dirs(NAME, root)))
    raise DatasetNotFoundError(
        f"Dataset '{NAME}' was not found and could not be downloaded ({reason}); looked in "
        f"{where} for {REMOTE.filename} or its extracted {TREE}/ folder; put one of them in a "
        f"folder and pass it with --data-dir (or set CLASSICNETS_DATA)."
    )


def read_tree(tree: Tree) -> tuple[dict[str, np.ndarray], list[str]]:
    """Decode the training and validation images of a tree; returns the arrays and the class
    names (sorted wnids, named by words.txt).

    Raises:
        CorruptFileError: wnids.txt or val/val_annotations.txt is missing, an annotation names
            an unknown class or a missing image, or an image cannot be decoded.
    """
    wnids = sorted(tree.text("wnids.txt", "lists the 200 class ids"))
    words = {}
    if "words.txt" in tree:
        for line in tree.text("words.txt", "names the classes"):
            wnid, _, names = line.partition("\t")
            words[wnid] = names.split(",")[0].strip()
    label = {wnid: i for i, wnid in enumerate(wnids)}
    train = sorted(
        (name, label[name.split("/")[1]])
        for name in tree.names
        if name.startswith("train/")
        and name.split("/")[1] in label
        and name.lower().endswith((".jpeg", ".jpg"))
    )
    annotations = "val/val_annotations.txt"
    test = []
    for number, line in enumerate(tree.text(annotations, "names the class of each val image")):
        image, wnid = (line.split("\t") + [""])[:2]
        if wnid not in label:
            raise CorruptFileError(
                f"{tree.where(annotations)} line {number + 1} gives class '{wnid}' for {image}, "
                f"which wnids.txt does not list."
            )
        if f"val/images/{image}" not in tree:
            raise CorruptFileError(
                f"{tree.where(annotations)} line {number + 1} names {image}, which is not in "
                f"val/images; the tree is incomplete."
            )
        test.append((f"val/images/{image}", label[wnid]))
    if not train:
        raise CorruptFileError(
            f"{tree.path} holds no training images under train/<wnid>/images/; the TinyImageNet "
            f"tree is incomplete."
        )
    arrays = {}
    for split, pairs in (("train", train), ("test", test)):
        arrays[f"{split}_images"], _ = decode_images(
            [name for name, _ in pairs], SIZE, read=tree.read, describe=tree.where
        )
        arrays[f"{split}_labels"] = np.array([lab for _, lab in pairs], np.int64)
    return arrays, [words.get(w, w) for w in wnids]


@register_dataset(
    NAME,
    description="TinyImageNet, 100,000 + 10,000 (val) colour 64x64 images of 200 classes "
    "(Stanford CS231N)",
    image_shape=(3, SIZE, SIZE),
    num_classes=200,
    files=(REMOTE.filename,),
    locate=lambda root: found[0] if (found := find_tree(root)) else None,
)
def load_tinyimagenet(split: str, root=None) -> ImageDataset:
    """One split (``test`` = the labelled val set) of TinyImageNet, decoded once, then cached."""
    path = _tree_or_download(root)

    def build():
        tree = Tree(path)
        try:
            arrays, classes = read_tree(tree)
        finally:
            tree.close()
        mean, std = channel_stats(arrays["train_images"])
        return arrays, {"classes": classes, "mean": mean, "std": std}

    entry = cached(NAME, [path], {"size": SIZE}, build)
    return entry.dataset(NAME, split)
