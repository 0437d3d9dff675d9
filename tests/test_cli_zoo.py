"""The ``summary`` and ``models`` commands, through ``classicnets.cli.main``."""

from __future__ import annotations

import json

import pytest

from classicnets.cli import main
from classicnets.models import list_models, model_info


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "Traceback" not in err
    return " ".join(err.split())


def test_summary_table(capsys):
    assert main(["summary", "resnet18", "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "features" in out and "11,689,512" in out
    assert "1,814,073,344" in out and "FLOPs" in out


def test_summary_json_at_a_small_input(capsys):
    args = ["summary", "vgg11", "--input", "1x32x32", "--num-classes", "10", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "vgg11" and data["input"] == [1, 32, 32]
    assert data["layers"][-1] == {
        "name": "head.fc8", "type": "Linear", "output_shape": [10], "params": 40_970, "macs": 40_960
    }  # fmt: skip
    assert sum(layer["params"] for layer in data["layers"]) == data["total_params"]


def test_summary_says_when_a_model_takes_its_small_input_form(capsys):
    assert main(["summary", "resnet18", "--input", "3x16x16", "--depth", "1"]) == 0
    captured = capsys.readouterr()
    assert "11,681,832" in captured.out  # the CIFAR stem: not the paper's 11,689,512
    assert "resnet18 below 64 px builds its small-input form" in " ".join(captured.err.split())
    assert main(["summary", "resnet18", "--input", "3x64x64", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 11_689_512 and data["note"] is None
    assert main(["summary", "vgg11", "--input", "3x32x32"]) == 0  # one form at every size
    assert "note" not in capsys.readouterr().err


def test_models_lists_every_model_with_params_and_macs(capsys):
    assert main(["models", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["resnet50"]["params"] == 25_557_032
    assert rows["resnet50"]["macs"] == pytest.approx(4.09e9, rel=0.01)
    assert rows["vgg16"]["year"] == 2014 and rows["vgg16"]["family"] == "VGG"
    assert rows["lenet5"]["input"] == [1, 28, 28]
    # the sequence models are listed too: sizes counted by hand from their layers
    embeddings, attention, ffn = 2 * 13 * 128, 4 * (128 * 128 + 128), 2 * 128 * 512 + 512 + 128
    encoder, decoder = attention + ffn + 2 * 256, 2 * attention + ffn + 3 * 256  # + LayerNorms
    assert rows["transformer_seq2seq"]["params"] == embeddings + 2 * encoder + 2 * decoder
    lstm = 2 * (4 * 128 * (100 + 128) + 2 * 4 * 128)
    assert rows["bilstm_tagger"]["params"] == 20_000 * 100 + lstm + (2 * 128 + 1) * 14
    assert rows["bilstm_crf_tagger"]["params"] == rows["bilstm_tagger"]["params"] + 14 * 16
    assert all(rows[n]["macs"] > 0 for n in ("lstm_seq2seq", "bilstm_crf_tagger"))


def test_unknown_model_suggests_the_closest(capsys):
    assert main(["summary", "resnet19"]) == 2
    hint = "Did you mean 'resnet18', 'resnet101', 'resnet110', 'resnet152' or 'resnet1202'?"
    assert hint in _error(capsys)


def test_a_family_name_suggests_its_members(capsys):
    assert main(["summary", "densenet"]) == 2
    hint = "Did you mean 'densenet121', 'densenet161', 'densenet169', 'densenet201' or "
    hint += "'densenet_basic'?"
    assert hint in _error(capsys)


def test_input_too_small_says_the_smallest_size(capsys):
    assert main(["summary", "alexnet", "--input", "3x32x32"]) == 2
    assert "at least 65x65 pixels, got 32x32" in _error(capsys)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--num-classes", "0"], "--num-classes must be a positive integer, got 0."),
        (["--depth", "0"], "--depth must be a positive integer, got 0."),
        (["--input", "224x224"], "is not CxHxW"),
        (["--input", "3x224x200"], "square images"),
    ],
)
def test_bad_flags_are_one_sentence(capsys, args, message):
    assert main(["summary", "resnet18", *args]) == 2
    assert message in _error(capsys)


def test_unknown_model_without_a_close_name_lists_the_known_ones(capsys):
    assert main(["summary", "zebra"]) == 2
    err = _error(capsys)
    assert "Unknown model 'zebra'." in err and "Known models:" in err
    assert "resnet18" in err and "Did you mean" not in err


@pytest.mark.parametrize("name", [n for n in list_models() if model_info(n).min_image_size > 1])
def test_every_model_says_its_smallest_input(capsys, name):
    smallest = model_info(name).min_image_size
    side = smallest - 1
    assert main(["summary", name, "--input", f"3x{side}x{side}"]) == 2
    assert f"at least {smallest}x{smallest} pixels, got {side}x{side}" in _error(capsys)


def test_train_unknown_model_fails_before_reading_data(tmp_path, capsys):
    # cifar10 is not in the empty --data-dir: the model's name is checked first
    args = ["train", "resnet19", "--data", "cifar10", "--out", str(tmp_path / "run")]
    assert main([*args, "--data-dir", str(tmp_path)]) == 2
    assert "Unknown model 'resnet19'. Did you mean 'resnet18'," in _error(capsys)
    assert not (tmp_path / "run").exists()


def test_train_image_size_too_small_names_the_smallest(tmp_path, capsys):
    args = ["train", "alexnet", "--image-size", "32", "--out", str(tmp_path / "run")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the "training ..." line
    assert err.startswith("error:") and err.endswith(".")
    assert "takes images of at least 65x65 pixels, got 32x32; pass --image-size 65" in err
    assert not (tmp_path / "run").exists()


def test_negative_num_classes_is_one_sentence(capsys):
    assert main(["summary", "lenet5", "--num-classes", "-2"]) == 2
    assert "--num-classes must be a positive integer, got -2." in _error(capsys)


def test_summary_of_a_language_model_counts_per_sequence(capsys):
    assert main(["summary", "char_lstm"]) == 0
    out = capsys.readouterr().out
    assert "char_lstm on 128 tokens" in out and "876,929" in out and "111.18 M" in out
    assert main(["summary", "char_transformer", "--input", "256", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input"] == [1, 1, 256] and data["layers"][-1]["output_shape"] == [256, 65]
    assert main(["summary", "char_lstm", "--input", "0"]) == 2
    assert "--input must be a positive number of tokens, got 0." in _error(capsys)
