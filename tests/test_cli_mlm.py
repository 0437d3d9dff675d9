"""``classicnets train bert_mini`` / ``evaluate`` for masked language models, end to end: a tiny
pre-training run on two small books, its test numbers recomputed by hand from the kept weights,
a which-book run that starts from its encoder (the weights copied exactly) and one from
scratch, and bad input ending in one sentence, exit code 2 and nothing written."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.errors import ClassicnetsError

SIZE = ["--hidden", "32", "--layers", "1", "--heads", "2"]
FIT = ["--epochs", "1", "--batch-size", "16", "--optimizer", "adamw", "--lr", "1e-3"]
FIT += ["--schedule", "constant", "--device", "cpu", "--precision", "fp32"]
WORDS_A = "the king and queen of our realm shall speak thee thou art gentle lord".split()
WORDS_B = "alice looked at the rabbit and said it was curious very curious indeed".split()


@pytest.fixture(scope="module")
def wired():
    """The masked-language-model run module (the package registers it: a check that it does)."""
    from classicnets.runs import mlm, pipeline
    from classicnets.train import loading
    from classicnets.train.mlm import MaskedLMModel, SequenceClassifierModel

    assert isinstance(pipeline.TASKS["mlm"], mlm.MLMTask)
    assert loading._trainer_class({"trainer": "mlm"}) is MaskedLMModel
    assert loading._trainer_class({"trainer": "sequence_classifier"}) is SequenceClassifierModel
    return mlm


def _book(words: list[str], seed: int, lines: int = 120) -> str:
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(words), (lines, 6), generator=generator).tolist()
    return "\n".join(" ".join(words[i] for i in row) for row in picks) + "\n"


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """Two small books of different words: ``a.txt,b.txt`` as --data."""
    folder = tmp_path_factory.mktemp("books")
    (folder / "a.txt").write_text(_book(WORDS_A, 1))
    (folder / "b.txt").write_text(_book(WORDS_B, 2))
    return f"{folder / 'a.txt'},{folder / 'b.txt'}"


@pytest.fixture(scope="module")
def pretrained(wired, books, tmp_path_factory):
    """One tiny pre-training run shared by the tests below, and its results.json."""
    out = tmp_path_factory.mktemp("runs") / "pretrain"
    args = ["train", "bert_mini", "--data", books, "--max-len", "32", *SIZE, *FIT]
    assert main([*args, "--out", str(out), "--json"]) == 0
    return out, json.loads((out / "results.json").read_text())


def one_error(capsys) -> str:
    """The error line, checked to be one sentence on one line after what train announced."""
    err = capsys.readouterr().err.strip()
    start = err.find("error:")
    assert start >= 0 and "\n" not in err[start:] and "Traceback" not in err, err
    assert err.endswith("."), err
    return err[start:]


def test_pretraining_writes_its_run_and_its_mlm_accuracy_is_recomputed_by_hand(wired, pretrained):
    out, result = pretrained
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "mlm" and config["objective"] == "pretrain"
    assert config["max_len"] == 32 and config["model_kwargs"]["hidden"] == 32
    assert "val_mlm_accuracy" in (out / "metrics.csv").read_text().splitlines()[0]
    assert json.loads((out / "best.json").read_text())["trainer"] == "mlm"
    from classicnets.data.mlm import IGNORE, SPECIALS, mask_tokens
    from classicnets.runs import load_run

    opened, model = load_run(out, device="cpu")
    test = wired.load_windows(opened.config).test
    text = "".join(open(p).read() for p in config["data"].split(","))
    assert 0 < int((test >= len(SPECIALS)).sum()) < 0.2 * len(text)  # about a tenth of each
    # the run's masking of the test text (its seed), scored with the kept weights by hand
    generator = torch.Generator().manual_seed(config["seed"])
    inputs, labels = mask_tokens(test, vocab_size=len(model.vocabulary), generator=generator)
    model.module.eval()
    with torch.no_grad():
        logits = model.module.mlm_logits(inputs)
    chosen = labels != IGNORE
    assert result["test"]["masked"] == int(chosen.sum())
    right = (logits.argmax(-1) == labels)[chosen].double().mean()
    loss = torch.nn.functional.cross_entropy(logits[chosen], labels[chosen])
    assert result["test_mlm_accuracy"] == pytest.approx(float(right), abs=1e-6)
    assert result["test_loss"] == pytest.approx(float(loss), abs=1e-5)
    blocks = (out / "unmasked.txt").read_text().split("\n\n")[1:]
    assert len(blocks) == 5
    masks = 0
    for block in blocks:
        head, text, masked, filled, marks = block.rstrip("\n").split("\n")
        text, masked, filled, marks = (line[8:] for line in (text, masked, filled, marks))
        right, chosen = (int(w) for w in head.split()[1:4:2])  # "[1] R of C chosen ..."
        assert len(text) == len(masked) == len(filled) >= 20
        # the only characters that differ from the text are the model's wrong guesses
        wrong = [i for i, (t, f) in enumerate(zip(text, filled, strict=True)) if t != f]
        assert wrong == [i for i, m in enumerate(marks) if m == "^"]
        assert chosen - right == len(wrong) and 1 <= chosen <= len(text) // 4
        masks += masked.count("_")
    assert masks >= 5  # 80 % of the ~20 chosen characters read [MASK]


def test_evaluate_reports_the_runs_own_test_numbers(pretrained, capsys):
    out, result = pretrained
    assert main(["evaluate", str(out), "--device", "cpu", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["split"] == "test" and scored["masked"] == result["test"]["masked"]
    for key in ("loss", "mlm_accuracy"):
        assert scored[key] == pytest.approx(result[f"test_{key}"], abs=1e-6), key


def test_resume_trains_on_to_the_new_total(pretrained, tmp_path, capsys):
    out, _ = pretrained
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    assert main(["train", "--resume", str(copy), "--epochs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["epochs"] == 2 and len((copy / "metrics.csv").read_text().splitlines()) == 3


def test_which_book_starts_from_the_pretrained_encoder(wired, pretrained, books):
    out, _ = pretrained
    from classicnets.runs import load_run

    config = wired.MLMRunConfig(
        data=books, objective="which-book", pretrained=str(out), min_length=20, device="cpu"
    )
    config, _ = config.with_recipe()
    prepared = wired.MLMTask().prepare(config, lambda _: None)
    _, encoder = load_run(out, device="cpu")
    mine, theirs = prepared["model"].module.state_dict(), encoder.module.state_dict()
    copied = [k for k in mine if k.startswith(("embeddings.", "layers."))]
    assert copied and all(torch.equal(mine[k], theirs[k]) for k in copied)
    assert prepared["model"].vocabulary.tokens == encoder.vocabulary.tokens
    assert prepared["config"].model_kwargs["num_classes"] == 2
    assert prepared["config"].max_len == 32  # the encoder's positions, not the default 128


def test_fine_tuning_trains_through_the_cli_and_scores_by_hand(pretrained, books, tmp_path):
    out, _ = pretrained
    run = tmp_path / "tuned"
    args = ["train", "bert_mini", "--objective", "which-book", "--pretrained", str(out)]
    args += ["--data", books, "--min-length", "20", *FIT, "--out", str(run), "--json"]
    assert main(args) == 0
    result = json.loads((run / "results.json").read_text())
    saved = json.loads((run / "config.json").read_text())
    assert saved["pretrained"].endswith("best.safetensors") and saved["objective"] == "which-book"
    from classicnets.runs import load_run
    from classicnets.runs.mlm import load_lines

    opened, model = load_run(run, device="cpu")
    test = load_lines(opened.config, model.vocabulary).test
    model.module.eval()
    with torch.no_grad():
        guesses = model.module.classify(test.tokens).argmax(-1)
    assert result["test_accuracy"] == pytest.approx(float((guesses == test.labels).double().mean()))
    assert result["test"]["lines"] == len(test) and len(test) % 2 == 0  # balanced
    rows = (run / "classified.txt").read_text().splitlines()[1:]
    assert len(rows) == min(len(test), 20)
    for row in rows:
        line, guess, book = row.split("\t")
        wrong = book.endswith("  <- wrong")
        book = book.removesuffix("  <- wrong")
        assert len(line) == 20 and {guess, book} <= {"a", "b"} and wrong == (guess != book)


def test_which_book_from_scratch_needs_no_pretrained_run(wired, books, tmp_path, capsys):
    args = ["train", "bert_mini", "--objective", "which-book", "--data", books, *SIZE]
    args += ["--min-length", "20", "--max-len", "24", *FIT, "--out", str(tmp_path / "s")]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0 <= result["test_accuracy"] <= 1 and "test_mlm_accuracy" not in result


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mask-rate", "1.5"], "The masking rate must be a number strictly between 0 and 1"),
        (["--mask-rate", "0"], "got 0.0"),
        (["--objective", "which-book", "--pretrained", "/nonexistent"], "no run directory"),
        (["--pretrained", "/nonexistent"], "add --objective which-book"),
        (["--val-split", "0"], "--val-split and --test-split must be above 0"),
        (["--augment", "flip"], "--augment applies to image models only"),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(wired, books, args, needle, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["train", "bert_mini", "--data", books, *args, "--out", str(out)]) == 2
    assert needle in one_error(capsys)
    assert not out.exists()


def test_a_which_book_run_refuses_a_checkpoint_that_is_not_pretrained(
    wired, pretrained, books, tmp_path, capsys
):
    out, _ = pretrained
    tuned = tmp_path / "tuned"
    args = ["train", "bert_mini", "--objective", "which-book", "--data", books]
    args += ["--min-length", "20", *FIT]
    assert main([*args, "--pretrained", str(out), "--out", str(tuned)]) == 0
    capsys.readouterr()
    assert main([*args, "--pretrained", str(tuned), "--out", str(tmp_path / "never")]) == 2
    assert "a which-book classifier's checkpoint, not a masked language model's" in one_error(
        capsys
    )
    assert main([*args, "--pretrained", str(out), "--hidden", "64", "--out", str(tmp_path / "n")])
    assert "--hidden 64 differs from the pretrained encoder's 32" in one_error(capsys)
    assert not (tmp_path / "never").exists() and not (tmp_path / "n").exists()


def test_the_config_checks_its_values_before_anything_runs(wired):
    with pytest.raises(ClassicnetsError, match="--min-length must be a positive whole number"):
        wired.MLMRunConfig(min_length=0)
    with pytest.raises(ClassicnetsError, match="Unknown masked-language-model objective"):
        wired.MLMRunConfig(objective="which-play")
    with pytest.raises(ClassicnetsError, match="is a masked language model; it cannot run"):
        from classicnets.runs import TextRunConfig

        TextRunConfig(model="bert_mini")
