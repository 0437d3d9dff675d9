"""The pieces every run config is made of: a field with its ``--flag`` help, and the checks
that turn a value out of range into one sentence naming the flag."""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

from ..errors import ClassicnetsError


def setting(default: Any, help: str, *, metavar: str | None = None, **extra: Any) -> Any:
    """A config field with its ``--flag`` help (``default_text`` replaces the shown default;
    ``cli=False`` keeps it off the command line)."""
    meta = {"help": help, "metavar": metavar, **extra}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=meta)
    return field(default=default, metadata=meta)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _whole(name: str, value: Any, least: int = 1, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        what = "a positive whole number" if least == 1 else f"a whole number of at least {least}"
        raise ClassicnetsError(f"{_flag(name)} must be {what}, got {value!r}.")


def _number(name: str, value: Any, low: float, high: float, optional=False, closed=True) -> None:
    if optional and value is None:
        return
    bad = isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    if not bad:
        bad = value < low or value > high or (not closed and value == high)
    if bad:
        span = f"[{low:g}, {high:g}{']' if closed else ')'}" if math.isfinite(high) else ""
        where = f"in {span}" if span else f"at least {low:g}"
        raise ClassicnetsError(f"{_flag(name)} must be a number {where}, got {value!r}.")
