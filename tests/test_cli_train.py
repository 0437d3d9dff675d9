"""The train / evaluate / predict commands end to end on the embedded digits: three splits,
the test split scored once, the output contracts, and bad input in one sentence."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

import classicnets as cn
from _synthetic import save_image
from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One short real run shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("runs") / "r1"
    code = main(["train", "lenet5_relu", "--epochs", "3", "--out", str(out), "--device", "cpu"])
    assert code == 0
    return out


def test_train_fills_the_run_directory(run_dir):
    for name in (
        "config.json",
        "metrics.csv",
        "curves.png",
        "summary.txt",
        "results.json",
        "last.safetensors",
        "last.json",
        "best.safetensors",
        "best.json",
    ):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "lenet5_relu" and config["data"] == "digits"
    assert config["image_size"] == 28 and config["val_split"] == 0.1  # upsampled from 8x8
    assert (config["optimizer"], config["lr"]) == ("adam", 3e-3)  # what the recipe chose
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows) == 4 and "val_accuracy" in rows[0] and "test" not in rows[0]
    assert (run_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "Conv2d" in (run_dir / "summary.txt").read_text()


def test_validation_picks_best_and_the_test_is_scored_once(run_dir, capsys):
    results = json.loads((run_dir / "results.json").read_text())
    rows = [r.split(",") for r in (run_dir / "metrics.csv").read_text().splitlines()]
    column = rows[0].index("val_accuracy")
    accuracies = [float(r[column]) for r in rows[1:]]
    assert results["checkpoint"] == "best"
    assert results["best_epoch"] == 1 + accuracies.index(max(accuracies))
    assert results["val_accuracy"] == pytest.approx(max(accuracies), abs=1e-5)
    assert results["test"]["examples"] == 450  # digits' whole test split, never seen before
    code, out, _ = run(capsys, "evaluate", str(run_dir), "--json")
    assert code == 0
    evaluated = json.loads(out)
    assert evaluated["checkpoint"].endswith("best.safetensors") and evaluated["split"] == "test"
    assert evaluated["accuracy"] == results["test"]["accuracy"]  # the same number, exactly
    code, out, _ = run(capsys, "evaluate", str(run_dir), "--split", "val", "--json")
    assert json.loads(out)["accuracy"] == pytest.approx(results["val_accuracy"], abs=1e-6)
    assert json.loads(out)["examples"] == 136  # 10 % of every class of digits' 1,347


def test_val_split_zero_trains_on_everything_and_keeps_last(tmp_path, capsys):
    out = tmp_path / "r"
    code, stdout, _ = run(capsys, "train", "mlp", "--epochs", "2", "--val-split", "0", "--out",
                          str(out), "--json")  # fmt: skip
    assert code == 0
    result = json.loads(stdout)
    assert result["checkpoint"] == "last" and result["best_epoch"] is None
    assert not (out / "best.safetensors").exists() and "val_loss" not in result
    assert "val_" not in (out / "metrics.csv").read_text().splitlines()[0]


def test_json_is_exactly_one_document_on_stdout(tmp_path, capsys):
    code, stdout, stderr = run(capsys, "train", "mlp", "--epochs", "1", "--out",
                               str(tmp_path / "r"), "--json", "--seed", "1")  # fmt: skip
    assert code == 0
    result = json.loads(stdout)  # the whole of stdout, not its last line
    assert result["model"] == "mlp" and result["epochs"] == 1 and 0.5 < result["test_accuracy"]
    assert result["run_dir"] == str(tmp_path / "r")
    assert "training mlp on digits" in stderr and "run directory" in stderr
    assert "upsampled" not in stderr  # an MLP takes 8x8 as it is


def test_evaluate_takes_a_checkpoint_of_a_run_or_from_python(run_dir, tmp_path, capsys):
    for path in (run_dir / "last", run_dir / "last.safetensors", run_dir / "best.json"):
        code, out, err = run(capsys, "evaluate", str(path), "--json")
        assert code == 0, err
    model = cn.Model(cn.create_model("mlp", image_size=8, seed=0), device="cpu").compile()
    model.fit(cn.load_dataset("digits", "train"), epochs=1)
    model.save(tmp_path / "mine")
    code, out, err = run(capsys, "evaluate", str(tmp_path / "mine"), "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] == pytest.approx(
        model.evaluate(cn.load_dataset("digits", "test"))["accuracy"]
    )
    code, out, _ = run(capsys, "evaluate", str(run_dir))
    assert "digits (test, 450 images)" in out and "accuracy" in out


def test_predict_top_classes(run_dir, tmp_path, capsys):
    test = cn.load_dataset("digits", "test")
    path = save_image(tmp_path / "digit.png", np.kron(test.images[0, 0].numpy(), np.ones((4, 4),
                                                       np.uint8)))  # fmt: skip
    code, out, _ = run(capsys, "predict", str(run_dir), str(path), "--json")
    top = json.loads(out)[0]["top"]
    assert code == 0 and len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert sum(p for _, p in top) <= 1.0 + 1e-6
    rgb = save_image(tmp_path / "rgb.png", np.stack([np.kron(test.images[1, 0].numpy(), np.ones(
        (4, 4), np.uint8))] * 3, -1))  # fmt: skip
    code, out, _ = run(capsys, "predict", str(run_dir), str(rgb), "--top", "1")
    assert code == 0 and out.count("%") == 1


def test_predict_prepares_a_photo_as_folder_training_does(tmp_path):
    """A non-square photo: predict's input is pixel for pixel the image-folder loader's."""
    from skimage import data as photos

    from classicnets.runs.predict import read_image

    photo = save_image(tmp_path / "shapes" / "cat" / "0.png", photos.astronaut()[40:400, :])
    for i in range(1, 5):
        save_image(tmp_path / "shapes" / ("cat" if i % 2 else "dog") / f"{i}.png",
                   photos.coffee()[:300, i * 20 : i * 20 + 380])  # fmt: skip
    folder = cn.load_dataset("imagefolder", "train", tmp_path / "shapes", image_size=32)
    index = [i for i in range(len(folder)) if folder.labels[i] == 0][0]
    assert torch.equal(read_image(str(photo), (3, 32, 32)), folder.images[index])


def test_resume_extends_a_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert run(capsys, "train", "mlp", "--epochs", "1", "--out", str(out))[0] == 0
    code, stdout, _ = run(capsys, "train", "--resume", str(out), "--epochs", "3", "--json")
    assert code == 0 and json.loads(stdout)["epochs"] == 3
    assert len((out / "metrics.csv").read_text().splitlines()) == 4
    assert json.loads((out / "last.json").read_text())["epochs_done"] == 3
    code, _, err = run(capsys, "train", "--resume", str(out), "--epochs", "3")
    assert code == 2 and "already trained 3 of its 3 epochs" in err


def test_ctrl_c_saves_where_training_stood_and_exits_130(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = cn.Model.train_step

    def interrupting(self, batch):
        calls["n"] += 1
        if calls["n"] == 60:  # during the second epoch (38 steps per epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, batch)

    monkeypatch.setattr(cn.Model, "train_step", interrupting)
    out = tmp_path / "r"
    code, _, err = run(capsys, "train", "mlp", "--epochs", "3", "--out", str(out))
    assert code == 130
    assert "Interrupted at step 22 of epoch 2" in err and f"--resume {out}" in err
    meta = json.loads((out / "last.json").read_text())
    assert meta["training_state"]["position"] == [1, 22] and meta["global_step"] == 60
    monkeypatch.setattr(cn.Model, "train_step", original)
    code, stdout, _ = run(capsys, "train", "--resume", str(out), "--json")
    assert code == 0 and json.loads(stdout)["epochs"] == 3


def test_the_cli_and_the_api_train_the_same_weights(tmp_path):
    argv = ["train", "mlp", "--epochs", "2", "--seed", "5", "--precision", "fp32"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    train = cn.load_dataset("digits", "train")
    part, val = train.validation_split(0.1)
    model = cn.Model(cn.create_model("mlp", num_classes=10, in_channels=1, image_size=8, seed=5))
    model.compile(optimizer="adam", lr=3e-3)
    model.fit(part, epochs=2, batch_size=32, validation_data=val, seed=5)
    cli = cn.load(tmp_path / "a" / "last").module.state_dict()
    for name, tensor in model.module.state_dict().items():
        assert torch.equal(tensor, cli[name]), name


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    text = text[text.index("options:") :]
    for flag, default in [
        ("--epochs N", "(default: the recipe's; see `classicnets recipes MODEL --data DATA`)"),
        ("--batch-size", "(default: the recipe's"),
        ("--optimizer", "(default: the recipe's"),
        ("--lr", "(default: the recipe's"),
        ("--weight-decay", "(default: the recipe's"),
        ("--momentum", "(default: 0.9)"),
        ("--warmup-epochs", "(default: 0)"),
        ("--label-smoothing", "(default: the recipe's"),
        ("--precision NAME", "(default: auto)"),
        ("--seed", "(default: 0)"),
        ("--val-split F", "(default: 0.1)"),
        (
            "--grad-clip NORM",
            "(default: none for image models, 1 for language models, 1 for "
            "masked language models, 1 for encoder-decoders, 5 for taggers)",
        ),  # fmt: skip
        ("--patience EPOCHS", "(default: off)"),
        ("--save-every", "(default: auto)"),
        ("--seq-len", "language models only"),
    ]:
        assert flag in text, flag
        assert default in text[text.index(flag) :][:400], flag


def one_error(err: str) -> str:
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error:") and last.endswith("."), last
    return last


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "lenet", "--epochs", "1"], "Did you mean 'lenet5'"),
        (["train", "--data", "mnits"], "Did you mean 'mnist'"),
        (["train", "--optimizer", "adma"], "Did you mean 'adam'"),
        (["train", "lenet5", "--image-size", "4"], "at least 12x12 pixels, got 4x4"),
        (["train", "--image-size", "0"], "--image-size must be a positive whole number, got 0"),
        (["train", "--image-size", "-28"], "--image-size must be a positive whole number"),
        (["train", "--epochs", "0"], "--epochs must be a positive whole number, got 0"),
        (["train", "--batch-size", "0"], "--batch-size must be a positive whole number, got 0"),
        (["train", "--lr", "-1"], "--lr must be a number at least 0"),
        (["train", "--augment", "crop:999"], "pads by 999 pixels, but the images are 28x28"),
        (["train", "--augment", "cutout:99"], "cuts out 99x99 squares from 28x28 images"),
        (["train", "--val-split", "1"], "--val-split must be a number in [0, 1), got 1.0"),
        (["train", "--save-every", "0"], "--save-every takes a positive number"),
        (["train", "--patience", "2", "--val-split", "0"], "--val-split 0 leaves no validation"),
        (["train", "--grad-clip", "0"], "--grad-clip must be a positive norm"),
        (["train", "--momentum", "1"], "--momentum must be a number in [0, 1)"),
        (["train", "--seq-len", "8"], "--seq-len applies to language models only"),
        (["train", "--resume", "/nonexistent/run"], "not a resumable run directory"),
        (["train", "--resume", "/nonexistent/run", "--lr", "1"], "not a resumable run directory"),
        (["train", "--data-dir", "/nonexistent/dir"], "does not exist"),
        (["evaluate", "/nonexistent/run"], "No checkpoint"),
        (["train", "--optimizer", "adam", "--lr", "1e6"], "lower the learning rate"),
    ],
)
def test_bad_input_is_one_sentence_and_nothing_is_written(argv, expected, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run(capsys, *argv, "--out", str(out)) if argv[0] == "train" else run(
        capsys, *argv)  # fmt: skip
    assert code == 2
    assert expected in " ".join(one_error(err).split())
    assert not out.exists()  # refused before anything is written, or removed


def test_resume_takes_only_epochs_and_device(run_dir, capsys):
    code, _, err = run(capsys, "train", "--resume", str(run_dir), "--lr", "1")
    assert code == 2 and "only --epochs and --device may be given with it, not --lr" in err


def test_data_dir_is_the_only_place_looked_in(tmp_path, capsys, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "train", "--data", "mnist", "--data-dir", str(empty), "--out",
                       str(tmp_path / "r"))  # fmt: skip
    assert code == 2
    message = " ".join(one_error(err).split())
    assert f"looked in {empty}, {empty / 'mnist'} for" in message
    assert not (tmp_path / "r").exists() and list(empty.iterdir()) == []


def test_tta_refuses_digits(run_dir, capsys):
    code, _, err = run(capsys, "evaluate", str(run_dir), "--tta")
    assert code == 2 and "a mirrored 3 is no 3" in one_error(err)


def test_dataset_missing_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLASSICNETS_DATA", str(tmp_path))
    monkeypatch.setenv("CLASSICNETS_CACHE", str(tmp_path / "cache"))
    code, _, err = run(capsys, "train", "--data", "mnist", "--out", str(tmp_path / "r"))
    assert code == 2
    message = one_error(err)
    assert "--data-dir" in message and "train-images-idx3-ubyte.gz" in message
    assert not (tmp_path / "r").exists() and "training" not in err  # checked before starting


def test_output_directory_problems(tmp_path, run_dir, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    code, _, err = run(capsys, "train", "--out", str(blocker / "run"))
    assert code == 2 and "Cannot write to output directory" in one_error(err)
    before = (run_dir / "metrics.csv").read_text()
    code, _, err = run(capsys, "train", "--out", str(run_dir))
    assert code == 2 and "not empty" in one_error(err)
    assert (run_dir / "metrics.csv").read_text() == before and blocker.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output_directory(tmp_path, capsys):
    tmp_path.chmod(0o500)
    try:
        assert main(["train", "--out", str(tmp_path / "run")]) == 2
    finally:
        tmp_path.chmod(0o700)


def test_divergence_keeps_the_last_good_checkpoint_and_no_best(tmp_path, capsys):
    argv = ["train", "mlp", "--optimizer", "sgd", "--lr", "30", "--epochs", "3"]
    out = tmp_path / "r"
    code, _, err = run(capsys, *argv, "--out", str(out), "--save-every", "epoch")
    message = one_error(err)  # diverges at update 3, before any checkpoint
    assert code == 2 and "at epoch 1, step 3" in message and "lower the learning rate" in message
    assert "No checkpoint was saved" in message and not out.exists()  # nothing half-made left
    code, _, err = run(capsys, *argv, "--out", str(out), "--save-every", "1")
    message = one_error(err)
    assert code == 2 and f"The last good checkpoint is {out / 'last.safetensors'}" in message
    assert cn.load(out / "last").global_step == 2  # the update before the blow-up
    assert not (out / "best.safetensors").exists()  # no epoch ended: no best, ever diverged


def test_predict_bad_input(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a png")
    code, _, err = run(capsys, "predict", str(run_dir), str(bad))
    assert code == 2 and "Cannot read" in one_error(err) and "bad.png" in err
    code, _, err = run(capsys, "predict", str(run_dir), str(tmp_path / "missing.png"))
    assert code == 2 and "does not exist" in one_error(err)
    code, _, err = run(capsys, "predict", str(run_dir), str(bad), "--top", "0")
    assert code == 2 and "--top must be a whole number of at least 1, got 0" in one_error(err)


def test_data_command_lists_datasets_and_corpora(capsys):
    code, out, _ = run(capsys, "data", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["digits"]["present"] is True and rows["tinyshakespeare"]["kind"] == "text"
    code, out, _ = run(capsys, "data")
    assert code == 0 and "tinyshakespeare" in out and "alice" in out
