"""SequenceModel: truncated BPTT on contiguous streams, windows, perplexity, resume, checkpoints
and sampling."""

from __future__ import annotations

import json
import math

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.data.text import Vocabulary, load_corpus
from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.models import create_model
from classicnets.train import Model, SequenceModel, load
from classicnets.train.text_batches import StreamBatches

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"


def make(name="char_gru", vocab=None, lr=1e-2, **kwargs) -> SequenceModel:
    vocab = vocab or Vocabulary.from_text(TEXT)
    options = {k: kwargs.pop(k) for k in ("seq_len", "window") if k in kwargs}
    torch.manual_seed(0)
    module = create_model(name, vocab_size=len(vocab), hidden=kwargs.pop("hidden", 24), **kwargs)
    model = SequenceModel(module, vocabulary=vocab, device="cpu", **options)
    return model.compile(lr=lr, grad_clip=1.0)


def ids(repeat: int = 8) -> torch.Tensor:
    return Vocabulary.from_text(TEXT).encode(TEXT * repeat)


def test_training_lowers_validation_loss_on_real_text(data_root, monkeypatch):
    monkeypatch.setenv("CLASSICNETS_DATA", str(data_root))
    corpus = load_corpus("tinyshakespeare", max_chars=15_000)
    model = make("char_gru", corpus.vocabulary, hidden=64, layers=1, seq_len=32)
    before = model.evaluate(corpus.val)
    assert before["loss"] == pytest.approx(math.log(len(corpus.vocabulary)), abs=0.3)
    history = model.fit(corpus.train, epochs=1, batch_size=8, validation_data=corpus.val)
    assert history["val_loss"][-1] < before["loss"] - 1.0  # ~4.1 -> ~2.7 nats per character
    assert history["perplexity"][-1] == pytest.approx(math.exp(history["loss"][-1]))
    assert history["val_perplexity"][-1] == pytest.approx(math.exp(history["val_loss"][-1]))


def test_pieces_are_contiguous_streams_with_a_random_start():
    model = make(seq_len=5)
    ids = torch.arange(213)  # distinct ids show where each piece comes from
    streams, length = 4, 53  # 212 pairs in 4 streams: 10 pieces of 5 and 3 tokens to spare
    batches = model.make_batches(ids, streams, seed=0)
    assert isinstance(batches, StreamBatches) and batches.steps == 10
    starts = set()
    for epoch in range(6):
        pieces = [batch for _, batch in batches.epoch(epoch)]
        assert len(pieces) == 10 and all(p.shape == (streams, 5) for p, _ in pieces)
        assert all(torch.equal(y, x + 1) for x, y in pieces)  # the next token is the target
        joined = torch.cat([p for p, _ in pieces], dim=1)  # (4, 50)
        start = int(joined[0, 0])
        expected = torch.arange(streams)[:, None] * length + start + torch.arange(50)
        assert torch.equal(joined, expected) and 0 <= start <= 3
        starts.add(start)
        later = [batch for _, batch in batches.epoch(epoch, start=7)]  # a resumed epoch
        assert all(torch.equal(a[0], b[0]) for a, b in zip(later, pieces[7:], strict=True))
    assert len(starts) > 1  # the cuts move from epoch to epoch


def test_state_is_carried_detached_and_reset_every_epoch():
    model = make("char_lstm", seq_len=8)
    batches = model.make_batches(ids(), 4, seed=0).epoch(0)
    model.reset_state()
    assert model._state is None
    model.train_step(model.prepare_batch(next(batches)[1]))
    h, c = model._state
    assert h.shape == (2, 4, 24) and not h.requires_grad and not c.requires_grad
    model.train_step(model.prepare_batch(next(batches)[1]))  # from the carried state
    tensors = model.state_tensors()
    assert set(tensors) == {"carry.tuple.0", "carry.tuple.1"}
    model.reset_state()
    assert model._state is None and model.state_tensors() == {}
    model.load_state_tensors(tensors)
    assert torch.equal(model._state[0], tensors["carry.tuple.0"])


def test_windows_are_the_course_setup():
    model = make(window=10)
    x, y = model._windows(ids(2))
    assert x.shape == (len(ids(2)) - 10, 10) and torch.equal(x[3], ids(2)[3:13])
    assert torch.equal(y, ids(2)[10:])
    history = model.fit(ids(), epochs=3, batch_size=64, validation_data=ids(1))
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert model.predict_step(x[:5]).shape == (5, len(model.vocabulary))


def test_resume_equals_uninterrupted_bit_for_bit(tmp_path):
    straight = make("char_lstm", seq_len=8)
    straight.fit(ids(), epochs=2, batch_size=4, seed=3)
    first = make("char_lstm", seq_len=8)
    first.fit(ids(), epochs=1, batch_size=4, seed=3)
    first.save(tmp_path / "ckpt")
    resumed = load(tmp_path / "ckpt", device="cpu")
    resumed.fit(ids(), epochs=2, batch_size=4, seed=3, resume=True)
    for (name, a), b in zip(
        straight.module.state_dict().items(), resumed.module.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


def test_checkpoint_round_trip_keeps_the_vocabulary(tmp_path):
    model = make("char_transformer", heads=2, layers=1, context=16, seq_len=16)
    model.fit(ids(), epochs=1, batch_size=4)
    model.save(tmp_path / "lm")
    meta = json.loads((tmp_path / "lm.json").read_text())
    assert meta["trainer"] == "sequence" and meta["seq_len"] == 16
    assert meta["vocabulary"]["tokens"] == list(model.vocabulary.tokens)
    loaded = load(tmp_path / "lm", device="cpu")
    assert isinstance(loaded, SequenceModel) and loaded.module.context == 16
    assert loaded.vocabulary.tokens == model.vocabulary.tokens
    assert loaded.evaluate(ids(1)) == model.evaluate(ids(1))
    sample = "".join(loaded.generate("To be", 30, seed=1))
    assert sample == "".join(model.generate("To be", 30, seed=1))
    image = Model(torch.nn.Linear(2, 2), device="cpu")  # image checkpoints load as before
    assert type(image).__name__ == "Model" and "trainer" not in image.checkpoint_extras()


def test_generate_is_reproducible_and_checks_its_arguments():
    model = make("char_lstm")
    model.fit(ids(), epochs=2, batch_size=4)
    text = "".join(model.generate("To be", 40, seed=7))
    assert len(text) == 40 and set(text) <= set(TEXT)
    assert "".join(model.generate("To be", 40, seed=7)) == text
    assert "".join(model.generate("To be", 40, seed=8)) != text
    greedy = {"".join(model.generate("To", 20, top_k=1, seed=s)) for s in range(3)}
    assert len(greedy) == 1  # top-1 is the most likely token whatever the seed
    assert "".join(model.generate("", 10, seed=0)) != ""
    for temperature in (0, -1.0, float("nan")):
        with pytest.raises(ClassicnetsError, match="temperature must be a positive number"):
            model.generate("To", 5, temperature=temperature)
    with pytest.raises(ClassicnetsError, match=r"vocabulary of \d+: 'Z', 'é'"):
        model.generate("Zé to be", 5)
    with pytest.raises(ClassicnetsError, match="top-k must be at least 1"):
        model.generate("To", 5, top_k=0)


def test_transformer_context_limits():
    with pytest.raises(ShapeError, match="sequences of 32 tokens are longer than .* context of 16"):
        make("char_transformer", heads=2, layers=1, context=16, seq_len=32)
    model = make("char_transformer", heads=2, layers=1, context=16)
    assert model.seq_len == 16  # the default shrinks to the context
    assert len("".join(model.generate("To", 40, seed=0))) == 40  # slides past the context
    with pytest.raises(ShapeError, match="prompt has 19 tokens but the model reads at most 16"):
        model.generate("To be, or not to be", 5)


def test_too_little_text_for_the_batch():
    with pytest.raises(ClassicnetsError, match="too few for 64 parallel streams"):
        make().fit(ids(1)[:40], epochs=1, batch_size=64)


def test_evaluation_gives_every_token_its_context():
    import torch.nn.functional as F

    text = ids(1)[:15]  # 14 (token, next token) pairs: one stream
    lstm = make("char_lstm", seq_len=8)  # two pieces, the state carried from one to the next
    with torch.no_grad():
        logits, _ = lstm.module.eval()(text[None, :-1])  # the whole text at once
    expected = F.cross_entropy(logits[0], text[1:])
    assert lstm.evaluate(text)["loss"] == pytest.approx(float(expected), rel=1e-5)
    gpt = make("char_transformer", heads=2, layers=1, context=8).module.eval()
    model = SequenceModel(gpt, vocabulary=Vocabulary.from_text(TEXT), device="cpu").compile()
    x, y = text[:-1], text[1:]
    # windows of 8 overlapping by half; each scores the tokens no window has scored yet
    with torch.no_grad():
        pieces = [gpt(x[None, 0:8])[0], gpt(x[None, 4:12])[0][:, 4:], gpt(x[None, 8:14])[0][:, 4:]]
    logits = torch.cat(pieces, dim=1)
    expected = F.cross_entropy(logits[0], y)
    assert model.evaluate(text)["loss"] == pytest.approx(float(expected), rel=1e-5)
