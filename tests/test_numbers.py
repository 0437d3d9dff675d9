"""Every number the README's Numbers table puts in bold is in the JSON its benchmark committed.

A row names its command (``python benchmarks/NAME.py``, or ``(same)`` for the row above); the
JSON files of that benchmark are ``benchmarks/results/NAME*.json`` (and ``results/NAME/``).
A bold number matches a value there when they agree to the digits shown (a percentage also as
a fraction: 99.20 % is 0.9920).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BOLD = re.compile(r"\*\*([^*]+)\*\*")
NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(%?)")


def table_rows() -> list[tuple[str, str]]:
    """(result cell, script stem) of every row of the README's Numbers table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Numbers", 1)[1].split("\n## ", 1)[0]
    rows, script = [], None
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 4 or set(cells[0]) <= {"-", " "}:
            continue
        named = re.search(r"benchmarks/(\w+)\.py", cells[-1])
        if named:
            script = named.group(1)
        elif cells[-1] != "(same)":
            continue  # the header
        rows.append((cells[1], script))
    return rows


def leaves(value) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return []


def values_of(script: str) -> list[float]:
    files = [*RESULTS.glob(f"{script}*.json"), *(RESULTS / script).glob("*.json")]
    assert files, f"no JSON for benchmarks/{script}.py in benchmarks/results"
    return [x for f in files for x in leaves(json.loads(f.read_text()))]


def matches(shown: str, percent: bool, values: list[float]) -> bool:
    number = float(shown.replace(",", ""))
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    tolerance = 0.5 * 10**-decimals + 1e-9
    scales = (1.0, 100.0) if percent else (1.0,)
    return any(abs(v * s - number) <= tolerance for v in values for s in scales)


ROWS = table_rows()


def test_the_table_is_found_and_every_row_names_a_benchmark():
    assert len(ROWS) >= 8
    for _, script in ROWS:
        assert script is not None and (ROOT / "benchmarks" / f"{script}.py").is_file(), script


@pytest.mark.parametrize(
    ("cell", "script"), ROWS, ids=[f"{s}-{i}" for i, (_, s) in enumerate(ROWS)]
)
def test_every_bold_number_is_in_its_benchmarks_json(cell, script):
    values = values_of(script)
    for bold in BOLD.findall(cell):
        for shown, percent in NUMBER.findall(bold):
            assert matches(shown, bool(percent), values), (
                f"README shows {bold!r} for benchmarks/{script}.py; no such value in its JSON"
            )


def test_a_changed_number_would_be_caught():
    values = values_of("cifar10")
    assert matches("89.7", True, values)
    assert not matches("91.7", True, values)
