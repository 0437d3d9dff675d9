"""The record ``fit`` returns: one value per epoch for every logged quantity (Keras' History)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """``history["val_accuracy"][-1]`` is the last epoch's validation accuracy.

    Attributes:
        epoch: the 0-based index of each recorded epoch.
        history: name -> list of per-epoch values.
    """

    epoch: list[int] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def last(self) -> dict[str, float]:
        """The values of the last recorded epoch."""
        return {k: v[-1] for k, v in self.history.items()}
