"""The flags of issue 14 through ``classicnets train``: ``--model-parallel 2`` (AlexNet's two
towers; checkpoints keep the registry's layout and resume split), ``--tensorboard``, and
``export`` on the CLI, with their bad input (one sentence, exit 2, nothing written)."""

from __future__ import annotations

import json

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.models import create_model
from classicnets.train.checkpoint import load_checkpoint, split_state


def test_alexnet_trains_split_and_saves_the_grouped_layout(tmp_path, capsys):
    out = tmp_path / "split"
    args = ["train", "alexnet_original", "--model-parallel", "2", "--data", "digits"]
    args += ["--limit", "48", "--batch-size", "16", "--epochs", "1", "--device", "cpu"]
    assert main([*args, "--out", str(out), "--json"]) == 0
    assert "both towers of alexnet_original run on cpu" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["model_parallel"] == 2
    tensors, meta = load_checkpoint(out / "last.safetensors")
    weights, optimizer_state, _ = split_state(tensors, meta)
    grouped = create_model("alexnet_original", num_classes=10, in_channels=1, image_size=67)
    grouped.load_state_dict(weights)  # strict: the registry's own layout
    assert optimizer_state["state"]  # Adam's averages, joined to the grouped weights
    assert main(["evaluate", str(out), "--device", "cpu", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["accuracy"] == json.loads((out / "results.json").read_text())["test"]["accuracy"]
    assert main(["train", "--resume", str(out), "--epochs", "2", "--json"]) == 0
    json.loads(capsys.readouterr().out)
    assert len((out / "metrics.csv").read_text().splitlines()) == 3  # header, epochs 1 and 2


def test_tensorboard_writes_event_files(tmp_path):
    out = tmp_path / "tb"
    args = ["train", "lenet5", "--epochs", "1", "--limit", "64", "--tensorboard"]
    assert main([*args, "--out", str(out), "--device", "cpu", "--json"]) == 0
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0


def test_export_is_a_command(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "lenet5", "--epochs", "1", "--limit", "64", "--device", "cpu"]
    assert main([*args, "--out", str(run), "--json"]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--format", "torchscript", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["max_abs_diff"] <= 1e-4 and (run / "best.pt").is_file()
    loaded = torch.jit.load(str(run / "best.pt"))
    assert loaded(torch.zeros(64, 1, 28, 28)).shape == (64, 10)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["alexnet_original", "--model-parallel", "3"], "--model-parallel must be 1 or 2"),
        (["resnet18", "--model-parallel", "2"], "resnet18 has no split"),
        (["alexnet_original", "--model-parallel", "2", "--nproc", "2"], "cannot be combined"),
    ],
)
def test_bad_scale_flags(tmp_path, extra, message, capsys):
    out = tmp_path / "never"
    assert main(["train", *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


NETS = """
from torch import nn


def build(num_classes, in_channels, image_size):
    return nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
        nn.Flatten(), nn.Linear(64, num_classes),
    )
"""


def test_a_users_own_module_trains_evaluates_resumes_and_exports(tmp_path, monkeypatch, capsys):
    (tmp_path / "mynets.py").write_text(NETS)
    monkeypatch.chdir(tmp_path)  # --module imports from the current folder first
    out = tmp_path / "own"
    args = ["train", "--module", "mynets:build", "--epochs", "1", "--limit", "64"]
    assert main([*args, "--out", str(out), "--device", "cpu", "--json"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["module"] == "mynets:build"
    # not the recipe of MODEL's default (lenet5's sigmoid-sized rate): the table's fallback
    assert config["recipe"] == "--module/digits" and config["lr"] == 1e-3
    err = capsys.readouterr().err
    assert "mynets:build on digits" in err and "a network of your own has no row" in err
    assert "Conv2d" in (out / "summary.txt").read_text()
    assert main(["evaluate", str(out), "--device", "cpu", "--json"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "2", "--json"]) == 0
    capsys.readouterr()
    assert main(["export", str(out), "--format", "onnx", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_abs_diff"] <= 1e-4
    assert main(["train", "--module", "mynets:buidl", "--out", str(tmp_path / "no")]) == 2
    assert "build" in capsys.readouterr().err and not (tmp_path / "no").exists()
