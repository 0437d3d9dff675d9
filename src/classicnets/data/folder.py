"""Any folder of images with one sub-folder per class (the layout of torchvision's
``ImageFolder``), decoded once at a chosen square size and cached.

Two layouts are understood::

    root/cat/1.jpg, root/dog/2.png, ...              split here: a fixed-seed 20 % of each class
    root/train/cat/..., root/test/cat/... (or val/)  the folder's own split

Images are decoded with Pillow (on threads: its decoders release the GIL) by
:func:`classicnets.data.preprocess.load_image`, the one preparation ``predict`` uses too: RGB,
the shorter side scaled to ``image_size``, centre-cropped to a square. A folder whose images are
all grey gives one channel. Class names are the sub-folder names, sorted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import ClassicnetsError
from ._registry import register_dataset
from .cache import cached, channel_stats
from .dataset import ImageDataset
from .preprocess import load_image

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)
DEFAULT_SIZE = 32
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def decode_images(
    items: Sequence[str],
    size: int,
    read: Callable[[str], str | bytes] = str,
    describe: Callable[[str], str] = str,
) -> tuple[np.ndarray, bool]:
    """Decode image files into uint8 RGB (N, 3, size, size).

    Args:
        items: the images: paths, or keys that ``read`` understands.
        size: the side of the square every image is scaled and centre-cropped to.
        read: turns an item into a path or the file's bytes (e.g. from a zip archive).
        describe: how an error names an item.

    Returns:
        The images, and whether every one of them was grey.

    Raises:
        CorruptFileError: an image cannot be decoded; the message names it.
    """
    out = np.empty((len(items), 3, size, size), np.uint8)
    all_grey = True

    def work(i: int) -> bool:
        out[i], grey = load_image(read(items[i]), size, 3, name=describe(items[i]))
        return grey

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for grey in pool.map(work, range(len(items))):
            all_grey &= grey
    return out, all_grey


def _images_below(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def _class_folders(folder: Path) -> dict[str, list[Path]]:
    """Class name -> its image files, for every sub-folder that holds images."""
    found = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = _images_below(sub)
        if images:
            found[sub.name] = images
    return found


def _split_layout(root: Path) -> dict[str, Path] | None:
    test = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test is not None:
        return {"train": root / "train", "test": test}
    return None


def scan_folder(root: Path) -> tuple[list[str], dict[str, list[tuple[Path, int]]]]:
    """The classes and, per split, the (image, label) pairs of an image folder.

    Raises:
        ClassicnetsError: no images in class sub-folders, a split left empty, or a test class
            the training folder lacks.
    """
    layout = _split_layout(root)
    if layout is not None:
        train = _class_folders(layout["train"])
        test = _class_folders(layout["test"])
        classes = sorted(train)
        stray = sorted(set(test) - set(train))
        if stray:
            raise ClassicnetsError(
                f"{layout['test'] / stray[0]} is a class that {layout['train']} does not have; "
                f"every test class needs training images."
            )
        label = {c: i for i, c in enumerate(classes)}
        splits = {
            "train": [(p, label[c]) for c in classes for p in train[c]],
            "test": [(p, label[c]) for c in sorted(test) for p in test[c]],
        }
    else:
        folders = _class_folders(root)
        classes = sorted(folders)
        rng = np.random.default_rng(SPLIT_SEED)
        splits = {"train": [], "test": []}
        for i, c in enumerate(classes):
            order = rng.permutation(len(folders[c]))
            n_test = int(round(len(order) * TEST_FRACTION))
            splits["test"] += [(folders[c][j], i) for j in sorted(order[:n_test])]
            splits["train"] += [(folders[c][j], i) for j in sorted(order[n_test:])]
    if not classes:
        raise ClassicnetsError(
            f"{root} holds no images in class sub-folders; an image folder needs one sub-folder "
            f"of images ({', '.join(sorted(IMAGE_SUFFIXES)[:4])}, ...) per class."
        )
    for split, pairs in splits.items():
        if not pairs:
            raise ClassicnetsError(
                f"{root} has no {split} images (a class needs at least 3 images for a 20 % test "
                f"share); add images or give it train/ and test/ sub-folders."
            )
    return classes, splits


def locate_folder(root: str | os.PathLike | None) -> Path | None:
    """``root`` itself when it is a folder (there is nothing to search or download)."""
    return Path(root).expanduser() if root is not None and Path(root).is_dir() else None


@register_dataset(
    "imagefolder",
    description="any folder with one sub-folder of images per class, given with --data-dir "
    f"(resized to --image-size, default {DEFAULT_SIZE})",
    image_shape=(3, DEFAULT_SIZE, DEFAULT_SIZE),
    num_classes=0,  # the folder's
    files=(),
    options=("image_size",),
    locate=locate_folder,
)
def load_image_folder(split: str, root=None, image_size: int | None = None) -> ImageDataset:
    """One split of an image folder, decoded at ``image_size`` (default 32) and cached."""
    if root is None:
        raise ClassicnetsError(
            "The imagefolder dataset needs --data-dir DIR: a folder with one sub-folder of "
            "images per class."
        )
    root = Path(root).expanduser().resolve()
    size = image_size or DEFAULT_SIZE

    def build():
        classes, splits = scan_folder(root)
        arrays, grey = {}, True
        for name, pairs in splits.items():
            arrays[f"{name}_images"], split_grey = decode_images([str(p) for p, _ in pairs], size)
            arrays[f"{name}_labels"] = np.array([label for _, label in pairs], np.int64)
            grey &= split_grey
        if grey:  # a folder of grey images stays grey: one channel
            for name in splits:
                arrays[f"{name}_images"] = np.ascontiguousarray(arrays[f"{name}_images"][:, :1])
        mean, std = channel_stats(arrays["train_images"])
        return arrays, {"classes": classes, "mean": mean, "std": std}

    entry = cached("imagefolder", [root], {"size": size}, build)
    return entry.dataset("imagefolder", split)
