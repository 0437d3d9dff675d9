"""Errors a user can cause.

Every exception here carries one clear sentence meant for a person: the CLI prints it and exits
non-zero instead of showing a traceback. Library callers can catch :class:`ClassicnetsError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ClassicnetsError(Exception):
    """A mistake in what the user asked for or gave us, explained in one sentence."""


class UnknownNameError(ClassicnetsError, KeyError):
    """A model, dataset, optimizer, ... name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DatasetNotFoundError(ClassicnetsError):
    """The dataset files are not on disk and could not be downloaded."""


class CorruptFileError(ClassicnetsError):
    """A data or checkpoint file is truncated or not in the expected format."""


class ShapeError(ClassicnetsError, ValueError):
    """An input shape a layer or model cannot take."""


class TrainingDivergedError(ClassicnetsError):
    """The loss became NaN or infinite."""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> UnknownNameError:
    """Build the error for an unknown ``name`` of ``kind``, listing the known ones.

    Args:
        kind: what was looked up, e.g. ``"model"``.
        name: what the user asked for.
        known: the registered names.

    Returns:
        An :class:`UnknownNameError` whose message suggests the closest known name.
    """
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return UnknownNameError(f"Unknown {kind} '{name}'.{hint} Known {kind}s: {', '.join(known)}.")
