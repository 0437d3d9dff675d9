"""Text corpora for language models: a named corpus or any UTF-8 file, its vocabulary of
characters (or words), and a contiguous train/validation/test split of token ids.

Named corpora live under ``<data>/text/<name>/`` (``$CLASSICNETS_DATA`` or the cache; only
``--data-dir`` when it is given); anything else is read as a path.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ClassicnetsError, CorruptFileError, DatasetNotFoundError, unknown_name
from .download import candidate_dirs

# name -> (file name, description); the file is looked for in <data>/text/<name>/.
CORPORA: dict[str, tuple[str, str]] = {
    "tinyshakespeare": ("input.txt", "Shakespeare's plays, 1.1 M characters (Karpathy's char-rnn)"),
    "alice": ("11-0.txt", "Alice's Adventures in Wonderland, 150 k characters (Gutenberg #11)"),
}
LEVELS = ("char", "word")
UNKNOWN = "<unk>"
# Words (with inner apostrophes, straight or curly: don't, Alice’s), single punctuation marks and
# line breaks; other white space only separates tokens.
_WORD_PATTERN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]|\n")
_NO_SPACE_BEFORE = set(".,;:!?)]}'\u2019\u201d\n")  # closing marks
_NO_SPACE_AFTER = set("([{\u2018\u201c\n")  # opening marks


def corpus_path(source: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """The file meant by ``source``: a named corpus (see ``CORPORA``) or a path to a text file.

    Raises:
        DatasetNotFoundError: a named corpus that is in none of the data folders.
        ClassicnetsError: neither a corpus name nor an existing file.
    """
    if str(source) in CORPORA:
        name = str(source)
        filename = CORPORA[name][0]
        searched = candidate_dirs(f"text/{name}", root)
        if root is not None:  # DIR, DIR/text/<name>, DIR/<name>
            searched.append(Path(root).expanduser() / name)
        for folder in searched:
            if (folder / filename).is_file():
                return folder / filename
        where = ", ".join(str(d) for d in dict.fromkeys(searched))
        raise DatasetNotFoundError(
            f"Corpus '{name}' ({filename}) was not found in {where}; put it in <data>/text/{name}/ "
            f"and set CLASSICNETS_DATA=<data> (or pass --data-dir), or give the file's path."
        )
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if path.exists():
        raise ClassicnetsError(f"{path} is not a file; give a UTF-8 text file or a corpus name.")
    if path.suffix or os.sep in str(source):
        raise ClassicnetsError(f"No text file at {path}; give a UTF-8 text file or a corpus name.")
    raise unknown_name("corpus", str(source), CORPORA)


def locate_corpus(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The file of a named corpus, or None when it is in none of the data folders."""
    try:
        return corpus_path(name, root)
    except DatasetNotFoundError:
        return None


def read_text(path: str | os.PathLike) -> str:
    """Read a whole UTF-8 text file (a leading byte-order mark is dropped).

    Raises:
        CorruptFileError: the file is empty, holds NUL bytes (a binary file) or is not UTF-8.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ClassicnetsError(f"Cannot read {path}: {err.strerror}.") from None
    if not data.strip():
        raise CorruptFileError(f"{path} is empty; a language model needs text to learn from.")
    if b"\x00" in data:
        raise CorruptFileError(
            f"{path} looks like a binary file (it holds NUL bytes at offset {data.index(0)}); "
            "give a UTF-8 text file."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorruptFileError(
            f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "convert it to UTF-8 first."
        ) from None
    return text.removeprefix("\ufeff")


def tokenize(text: str, level: str = "char") -> list[str]:
    """Split text into characters, or into words, punctuation marks and line breaks."""
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD_PATTERN.findall(text)
    raise unknown_name("token level", level, LEVELS)


class Vocabulary:
    """A fixed list of tokens and their ids, with ``encode``/``decode``.

    Args:
        tokens: the tokens, id ``i`` for ``tokens[i]``; all different.
        level: ``"char"`` or ``"word"`` (how text is split and joined back).
        unknown: the token that stands for any token outside the list (word vocabularies cut
            to their most frequent words), or None when every token must be known.
    """

    def __init__(self, tokens: Sequence[str], level: str = "char", unknown: str | None = None):
        if level not in LEVELS:
            raise unknown_name("token level", level, LEVELS)
        self.tokens = tuple(tokens)
        self.level = level
        self.unknown = unknown
        self.index = {token: i for i, token in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ClassicnetsError("A vocabulary cannot hold the same token twice.")
        if unknown is not None and unknown not in self.index:
            raise ClassicnetsError(f"The unknown token {unknown!r} is not in the vocabulary.")

    @classmethod
    def from_text(cls, text: str, level: str = "char", max_size: int | None = None) -> Vocabulary:
        """The vocabulary of ``text``: its characters in sorted order, or its words from most to
        least frequent (ties in first-seen order), cut to ``max_size`` with an ``<unk>`` token."""
        if level == "char":
            return cls(sorted(set(text)), "char")
        counts = collections.Counter(tokenize(text, level))
        words = [w for w, _ in counts.most_common()]
        if max_size is not None and len(words) > max_size:
            return cls([UNKNOWN, *words[: max_size - 1]], level, unknown=UNKNOWN)
        return cls(words, level)

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} {self.level}s)"

    def missing(self, text: str) -> list[str]:
        """The tokens of ``text`` that are not in the vocabulary, each once, in order."""
        return list(dict.fromkeys(t for t in tokenize(text, self.level) if t not in self.index))

    def encode(self, text: str, *, strict: bool = False) -> torch.Tensor:
        """Token ids of ``text`` as an int64 tensor ``(N,)``.

        Args:
            text: the text.
            strict: refuse tokens outside the vocabulary even when it has an unknown token
                (prompts: the model would only see ``<unk>``).

        Raises:
            ClassicnetsError: ``text`` holds tokens the vocabulary lacks, named in the message.
        """
        missing = self.missing(text)
        if missing and (strict or self.unknown is None):
            shown = ", ".join(repr(t) for t in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            what = "characters" if self.level == "char" else "words"
            raise ClassicnetsError(
                f"The text has {what} outside the model's vocabulary of {len(self)}: "
                f"{shown}{more}; use only {what} of the training text."
            )
        fallback = self.index.get(self.unknown, -1)
        ids = [self.index.get(t, fallback) for t in tokenize(text, self.level)]
        return torch.tensor(ids, dtype=torch.int64)

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """The text of a sequence of ids (words are joined with spaces, except around
        punctuation and line breaks)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        tokens = [self.tokens[i] for i in ids]
        if self.level == "char":
            return "".join(tokens)
        return join_words(tokens)

    def to_dict(self) -> dict:
        """A JSON-able form, stored in checkpoints."""
        return {"tokens": list(self.tokens), "level": self.level, "unknown": self.unknown}

    @classmethod
    def from_dict(cls, data: dict) -> Vocabulary:
        return cls(data["tokens"], data.get("level", "char"), data.get("unknown"))


def join_words(tokens: Sequence[str], previous: str | None = None) -> str:
    """Join word tokens into text: a space between words, none before punctuation or after a
    line break. ``previous`` is the token written just before (for streaming)."""
    parts = []
    for token in tokens:
        if previous is not None and not (token in _NO_SPACE_BEFORE or previous in _NO_SPACE_AFTER):
            parts.append(" ")
        parts.append(token)
        previous = token
    return "".join(parts)


@dataclass(frozen=True)
class TextCorpus:
    """A corpus ready for a language model: its vocabulary and its three parts as token ids,
    in the text's order: training, then validation, then test."""

    name: str
    vocabulary: Vocabulary
    train: torch.Tensor  # (N_train,) int64
    val: torch.Tensor  # (N_val,) int64; empty without a validation part
    test: torch.Tensor  # (N_test,) int64
    characters: int  # length of the text read


def split_ids(
    ids: torch.Tensor, val_fraction: float, test_fraction: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training, validation and test ids: the last ``test_fraction`` of the text is the test
    part, the ``val_fraction`` before it validation, the rest training."""
    n = len(ids)
    test_start = int(n * (1.0 - test_fraction))
    val_start = int(n * (1.0 - test_fraction - val_fraction))
    return ids[:val_start], ids[val_start:test_start], ids[test_start:]


def load_corpus(
    source: str | os.PathLike,
    *,
    level: str = "char",
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    root: str | os.PathLike | None = None,
    max_chars: int | None = None,
    max_vocab: int | None = None,
) -> TextCorpus:
    """Read a corpus, build its vocabulary and split it into training, validation and test ids.

    The split is contiguous, as in Karpathy's char-rnn: a language model must be judged on text
    it has never seen, and shuffled fragments would leak their neighbours.

    Args:
        source: a name from ``CORPORA`` or a path to a UTF-8 text file.
        level: ``"char"`` or ``"word"`` tokens.
        val_fraction: the share of the text, before the test part, kept for validation (0:
            none).
        test_fraction: the share of the text, taken from its end, scored once at the end.
        root: the folder named corpora are looked for in (``--data-dir``).
        max_chars: read only the first ``max_chars`` characters (quick experiments).
        max_vocab: word level: keep the most frequent words, the others become ``<unk>``.

    Returns:
        A :class:`TextCorpus`. The vocabulary is built from the whole text, so no part holds a
        token the model cannot represent.
    """
    if not 0.0 <= val_fraction < 1.0 or not 0.0 < test_fraction < 1.0:
        raise ClassicnetsError(
            f"The validation and test shares must be in [0, 1) and (0, 1), got {val_fraction} "
            f"and {test_fraction}."
        )
    if val_fraction + test_fraction >= 1.0:
        raise ClassicnetsError(
            f"Validation ({val_fraction:g}) and test ({test_fraction:g}) leave no text to train on."
        )
    if max_chars is not None and max_chars <= 0:
        raise ClassicnetsError(f"max_chars must be positive, got {max_chars}.")
    path = corpus_path(source, root)
    text = read_text(path)[:max_chars]
    vocabulary = Vocabulary.from_text(text, level, max_vocab)
    ids = vocabulary.encode(text)
    train, val, test = split_ids(ids, val_fraction, test_fraction)
    if len(train) < 2 or len(test) < 2 or (val_fraction and len(val) < 2):
        raise ClassicnetsError(
            f"{path} has only {len(ids)} {level}s, too few to split into training, validation "
            "and test text; give a longer text."
        )
    name = str(source) if str(source) in CORPORA else path.name
    return TextCorpus(name, vocabulary, train, val, test, len(text))
