"""The LSTM variants, GRU in Cho et al.'s form and one-hot input reach language models from
``classicnets train`` (``--cell``, ``--embed 0``): the run's config keeps them, the checkpoint
rebuilds the same network, and a cell the model does not take is one sentence."""

from __future__ import annotations

import json

import pytest

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.layers.lstm_variants import recurrent_parameters

TEXT = "KING:\nWhat news, my lord? Speak, and be brief.\n\nQUEEN:\nThe field is ours.\n\n" * 12
ARGS = ["--hidden", "16", "--layers", "1", "--seq-len", "16", "--epochs", "1", "--json"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "play.txt"
    path.write_text(TEXT)
    return path


@pytest.mark.parametrize(
    ("model", "cell"),
    [("char_lstm", "lstm_nofg"), ("char_lstm", "lstm_coupled"), ("char_lstm", "lstm_peephole"),
     ("char_gru", "gru_cho")],
)  # fmt: skip
def test_a_cell_variant_trains_and_its_run_rebuilds_it(model, cell, corpus, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", model, "--data", str(corpus), "--cell", cell, "--embed", "0", *ARGS]
    assert main([*argv, "--out", str(out), "--device", "cpu"]) == 0
    trained = json.loads(capsys.readouterr().out)
    config = json.loads((out / "config.json").read_text())
    assert (config["cell"], config["embed"]) == (cell, 0)
    assert config["model_kwargs"]["cell"] == cell and config["model_kwargs"]["embed_dim"] is None
    assert main(["evaluate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == pytest.approx(trained["test_loss"])
    # the parameters of that cell on one-hot input (the vocabulary is the input width), + head
    vocab = config["model_kwargs"]["vocab_size"]
    params = recurrent_parameters(cell, vocab, 16) + 16 * vocab + vocab
    summary = (out / "summary.txt").read_text()
    assert f"{params:,}" in summary


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["char_lstm", "--cell", "gru_cho"], "char_lstm takes the cells"),
        (["char_transformer", "--cell", "lstm"], "--cell applies to recurrent models"),
        (["char_lstm", "--cell", "lstmm"], "lstm"),
        (["char_lstm", "--embed", "-1"], "--embed"),
    ],
)
def test_a_cell_the_model_cannot_take_is_one_sentence(argv, needle, corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", argv[0], "--data", str(corpus), *argv[1:], "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not out.exists()
