"""ModelCheckpoint's saves within epochs: --save-every's forms, and the automatic choice never
spending more than 2 % of training time on writing, however slow a write is."""

from __future__ import annotations

import pytest

from classicnets.errors import ClassicnetsError
from classicnets.train import ModelCheckpoint
from classicnets.train.saving import parse_save_every


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("auto", ("auto", 0.0)), ("epoch", ("epoch", 0.0)), ("500", ("steps", 500.0)),
     ("90s", ("seconds", 90.0)), ("1.5s", ("seconds", 1.5)), (250, ("steps", 250.0))],
)  # fmt: skip
def test_save_every_forms(text, parsed):
    assert parse_save_every(text) == parsed


@pytest.mark.parametrize("bad", ["0", "0s", "-5", "often", True, ""])
def test_bad_save_every_is_one_sentence(bad):
    with pytest.raises(ClassicnetsError, match="--save-every takes a positive number"):
        parse_save_every(bad)
    with pytest.raises(ClassicnetsError, match="a number of updates must be whole"):
        parse_save_every("1.5")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowModel:
    """Stands in for a trainer whose checkpoint takes ``write`` seconds to save."""

    steps_per_epoch = 10**9  # one endless epoch: only the within-epoch saves count
    global_step = 0

    def __init__(self, clock: Clock, write: float) -> None:
        self.clock, self.write, self.saves = clock, write, []

    def save(self, path, metrics=None) -> None:
        self.saves.append(self.clock.now)
        self.clock.now += self.write


@pytest.mark.parametrize("write", [0.01, 0.5, 3.0, 30.0])
def test_auto_saves_every_minute_or_rarer_and_spends_at_most_2_percent(tmp_path, write):
    clock = Clock()
    model = SlowModel(clock, write)
    checkpoint = ModelCheckpoint(tmp_path, save_every="auto", clock=clock)
    checkpoint.set_model(model)
    checkpoint.on_train_begin({})
    for step in range(20_000):  # one-second updates: 20,000 s of training
        clock.now += 1.0
        model.global_step += 1
        checkpoint.on_train_batch_end(step, {})
    gaps = [b - a for a, b in zip(model.saves, model.saves[1:], strict=False)]
    assert model.saves[0] >= 60 and min(gaps) >= 60
    writing = write * len(model.saves)
    assert writing / clock.now <= 0.02
    # and not rarer than the budget allows: about one save per minute, or per 50 writes
    expected = clock.now / max(60 + write, write / 0.02)
    assert abs(len(model.saves) - expected) <= 2


def test_steps_and_seconds(tmp_path):
    clock = Clock()
    models = {"steps": SlowModel(clock, 0.0), "seconds": SlowModel(clock, 0.0)}
    checkpoints = {
        "steps": ModelCheckpoint(tmp_path, save_every=7, clock=clock),
        "seconds": ModelCheckpoint(tmp_path, save_every="10s", clock=clock),
    }
    for kind, checkpoint in checkpoints.items():
        checkpoint.set_model(models[kind])
    for step in range(30):  # three-second updates
        clock.now += 3.0
        for kind, checkpoint in checkpoints.items():
            models[kind].global_step += 1
            checkpoint.on_train_batch_end(step, {})
    assert models["steps"].saves == [21.0, 42.0, 63.0, 84.0]  # after updates 7, 14, 21, 28
    assert models["seconds"].saves == [12.0, 24.0, 36.0, 48.0, 60.0, 72.0, 84.0]
