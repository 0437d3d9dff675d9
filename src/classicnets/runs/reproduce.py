"""``classicnets reproduce``: every number the course documents beside the one the project
computes now, each with a verdict (see :mod:`.reproduce_outcome`).

A check is a name (what ``--only`` selects) and a function of the mode, ``"quick"`` or
``"full"``, returning its :class:`~.reproduce_outcome.Outcome` lines. Arithmetic and model
counts take seconds in either mode; the training checks train on a budget in quick mode and as
the course ran them in full mode.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..errors import ClassicnetsError, unknown_name
from .reproduce_arithmetic import ARITHMETIC_CHECKS
from .reproduce_models import MODEL_CHECKS
from .reproduce_outcome import CLOSE, DIFFERENT, EQUAL, NO_FIGURE, NOT_RUN, Outcome

Check = Callable[[str], list[Outcome]]
MODES = ("quick", "full")
MARKS = (EQUAL, CLOSE, DIFFERENT, NO_FIGURE, NOT_RUN)


def all_checks() -> dict[str, Check]:
    """Every check by name, in the order they run: arithmetic, model counts, training."""
    from . import reproduce_training  # the training checks, imported only when checks are asked

    return {**ARITHMETIC_CHECKS, **MODEL_CHECKS, **reproduce_training.TRAINING_CHECKS}


def check_names() -> list[str]:
    """The names ``--only`` accepts, in the order the checks run."""
    return list(all_checks())


def run_checks(only: Iterable[str] | None = None, mode: str = "quick") -> list[Outcome]:
    """Run the checks named in ``only`` (every check when None or empty), in table order.

    Args:
        only: check names, e.g. ``["conv", "alexnet"]``; repeats run once.
        mode: ``"quick"`` (training on a budget) or ``"full"`` (training as the course ran it).

    Returns:
        The outcomes of the chosen checks, check by check.

    Raises:
        ClassicnetsError: for an unknown mode, or an unknown check name (with the closest names).
    """
    if mode not in MODES:
        raise ClassicnetsError(f"reproduce: mode must be 'quick' or 'full', got {mode!r}.")
    checks = all_checks()
    chosen = list(dict.fromkeys(only or ()))
    for name in chosen:
        if name not in checks:
            raise unknown_name("check", name, checks)
    outcomes: list[Outcome] = []
    for name, check in checks.items():
        if not chosen or name in chosen:
            outcomes += check(mode)
    return outcomes


def counts(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """How many lines got each mark: ``{"✓": n, "≈": n, "✗": n, "·": n, "–": n}``."""
    tally = Counter(o.mark for o in outcomes)
    return {mark: tally.get(mark, 0) for mark in MARKS}


def unexplained(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """The lines that make the command fail: a difference nobody has explained."""
    return [o for o in outcomes if not o.explained]


def summary_line(outcomes: list[Outcome]) -> str:
    """``"58 ✓, 20 ≈, 9 ✗ (all explained)"``, then the lines with no course figure (``·``) and
    those not measured this time (``–``) when there are any."""
    tally = counts(outcomes)
    missing = len(unexplained(outcomes))
    tail = "all explained" if not missing else f"{missing} not explained"
    line = ", ".join(f"{tally[m]} {m}" for m in (EQUAL, CLOSE, DIFFERENT)) + f" ({tail})"
    if tally[NO_FIGURE]:
        line += f"; {tally[NO_FIGURE]} {NO_FIGURE} without a course figure"
    if tally[NOT_RUN]:
        line += f"; {tally[NOT_RUN]} {NOT_RUN} not measured this time"
    return line


def format_value(value: object) -> str:
    """A figure as the table shows it: ``60,965,224``, ``0.16``, ``[[19, 25], [37, 43]]``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() else f"{value:,g}"
    if isinstance(value, list | tuple):
        return json.dumps(value)
    return str(value)


MARK_STYLE = {EQUAL: "green", CLOSE: "yellow", DIFFERENT: "red", NO_FIGURE: "cyan", NOT_RUN: "dim"}


def outcome_report(outcomes: list[Outcome], title: str = "The course's numbers and ours") -> Group:
    """The outcomes for people, check by check: a heading with the check's sources, a table of
    what, course, ours and mark, and below it the why of each line that is not ``✓``, numbered
    (a whole-width note reads better than a narrow column). An unexplained mark reads ``✗!``."""
    parts: list = [Text(title, style="bold")]
    for group, lines in _by_group(outcomes).items():
        sources = _sources(o.source for o in lines)
        parts.append(Text.assemble("\n", (group, "bold"), "  ", (sources, "dim")))
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("", no_wrap=True)
        table.add_column("What", ratio=3)
        table.add_column("Course", justify="right", ratio=2)
        table.add_column("Ours", justify="right", ratio=2)
        notes: dict[str, int] = {}  # why -> its number: one reason shared by lines is one note
        for o in lines:
            mark = o.mark if o.explained else f"{o.mark}!"
            if o.why:
                mark += f" {notes.setdefault(o.why, len(notes) + 1)}"
            table.add_row(
                Text(mark, style=MARK_STYLE[o.mark]),
                Text(o.what),
                Text(format_value(o.course)),
                Text(format_value(o.ours)),
            )
        parts.append(table)
        parts += [Text(f"  {i}. {why}", style="dim") for why, i in notes.items()]
    parts.append(Text("\n" + summary_line(outcomes), style="bold"))
    return Group(*parts)


def _sources(sources: Iterable[str]) -> str:
    """``"D2L, 7.2.1"`` and ``"D2L, 7.4.1"`` -> ``"D2L, 7.2.1, 7.4.1"``: each work named once."""
    works: dict[str, list[str]] = {}
    for source in dict.fromkeys(s for s in sources if s):
        work, _, where = source.partition(", ")
        works.setdefault(work, [])
        if where:
            works[work].append(where)
    return "; ".join(", ".join([work, *where]) for work, where in works.items())


def _by_group(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.group, []).append(o)
    return groups


def to_document(outcomes: list[Outcome], mode: str, only: Iterable[str] | None) -> dict:
    """The JSON document of ``reproduce --json``."""
    missing = unexplained(outcomes)
    asked = list(dict.fromkeys(only or ()))
    return {
        "mode": mode,
        "checks": [name for name in check_names() if not asked or name in asked],  # as run
        "only": asked,
        "counts": counts(outcomes),
        "unexplained": len(missing),
        "ok": not missing,
        "outcomes": [o.to_json() for o in outcomes],
    }
