"""The package's layers show in its folders, and imports flow one way:
errors <- {ops, data} <- layers <- models <- {train, analysis} <- runs <- serve <- cli (viz
beside analysis).

Every import in the package, at module level or inside a function, is parsed and checked
against this table, so a shortcut across the layers fails here rather than in a review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "classicnets"

# What each part of the package may import (besides itself); the root module (__init__.py) is
# the public face and may import anything.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "ops": {"errors"},
    "data": {"errors"},
    "layers": {"errors", "ops"},
    "scratch": {"errors", "ops"},
    "models": {"errors", "ops", "layers"},
    "train": {"errors", "ops", "data", "layers", "models"},
    "analysis": {"errors", "ops", "layers", "models"},
    "viz": {"errors", "ops", "data", "layers", "models", "analysis", "scratch"},
    "runs": {"errors", "ops", "data", "layers", "models", "train", "analysis", "viz", "scratch"},
    "serve": {"errors", "ops", "data", "layers", "models", "train", "analysis", "viz", "runs"},
    "cli": {"<root>", "errors", "ops", "data", "layers", "models", "train", "analysis", "viz"}
    | {"runs", "serve", "scratch"},
    "__main__": {"cli"},
}


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imported_parts(path: Path) -> set[str]:
    """The top-level parts of classicnets that ``path`` imports (``"<root>"`` for the package
    itself)."""
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]  # ('classicnets', ...)
    if path.name == "__init__.py":
        package = path.relative_to(PACKAGE.parent).parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                if len(target) == 1:  # from .. import x: a part, or a name of the root
                    found |= {_root_name(alias.name) for alias in node.names}
                    continue
            elif node.module and node.module.split(".")[0] == "classicnets":
                target = node.module.split(".")
            else:
                continue
            found.add(target[1] if len(target) > 1 else "<root>")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "classicnets":
                    found.add(parts[1] if len(parts) > 1 else "<root>")
    return found


def _root_name(name: str) -> str:
    is_part = (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()
    return name if is_part else "<root>"


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path):
    part = _part(path)
    assert part in ALLOWED, f"{part}/ is a new part of the package: give it a place in ALLOWED"
    wrong = sorted(_imported_parts(path) - ALLOWED[part] - {part})
    assert not wrong, f"{path.relative_to(PACKAGE)} imports {wrong}, which {part}/ may not"


def test_the_application_lives_in_its_own_folders():
    top = sorted(p.name for p in PACKAGE.iterdir() if p.suffix == ".py")
    assert top == ["__init__.py", "__main__.py", "errors.py"]
    assert (PACKAGE / "py.typed").is_file()


def test_the_parser_sees_relative_imports():
    # The check above is only as good as the parser: a known cross-layer import must show.
    assert "models" in _imported_parts(PACKAGE / "analysis" / "summary.py")
    assert "ops" in _imported_parts(PACKAGE / "analysis" / "receptive.py")
    assert _imported_parts(PACKAGE / "cli" / "__init__.py") >= {"<root>", "errors"}


def test_python_dash_m_runs_the_command_line():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "classicnets", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("classicnets ")
