"""TinyImageNet from a small tree in the official layout, extracted or zipped, and bad trees."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
import torch

from _synthetic import save_image
from classicnets.data import load_dataset, locate_dataset
from classicnets.errors import CorruptFileError

WNIDS = {"n01443537": (200, 0, 0), "n01629819": (0, 200, 0), "n01641577": (0, 0, 200)}
WORDS = {
    "n01443537": "goldfish, Carassius auratus",
    "n01629819": "European fire salamander, Salamandra salamandra",
    "n01641577": "bullfrog, Rana catesbeiana",
    "n99999999": "not one of ours",
}


def make_tree(root):
    """Two training and one validation image per class; the bullfrog's are grey."""
    tree = root / "tiny-imagenet-200"
    (tree / "wnids.txt").parent.mkdir(parents=True)
    (tree / "wnids.txt").write_text("\n".join(reversed(WNIDS)) + "\n")  # not sorted on disk
    (tree / "words.txt").write_text("".join(f"{w}\t{n}\n" for w, n in WORDS.items()))
    lines = []
    for k, (wnid, rgb) in enumerate(WNIDS.items()):
        grey = wnid == "n01641577"
        for i in range(2):
            image = (
                np.full((64, 64), 100, np.uint8) if grey else np.full((64, 64, 3), rgb, np.uint8)
            )
            save_image(tree / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", image, "JPEG")
        (tree / "train" / wnid / f"{wnid}_boxes.txt").write_text("ignored\n")
        image = np.full((64, 64, 3), rgb, np.uint8)
        save_image(tree / "val" / "images" / f"val_{k}.JPEG", image, "JPEG")
        lines.append(f"val_{k}.JPEG\t{wnid}\t0\t0\t63\t63")
    (tree / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    save_image(tree / "test" / "images" / "test_0.JPEG", np.zeros((64, 64, 3), np.uint8), "JPEG")
    return tree


def zip_tree(tree, path):
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(tree.rglob("*")):
            archive.write(file, file.relative_to(tree.parent).as_posix())
    return path


def check(train, test):
    assert train.classes == ("goldfish", "European fire salamander", "bullfrog")
    assert train.images.shape == (6, 3, 64, 64) and test.images.shape == (3, 3, 64, 64)
    assert train.labels.tolist() == [0, 0, 1, 1, 2, 2] and test.labels.tolist() == [0, 1, 2]
    centre = train.images[:, :, 32, 32].int()
    assert (centre[0] - torch.tensor([200, 0, 0])).abs().max() <= 4
    assert (centre[4] - 100).abs().max() <= 2  # grey made RGB: three equal channels
    assert len(train.mean) == 3 and test.mean == train.mean


def test_extracted_tree(tmp_path):
    make_tree(tmp_path)
    check(
        load_dataset("tinyimagenet", "train", tmp_path),
        load_dataset("tinyimagenet", "test", tmp_path),
    )
    assert locate_dataset("tinyimagenet", tmp_path) == tmp_path


def test_zip_gives_the_same(tmp_path):
    tree = make_tree(tmp_path / "src")
    zip_tree(tree, tmp_path / "tiny-imagenet-200.zip")
    shutil.rmtree(tmp_path / "src")
    train = load_dataset("tinyimagenet", "train", tmp_path)
    check(train, load_dataset("tinyimagenet", "test", tmp_path))
    assert locate_dataset("tinyimagenet", tmp_path) == tmp_path


def test_resized_at_load_time(tmp_path):
    make_tree(tmp_path)
    assert load_dataset("tinyimagenet", "test", tmp_path, image_size=32).image_shape == (3, 32, 32)


# ------------------------------------------------------------------------------- bad input
def one_sentence(err: BaseException) -> str:
    message = str(err)
    assert "\n" not in message and message.endswith(".")
    return message


@pytest.mark.parametrize("zipped", [False, True])
def test_tree_without_val_annotations(tmp_path, zipped):
    tree = make_tree(tmp_path / "src" if zipped else tmp_path)
    (tree / "val" / "val_annotations.txt").unlink()
    if zipped:
        zip_tree(tree, tmp_path / "tiny-imagenet-200.zip")
    with pytest.raises(CorruptFileError, match="val_annotations.txt is missing") as info:
        load_dataset("tinyimagenet", "train", tmp_path)
    assert "TinyImageNet tree is incomplete" in one_sentence(info.value)


def test_annotation_with_unknown_class(tmp_path):
    tree = make_tree(tmp_path)
    with open(tree / "val" / "val_annotations.txt", "a") as f:
        f.write("val_0.JPEG\tn00000000\t0\t0\t1\t1\n")
    with pytest.raises(CorruptFileError, match="line 4 gives class 'n00000000'") as info:
        load_dataset("tinyimagenet", "test", tmp_path)
    one_sentence(info.value)


def test_unreadable_jpeg_is_named(tmp_path):
    tree = make_tree(tmp_path)
    bad = tree / "train" / "n01629819" / "images" / "n01629819_1.JPEG"
    bad.write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(CorruptFileError) as info:
        load_dataset("tinyimagenet", "train", tmp_path)
    assert str(bad) in one_sentence(info.value)
