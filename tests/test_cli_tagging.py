"""``classicnets train`` / ``evaluate`` / ``generate`` for taggers, end to end: a short real run
on a slice of the Turkish Web Treebank learns, a user's slot-filling file (BIO tags) trains and
scores chunk F1, the numbers are checked against tagging the sentences one by one, the run
resumes, and every bad input ends in one sentence, exit code 2 and nothing written."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.data.tagging import chunks, load_tagged_corpus
from classicnets.errors import ClassicnetsError
from classicnets.runs import TaggingRunConfig, config_for_model, load_run

SMALL = ["--hidden", "32", "--embed", "32", "--optimizer", "adam", "--lr", "0.01"]
SMALL += ["--batch-size", "16", "--schedule", "constant", "--device", "cpu"]
CITIES = ["boston", "denver", "new york", "san francisco", "dallas", "salt lake city"]
DAYS = ["monday", "friday", "sunday"]


def slot_sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    """An ATIS-like request with its slots: the course's slot-filling picture."""
    tokens, tags = ["show", "me", "flights", "from"], ["O", "O", "O", "O"]
    for slot, words in (("from", rng.choice(CITIES)), ("to", rng.choice(CITIES))):
        if slot == "to":
            tokens, tags = tokens + ["to"], tags + ["O"]
        parts = words.split()
        tokens += parts
        tags += [f"B-{slot}"] + [f"I-{slot}"] * (len(parts) - 1)
    if rng.random() < 0.5:
        tokens, tags = tokens + ["on", rng.choice(DAYS)], tags + ["O", "B-day"]
    return tokens, tags


@pytest.fixture(scope="module")
def slots(tmp_path_factory):
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("data") / "slots.tsv"
    lines = [" ".join(t) + "\t" + " ".join(g) for t, g in (slot_sentence(rng) for _ in range(200))]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def twt_run(tmp_path_factory):
    """One short real run on the treebank, shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("runs") / "twt"
    args = ["train", "bilstm_tagger", "--max-sentences", "300", "--epochs", "3", *SMALL]
    assert main([*args, "--out", str(out), "--json"]) == 0
    return out, json.loads((out / "results.json").read_text())


def one_error(capsys) -> str:
    """The error line, checked to be one sentence on one line after what train announced."""
    err = capsys.readouterr().err.strip()
    start = err.find("error:")
    assert start >= 0 and "\n" not in err[start:] and "Traceback" not in err, err
    assert err.endswith("."), err
    return err[start:]


def test_the_treebank_run_learns_and_its_accuracy_is_the_share_of_tags_right(twt_run):
    out, result = twt_run
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "tagging" and config["max_sentences"] == 300
    assert json.loads((out / "best.json").read_text())["trainer"] == "tagging"
    # 14 tags: always guessing the commonest (NOUN) is right on about a third of the tokens
    assert result["test_accuracy"] >= 0.55 and result["test_f1_of"] == "macro F1", result
    _, model = load_run(out, device="cpu")
    test = load_tagged_corpus("twt", max_sentences=300).test
    guesses = model.tag([list(tokens) for tokens, _ in test])
    pairs = [
        (g, t)
        for (_, tags), gs in zip(test, guesses, strict=True)
        for g, t in zip(gs, tags, strict=True)
    ]
    assert sum(g == t for g, t in pairs) / len(pairs) == pytest.approx(result["test_accuracy"])
    lines = (out / "tagged.txt").read_text().splitlines()
    assert len(lines) == 20 and lines[0].split()[0].split("/")[0] == test[0][0][0]


def test_evaluate_and_generate_use_the_kept_checkpoint(twt_run, capsys):
    out, result = twt_run
    assert main(["evaluate", str(out), "--device", "cpu", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    for key in ("loss", "accuracy", "f1"):
        assert scored[key] == pytest.approx(result[f"test_{key}"], abs=1e-6), key
    _, model = load_run(out, device="cpu")
    words = ["Bu", "kitap", "çok", "güzel", "."]
    assert main(["generate", str(out), "--text", " ".join(words)]) == 0
    printed = capsys.readouterr().out.split()
    tags = model.tag([words])[0]
    assert printed == [f"{w}/{t}" for w, t in zip(words, tags, strict=True)]


def test_viz_draws_a_taggers_curves_and_refuses_image_pictures(twt_run, tmp_path, capsys):
    png = tmp_path / "curves.png"
    assert main(["viz", str(twt_run[0]), "curves", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["viz", str(twt_run[0]), "saliency"]) == 2
    err = capsys.readouterr().err
    assert "is a tagging run; its pictures are: curves, lr." in err and "Traceback" not in err


def test_resume_trains_on_to_the_new_total(twt_run, tmp_path, capsys):
    copy = tmp_path / "again"
    shutil.copytree(twt_run[0], copy)
    assert main(["train", "--resume", str(copy), "--epochs", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["epochs"] == 4


def test_a_users_slot_file_trains_and_scores_chunk_f1(slots, tmp_path, capsys):
    out = tmp_path / "slots"
    args = ["train", "bilstm_crf_tagger", "--data", str(slots), "--epochs", "8", *SMALL]
    assert main([*args, "--min-count", "1", "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["test_f1_of"] == "chunk F1" and result["test_f1"] >= 0.8, result
    # chunk F1 from the spans of each test sentence, counted here
    _, model = load_run(out, device="cpu")
    test = load_tagged_corpus(slots, min_count=1).test
    found = gold = right = 0
    for (_, tags), guess in zip(test, model.tag([list(t) for t, _ in test]), strict=True):
        want, got = chunks(tags), chunks(guess)
        found, gold, right = found + len(got), gold + len(want), right + len(want & got)
    assert 2 * right / (found + gold) == pytest.approx(result["test_f1"])


def test_a_line_whose_tokens_and_tags_differ_names_the_file_and_line(slots, tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    lines = slots.read_text().splitlines()
    lines[6] = "show me flights\tO O"
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "never"
    assert main(["train", "bilstm_tagger", "--data", str(bad), "--out", str(out)]) == 2
    err = one_error(capsys)
    assert str(bad) in err and "line 7" in err
    assert not out.exists()


def test_models_route_to_their_kind_of_run():
    assert config_for_model("bilstm_tagger") is TaggingRunConfig
    assert config_for_model("bilstm_crf_tagger") is TaggingRunConfig
    with pytest.raises(ClassicnetsError, match="is a tagger; it cannot run as a text run"):
        from classicnets.runs import TextRunConfig

        TextRunConfig(model="bilstm_tagger")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--data", "no_such.tsv"], "no file or folder at"),
        (["--cell", "lstmm"], "Did you mean 'lstm'"),
        (["--embed", "-1"], "--embed must be a whole number of at least 0"),
        (["--max-sentences", "0"], "--max-sentences must be a positive whole number"),
        (["--val-split", "0.3"], "fixes its validation sentences"),
        (["--beam-width", "2"], "--beam-width applies to encoder-decoders only"),
    ],
)
def test_bad_training_input_is_one_sentence_and_writes_nothing(args, needle, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["train", "bilstm_tagger", *args, "--out", str(out)]) == 2
    assert needle in one_error(capsys)
    assert not out.exists()


def test_generate_without_text_is_one_sentence(twt_run, capsys):
    assert main(["generate", str(twt_run[0])]) == 2
    assert "Give the text to tag with --text" in one_error(capsys)
