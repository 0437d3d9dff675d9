"""Errors a user can cause.

Every exception here carries one clear sentence meant for a person: the CLI prints it and exits
non-zero instead of showing a traceback. Library callers can catch :class:`ClassicnetsError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ClassicnetsError(Exception):
    """A mistake in what the user asked for or gave us, explained in one sentence.

    ``exit_code`` is what the command line exits with (2, the usage-error convention).
    """

    exit_code = 2


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
    """The loss became NaN, infinite, or left any sane range."""


class RunInterrupted(ClassicnetsError):
    """Training was stopped by Ctrl-C (after saving where it stood); the shell's convention
    for an interrupted command is exit code 130."""

    exit_code = 130


def closest_names(name: str, known: Iterable[str], limit: int = 5) -> list[str]:
    """The known names a user most likely meant by ``name``, at most ``limit``, best first.

    A name counts when it starts with what was typed (``"resnet"`` -> every ResNet) or when its
    similarity to it (:class:`difflib.SequenceMatcher`, case ignored) is at least 0.5 and within
    0.1 of the best match. Names that start with what was typed come first.
    """
    typed = name.lower()

    def score(candidate: str) -> float:
        return difflib.SequenceMatcher(None, typed, candidate.lower()).ratio()

    scored = sorted(((score(k), k) for k in set(known)), key=lambda sk: (-sk[0], sk[1]))
    if not scored:
        return []
    best = scored[0][0]
    chosen = [
        k
        for s, k in scored
        if (s >= 0.5 and s >= best - 0.1) or (len(typed) >= 2 and k.lower().startswith(typed))
    ]
    chosen.sort(key=lambda k: not k.lower().startswith(typed))  # stable: prefixes first
    return chosen[:limit]


def _either(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def unknown_name(kind: str, name: str, known: Iterable[str]) -> UnknownNameError:
    """Build the error for an unknown ``name`` of ``kind``, listing the known ones.

    Args:
        kind: what was looked up, e.g. ``"model"``.
        name: what the user asked for.
        known: the registered names.

    Returns:
        An :class:`UnknownNameError` whose message suggests the closest known names
        (:func:`closest_names`) and lists them all.
    """
    known = sorted(known)
    close = closest_names(name, known)
    hint = f" Did you mean {_either(close)}?" if close else ""
    return UnknownNameError(
        f"Unknown {kind} '{name}'.{hint} Known {plural_noun(kind)}: {', '.join(known)}."
    )


def plural_noun(noun: str) -> str:
    """English plural of the nouns messages use: corpus -> corpora, box -> boxes."""
    irregular = {"corpus": "corpora", "epoch": "epochs", "stomach": "stomachs"}
    if noun in irregular:
        return irregular[noun]
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    return noun + "s"


def plural(count: int, noun: str) -> str:
    """``"1 epoch"``, ``"3 epochs"``, ``"1,000 examples"``."""
    return f"{count:,} {noun if count == 1 else plural_noun(noun)}"
