"""The new datasets and --augment / --label through the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _synthetic import cifar100_binary, cifar100_truth, save_image, write_tar
from classicnets.cli import main


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "shapes"
    rng = np.random.default_rng(0)
    for k, name in enumerate(("circle", "square")):
        for i in range(6):
            image = rng.integers(0, 60, (24, 24, 3), dtype=np.uint8) + 150 * k
            save_image(root / name / f"{i}.png", image.astype(np.uint8))
    return root


def error_line(capsys) -> str:
    """The error the command ended with: one line, after any progress notes."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error:") and last.endswith(".")
    return last


def test_train_on_an_image_folder_with_augmentation(folder, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train", "mlp", "--data", "imagefolder", "--data-dir", str(folder),
            "--image-size", "16", "--epochs", "2", "--augment", "crop:2,altflip,cutout",
            "--out", str(out), "--device", "cpu", "--json",
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["data"] == "imagefolder" and 0 <= result["test_accuracy"] <= 1
    config = json.loads((out / "config.json").read_text())
    assert config["augment"] == "crop:2,altflip,cutout" and config["image_size"] == 16
    meta = json.loads((out / "last.json").read_text())
    assert meta["classes"] == ["circle", "square"]
    assert main(["evaluate", str(out), "--tta", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert 0 <= evaluated["accuracy"] <= 1


def test_cifar100_coarse_labels_end_to_end(tmp_path, capsys):
    write_tar(tmp_path / "cifar-100-binary.tar.gz", cifar100_binary(cifar100_truth(12, 8)))
    out = tmp_path / "run"
    args = ["train", "mlp", "--data", "cifar100", "--data-dir", str(tmp_path), "--epochs", "1"]
    args += ["--val-split", "0"]  # 12 training images of 20 classes: none to spare
    assert main([*args, "--label", "coarse", "--out", str(out), "--device", "cpu"]) == 0
    meta = json.loads((out / "last.json").read_text())
    assert len(meta["classes"]) == 20 and meta["classes"][0] == "coarse0"
    capsys.readouterr()
    assert main(["evaluate", str(out), "--json"]) == 0  # with the run's own --label
    assert json.loads(capsys.readouterr().out)["data"] == "cifar100"


def test_data_lists_the_new_datasets(folder, capsys):
    assert main(["data", "--json", "--data-dir", str(folder)]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert {"cifar10", "cifar100", "tinyimagenet", "imagefolder"} <= set(rows)
    assert rows["imagefolder"]["present"] and rows["imagefolder"]["where"] == str(folder)
    assert main(["data"]) == 0
    table = capsys.readouterr().out
    assert "tinyimagenet" in table and "cifar100" in table


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "imagefolder"], "needs --data-dir"),
        (["--data", "imagefolder", "--data-dir", "EMPTY"], "holds no images in class sub-folders"),
        (["--data", "imagefolder", "--data-dir", "BROKEN"], "broken.png as an image"),
        (["--data", "digits", "--augment", "crop,flp"], "Did you mean 'flip'?"),
        (["--data", "digits", "--augment", "cutout:big"], "whole number of pixels"),
        (["--data", "digits", "--label", "coarse"], "'digits' does not take the option 'label'"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(folder, tmp_path, capsys, extra, message):
    (tmp_path / "EMPTY" / "cats").mkdir(parents=True)
    broken = tmp_path / "BROKEN"
    for i in range(4):
        save_image(broken / "a" / f"ok{i}.png", np.zeros((4, 4, 3), np.uint8))
    (broken / "a" / "broken.png").write_bytes(b"\x89PNG not really")
    extra = [str(tmp_path / e) if e in ("EMPTY", "BROKEN") else e for e in extra]
    out = tmp_path / "run"
    assert main(["train", "mlp", "--epochs", "1", "--out", str(out), *extra]) == 2
    assert message in error_line(capsys)
    assert not out.exists()  # nothing written half


def test_label_choices_are_checked_by_the_parser(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--label", "medium"])
    assert info.value.code == 2 and "invalid choice: 'medium'" in capsys.readouterr().err
