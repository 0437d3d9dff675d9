"""A run's learning rate per update (against the rates a real fit trains with, and the
schedules' formulas by hand), its picture, and curves.png: the learning-rate panel, integer
epoch ticks and a language model's bits-per-token axis."""

from __future__ import annotations

import math

import pytest
import torch

import classicnets.viz.curves as curves
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError
from classicnets.models import create_model
from classicnets.runs.config import ImageRunConfig
from classicnets.runs.schedule import lr_per_step
from classicnets.train import Callback, CSVLogger, Model
from classicnets.viz.curves import plot_curves, read_metrics
from classicnets.viz.lr import plot_lr_schedule

PNG = b"\x89PNG\r\n\x1a\n"


class _Rates(Callback):
    """The rate each update trains with (set before the update, as the loop sets it)."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_batch_begin(self, step: int) -> None:
        self.rates.append(self.model.optimizer.param_groups[0]["lr"])


def _config(schedule: str, **more) -> ImageRunConfig:
    settings = dict(epochs=3, batch_size=8, optimizer="sgd", lr=0.1, precision="fp32")
    return ImageRunConfig(model="mlp", data="digits", schedule=schedule, **{**settings, **more})


@pytest.mark.parametrize("schedule", ["constant", "step", "inverse_sqrt", "cosine", "onecycle"])
def test_rates_equal_those_a_real_fit_trains_with(schedule):
    warmup = 0.0 if schedule == "onecycle" else 0.5
    config, _ = _config(schedule, warmup_epochs=warmup).with_recipe()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 1, 4, 4), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (40,), generator=g)
    steps = 5  # 40 examples, 8 a batch
    model = Model(create_model("mlp", seed=0, image_size=4, hidden=(4,)), device="cpu")
    model.compile(**config.compile_options(steps))
    recorder = _Rates()
    model.fit(x, y, epochs=config.epochs, batch_size=8, callbacks=[recorder])
    assert len(recorder.rates) == 15
    assert lr_per_step(config, steps) == pytest.approx(recorder.rates, rel=1e-12)


def test_rates_by_the_schedules_formulas():
    total = 3 * 10
    cosine = lr_per_step(_config("cosine"), 10)
    assert cosine == pytest.approx([0.05 * (1 + math.cos(math.pi * k / total)) for k in range(30)])
    onecycle = lr_per_step(_config("onecycle"), 10)
    peak = round(0.25 * total)  # Smith 2018's rise over the first quarter, from 0.04 of the peak
    assert onecycle[0] == pytest.approx(0.004) and onecycle[peak] == pytest.approx(0.1)
    assert max(onecycle) == onecycle[peak]
    warm = lr_per_step(_config("constant", warmup_epochs=1.0), 10)
    assert warm[:10] == pytest.approx([0.1 * (k + 1) / 10 for k in range(10)])
    assert warm[10:] == pytest.approx([0.1] * 20)
    with pytest.raises(ClassicnetsError, match="steps_per_epoch"):
        lr_per_step(_config("constant"), 0)


def test_the_schedule_picture(tmp_path):
    rates = lr_per_step(_config("onecycle"), 10)
    path = plot_lr_schedule(rates, 10, tmp_path / "lr.png", "mlp on digits: sgd 0.1, onecycle")
    assert path.read_bytes()[:8] == PNG
    with pytest.raises(ClassicnetsError, match="at least one"):
        plot_lr_schedule([], 10, tmp_path / "x.png")
    with pytest.raises(ClassicnetsError, match="steps_per_epoch"):
        plot_lr_schedule(rates, 0, tmp_path / "x.png")


@pytest.fixture
def figures(monkeypatch):
    """The figures plot_curves draws, drawn, before they are written."""
    drawn = []
    write = curves.save_figure

    def keep(fig, path, dpi=110):
        fig.canvas.draw()
        drawn.append(fig)
        return write(fig, path, dpi)

    monkeypatch.setattr(curves, "save_figure", keep)
    return drawn


def _logged(tmp_path, rows) -> dict[str, list[float]]:
    """Rows written by the trainer's own CSVLogger, read back as plot_curves gets them."""
    logger = CSVLogger(tmp_path / "metrics.csv")
    for epoch, logs in enumerate(rows):
        logger.on_epoch_end(epoch, logs)
    return read_metrics(tmp_path / "metrics.csv")


def test_an_image_run_gets_a_learning_rate_panel_and_whole_epochs(tmp_path, figures):
    rows = [
        {"loss": 2.0 / (e + 1), "accuracy": 0.5 + e / 10, "val_loss": 2.1 / (e + 1),
         "val_accuracy": 0.45 + e / 10, "lr": 0.1 * (1 - e / 4), "seconds": 0.1}
        for e in range(4)
    ]  # fmt: skip
    metrics = _logged(tmp_path, rows)
    path = plot_curves(metrics, tmp_path / "curves.png", "mlp on digits (train, val)")
    assert path.read_bytes()[:8] == PNG
    (fig,) = figures
    loss, accuracy, lr = fig.axes
    assert [a.get_ylabel() for a in fig.axes] == [
        "loss",
        "accuracy",
        "learning rate (epoch's last update)",
    ]
    assert list(lr.lines[0].get_ydata()) == pytest.approx([0.1, 0.075, 0.05, 0.025])
    assert list(loss.lines[1].get_ydata()) == pytest.approx([2.1 / (e + 1) for e in range(4)])
    for ax in fig.axes:
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks)
    assert not accuracy.child_axes  # no bits axis on an image run


def test_a_text_run_gets_bits_per_token(tmp_path, figures):
    rows = [
        {"loss": 3.0 - e, "accuracy": 0.2 + e / 10, "perplexity": math.exp(3.0 - e),
         "val_loss": 2.9 - e, "val_accuracy": 0.25, "val_perplexity": math.exp(2.9 - e),
         "lr": 0.003}
        for e in range(3)
    ]  # fmt: skip
    metrics = _logged(tmp_path, rows)
    plot_curves(metrics, tmp_path / "curves.png", "char_lstm on tiny.txt", token="character")
    loss = figures[0].axes[0]
    assert loss.get_ylabel() == "loss (nats per character)"
    (bits,) = loss.child_axes
    assert bits.get_ylabel() == "bits per character"
    assert bits.get_ylim() == pytest.approx([v / math.log(2) for v in loss.get_ylim()])
    assert figures[0].axes[1].get_ylabel() == "next-token accuracy"


def test_old_metrics_without_a_rate_still_draw(tmp_path, figures):
    metrics = {"epoch": [1.0], "loss": [1.5], "val_loss": [1.6]}  # one epoch, no accuracy
    plot_curves(metrics, tmp_path / "curves.png")
    (fig,) = figures
    assert [a.get_ylabel() for a in fig.axes] == ["loss"]
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary file left


def test_a_tasks_own_scores_get_their_panels(tmp_path, figures):
    # an encoder-decoder logs exact match and BLEU on validation; a tagger F1
    rows = [
        {"loss": 1.0 - e / 4, "accuracy": 0.6 + e / 10, "val_loss": 1.1 - e / 4,
         "val_accuracy": 0.55 + e / 10, "val_exact_match": 0.1 * e, "val_bleu": 20.0 * e,
         "lr": 1e-3, "seconds": 1.0, "examples_per_second": 100.0}
        for e in range(3)
    ]  # fmt: skip
    plot_curves(_logged(tmp_path, rows), tmp_path / "curves.png", "transformer_seq2seq")
    (fig,) = figures
    labels = [a.get_ylabel() for a in fig.axes]
    assert labels == ["loss", "accuracy", "exact match", "BLEU", labels[-1]]
    assert list(fig.axes[3].lines[0].get_ydata()) == pytest.approx([0.0, 20.0, 40.0])
    assert [line.get_label() for line in fig.axes[2].lines] == ["validation"]
