"""The TensorBoard callback: event files read back with TensorBoard's own reader hold each
epoch's logged values, the per-update loss and learning rate, and the first layer's filters."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import classicnets as cn
from _threads import one_thread  # noqa: F401
from classicnets.errors import ClassicnetsError
from classicnets.train.tensorboard import FILTERS_TAG, TensorBoard, filter_grid, scalar_tag

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="tensorboard is the optional extra classicnets[tensorboard]",
)


def _read(log_dir):
    reader = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"images": 0})
    reader.Reload()
    return reader


def _small_convnet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10)
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    torch.manual_seed(0)
    log_dir = tmp_path_factory.mktemp("tb") / "tensorboard"
    train = cn.load_dataset("digits", "train")
    model = cn.Model(_small_convnet(), device="cpu")
    model.compile(optimizer="sgd", lr=0.1, schedule="cosine")
    history = model.fit(
        train, epochs=3, batch_size=256, validation_split=0.2, callbacks=[TensorBoard(log_dir)]
    )
    return model, history, _read(log_dir)


def test_every_epochs_logged_values_are_written(run):
    _, history, reader = run
    tags = reader.Tags()["scalars"]
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        events = reader.Scalars(scalar_tag(name))
        assert [e.step for e in events] == [1, 2, 3]
        np.testing.assert_allclose([e.value for e in events], history[name], rtol=1e-6)
    assert "train/seconds" in tags
    # the cosine schedule lowers the rate every epoch
    rates = [e.value for e in reader.Scalars("learning_rate")]
    assert rates[0] > rates[1] > rates[2]


def test_every_update_logs_its_loss_and_rate(run):
    model, history, reader = run
    losses = reader.Scalars("step/loss")
    assert [e.step for e in losses] == list(range(1, model.global_step + 1))
    per_epoch = len(losses) // 3
    # the epoch's loss is the example-weighted mean of its updates': close to their plain mean
    first = np.mean([e.value for e in losses[:per_epoch]])
    assert abs(first - history["loss"][0]) < 0.05 * history["loss"][0]
    assert reader.Scalars("step/learning_rate")[-1].value == pytest.approx(history["lr"][-1])


def test_the_filters_are_drawn_before_training_and_after_each_epoch(run):
    model, _, reader = run
    images = reader.Images(FILTERS_TAG)
    assert [i.step for i in images] == [0, 1, 2, 3]
    last = np.asarray(Image.open(io.BytesIO(images[-1].encoded_image_string)), dtype=float)
    weight = model.module[0].weight.detach()  # (4, 1, 3, 3): a 2x2 grid of 3x3 cells
    assert last.shape[:2] == (2 * 4 + 1, 2 * 4 + 1)
    gray = last if last.ndim == 2 else last[..., 0]
    for index in range(4):
        top, left = 1 + (index // 2) * 4, 1 + (index % 2) * 4
        cell = weight[index, 0]
        expected = (cell - cell.min()) / (cell.max() - cell.min()) * 255
        np.testing.assert_allclose(gray[top : top + 3, left : left + 3], expected, atol=1.0)
    first = np.asarray(Image.open(io.BytesIO(images[0].encoded_image_string)), dtype=float)
    assert not np.array_equal(first, last)  # training moved the filters


def test_filter_grid_layout_and_colour():
    weight = torch.arange(5 * 3 * 2 * 2, dtype=torch.float).reshape(5, 3, 2, 2)
    grid = filter_grid(weight)
    assert grid.shape == (3, 2 * 3 + 1, 3 * 3 + 1)  # five filters: 3 a row, 2 rows, 1 px apart
    assert grid.min() == 0 and grid.max() == 1
    # filter 4 sits in row 1, column 1; its colours keep their order within its own range
    cell = grid[:, 4:6, 4:6]
    assert cell[0, 0, 0] == 0 and cell[2, 1, 1] == 1
    assert torch.all(grid[:, 4:, 7:] == 0)  # the sixth cell is empty


def test_tags():
    assert scalar_tag("val_accuracy") == "val/accuracy"
    assert scalar_tag("loss") == "train/loss"
    assert scalar_tag("lr") == "learning_rate"


def test_without_tensorboard_the_extra_is_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails
    with pytest.raises(ClassicnetsError, match=r"pip install 'classicnets\[tensorboard\]'"):
        TensorBoard(tmp_path)
