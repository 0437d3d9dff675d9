"""The train / evaluate / predict / data commands, end to end on the embedded digits."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import classicnets as cn
from classicnets.cli import main


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One short real run shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("runs") / "r1"
    code = main(["train", "lenet5_relu", "--epochs", "2", "--out", str(out), "--device", "cpu"])
    assert code == 0
    return out


def test_train_fills_the_run_directory(run_dir):
    for name in (
        "config.json",
        "metrics.csv",
        "curves.png",
        "summary.txt",
        "last.safetensors",
        "last.json",
        "best.safetensors",
        "best.json",
    ):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "lenet5_relu" and config["data"] == "digits"
    assert config["image_size"] == 28  # upsampled: LeNet cannot take 8x8
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3 and "val_accuracy" in rows[0]
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "Conv2d" in (run_dir / "summary.txt").read_text()


def test_train_json_line_and_upsampling_note(tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["train", "mlp", "--epochs", "1", "--out", str(out), "--json", "--seed", "1"])
    assert code == 0
    captured = capsys.readouterr()
    result = last_json(captured.out)
    assert set(result) == {"model", "data", "epochs", "test_accuracy", "seconds", "run_dir"}
    assert result["model"] == "mlp" and result["epochs"] == 1 and result["run_dir"] == str(out)
    assert 0.5 < result["test_accuracy"] <= 1.0
    assert "upsampled" not in captured.err  # an MLP takes 8x8 as it is
    code = main(["train", "lenet5", "--epochs", "1", "--out", str(tmp_path / "l"), "--json"])
    assert code == 0 and "upsampled to 28x28" in capsys.readouterr().err


def test_evaluate_matches_training(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    result = last_json(capsys.readouterr().out)
    model = cn.load(run_dir / "last")
    test = cn.load_dataset("digits", "test", image_size=28)
    assert result["accuracy"] == pytest.approx(model.evaluate(test)["accuracy"])
    assert main(["evaluate", str(run_dir)]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_predict_top3(run_dir, tmp_path, capsys):
    from skimage import io

    test = cn.load_dataset("digits", "test")
    path = tmp_path / "digit.png"
    io.imsave(path, np.kron(test.images[0, 0].numpy(), np.ones((4, 4), np.uint8)))
    assert main(["predict", str(run_dir), str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    top = result[0]["top"]
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert sum(p for _, p in top) <= 1.0 + 1e-6
    rgb = tmp_path / "rgb.png"
    io.imsave(
        rgb, np.stack([np.kron(test.images[1, 0].numpy(), np.ones((4, 4), np.uint8))] * 3, -1)
    )
    assert main(["predict", str(run_dir), str(rgb)]) == 0
    assert "%" in capsys.readouterr().out


def test_resume_extends_a_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "mlp", "--epochs", "1", "--out", str(out)]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "3", "--json"]) == 0
    result = last_json(capsys.readouterr().out)
    assert result["epochs"] == 3
    assert len((out / "metrics.csv").read_text().splitlines()) == 4
    assert json.loads((out / "last.json").read_text())["epochs_done"] == 3


def test_ctrl_c_saves_a_resumable_checkpoint(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = cn.Model.train_step

    def interrupting(self, x, y):
        calls["n"] += 1
        if calls["n"] == 60:  # during the second epoch (43 steps per epoch)
            raise KeyboardInterrupt
        return original(self, x, y)

    monkeypatch.setattr(cn.Model, "train_step", interrupting)
    out = tmp_path / "r"
    assert main(["train", "mlp", "--epochs", "3", "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    meta = json.loads((out / "last.json").read_text())
    assert meta["epochs_done"] == 1 and meta["training_state"]["interrupted"] is True
    monkeypatch.setattr(cn.Model, "train_step", original)
    assert main(["train", "--resume", str(out), "--json"]) == 0
    assert last_json(capsys.readouterr().out)["epochs"] == 3


def test_data_command(capsys):
    assert main(["data", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["digits"]["present"] is True
    assert main(["data"]) == 0


def one_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error:")  # the error is one line, the last thing printed
    return last


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "lenet", "--epochs", "1"], "Did you mean 'lenet5'"),
        (["train", "--data", "mnits"], "Did you mean 'mnist'"),
        (["train", "--optimizer", "adma"], "Did you mean 'adam'"),
        (["train", "lenet5", "--image-size", "4"], "at least 12x12 pixels, got 4x4"),
        (["train", "--epochs", "0"], "positive"),
        (["train", "--lr", "-1"], "learning rate"),
        (["train", "--resume", "/nonexistent/run"], "not a resumable run directory"),
        (["train", "--resume", "/nonexistent/run", "--lr", "1"], "only --epochs and --device"),
        (["train", "--data-dir", "/nonexistent/dir"], "does not exist"),
        (["evaluate", "/nonexistent/run"], "No checkpoint"),
    ],
)
def test_bad_input_is_one_sentence(argv, expected, capsys):
    assert main(argv) == 2
    assert expected in one_error(capsys)


def test_dataset_missing_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLASSICNETS_DATA", str(tmp_path))
    assert main(["train", "--data", "mnist", "--out", str(tmp_path / "r")]) == 2
    err = one_error(capsys)
    assert "--data-dir" in err and "train-images-idx3-ubyte.gz" in err
    assert not (tmp_path / "r").exists()  # nothing written half


def test_output_directory_problems(tmp_path, run_dir, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    assert main(["train", "--out", str(blocker / "run")]) == 2
    assert "Cannot write to output directory" in one_error(capsys)
    before = (run_dir / "metrics.csv").read_text()
    assert main(["train", "--out", str(run_dir)]) == 2
    assert "not empty" in one_error(capsys)
    assert (run_dir / "metrics.csv").read_text() == before and blocker.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output_directory(tmp_path, capsys):
    tmp_path.chmod(0o500)
    try:
        assert main(["train", "--out", str(tmp_path / "run")]) == 2
    finally:
        tmp_path.chmod(0o700)


def test_nan_keeps_last_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "r"
    code = main(
        ["train", "mlp", "--optimizer", "sgd", "--lr", "1e4", "--epochs", "2", "--out", str(out)]
    )
    assert code == 2
    err = one_error(capsys)
    assert "epoch 1, step" in err and "no epoch finished" in err


def test_predict_unreadable_image(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a png")
    assert main(["predict", str(run_dir), str(bad)]) == 2
    assert "Cannot read" in one_error(capsys) and "bad.png" in capsys.readouterr().err + str(bad)
    assert main(["predict", str(run_dir), str(tmp_path / "missing.png")]) == 2
    assert "does not exist" in one_error(capsys)


def test_seeded_cli_runs_are_identical(tmp_path):
    for name in ("a", "b"):
        assert (
            main(["train", "mlp", "--epochs", "1", "--seed", "5", "--out", str(tmp_path / name)])
            == 0
        )
    a = cn.load(tmp_path / "a" / "last").module.state_dict()
    b = cn.load(tmp_path / "b" / "last").module.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
