"""``classicnets train`` for language models and ``classicnets generate``, end to end; every
bad input ends in one sentence and exit code 2."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.data.text import Vocabulary
from classicnets.models import create_model
from classicnets.train import SequenceModel

TEXT = (
    "KING:\nWhat news, my lord? Speak, and be brief.\n\n"
    "QUEEN:\nThe news is good, my liege; the field is ours.\n\n"
) * 12


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "play.txt"
    path.write_text(TEXT)
    return path


@pytest.fixture(scope="module")
def run_dir(corpus, tmp_path_factory):
    """One short real run shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("runs") / "lm"
    code = main(
        ["train", "char_gru", "--data", str(corpus), "--hidden", "32", "--layers", "1"]
        + ["--seq-len", "16", "--batch-size", "8", "--epochs", "2", "--lr", "0.01"]
        + ["--out", str(out), "--device", "cpu", "--json"]
    )
    assert code == 0
    return out


def one_error(capsys) -> str:
    """The error line, checked to be one sentence on one line after what train announced."""
    err = capsys.readouterr().err.strip()
    start = err.find("error:")
    assert start >= 0 and "\n" not in err[start:] and "Traceback" not in err, err
    return err[start:]


def test_train_fills_the_run_directory(run_dir, capsys):
    for name in ("config.json", "metrics.csv", "curves.png", "summary.txt", "sample.txt"):
        assert (run_dir / name).is_file(), name
    for stem in ("last", "best"):
        meta = json.loads((run_dir / f"{stem}.json").read_text())
        assert meta["trainer"] == "sequence" and "K" in meta["vocabulary"]["tokens"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "text" and config["model"] == "char_gru"
    assert config["seq_len"] == 16 and config["hidden"] == 32
    header = (run_dir / "metrics.csv").read_text().splitlines()[0]
    assert "val_loss" in header and "val_perplexity" in header
    assert "parameters" in (run_dir / "summary.txt").read_text()


def test_train_json_line(corpus, tmp_path, capsys):
    out = tmp_path / "w"
    args = ["train", "char_rnn", "--data", str(corpus), "--window", "10", "--hidden", "16"]
    assert main(args + ["--epochs", "1", "--out", str(out), "--json", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"val_loss", "val_perplexity", "test_loss", "test_perplexity", "checkpoint"} <= set(
        result
    )
    assert result["data"] == "play" and result["epochs"] == 1
    assert result["val_perplexity"] == pytest.approx(2.718281828 ** result["val_loss"], rel=1e-3)
    assert result["test_bits_per_token"] == pytest.approx(result["test_loss"] / 0.693147, rel=1e-4)


def test_generate_streams_reproducible_text(run_dir, capsys):
    args = ["generate", str(run_dir), "--prompt", "KING:", "--length", "60", "--seed", "3"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("KING:") and len(first) == len("KING:") + 60 + 1
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert main(args[:-1] + ["4", "--temperature", "0.7", "--top-k", "5"]) == 0
    assert capsys.readouterr().out != first


def test_resume_continues_a_text_run(run_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    assert main(["train", "--resume", str(copy), "--epochs", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 3
    assert len((copy / "metrics.csv").read_text().splitlines()) == 4
    assert main(["train", "--resume", str(copy), "--epochs", "3"]) == 2
    assert "already trained 3 of its 3 epochs" in one_error(capsys)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--temperature", "0"], "temperature must be a positive number, got 0.0"),
        (["--temperature", "-1"], "temperature must be a positive number, got -1.0"),
        (["--prompt", "KING Zoë!"], r"outside the model's vocabulary of \d+: 'Z', 'ë'"),
        (["--top-k", "0"], "top-k must be at least 1"),
    ],
)
def test_generate_bad_input(run_dir, capsys, extra, message):
    assert main(["generate", str(run_dir), *extra]) == 2
    assert re.search(message, one_error(capsys))


def test_generate_prompt_longer_than_the_context(tmp_path, capsys):
    vocab = Vocabulary.from_text(TEXT)
    module = create_model(
        "char_transformer", vocab_size=len(vocab), hidden=16, layers=1, heads=2, context=8
    )
    model = SequenceModel(module, vocabulary=vocab, device="cpu").compile()
    model.save(tmp_path / "last")
    assert main(["generate", str(tmp_path), "--prompt", "KING:\nWhat", "--length", "20"]) == 2
    assert "prompt has 10 tokens but the model reads at most 8" in one_error(capsys)
    assert main(["generate", str(tmp_path), "--prompt", "KING:", "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("KING:")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"GIF89a\x00\x01\x00", "binary file"), (b"caf\xe9", "not UTF-8")],
)
def test_train_on_a_file_that_is_not_text(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    out = tmp_path / "run"
    assert main(["train", "char_lstm", "--data", str(path), "--out", str(out)]) == 2
    assert message in one_error(capsys)
    assert not out.exists()  # refused before anything is written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "lenet5", "--seq-len", "64"], "--seq-len applies to language models only"),
        (["train", "char_lstm", "--image-size", "32"], "--image-size applies to image models"),
        (["train", "char_lstm", "--data", "tinyshakespear"], "Did you mean 'tinyshakespeare'"),
        (
            ["train", "char_transformer", "--window", "0", "--data", "PLAY"],
            "--window must be a positive whole number, got 0",
        ),
        (
            ["train", "char_transformer", "--seq-len", "-5", "--data", "PLAY"],
            "--seq-len must be a positive whole number, got -5",
        ),
        (["train", "char_lstm", "--batch-size", "0", "--data", "PLAY"], "--batch-size must be a"),
        (["train", "char_gru", "--batch-size", "5000", "--data", "PLAY"], "too few for 5000"),
    ],
)
def test_train_bad_flags(corpus, tmp_path, capsys, args, message):
    args = [str(corpus) if a == "PLAY" else a for a in args]
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert message in one_error(capsys)
    assert not (tmp_path / "run").exists()


def test_generate_needs_a_language_model(tmp_path, capsys):
    module = create_model("mlp", num_classes=3, in_channels=1, image_size=4)
    from classicnets.train import Model

    Model(module, device="cpu").compile().save(tmp_path / "last")
    assert main(["generate", str(tmp_path)]) == 2
    assert "holds an image model" in one_error(capsys)
    assert torch.get_num_threads() == 1  # the module fixture is in force


def test_evaluate_scores_the_test_text_with_the_best_checkpoint(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    results = json.loads((run_dir / "results.json").read_text())
    assert result["split"] == "test" and result["tokens"] == len(TEXT) - int(len(TEXT) * 0.9)
    assert result["loss"] == results["test"]["loss"]  # the number train reported, exactly
    assert result["bits_per_token"] == pytest.approx(result["loss"] / 0.693147, rel=1e-4)
    assert result["perplexity"] == pytest.approx(2.718281828 ** result["loss"], rel=1e-3)
    assert 0.0 <= result["accuracy"] <= 1.0
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    best = min(float(r.split(",")[header.index("val_loss")]) for r in rows[1:])
    assert main(["evaluate", str(run_dir), "--split", "val", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == pytest.approx(best, abs=1e-4)


def test_evaluate_text_run_table_and_training_split(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--device", "cpu", "--split", "train"]) == 0
    out = capsys.readouterr().out
    assert f"(train, {int(len(TEXT) * 0.8):,} tokens)" in out and "perplexity" in out


def test_evaluate_text_run_on_another_text(run_dir, tmp_path, capsys):
    other = tmp_path / "other.txt"
    other.write_text("QUEEN:\nWhat news, my liege? The field is ours.\n" * 5)
    assert main(["evaluate", str(run_dir), "--data", str(other), "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["data"] == "other" and result["split"] == "all" and result["loss"] > 0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--tta"], "--tta mirrors images; a language model's run has none."),
        (["--data", "{zebra}"], "outside the model's vocabulary"),
    ],
)
def test_evaluate_text_run_bad_input(run_dir, tmp_path, capsys, extra, message):
    if extra[0] == "--data":
        path = tmp_path / "zoo.txt"
        path.write_text("zebra {quagga} " * 20)
        extra = ["--data", str(path)]
    assert main(["evaluate", str(run_dir), "--device", "cpu", *extra]) == 2
    assert message in one_error(capsys)
