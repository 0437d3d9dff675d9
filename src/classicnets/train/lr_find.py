"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
2015/2017, section 3.3): train for a short while with a rate that grows exponentially from
tiny to huge, one update at a time, and watch the loss. It falls slowly while the rate is too
small, fast over the useful decade or two, then turns and blows up.

The test trains a scratch copy (:func:`~.gradients.probe_fit`): the model, its optimizer state
and its schedule are left exactly as they were.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import ClassicnetsError
from .callbacks import Callback
from .gradients import _check_steps, probe_fit

if TYPE_CHECKING:
    from .model import Model


def range_rate(start: float, end: float, steps: int, step: int) -> float:
    """The rate of update ``step`` (0-based) of ``steps``: ``start`` at the first, ``end`` at
    the last, the same factor between any two neighbours."""
    return start * (end / start) ** (step / (steps - 1))


class _RangeTest(Callback):
    """Set each update's rate and record the loss, raw and smoothed; stop on divergence."""

    def __init__(self, start, end, steps, smooth, diverge) -> None:
        self.start, self.end, self.steps = start, end, steps
        self.smooth, self.diverge = smooth, diverge
        self.rates: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.diverged = False
        self._average = 0.0

    def on_train_batch_begin(self, step: int) -> None:
        # After the model's own schedule has set this update's rate: ours wins. Each group
        # keeps its ratio to the first, as a schedule keeps it.
        model = self.model
        rate = range_rate(self.start, self.end, self.steps, len(self.rates))
        first = model.parts.base_lrs[0]
        for group, base in zip(model.optimizer.param_groups, model.parts.base_lrs, strict=True):
            group["lr"] = rate * base / first
        self.rates.append(rate)

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        loss = float(logs["loss"])
        self.losses.append(loss)
        # An exponential moving average, divided by (1 - smooth^n) so that the first values
        # are not pulled towards its zero start.
        self._average = self.smooth * self._average + (1 - self.smooth) * loss
        smoothed = self._average / (1 - self.smooth ** len(self.losses))
        self.smoothed.append(smoothed)
        if not math.isfinite(smoothed) or smoothed > self.diverge * min(self.smoothed):
            self.diverged = True
            self.model.stop_training = True


def _steepest(rates: list[float], losses: list[float], last: int) -> int:
    """The index, up to ``last``, where the loss falls fastest against log(rate)."""
    if last < 1:
        return 0
    logs = [math.log(r) for r in rates]
    slopes = []
    for i in range(last + 1):  # central differences inside, one-sided at the ends
        lo, hi = max(0, i - 1), min(last, i + 1)
        slopes.append((losses[hi] - losses[lo]) / (logs[hi] - logs[lo]))
    return min(range(len(slopes)), key=slopes.__getitem__)


def lr_range_test(
    model: Model,
    data: Any,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    batch_size: int = 64,
    seed: int = 0,
    smooth: float = 0.98,
    diverge: float = 4.0,
) -> dict[str, Any]:
    """Smith's learning-rate range test on a copy of ``model`` (its optimizer, loss and
    precision): update ``i`` of ``steps`` trains at ``start * (end / start) ** (i / (steps -
    1))``, and the test stops early once the smoothed loss exceeds ``diverge`` times its best.

    The suggested rate is one tenth of the rate at the smoothed loss's minimum. The minimum is
    where the rate is already at the edge of what training tolerates (the next few updates
    blow up), so the usable rate lies below it; a decade below sits on the steep, falling part
    of the curve. The other common choice, the point of steepest descent, differentiates a
    noisy curve and jumps between neighbouring decades from one seed to the next on a test of
    a hundred updates; the result keeps it (``steepest``) for the picture and for comparison.

    Args:
        model: a compiled :class:`~.model.Model`; it is left as it was.
        data: what ``fit`` takes.
        start, end: the first and last rate (``0 < start < end``).
        steps: updates at most (at least 2).
        batch_size: examples per update.
        seed: the data order of the test.
        smooth: the loss's exponential moving average keeps this share of its past, in [0, 1).
        diverge: stop once the smoothed loss is above this multiple of its lowest (above 1).

    Returns:
        JSON-able: ``rates``, ``losses`` (each update's batch loss), ``smoothed``,
        ``suggested`` (the rate to train with), ``minimum`` (the rate at the lowest smoothed
        loss) and ``min_loss``, ``steepest`` (the rate of steepest descent), ``diverged``
        (whether it stopped early) and the test's settings.

    Raises:
        ClassicnetsError: for a setting out of range, or an uncompiled model.
    """
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ClassicnetsError(f"The range test's {name} rate must be positive, got {value!r}.")
    if not end > start:
        raise ClassicnetsError(
            f"The range test's end rate ({end:g}) must exceed its start ({start:g})."
        )
    _check_steps(steps, "The range test's steps", least=2)
    if not 0 <= smooth < 1:
        raise ClassicnetsError(f"smooth must be in [0, 1), got {smooth!r}.")
    if not diverge > 1:
        raise ClassicnetsError(
            f"diverge must be a multiple above 1 of the best loss, got {diverge!r}."
        )
    test = _RangeTest(start, end, steps, smooth, diverge)
    # Divergence is what the test looks for: it stops itself, so the trainer's guard is off.
    probe_fit(model, data, [test], steps=steps, batch_size=batch_size, seed=seed, guard=False)
    finite = [i for i, v in enumerate(test.smoothed) if math.isfinite(v)]
    if not finite:
        raise ClassicnetsError(
            f"The loss was not finite even at the first rate {start:g}; start lower, or check "
            "the data and the model."
        )
    lowest = min(finite, key=test.smoothed.__getitem__)
    steepest = _steepest(test.rates, test.smoothed, lowest)
    return {
        "rates": test.rates,
        "losses": test.losses,
        "smoothed": test.smoothed,
        "suggested": test.rates[lowest] / 10,
        "minimum": test.rates[lowest],
        "min_loss": test.smoothed[lowest],
        "steepest": test.rates[steepest],
        "diverged": test.diverged,
        "start": start,
        "end": end,
        "steps": steps,
        "smooth": smooth,
        "diverge": diverge,
        "batch_size": batch_size,
        "seed": seed,
    }
