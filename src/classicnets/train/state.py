"""What determines the rest of a run besides the weights and the optimizer: the random streams,
where in the epoch training stands, and the running means of the epoch so far.

``fit`` draws every random number (dropout, augmentation, the data order of a ``DataLoader``)
from torch's global generators, but inside :func:`forked_rng`: the trainer seeds them from
``(seed, epoch)`` at each epoch's start and the caller's own streams are put back when ``fit``
returns, so nothing is reseeded behind the user's back. A checkpoint keeps the streams' state
at the step it was taken, and the state they had when the epoch began (a ``DataLoader`` draws
its order then), so resuming continues the very same streams.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch of a run seeded with ``seed``."""
    return (seed * 1_000_003 + epoch) % (2**63)


@contextlib.contextmanager
def forked_rng(device: torch.device) -> Iterator[None]:
    """Run the block on the global random streams of the CPU and ``device`` and put the
    caller's streams back afterwards."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda, device_type="cuda"):
        if device.type == "mps":
            saved = torch.mps.get_rng_state()
            try:
                yield
            finally:
                torch.mps.set_rng_state(saved)
        else:
            yield


def seed_streams(seed: int, device: torch.device) -> None:
    """Seed the CPU stream and the training device's (only that one)."""
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.default_generators[device.index or 0].manual_seed(seed)
    elif device.type == "mps":
        torch.mps.manual_seed(seed)


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The state of the streams :func:`seed_streams` seeds, as uint8 tensors."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    elif device.type == "mps":
        state["mps"] = torch.mps.get_rng_state()
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    """Put back what :func:`rng_state` took; a device's stream is restored only where it was
    saved on the same kind of device."""
    torch.set_rng_state(state["cpu"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)
    elif device.type == "mps" and "mps" in state:
        torch.mps.set_rng_state(state["mps"].cpu())


class RunningMeans:
    """Example-weighted means of per-batch logs, summed in float64 so that no epoch's sum can
    overflow (float32 overflows past 3.4e38: one diverging epoch did). The sums stay tensors
    on the device, so no batch waits for it; they become floats once, in :meth:`result`."""

    def __init__(self, sums: dict[str, float] | None = None, count: int = 0) -> None:
        self.sums: dict[str, Any] = dict(sums or {})
        self.count = count

    def add(self, logs: dict[str, torch.Tensor | float], examples: int) -> None:
        self.count += examples
        for key, value in logs.items():
            if isinstance(value, torch.Tensor):
                value = value.detach()
                value = value.double() if value.device.type != "mps" else value.float().cpu()
            weighted = value * examples
            self.sums[key] = self.sums[key] + weighted if key in self.sums else weighted
        return None

    def result(self) -> dict[str, float]:
        if not self.count:
            return {}
        return {key: float(total) / self.count for key, total in self.sums.items()}

    def state(self) -> dict[str, Any]:
        """A JSON-able form (float64 values survive JSON exactly)."""
        return {"sums": {k: float(v) for k, v in self.sums.items()}, "count": self.count}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device) -> RunningMeans:
        dtype = torch.float64 if device.type != "mps" else torch.float32
        sums = {k: torch.tensor(v, dtype=dtype, device=device) for k, v in state["sums"].items()}
        return cls(sums, int(state["count"]))
