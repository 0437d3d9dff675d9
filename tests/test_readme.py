"""The README's Python snippet does what the README says: it runs, twice gives the same output
(the seed fixes weights and training), and on the machine it names prints exactly what the
README shows under it."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from pathlib import Path

import torch

README = Path(__file__).parent.parent / "README.md"


def snippet_and_output() -> tuple[str, str, str]:
    text = README.read_text()
    section = text[text.index("## The Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    after = section[section.index("\nprints (on ") :]
    machine = re.search(r"prints \(on (.*?);", after, re.S).group(1)
    printed = re.search(r"\n```\n(.*?)```", after, re.S).group(1)
    return code, printed, " ".join(machine.split())


def run_once(code: str, where: Path) -> str:
    where.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=where, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def this_machine() -> str:
    cpu = platform.processor()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{cpu}, {torch.get_num_threads()} cores, torch {torch.__version__}"


def test_the_snippet_is_repeatable_and_prints_what_the_readme_says(tmp_path):
    code, printed, machine = snippet_and_output()
    first = run_once(code, tmp_path / "a")
    assert first == run_once(code, tmp_path / "b")  # bit for bit: the seeds fix everything
    assert len(first.splitlines()) == len(printed.splitlines())
    assert (tmp_path / "a" / "lenet_digits.safetensors").is_file()
    if machine == this_machine():
        assert first == printed
