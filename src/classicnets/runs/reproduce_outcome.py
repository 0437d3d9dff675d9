"""One line of ``classicnets reproduce``: a number the course documents beside the one the project
computes, and the verdict on the pair.

A verdict is ``✓`` (equal to the digits the course shows), ``≈`` (close, and ``why`` says why
they differ) or ``✗`` (different; ``why`` explains it when the difference is understood, and an
unexplained ``✗`` makes the command fail). Two more marks say that no comparison was made, and
``why`` says why: ``–`` (not measured this time: quick mode, or the data is not on disk) and
``·`` (ours, where the course prints no figure to compare with)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

EQUAL, CLOSE, DIFFERENT = "✓", "≈", "✗"
NOT_RUN, NO_FIGURE = "–", "·"


@dataclass(frozen=True)
class Outcome:
    """One documented number and ours.

    Attributes:
        group: the check it belongs to (the name ``--only`` selects), e.g. ``"alexnet"``.
        what: what the number is, e.g. ``"AlexNet parameters, total"``.
        course: the number as the course (or the paper it cites) prints it.
        ours: the number the project computed just now.
        mark: ``EQUAL``, ``CLOSE``, ``DIFFERENT``, ``NOT_RUN`` or ``NO_FIGURE``.
        why: for every mark but ``EQUAL``, one sentence on the cause; empty for ``EQUAL``.
        source: where the course's number comes from (a section, table or listing).
    """

    group: str
    what: str
    course: object
    ours: object
    mark: str
    why: str = ""
    source: str = ""

    @property
    def explained(self) -> bool:
        """Whether this line may stand: equal, or a difference someone has explained."""
        return self.mark == EQUAL or bool(self.why)

    def to_json(self) -> dict:
        return asdict(self) | {"explained": self.explained}


def compare(
    group: str,
    what: str,
    course: float,
    ours: float,
    *,
    rel: float = 0.0,
    why: str = "",
    source: str = "",
) -> Outcome:
    """The verdict on two numbers: ``✓`` when equal (to a relative ``rel`` of 0 by default, for
    figures the course rounds), else ``≈`` when ``why`` explains a difference under 10 %, else
    ``✗`` (still explained when ``why`` is given).

    Args:
        group: the check's name.
        what: what the number is.
        course: the course's figure.
        ours: ours, computed now.
        rel: the relative difference still counted as equal (the course's rounding).
        why: the known cause of a difference; empty when none is known.
        source: where the course's figure is printed.
    """
    scale = max(abs(float(course)), abs(float(ours)), 1e-12)
    gap = abs(float(course) - float(ours)) / scale
    if gap <= rel or math.isclose(float(course), float(ours), rel_tol=1e-12, abs_tol=1e-12):
        return Outcome(group, what, course, ours, EQUAL, "", source)
    mark = CLOSE if why and gap < 0.10 else DIFFERENT
    return Outcome(group, what, course, ours, mark, why, source)
