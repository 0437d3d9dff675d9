"""Text corpora: finding them, refusing files that are not text, vocabularies and the split."""

from __future__ import annotations

import pytest
import torch

from classicnets.data.text import Vocabulary, corpus_path, load_corpus, read_text, tokenize
from classicnets.errors import (
    ClassicnetsError,
    CorruptFileError,
    DatasetNotFoundError,
    UnknownNameError,
)

POEM = "The owl and the pussy-cat went to sea\nIn a beautiful pea-green boat.\n" * 4


def write(tmp_path, content: bytes | str, name: str = "corpus.txt"):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def test_char_vocabulary_round_trip():
    vocab = Vocabulary.from_text(POEM)
    assert list(vocab.tokens) == sorted(set(POEM)) and vocab.level == "char"
    ids = vocab.encode(POEM)
    assert ids.dtype == torch.int64 and ids.shape == (len(POEM),)
    assert vocab.decode(ids) == POEM
    assert Vocabulary.from_dict(vocab.to_dict()).tokens == vocab.tokens


def test_word_vocabulary_keeps_punctuation_and_line_breaks():
    text = "Don't stop, Alice!\nThe queen said: off with her head.\n"
    assert tokenize(text, "word")[:5] == ["Don't", "stop", ",", "Alice", "!"]
    vocab = Vocabulary.from_text(text, "word")
    assert vocab.decode(vocab.encode(text)) == text.rstrip("\n") + "\n"
    small = Vocabulary.from_text(POEM, "word", max_size=5)
    assert len(small) == 5 and small.tokens[0] == "<unk>"
    ids = small.encode("the owl swam")  # unknown words become <unk> in training text ...
    assert small.decode(ids).count("<unk>") >= 1
    with pytest.raises(ClassicnetsError, match="'swam'"):  # ... but prompts must be known
        small.encode("the owl swam", strict=True)


def test_unknown_characters_are_named():
    vocab = Vocabulary.from_text(POEM)
    with pytest.raises(ClassicnetsError, match=r"outside the model's vocabulary.*'Z', '€'") as err:
        vocab.encode("Zoo€ owl")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"binary file \(it holds NUL bytes at offset 8\)"),
        ("Café".encode("latin-1"), r"not UTF-8 text \(byte 0xe9 at offset 3\)"),
    ],
)
def test_files_that_are_not_text_are_refused_in_one_sentence(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(CorruptFileError, match=message) as err:
        read_text(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_byte_order_mark_is_dropped(tmp_path):
    assert read_text(write(tmp_path, "\ufeffhello")) == "hello"


def test_corpus_path_resolution(tmp_path, monkeypatch):
    path = write(tmp_path, POEM)
    assert corpus_path(path) == path
    with pytest.raises(UnknownNameError, match="Did you mean 'tinyshakespeare'"):
        corpus_path("tinyshakespear")
    with pytest.raises(ClassicnetsError, match="No text file at"):
        corpus_path(tmp_path / "missing.txt")
    with pytest.raises(ClassicnetsError, match="is not a file"):
        corpus_path(tmp_path)
    monkeypatch.setenv("CLASSICNETS_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError, match="Corpus 'alice' .* was not found"):
        corpus_path("alice")
    # --data-dir: the file itself, <dir>/<name>/ or <dir>/text/<name>/
    (tmp_path / "text" / "alice").mkdir(parents=True)
    write(tmp_path / "text" / "alice", POEM, "11-0.txt")
    assert corpus_path("alice", root=tmp_path) == tmp_path / "text" / "alice" / "11-0.txt"


def test_split_is_contiguous_train_val_test_with_one_vocabulary(tmp_path):
    corpus = load_corpus(write(tmp_path, POEM), val_fraction=0.25, test_fraction=0.15)
    assert corpus.name == "corpus.txt" and corpus.characters == len(POEM)
    val_start, test_start = int(len(POEM) * 0.6), int(len(POEM) * 0.85)
    assert corpus.vocabulary.decode(corpus.train) == POEM[:val_start]
    assert corpus.vocabulary.decode(corpus.val) == POEM[val_start:test_start]
    assert corpus.vocabulary.decode(corpus.test) == POEM[test_start:]
    no_val = load_corpus(write(tmp_path, POEM), val_fraction=0.0)
    assert len(no_val.val) == 0 and len(no_val.train) == int(len(POEM) * 0.9)
    with pytest.raises(ClassicnetsError, match="too few"):
        load_corpus(write(tmp_path, "abc", "tiny.txt"))
    with pytest.raises(ClassicnetsError, match=r"shares must be in \[0, 1\) and \(0, 1\)"):
        load_corpus(write(tmp_path, POEM), val_fraction=1.0)
    with pytest.raises(ClassicnetsError, match="leave no text to train on"):
        load_corpus(write(tmp_path, POEM), val_fraction=0.5, test_fraction=0.5)


def test_named_corpora(data_root, monkeypatch):
    monkeypatch.setenv("CLASSICNETS_DATA", str(data_root))
    shakespeare = load_corpus("tinyshakespeare")
    assert shakespeare.characters == 1_115_394 and len(shakespeare.vocabulary) == 65
    assert len(shakespeare.train) == int(1_115_394 * 0.8)
    assert len(shakespeare.test) == 1_115_394 - int(1_115_394 * 0.9)
    assert shakespeare.vocabulary.decode(shakespeare.train[:14]) == "First Citizen:"
    alice = load_corpus("alice", max_chars=20_000)
    assert "\u2019" in alice.vocabulary.tokens  # curly apostrophes: read as UTF-8
    words = load_corpus("alice", level="word", max_vocab=500)
    assert len(words.vocabulary) == 500 and words.vocabulary.unknown == "<unk>"
