"""A damaged run directory: ``evaluate``, ``predict`` and ``train --resume`` on copies of one run
with one of its files truncated, emptied, bit-flipped or replaced by junk (5 files x 8 kinds of
damage x 3 commands = 120 calls). A command either does not need the damaged file and gives
exactly the undamaged result, or ends in one sentence naming the file, exit code 2 — never a
traceback, never a silently different number."""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest

from _synthetic import save_image
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main

FILES = ("config.json", "last.json", "best.json", "last.safetensors", "best.safetensors")
# which files each command reads (the JSON twins of the checkpoints are for people only)
NEEDS = {
    "evaluate": {"config.json", "best.safetensors"},
    "predict": {"config.json", "best.safetensors"},
    "resume": {"config.json", "last.safetensors", "best.safetensors"},
}


def damage(path, how: str) -> None:
    data = path.read_bytes()
    rng = random.Random(f"{path.name}-{how}")
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "cut":
        data = data[:10]
    elif how == "emptied":
        data = b""
    elif how.startswith("flip"):
        raw = bytearray(data)
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        data = bytes(raw)
    elif how == "junk":
        data = bytes(rng.randrange(256) for _ in range(len(data)))
    elif how == "text":
        data = b"this is not what was written here\n" * 3
    path.write_bytes(data)


KINDS = ("truncated", "cut", "emptied", "flip1", "flip2", "flip3", "junk", "text")


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    run_dir = root / "run"
    argv = ["train", "mlp", "--epochs", "1", "--out", str(run_dir), "--device", "cpu"]
    assert main(argv) == 0
    image = save_image(root / "digit.png", (np.arange(64, dtype=np.uint8).reshape(8, 8) * 4))
    return run_dir, image


def command(name: str, run_dir, image) -> list[str]:
    return {
        "evaluate": ["evaluate", str(run_dir), "--json"],
        "predict": ["predict", str(run_dir), str(image), "--json"],
        "resume": ["train", "--resume", str(run_dir), "--epochs", "2", "--json"],
    }[name]


def outcome(capsys, argv) -> tuple[int, dict | list | None, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def comparable(name: str, result):
    if name == "resume":
        return {k: v for k, v in result.items() if k not in ("seconds", "run_dir")}
    if name == "evaluate":
        return {k: v for k, v in result.items() if k not in ("run", "checkpoint")}
    return [item["top"] for item in result]


@pytest.fixture
def expected(original, tmp_path_factory, capsys) -> dict:
    """What each command gives on an undamaged copy (computed once, kept on the module)."""
    if not hasattr(expected, "cache"):
        run_dir, image = original
        expected.cache = {}
        for name in NEEDS:
            copy = tmp_path_factory.mktemp("whole") / "run"
            shutil.copytree(run_dir, copy)
            code, result, err = outcome(capsys, command(name, copy, image))
            assert code == 0, err
            expected.cache[name] = comparable(name, result)
    return expected.cache


@pytest.mark.parametrize("how", KINDS)
@pytest.mark.parametrize("target", FILES)
def test_a_damaged_file_is_named_or_harmless(original, expected, tmp_path, capsys, target, how):
    run_dir, image = original
    for name, needed in NEEDS.items():
        copy = tmp_path / name
        shutil.copytree(run_dir, copy)
        damage(copy / target, how)
        code, result, err = outcome(capsys, command(name, copy, image))
        assert "Traceback" not in err
        if target in needed:
            assert code == 2, (name, err)
            last = err.strip().splitlines()[-1]
            assert last.startswith("error:") and target in last, (name, last)
        else:
            assert code == 0, (name, err)
            assert comparable(name, result) == expected[name], name


def test_a_checkpoint_from_another_run_is_refused(original, tmp_path, capsys):
    run_dir, image = original
    other = tmp_path / "other"
    assert main(["train", "lenet5", "--epochs", "1", "--limit", "64", "--out", str(other)]) == 0
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    shutil.copy(other / "last.safetensors", copy / "last.safetensors")
    capsys.readouterr()
    code, _, err = outcome(capsys, command("resume", copy, image))
    assert code == 2 and "config.json does not match the run that" in err
    assert "last.safetensors" in err.strip().splitlines()[-1]
