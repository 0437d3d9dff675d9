"""Sequence-to-sequence tasks: the algorithmic tasks' answers, the dates task against babel's own
formatting, the padded layout, disjoint and repeatable splits, and the one-sentence errors."""

from __future__ import annotations

import datetime
import importlib.util

import pytest
import torch

from classicnets.data.seq2seq import (
    BOS,
    DATE_FORMATS,
    DATE_LOCALES,
    EOS,
    PAD,
    TASKS,
    decode_ids,
    load_pairs,
    render_date,
)
from classicnets.data.text import Vocabulary
from classicnets.errors import ClassicnetsError

SMALL = {"train_size": 300, "val_size": 50, "test_size": 50}
ANSWERS = {
    "seq2seq_copy": lambda s: s,
    "seq2seq_reverse": lambda s: "".join(reversed(s)),
    "seq2seq_sort": lambda s: "".join(sorted(s, key=int)),
    "seq2seq_add": lambda s: str(sum(int(part) for part in s.split("+"))),
}


@pytest.mark.parametrize("task", sorted(ANSWERS))
def test_algorithmic_targets_lengths_and_disjoint_splits(task):
    corpus = load_pairs(task, max_length=12, seed=3, **SMALL)
    splits = (corpus.train, corpus.val, corpus.test)
    assert [len(s) for s in splits] == [300, 50, 50]
    for split in splits:
        for source, target in zip(split.sources, split.targets, strict=True):
            assert target == ANSWERS[task](source)
            assert 1 <= len(source) <= 12
    assert corpus.shared_vocabulary  # the digit tasks may share their embeddings
    seen = [set(s.sources) for s in splits]
    assert sum(len(s) for s in seen) == len(set.union(*seen)) == 400  # no source twice
    if task == "seq2seq_add":
        for source in corpus.train.sources:
            a, b = source.split("+")
            assert a == str(int(a)) and b == str(int(b))  # no leading zeros


def test_padded_layout_and_decoding_back_to_text():
    corpus = load_pairs("seq2seq_reverse", max_length=6, seed=0, **SMALL)
    split, vocab = corpus.train, corpus.target_vocabulary
    assert vocab.tokens[:3] == ("<pad>", "<bos>", "<eos>") and (PAD, BOS, EOS) == (0, 1, 2)
    longest = max(len(s) for s in split.sources)
    assert split.source_ids.shape == (300, longest)
    assert split.target_ids.shape == (300, longest + 2)
    for i in range(20):
        source, target = split.sources[i], split.targets[i]
        row = split.target_ids[i].tolist()
        want = [BOS, *vocab.encode(target).tolist(), EOS]
        assert row == want + [PAD] * (longest + 2 - len(want))
        assert split.source_ids[i, len(source) :].eq(PAD).all()
        assert decode_ids(vocab, split.target_ids[i]) == target
        assert corpus.source_vocabulary.decode(split.source_ids[i, : len(source)]) == source
    assert decode_ids(vocab, [5, 6, EOS, 7]) == vocab.decode([5, 6])  # stops at <eos>
    stored = Vocabulary.from_dict(vocab.to_dict())
    assert stored.tokens == vocab.tokens


def test_the_same_seed_gives_the_same_pairs_and_another_seed_others():
    one = load_pairs("seq2seq_sort", seed=5, **SMALL)
    two = load_pairs("seq2seq_sort", seed=5, **SMALL)
    other = load_pairs("seq2seq_sort", seed=6, **SMALL)
    assert one.train.sources == two.train.sources
    assert torch.equal(one.train.target_ids, two.train.target_ids)
    assert one.train.sources != other.train.sources
    state = torch.get_rng_state()
    load_pairs("seq2seq_copy", seed=1, **SMALL)
    assert torch.equal(state, torch.get_rng_state())  # the global stream is left alone


def test_add_lengths_respect_min_and_max():
    corpus = load_pairs("seq2seq_add", min_length=7, max_length=9, **SMALL)
    assert all(7 <= len(s) <= 9 for s in corpus.train.sources)


needs_babel = pytest.mark.skipif(
    importlib.util.find_spec("babel") is None, reason="the dates task needs babel"
)


@needs_babel
def test_render_date_writes_the_locales_words():
    day = datetime.date(2003, 3, 1)
    assert render_date(day, "de_DE", "long") == "1. März 2003"
    assert render_date(day, "en_US", "long") == "March 1, 2003"
    assert render_date(day, "es_ES", "long") == "1 de marzo de 2003"


@needs_babel
def test_dates_pairs_are_babel_renderings_of_their_iso_day_and_disjoint_by_day():
    corpus = load_pairs("dates", train_size=200, val_size=40, test_size=40, seed=1)
    days = []
    for split in (corpus.train, corpus.val, corpus.test):
        for source, target in zip(split.sources, split.targets, strict=True):
            day = datetime.date.fromisoformat(target)
            renderings = {render_date(day, loc, f) for loc in DATE_LOCALES for f in DATE_FORMATS}
            assert source in renderings, (source, target)
            days.append(day)
    assert len(set(days)) == len(days) == 280
    assert not corpus.shared_vocabulary
    assert set(corpus.target_vocabulary.tokens[3:]) == set("0123456789-")
    locales_seen = {
        loc
        for s, t in zip(corpus.train.sources, corpus.train.targets, strict=True)
        for loc in DATE_LOCALES
        if any(render_date(datetime.date.fromisoformat(t), loc, f) == s for f in DATE_FORMATS)
    }
    assert len(locales_seen) >= 12  # many locales, not one


@needs_babel
def test_dates_errors_name_the_bad_locale():
    with pytest.raises(ClassicnetsError, match="xx_YY"):
        load_pairs("dates", locales=["xx_YY"], **SMALL)


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(ClassicnetsError) as caught:
        load_pairs("seq2seq_revrse")
    message = str(caught.value)
    assert "seq2seq_reverse" in message and all(task in message for task in TASKS)


def test_missing_babel_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "babel" else real(name, *a)
    )
    with pytest.raises(ClassicnetsError, match="pip install babel"):
        load_pairs("dates", **SMALL)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"train_size": 0}, "train_size"),
        ({"test_size": 2.5}, "test_size"),
        ({"min_length": 5, "max_length": 3}, "min_length"),
        ({"max_length": 1, "train_size": 500, "test_size": 500}, "different sources"),
    ],
)
def test_sizes_and_lengths_out_of_range_are_one_sentence(kwargs, match):
    with pytest.raises(ClassicnetsError, match=match):
        load_pairs("seq2seq_copy", **{**SMALL, **kwargs})
