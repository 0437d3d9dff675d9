"""The degradation benchmark judges only the orderings its nets allow, and its committed JSONs
say what their own training errors show."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def degradation():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("degradation", BENCHMARKS / "degradation.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def rows(**last):
    return {name: {"train_error": [0.9, error]} for name, error in last.items()}


def test_all_four_nets_judge_every_ordering(degradation):
    found, verdict = degradation.findings(
        rows(plain20=0.3, plain56=0.4, resnet20=0.25, resnet56=0.2)
    )
    assert found == dict.fromkeys(degradation.ORDERINGS, True)
    assert verdict.startswith("Every ordering")
    found, verdict = degradation.findings(
        rows(plain20=0.3, plain56=0.2, resnet20=0.25, resnet56=0.3)
    )
    assert found == {
        "degradation": False,
        "residual_helps": False,
        "shortcuts_fix_the_deep_net": False,
    }
    assert "Not shown" in verdict and "degradation" in verdict


def test_two_nets_judge_only_their_own_ordering(degradation):
    found, verdict = degradation.findings(rows(resnet20=0.14, resnet56=0.12))
    assert found == {"residual_helps": True}
    assert verdict == "Shown after these epochs: residual helps."
    found, verdict = degradation.findings(rows(resnet20=0.12, resnet56=0.14))
    assert found == {"residual_helps": False} and "Not shown" in verdict
    found, verdict = degradation.findings(rows(resnet20=0.12))
    assert found == {} and verdict.startswith("No ordering judged")


@pytest.mark.parametrize("path", sorted((BENCHMARKS / "results").glob("degradation*.json")))
def test_each_committed_run_reports_what_its_errors_show(degradation, path):
    result = json.loads(path.read_text())
    found, verdict = degradation.findings(result["rows"])
    assert result["found"] == found and result["verdict"] == verdict
    assert len(next(iter(result["rows"].values()))["train_error"]) == result["settings"]["epochs"]
