"""Batch augmentation: each operation against a direct reference, the alternating-flip schedule,
spec parsing, and augmentation inside Model.fit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import classicnets as cn
from classicnets.data.augment import (
    AlternatingFlip,
    Augment,
    Cutout,
    RandomCrop,
    RandomFlip,
    _crop_by_blocks,
    _crop_by_gather,
    _flip_some,
)
from classicnets.errors import ClassicnetsError


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.randint(0, 256, (64, 3, 12, 10), dtype=torch.uint8)


def crop_offsets(out, x, padding, mode):
    """For each output image, every (dy, dx) whose window of the padded input equals it."""
    pad_mode = "reflect" if mode == "reflect" else "constant"
    padded = F.pad(x.float(), (padding,) * 4, mode=pad_mode).to(x.dtype)
    h, w = x.shape[-2:]
    found = []
    for image, source in zip(out, padded, strict=True):
        found.append(
            [
                (dy, dx)
                for dy in range(2 * padding + 1)
                for dx in range(2 * padding + 1)
                if torch.equal(source[:, dy : dy + h, dx : dx + w], image)
            ]
        )
    return found


@pytest.mark.parametrize("mode", ["zero", "reflect"])
def test_crop_is_a_window_of_the_padded_image(batch, mode):
    torch.manual_seed(1)
    out = RandomCrop(3, mode)(batch, 0, torch.arange(len(batch)))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    offsets = crop_offsets(out, batch, 3, mode)
    assert all(offsets)  # every image is one of the windows
    shifts = {o[0] for o in offsets}
    assert len(shifts) > 20  # many different shifts of the 49


def test_crop_of_float_images_and_no_padding(batch):
    x = batch.float()
    out = RandomCrop(2)(x, 0, torch.arange(len(x)))
    assert out.dtype == torch.float32 and all(crop_offsets(out, x, 2, "zero"))
    assert RandomCrop(0)(x, 0, None) is x


def test_reflect_padding_larger_than_the_image():
    with pytest.raises(ClassicnetsError, match="Reflect padding of 12 pixels"):
        RandomCrop(12, "reflect")(torch.zeros(2, 1, 8, 8), 0, torch.arange(2))


def test_flip_mirrors_about_half(batch):
    torch.manual_seed(2)
    x = batch.repeat(8, 1, 1, 1)
    out = RandomFlip()(x, 0, torch.arange(len(x)))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert torch.all(same | mirrored)
    assert 0.4 < mirrored.float().mean() < 0.6
    assert torch.equal(x, batch.repeat(8, 1, 1, 1))  # the input is left alone


def test_alternating_flip_schedule():
    n = 2000
    x = torch.arange(1, n + 1, dtype=torch.float32).view(n, 1, 1, 1) * torch.tensor([1.0, -1.0])
    indices = torch.arange(n)
    flip = AlternatingFlip(seed=0)

    def flipped(epoch, idx):
        return flip(x[idx], epoch, idx)[:, 0, 0, 0] < 0

    first = flipped(0, indices)
    assert 0.45 < first.float().mean() < 0.55  # a random half in the first epoch
    assert torch.equal(flipped(1, indices), ~first)  # then the complement
    assert torch.equal(flipped(2, indices), first)  # and back
    order = torch.randperm(n)
    assert torch.equal(flipped(3, order), ~first[order])  # a function of the example, not the batch
    other = AlternatingFlip(seed=1)(x, 0, indices)[:, 0, 0, 0] < 0
    assert 0.4 < (other == first).float().mean() < 0.6  # another seed, another half


def test_cutout_fills_one_square_per_image():
    torch.manual_seed(3)
    x = torch.full((300, 3, 16, 16), 255, dtype=torch.uint8)
    out = Cutout(6, fill=(10, 20, 30))(x, 0, torch.arange(len(x)))
    holes = out[:, 0] == 10
    assert torch.equal(holes, out[:, 1] == 20) and torch.equal(holes, out[:, 2] == 30)
    area = holes.flatten(1).sum(1)
    assert area.max() == 36 and area.min() >= 9  # whole squares, some cut by the border
    for hole in holes[:20]:
        rows, cols = hole.any(1).nonzero(), hole.any(0).nonzero()
        assert hole.sum() == len(rows) * len(cols)  # one rectangle
        assert torch.all(hole[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])
    floats = Cutout(6, fill=(10, 20, 30))(x.float(), 0, None)
    assert floats.min() == 0  # normalised float images get 0, the mean


def test_parse_builds_the_operations():
    aug = Augment.parse("crop, flip ,cutout", image_size=32, mean=(0.5, 0.25, 1.0), seed=4)
    crop, flip, cutout = aug.ops
    assert crop == RandomCrop(4, "zero") and flip == RandomFlip()
    assert cutout == Cutout(16, (128, 64, 255))
    assert Augment.parse("crop:2:reflect,altflip,cutout:8", seed=4).ops == (
        RandomCrop(2, "reflect"),
        AlternatingFlip(4),
        Cutout(8, None),
    )
    assert Augment.parse("crop", image_size=64).ops == (RandomCrop(8),)
    assert repr(aug) == "Augment('crop, flip ,cutout')" and len(aug) == 3
    assert (Augment.parse("crop") + Augment.parse("flip")).spec == "crop,flip"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("crop,flp", "Unknown augmentation 'flp'. Did you mean 'flip'?"),
        ("crop:four", "needs a whole number of pixels, got 'four'"),
        ("crop:4:mirror", "should read crop:PAD:zero or crop:PAD:reflect"),
        ("flip:3", "'flip' takes no value"),
        (" , ", "names no augmentation"),
    ],
)
def test_parse_errors_are_one_sentence(spec, message):
    with pytest.raises(ClassicnetsError) as info:
        Augment.parse(spec)
    text = str(info.value)
    assert message in text and "\n" not in text and text.endswith(".")


class Recorder:
    """An augmentation that records what the trainer hands it."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, epoch, indices):
        self.calls.append((epoch, indices.clone(), x.dtype))
        return x


def test_fit_hands_every_example_to_the_augmentation_once_per_epoch():
    train = cn.load_dataset("digits", "train")
    recorder = Recorder()
    model = cn.Model(cn.create_model("mlp", image_size=8), device="cpu").compile()
    model.fit(train, epochs=2, batch_size=256, augment=Augment([recorder]))
    for epoch in (0, 1):
        seen = torch.cat([i for e, i, _ in recorder.calls if e == epoch])
        assert torch.equal(seen.sort().values, torch.arange(len(train)))
    assert {dtype for *_, dtype in recorder.calls} == {torch.uint8}  # before normalising


def test_fit_with_a_spec_is_repeatable_and_changes_training():
    train = cn.load_dataset("digits", "train")

    def weights(augment):
        torch.manual_seed(0)
        model = cn.Model(cn.create_model("mlp", image_size=8), device="cpu").compile()
        model.fit(train, epochs=2, batch_size=128, seed=3, augment=augment)
        return torch.cat([p.flatten() for p in model.module.parameters()])

    a, b = weights("crop:1,altflip,cutout:2"), weights("crop:1,altflip,cutout:2")
    assert torch.equal(a, b)
    assert not torch.equal(a, weights(None))


def test_the_gpu_crop_path_crops_as_the_cpu_path():
    torch.manual_seed(5)
    x = torch.randint(0, 256, (100, 3, 10, 8), dtype=torch.uint8)
    dy, dx = torch.randint(0, 5, (100,)), torch.randint(0, 5, (100,))
    padded = F.pad(x, (2, 2, 2, 2))
    gathered = _crop_by_gather(padded, dy, dx, 2)
    assert torch.equal(_crop_by_blocks(padded, dy, dx, 2, padded=True), gathered)
    assert torch.equal(_crop_by_blocks(x, dy, dx, 2), gathered)  # zeros never materialised
    top, left = int(dy[7]), int(dx[7])
    assert torch.equal(gathered[7], padded[7, :, top : top + 10, left : left + 8])


def test_flip_of_a_view_at_an_odd_offset():
    storage = torch.randint(0, 256, (5 * 48,), dtype=torch.uint8)
    x = storage[3 : 3 + 2 * 48].view(2, 3, 4, 4)  # no 8-byte word view possible
    out = _flip_some(x, torch.tensor([True, False]))
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[1], x[1])
