"""Shared fixtures: an isolated cache, no network, and the real datasets when present."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    """Every test gets its own empty cache and cannot reach the network; and runs as on a CPU
    without bfloat16, so that ``--precision auto`` (float32 there) gives the same numbers on
    every machine (tests of the bfloat16 path patch this back or ask for bf16)."""
    monkeypatch.setenv("CLASSICNETS_CACHE", str(tmp_path_factory.mktemp("cache")))
    from classicnets.train import precision

    monkeypatch.setattr(precision, "cpu_bf16_features", lambda: [])

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder with the real datasets ($CLASSICNETS_DATA). Skipped locally when absent,
    but in CI (CI=true) a missing folder is a failure, never a silent skip."""
    root = os.environ.get("CLASSICNETS_DATA")
    if root and Path(root, "mnist").is_dir():
        return Path(root)
    message = f"real datasets not found (CLASSICNETS_DATA={root!r})"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + "; CI must run the data tests")
    pytest.skip(message)
