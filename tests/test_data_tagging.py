"""Tagged corpora: the shipped Turkish Web Treebank read whole and split as its package splits
it, the three file formats, a line whose tokens and tags differ named by file and line, BIO
chunks as conlleval reads them, vocabularies and padded tensors."""

from __future__ import annotations

import pytest
import torch

from classicnets.data import tagging
from classicnets.data.tagging import (
    IGNORE,
    chunks,
    corpus_files,
    encode_sentences,
    load_tagged_corpus,
    read_tagged,
    tag_scheme,
)
from classicnets.errors import ClassicnetsError, DatasetNotFoundError, UnknownNameError

UPOS = {"ADJ", "ADP", "ADV", "AFFIX", "CONJ", "DET", "NOUN", "NUM", "ONOM", "PRON", "PRT"}
UPOS |= {"PUNCT", "VERB", "X"}


def _raw_sentences(path):
    """The file's sentences read independently: blocks of 10-column lines, FORM and UPOS."""
    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    rows = [
        [line.split("\t") for line in b.split("\n") if not line.startswith("#")] for b in blocks
    ]
    return [(tuple(r[1] for r in b), tuple(r[3] for r in b)) for b in rows]


def test_the_treebank_reads_whole_and_splits_eight_one_one():
    corpus = load_tagged_corpus("twt")
    files = corpus_files("twt")
    raw = [_raw_sentences(f) for f in files]
    assert [len(r) for r in raw] == [2541, 2310]  # web, wiki: 4,851 sentences
    sizes = (len(corpus.train), len(corpus.val), len(corpus.test))
    assert sizes == (3881, 485, 485) and sum(sizes) == 4851
    web = raw[0]
    assert corpus.train[0] == web[0] and corpus.val[0] == web[8] and corpus.test[0] == web[9]
    assert corpus.train[8] == web[10]  # the eleventh sentence trains again
    assert all(len(tokens) == len(tags) for tokens, tags in corpus.train + corpus.test)
    assert set(corpus.tags.tokens) == UPOS and corpus.scheme == "pos"
    tokens = sum(len(t) for t, _ in corpus.train + corpus.val + corpus.test)
    assert tokens == sum(len(t) for r in raw for t, _ in r) == 81370


def test_vocabulary_keeps_words_seen_twice_and_tensors_pad():
    corpus = load_tagged_corpus("twt", max_sentences=50)
    assert corpus.words.tokens[:2] == ("<pad>", "<unk>") and len(corpus.train) == 50
    counts = {}
    for tokens, _ in corpus.train:
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
    assert set(corpus.words.tokens[2:]) == {w for w, c in counts.items() if c >= 2}
    ids, tags = corpus.tensors("train")
    lengths = [len(t) for t, _ in corpus.train]
    assert ids.shape == tags.shape == (50, max(lengths))
    assert ((ids != 0).sum(1).tolist()) == lengths and (tags != IGNORE).sum().item() == sum(lengths)
    first_tokens, first_tags = corpus.train[0]
    expected = [corpus.words.index.get(t, 1) for t in first_tokens]
    assert ids[0, : len(first_tokens)].tolist() == expected
    assert [corpus.tags.tokens[i] for i in tags[0, : len(first_tags)]] == list(first_tags)
    cut, _ = corpus.tensors("val", max_len=5)
    assert cut.shape[1] == 5


def test_three_file_formats(tmp_path):
    columns = tmp_path / "ner.txt"
    columns.write_text(
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
        "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n"
    )
    assert read_tagged(columns) == [
        (("EU", "rejects"), ("B-ORG", "O")),
        (("Peter", "Blackburn"), ("B-PER", "I-PER")),
    ]
    lines = tmp_path / "slots.tsv"
    lines.write_text("show flights to boston\tO O O B-city\n\nhi\tO\n")
    assert read_tagged(lines) == [
        (("show", "flights", "to", "boston"), ("O", "O", "O", "B-city")),
        (("hi",), ("O",)),
    ]
    conllu = tmp_path / "ud.conllu"
    row = "{}\t{}\t_\t{}\t_\t_\t0\troot\t_\t_"
    conllu.write_text(
        "# text = Don't\n1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
        + "\n".join([row.format(1, "Do", "AUX"), row.format(2, "n't", "PART")])
        + "\n3.1\tx\t_\tX\t_\t_\t_\t_\t_\t_\n\n"
    )
    assert read_tagged(conllu) == [(("Do", "n't"), ("AUX", "PART"))]
    assert tag_scheme(["B-ORG", "O", "I-PER"]) == "bio" and tag_scheme(["O", "NOUN"]) == "pos"


@pytest.mark.parametrize(
    "name, text, line",
    [
        ("slots.tsv", "show me\tO O\nfly to boston\tO B-city\n", 2),
        ("ner.txt", "EU B-ORG\n\nrejects O\nGerman\n", 4),
    ],
)
def test_tokens_and_tags_that_differ_name_the_file_and_line(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ClassicnetsError, match=rf"{name}, line {line}: \d tokens but \d tags"):
        read_tagged(path)


def test_malformed_files_say_where(tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tA\t_\tX\t_\t_\t0\troot\t_\t_\n2\tB\tX\n")
    with pytest.raises(ClassicnetsError, match=r"bad.conllu, line 2: 3 tab-separated columns"):
        read_tagged(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ClassicnetsError, match="no tagged sentence"):
        read_tagged(empty)
    with pytest.raises(ClassicnetsError, match="No tagged corpus file"):
        read_tagged(tmp_path / "absent.txt")
    with pytest.raises(UnknownNameError, match="format"):
        read_tagged(bad, fmt="xml")


def test_bio_chunks_as_conlleval_reads_them():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-ORG", "I-ORG", "I-PER"]
    assert chunks(tags) == {
        ("PER", 0, 2),
        ("LOC", 3, 4),
        ("LOC", 4, 5),  # B- starts a new chunk even after the same type
        ("ORG", 5, 7),  # I- after another type opens one
        ("PER", 7, 8),
    }
    assert chunks(["O", "O"]) == set() and chunks(["I-X"]) == {("X", 0, 1)}


def test_a_folder_of_train_dev_test_and_a_single_file(tmp_path):
    for stem, n in (("train", 3), ("dev", 1), ("test", 2)):
        (tmp_path / f"{stem}.txt").write_text("\n\n".join(["a B-X\nb O"] * n) + "\n")
    corpus = load_tagged_corpus(tmp_path, min_count=1)
    assert (len(corpus.train), len(corpus.val), len(corpus.test)) == (3, 1, 2)
    assert corpus.scheme == "bio" and set(corpus.words.tokens) == {"<pad>", "<unk>", "a", "b"}
    single = tmp_path / "all.tsv"
    single.write_text("".join(f"w{i} x\tO B-Y\n" for i in range(20)))
    split = load_tagged_corpus(single)
    assert (len(split.train), len(split.val), len(split.test)) == (16, 2, 2)
    assert split.val[0][0] == ("w8", "x") and split.words.tokens == ("<pad>", "<unk>", "x")
    few = tmp_path / "few.tsv"
    few.write_text("a\tO\n")
    with pytest.raises(ClassicnetsError, match="no val sentences"):
        load_tagged_corpus(few)


def test_unknown_names_and_missing_packages(monkeypatch):
    with pytest.raises(UnknownNameError, match="tagged corpus"):
        load_tagged_corpus("conll2003")
    with pytest.raises(ClassicnetsError, match="No tagged corpus file or folder"):
        load_tagged_corpus("missing/train.txt")
    fake = {"twt": ("no-such-package-xyz", ("data/web.conllu",), "")}
    monkeypatch.setattr(tagging, "TAGGED_CORPORA", fake)
    with pytest.raises(DatasetNotFoundError, match="pip install no-such-package-xyz"):
        load_tagged_corpus("twt")


def test_encoding_an_unknown_tag_says_so():
    corpus = load_tagged_corpus("twt", max_sentences=20)
    with pytest.raises(ClassicnetsError, match=r"'B-PER' is not among the model's \d+ tags"):
        encode_sentences([(("Ali",), ("B-PER",))], corpus.words, corpus.tags)
    ids, _ = encode_sentences([(("qqqq",), ("NOUN",))], corpus.words, corpus.tags)
    assert ids.tolist() == [[1]] and ids.dtype == torch.int64
