"""Validation splits carved from training data: fixed, seeded and stratified.

Model selection (early stopping, the ``best`` checkpoint, tuning) must never look at the test
split, so every training set gives up a share of each class to validation: the same examples
for the same seed and fraction, whichever model trains on it, and in each class the same share
as in the whole set.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import ClassicnetsError

DEFAULT_FRACTION = 0.1
SPLIT_SEED = 0  # one fixed split, so runs with other training seeds compare on the same data


def check_fraction(fraction: float, flag: str = "--val-split") -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise ClassicnetsError(f"{flag} must be a number in [0, 1), got {fraction!r}.")
    if not 0.0 <= fraction < 1.0:
        raise ClassicnetsError(
            f"{flag} must be in [0, 1) (the share of the training data kept for validation; 0 "
            f"trains on all of it), got {fraction}."
        )
    return float(fraction)


def stratified_split(
    labels: torch.Tensor,
    fraction: float,
    seed: int = SPLIT_SEED,
    classes: Sequence[str] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and the validation part, each in the data's order.

    Every class present gives ``round(fraction * n)`` of its ``n`` examples (at least one),
    drawn at random from a generator seeded with ``seed``, to validation.

    Raises:
        ClassicnetsError: the fraction is outside (0, 1), or a class would be left with no
            example on one side; the message names the class.
    """
    fraction = check_fraction(fraction)
    if fraction == 0:
        raise ClassicnetsError("A validation split needs a fraction above 0.")
    generator = torch.Generator().manual_seed(seed)
    val = []
    for label in torch.unique(labels).tolist():
        members = torch.nonzero(labels == label).flatten()
        take = max(1, round(fraction * len(members)))
        if take >= len(members):
            name = classes[label] if classes is not None and label < len(classes) else label
            raise ClassicnetsError(
                f"A validation split of {fraction:g} leaves class '{name}' ({len(members)} "
                f"training example{'s' if len(members) != 1 else ''}) with none to train on; "
                "give it more examples, or pass --val-split 0 to train on everything."
            )
        val.append(members[torch.randperm(len(members), generator=generator)[:take]])
    chosen = torch.zeros(len(labels), dtype=torch.bool)
    chosen[torch.cat(val)] = True
    return torch.nonzero(~chosen).flatten(), torch.nonzero(chosen).flatten()
