"""Image folders: both layouts, resizing, colour modes, the cache, and bad folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _synthetic import save_image
from classicnets.data import load_dataset, locate_dataset
from classicnets.errors import ClassicnetsError, CorruptFileError

COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}


def solid(colour, size=(20, 30)):
    return np.broadcast_to(np.array(colour, np.uint8), (*size, 3)).copy()


@pytest.fixture
def colours(tmp_path):
    """Five images per class, in several formats, sizes and colour modes."""
    from PIL import Image

    root = tmp_path / "colours"
    for name, rgb in COLOURS.items():
        for i in range(5):
            size = (20 + 7 * i, 40 - 3 * i)
            path = root / name / f"{i}.{['png', 'jpg', 'bmp', 'png', 'gif'][i]}"
            if i == 3:  # RGBA
                rgba = np.dstack([solid(rgb, size), np.full(size, 255, np.uint8)])
                save_image(path, rgba)
            elif i == 4:  # palette
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(solid(rgb, size)).convert("P").save(path)
            else:
                save_image(path, solid(rgb, size))
    (root / "red" / "notes.txt").write_text("not an image, ignored")
    (root / ".hidden").mkdir()
    return root


def test_single_folder_split_sizes_and_colours(colours):
    train = load_dataset("imagefolder", "train", colours, image_size=16)
    test = load_dataset("imagefolder", "test", colours, image_size=16)
    assert train.classes == ("blue", "green", "red") == test.classes
    assert train.images.shape == (12, 3, 16, 16) and test.images.shape == (3, 3, 16, 16)
    assert torch.bincount(train.labels).tolist() == [4, 4, 4]
    assert torch.bincount(test.labels).tolist() == [1, 1, 1]
    for data in (train, test):
        for image, label in zip(data.images, data.labels, strict=True):
            expected = torch.tensor(COLOURS[data.classes[label]], dtype=torch.float32)
            centre = image[:, 8, 8].float()
            assert (centre - expected).abs().max() <= 3, (data.classes[label], centre)
    # the split is fixed: loading again gives the same test images
    again = load_dataset("imagefolder", "test", colours, image_size=16)
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)
    assert locate_dataset("imagefolder", colours) == colours
    assert locate_dataset("imagefolder") is None


def test_default_size_and_train_test_layout(tmp_path):
    for split, n in (("train", 3), ("val", 2)):
        for name in ("cat", "dog"):
            for i in range(n):
                save_image(tmp_path / split / name / f"{i}.png", solid((i * 50, 10, 20), (64, 48)))
    train = load_dataset("imagefolder", "train", tmp_path)
    test = load_dataset("imagefolder", "test", tmp_path)
    assert train.images.shape == (6, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    assert test.labels.tolist() == [0, 0, 1, 1] and train.classes == ("cat", "dog")


def test_centre_crop_keeps_the_middle(tmp_path):
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:, 10:20] = 255  # a white middle third
    for name in ("a", "b"):
        for i in range(3):
            save_image(tmp_path / name / f"{i}.png", wide)
    data = load_dataset("imagefolder", "train", tmp_path, image_size=10)
    assert data.images.float().mean() > 250  # only the white middle survives the crop


def test_grey_images_give_one_channel(tmp_path):
    for name in ("a", "b"):
        for i in range(5):
            save_image(tmp_path / name / f"{i}.png", np.full((8, 8), 40 * i, np.uint8))
    data = load_dataset("imagefolder", "train", tmp_path, image_size=8)
    assert data.images.shape[1] == 1 and len(data.mean) == 1


def test_a_new_image_is_noticed(colours):
    before = load_dataset("imagefolder", "train", colours, image_size=8)
    for i in range(5, 10):
        save_image(colours / "green" / f"{i}.png", solid(COLOURS["green"]))
    after = load_dataset("imagefolder", "train", colours, image_size=8)
    assert len(after) == len(before) + 4


# ------------------------------------------------------------------------------- bad input
def one_sentence(err: BaseException) -> str:
    message = str(err)
    assert "\n" not in message and message.endswith(".")
    return message


def test_needs_a_root():
    with pytest.raises(ClassicnetsError, match="needs --data-dir") as info:
        load_dataset("imagefolder", "train")
    one_sentence(info.value)


def test_empty_folder(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "readme.txt").write_text("no images here")
    with pytest.raises(ClassicnetsError, match="holds no images in class sub-folders") as info:
        load_dataset("imagefolder", "train", tmp_path)
    assert str(tmp_path) in one_sentence(info.value)


def test_unreadable_image_is_named(colours):
    bad = colours / "green" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(CorruptFileError) as info:
        load_dataset("imagefolder", "test", colours)
    message = one_sentence(info.value)
    assert str(bad) in message and "Cannot read" in message


def test_too_few_images_for_a_test_split(tmp_path):
    for name in ("a", "b"):
        save_image(tmp_path / name / "0.png", solid((1, 2, 3)))
    with pytest.raises(ClassicnetsError, match="has no test images") as info:
        load_dataset("imagefolder", "test", tmp_path)
    one_sentence(info.value)


def test_test_class_missing_from_train(tmp_path):
    save_image(tmp_path / "train" / "a" / "0.png", solid((1, 2, 3)))
    save_image(tmp_path / "test" / "a" / "0.png", solid((1, 2, 3)))
    save_image(tmp_path / "test" / "zebra" / "0.png", solid((1, 2, 3)))
    with pytest.raises(ClassicnetsError, match="zebra is a class that") as info:
        load_dataset("imagefolder", "train", tmp_path)
    one_sentence(info.value)
