"""What a run shows while it trains: the speed and the learning rate on every epoch's line, and
without a terminal (CI, a pipe) a progress line every ~10 s during a long epoch."""

from __future__ import annotations

import io

from rich.console import Console

import classicnets as cn
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.train import ProgressBar


class Clock(cn.Callback):
    """A clock that each update moves on by one second (it ticks before the bar reads it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def on_train_batch_end(self, step, logs) -> None:
        self.now += 1.0


def test_epoch_lines_show_speed_and_rate_and_heartbeats_without_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    train = cn.load_dataset("digits", "train")
    model = cn.Model(cn.create_model("mlp", image_size=8, seed=0), device="cpu")
    model.compile(lr=3e-3, schedule="cosine")
    clock = Clock()
    model.fit(train, epochs=2, batch_size=16, callbacks=[clock, ProgressBar(console, 10, clock)])
    lines = out.getvalue().splitlines()
    epochs = [line for line in lines if line.startswith("epoch") and "step" not in line]
    beats = [line for line in lines if " step " in line]
    assert len(epochs) == 2 and all(" img/s  lr " in line for line in epochs)
    # 85 one-second updates an epoch: a line every 10 s, never after the epoch's last update
    assert len(beats) == 2 * 8 and "step 10/85" in beats[0] and "step 80/85" in beats[7]
    assert "16 img/s  lr 0.00298" in beats[0]  # 10 batches of 16 in 10 s; cosine from 3e-3
    assert model.unit == "img"
