"""``classicnets train`` / ``evaluate`` / ``generate`` for encoder-decoders, end to end: a short
real run on the reversal task learns, its numbers are checked against the task's own answers,
the run resumes, and every bad input ends in one sentence, exit code 2 and nothing written."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.errors import ClassicnetsError
from classicnets.runs import Seq2SeqRunConfig, config_for_model, load_run

TASK = ["--data", "seq2seq_reverse", "--train-size", "2000", "--val-size", "200"]
TASK += ["--test-size", "200", "--max-length", "6"]
FIT = ["--epochs", "3", "--batch-size", "32", "--optimizer", "adam", "--lr", "1e-3"]
FIT += ["--label-smoothing", "0", "--schedule", "constant", "--device", "cpu"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One short real run shared by the read-only tests below, and its --json result."""
    out = tmp_path_factory.mktemp("runs") / "reverse"
    assert main(["train", "transformer_seq2seq", *TASK, *FIT, "--out", str(out), "--json"]) == 0
    return out, json.loads((out / "results.json").read_text())  # what --json printed, and more


def one_error(capsys) -> str:
    """The error line, checked to be one sentence on one line after what train announced."""
    err = capsys.readouterr().err.strip()
    start = err.find("error:")
    assert start >= 0 and "\n" not in err[start:] and "Traceback" not in err, err
    assert err.endswith("."), err
    return err[start:]


def test_the_run_learns_to_reverse_and_says_so_in_its_files(run):
    out, result = run
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "seq2seq" and config["max_length"] == 6 and config["beam_width"] == 1
    assert "val_exact_match" in (out / "metrics.csv").read_text().splitlines()[0]
    assert json.loads((out / "best.json").read_text())["trainer"] == "seq2seq"
    # three epochs of 2,000 pairs reverse most strings of up to 6 digits (0.76 when written)
    assert result["test_decoded_exact_match"] >= 0.5, result
    assert result["test_decoded_exact_match"] == pytest.approx(result["test_exact_match"])
    assert 0 < result["test_bleu"] <= 100
    # translations.txt against the task's own answer: the source reversed
    rows = [line.split("\t") for line in (out / "translations.txt").read_text().splitlines()[1:]]
    assert len(rows) == 20
    for source, output, target in rows:
        wrong = target.endswith("  <- wrong")
        target = target.removesuffix("  <- wrong")
        assert target == source[::-1] and wrong == (output != target)


def test_exact_match_is_the_share_of_test_sources_translated_into_their_reversal(run):
    out, result = run
    _, model = load_run(out, device="cpu")
    from classicnets.runs.seq2seq import load_task

    saved = json.loads((out / "config.json").read_text())
    test = load_task(Seq2SeqRunConfig.from_dict(saved, "config.json")).test
    outputs = model.translate(list(test.sources))
    share = sum(o == s[::-1] for o, s in zip(outputs, test.sources, strict=True)) / len(test)
    assert share == pytest.approx(result["test_decoded_exact_match"])


def test_evaluate_reports_the_runs_own_test_numbers(run, capsys):
    out, result = run
    assert main(["evaluate", str(out), "--device", "cpu", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["split"] == "test" and scored["pairs"] == 200
    for key in ("loss", "exact_match", "decoded_exact_match", "bleu"):
        assert scored[key] == pytest.approx(result[f"test_{key}"], abs=1e-6), key


def test_generate_translates_the_text_greedy_and_with_a_beam(run, capsys):
    out, _ = run
    _, model = load_run(out, device="cpu")
    for beam in ("1", "3"):
        assert main(["generate", str(out), "--text", "40213", "--beam", beam]) == 0
        printed = capsys.readouterr().out.strip()
        assert printed == model.translate(["40213"], beam_width=int(beam))[0]
        assert printed.isdigit()


def test_resume_trains_on_to_the_new_total(run, tmp_path, capsys):
    out, _ = run
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    assert main(["train", "--resume", str(copy), "--epochs", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["epochs"] == 4 and len((copy / "metrics.csv").read_text().splitlines()) == 5


def test_lstm_seq2seq_runs_through_the_same_command(tmp_path, capsys):
    args = ["train", "lstm_seq2seq", "--data", "seq2seq_copy", "--train-size", "200"]
    args += ["--val-size", "20", "--test-size", "20", "--max-length", "4", "--epochs", "1"]
    assert main([*args, "--device", "cpu", "--out", str(tmp_path / "lstm"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0 <= result["test_decoded_exact_match"] <= 1
    assert (tmp_path / "lstm" / "translations.txt").is_file()


def test_models_route_to_their_kind_of_run():
    assert config_for_model("transformer_seq2seq") is Seq2SeqRunConfig
    assert config_for_model("lstm_seq2seq") is Seq2SeqRunConfig
    with pytest.raises(ClassicnetsError, match="is an encoder-decoder; it cannot run as a text"):
        from classicnets.runs import TextRunConfig

        TextRunConfig(model="transformer_seq2seq")
    with pytest.raises(ClassicnetsError, match="is an image model; it cannot run as a seq2seq"):
        Seq2SeqRunConfig(model="lenet5")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--data", "seq2seq_revers"], "Did you mean 'seq2seq_reverse'"),
        (["--data", "digits"], "Unknown sequence-to-sequence task 'digits'"),
        (["--beam-width", "0"], "--beam-width must be a positive whole number, got 0"),
        (["--augment", "flip"], "--augment applies to image models only"),
        (["--val-split", "0.2"], "use --val-size"),
        (["--label-smoothing", "1"], "--label-smoothing must be a number in [0, 1)"),
    ],
)
def test_bad_training_input_is_one_sentence_and_writes_nothing(args, needle, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["train", "transformer_seq2seq", *args, "--out", str(out)]) == 2
    assert needle in one_error(capsys)
    assert not out.exists()


def test_an_image_model_refuses_the_encoder_decoders_flags(tmp_path, capsys):
    assert main(["train", "lenet5", "--train-size", "10", "--out", str(tmp_path / "x")]) == 2
    assert "--train-size applies to encoder-decoders only" in one_error(capsys)


def test_bad_generate_and_evaluate_input_is_one_sentence(run, capsys):
    out, _ = run
    assert main(["generate", str(out), "--text", "123", "--beam", "0"]) == 2
    assert "--beam must be a beam width of at least 1, got 0" in one_error(capsys)
    assert main(["generate", str(out)]) == 2
    assert "Give the text to translate with --text" in one_error(capsys)
    assert main(["generate", str(out), "--text", "12a"]) == 2
    one_error(capsys)  # a character the vocabulary lacks: named in one sentence
    assert main(["evaluate", str(out), "--data", "seq2seq_add", "--device", "cpu"]) == 2
    assert "The source vocabulary of seq2seq_add (14 tokens) does not match" in one_error(capsys)


def test_viz_attention_draws_where_the_decoder_looks(run, tmp_path, capsys):
    out, _ = run
    png = tmp_path / "cross.png"
    assert main(["viz", str(out), "attention", "--prompt", "5021", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from classicnets.viz.seq2seq_attention import cross_attention

    _, model = load_run(out, device="cpu")
    src = model.source_vocabulary.encode("5021", strict=True)
    written = model.decode(src[None])[0]
    weights = cross_attention(model.module, src, written)  # (layers, T, S)
    assert weights.shape == (2, written.shape[0], 4)
    assert torch.allclose(weights.sum(-1), torch.ones(2, written.shape[0]), atol=1e-5)
    assert main(["viz", str(out), "filters"]) == 2
    assert "is a seq2seq run; its pictures are: attention, curves, lr." in one_error(capsys)
    for what in ("curves", "lr"):  # what every run has
        assert main(["viz", str(out), what, "--out", str(tmp_path / f"{what}.png")]) == 0
        assert (tmp_path / f"{what}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_image_only_commands_refuse_an_encoder_decoder(run, tmp_path, capsys):
    from PIL import Image

    run, _ = run
    image = tmp_path / "x.png"
    Image.new("L", (28, 28)).save(image)
    for argv in (
        ["export", str(run), "--format", "onnx", "--out", str(tmp_path / "m.onnx")],
        ["predict", str(run), str(image)],
    ):
        assert main(argv) == 2
        assert "holds an encoder-decoder" in one_error(capsys)
    assert not (tmp_path / "m.onnx").exists()
