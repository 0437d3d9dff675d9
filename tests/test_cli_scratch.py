"""``classicnets scratch``: the hand-written network trained on digits through the command line
(validation chooses the epoch, the test split is scored once), its gradients checked, the two
demos the course draws, and the bad input the issue lists (one sentence, exit 2, nothing
written)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def _untimed(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short run, shared: (its JSON result, the files the run left in its folder)."""
    import contextlib
    import io
    import os

    folder = tmp_path_factory.mktemp("scratch")
    here = os.getcwd()
    os.chdir(folder)
    try:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            argv = ["scratch", "train", "--data", "digits", "--epochs", "4", "--json"]
            assert main([*argv, "--hidden", "64", "--seed", "3"]) == 0
    finally:
        os.chdir(here)
    return json.loads(out.getvalue()), sorted(p.name for p in folder.iterdir())


def test_training_by_hand_on_digits_reports_test_accuracy(trained):
    result, files = trained
    assert files == []  # nothing written to disk
    assert result["test_accuracy"] > 0.9
    assert len(result["history"]) == 4
    best = max(result["history"], key=lambda r: r["val_accuracy"])
    assert result["best_epoch"] == best["epoch"]  # the kept epoch is the validation's best
    assert result["val_accuracy"] == best["val_accuracy"]
    assert result["validation_images"] > 0 and result["test_images"] > 0
    assert result["parameters"] == 64 * 64 + 64 + 64 * 10 + 10


def test_the_seed_fixes_the_run_and_another_seed_changes_it(trained, capsys):
    first, _ = trained
    argv = ["scratch", "train", "--data", "digits", "--epochs", "4", "--json", "--hidden", "64"]
    assert main([*argv, "--seed", "3"]) == 0
    again = _json(capsys)
    assert _untimed(again["history"]) == _untimed(first["history"])
    assert main([*argv, "--seed", "4"]) == 0
    assert _untimed(_json(capsys)["history"]) != _untimed(first["history"])


def test_optimizers_and_options_reach_the_network(capsys):
    argv = ["scratch", "train", "--data", "digits", "--epochs", "5", "--json", "--hidden", "32"]
    extra = ["--optimizer", "adam", "--lr", "0.01", "--dropout", "0.2", "--batch-norm"]
    assert main([*argv, *extra, "--schedule", "cosine"]) == 0
    result = _json(capsys)
    assert result["test_accuracy"] > 0.9
    assert any("batch" in name.lower() for name in result["layers"])
    assert result["history"][-1]["lr"] < result["history"][0]["lr"]  # cosine decays


def test_gradcheck_agrees(capsys):
    assert main(["scratch", "gradcheck", "--hidden", "8,6", "--activation", "sigmoid"]) == 0
    assert "agree" in capsys.readouterr().out


def test_the_vanishing_gradient_demo(tmp_path, capsys):
    out = tmp_path / "vanishing.png"
    assert main(["scratch", "vanishing", "--epochs", "1", "--out", str(out), "--json"]) == 0
    rows = _json(capsys)["rows"]
    with Image.open(out) as image:
        assert image.format == "PNG"

    def shrink(row):  # how much smaller the first layer's gradient is than the last's
        return row["init"][0] / row["init"][-1]

    assert len(rows["sigmoid"]["init"]) == 11  # 10 hidden layers and the output layer
    assert shrink(rows["sigmoid"]) < 0.01  # σ' <= 0.25 at each of ten layers
    assert shrink(rows["relu"]) > 10 * shrink(rows["sigmoid"])
    assert shrink(rows["maxout"]) > 10 * shrink(rows["sigmoid"])


def test_the_batch_size_demo(tmp_path, capsys):
    out = tmp_path / "batches.png"
    assert main(["scratch", "batches", "--epochs", "2", "--out", str(out), "--json"]) == 0
    rows = _json(capsys)["rows"]
    assert out.is_file()
    updates = {name: row["points"][-1]["updates"] for name, row in rows.items()}
    assert updates["full"] == 2 and updates["32"] < updates["1"]
    assert updates["1"] == 2 * rows["full"]["batch_size"]  # one update per example
    for row in rows.values():
        losses = [p["train_loss"] for p in row["points"]]
        assert len(losses) == 3 and losses[-1] < losses[0]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--hidden", "64,0"], "--hidden takes positive widths"),
        (["--optimizer", "adamm"], "adam"),
        (["--activation", "maxout", "--maxout-k", "1"], "--maxout-k"),
        (["--dropout", "1"], "--dropout"),
        (["--epochs", "0"], "--epochs"),
        (["--lr", "-1"], "--lr"),
    ],
)
def test_bad_input_is_one_sentence(argv, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["scratch", "train", "--data", "digits", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_demo_checks_its_out_before_computing(tmp_path, capsys):
    assert main(["scratch", "vanishing", "--out", str(tmp_path / "no" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_activations_picture(tmp_path, capsys):
    out = tmp_path / "act.png"
    assert main(["scratch", "activations", "sigmoid", "relu", "maxout", "--out", str(out)]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size[0] > 300
    assert main(["scratch", "activations", "sigmod", "--out", str(tmp_path / "b.png")]) == 2
    assert "sigmoid" in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists()
    assert main(["viz", "activations", "--out", str(tmp_path / "all.png")]) == 0  # the same
    assert (tmp_path / "all.png").stat().st_size > 10_000
