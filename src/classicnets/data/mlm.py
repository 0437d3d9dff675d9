"""Text for BERT (Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers", 2019):
masked-language-model batches and a small classification task built from the shipped books.

Tokens are **characters**. The two shipped corpora are read character by character everywhere
else in the project; a character vocabulary is ~70 tokens, has no unknown token and needs no
word-piece model, and a 40-character line is 40 tokens, so a 128-token window holds a few lines.
A word vocabulary over these two books would be ~13 000 words, most seen a handful of times: far
too many rare targets to learn in a CPU budget of minutes. Four special tokens come first in the
vocabulary (ids 0-3): ``[PAD]``, ``[CLS]``, ``[SEP]``, ``[MASK]``. Character-level text never
produces them, as a text's tokens are single characters.

Both books are normalised to plain ASCII first (:func:`plain_text`): Alice's Gutenberg text has
curly quotes, dashes and ``_italics_`` that Shakespeare's never has, so a classifier could name
the book from one quotation mark without reading a word.

The classification task (:func:`load_book_lines`) asks which book a line comes from. Each book is
cut by position into training, validation and test text at line breaks (the same cut the
pre-training text uses), so no line, and no pre-training window, is in two splits; lines of at
least ``min_length`` characters are kept, cut to exactly ``min_length`` (Alice's prose lines are
longer than Shakespeare's verse: the length alone would give the answer), and the larger book is
subsampled so both classes have as many lines in every split.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import ClassicnetsError
from .text import Vocabulary, corpus_path, read_text

SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")
PAD, CLS, SEP, MASK = range(len(SPECIALS))
IGNORE = -100  # the label of a position the loss skips (F.cross_entropy's ignore_index)
# Devlin et al. (2019) section 3.1: of the chosen tokens 80 % become [MASK], 10 % a random token
# and 10 % stay as they are, so the model cannot tell which inputs it will be asked about.
MASK_SHARE, RANDOM_SHARE = 0.8, 0.1
BOOKS = ("tinyshakespeare", "alice")
_ASCII = {"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2014": "--", "_": ""}


def check_mask_rate(rate: float) -> float:
    """``rate`` if it is a number strictly between 0 and 1, else one sentence saying so."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 < rate < 1.0:
        raise ClassicnetsError(
            f"The masking rate must be a number strictly between 0 and 1 (BERT masks 0.15), "
            f"got {rate!r}."
        )
    return float(rate)


def mask_tokens(
    tokens: torch.Tensor,
    *,
    vocab_size: int,
    generator: torch.Generator,
    rate: float = 0.15,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking of a batch of sequences.

    In every row, ``round(rate * n)`` of its ``n`` non-special tokens (at least one) are chosen,
    as Google's ``create_pretraining_data.py`` does; of those, 80 % become ``[MASK]``, 10 % a
    random non-special token and 10 % stay unchanged. Special tokens are never chosen.

    Args:
        tokens: ``(B, T)`` int64 ids; ids below ``len(SPECIALS)`` are special.
        vocab_size: the vocabulary's size, for the random replacements.
        generator: the CPU generator every draw comes from (the global stream is not touched).
        rate: the share of tokens to choose, in (0, 1).

    Returns:
        ``(inputs, labels)``, both ``(B, T)`` on ``tokens``' device: the masked inputs, and the
        original ids at chosen positions with :data:`IGNORE` everywhere else.
    """
    rate = check_mask_rate(rate)
    if tokens.dim() != 2 or tokens.dtype != torch.int64:
        raise ClassicnetsError(
            f"Masking takes int64 token ids of shape (B, T), got {tokens.dtype} "
            f"{tuple(tokens.shape)}."
        )
    if vocab_size <= len(SPECIALS):
        raise ClassicnetsError(
            f"A vocabulary of {vocab_size} tokens holds no token besides the specials {SPECIALS}."
        )
    cpu = tokens.cpu()
    real = cpu >= len(SPECIALS)  # (B, T)
    # A random rank among the row's real tokens: the `count` lowest are chosen. Specials score
    # 2, above every uniform draw, so they rank last and are never chosen.
    scores = torch.rand(cpu.shape, generator=generator).masked_fill(~real, 2.0)
    rank = scores.argsort(dim=1).argsort(dim=1)  # (B, T)
    n_real = real.sum(dim=1)
    count = torch.where(n_real > 0, (rate * n_real).round().clamp(min=1), 0)  # (B,)
    chosen = (rank < count.unsqueeze(1)) & real
    action = torch.rand(cpu.shape, generator=generator)
    to_mask = chosen & (action < MASK_SHARE)
    to_random = chosen & (action >= MASK_SHARE) & (action < MASK_SHARE + RANDOM_SHARE)
    replacement = torch.randint(len(SPECIALS), vocab_size, cpu.shape, generator=generator)
    inputs = cpu.masked_fill(to_mask, MASK)
    inputs = torch.where(to_random, replacement, inputs)
    labels = torch.where(chosen, cpu, IGNORE)
    return inputs.to(tokens.device), labels.to(tokens.device)


# ------------------------------------------------------------------------------ text and ids
def plain_text(text: str) -> str:
    """``text`` in plain ASCII: curly quotes straightened, em dashes as ``--``, the underscores
    of ``_italics_`` dropped, accented letters without their accents."""
    for fancy, plain in _ASCII.items():
        text = text.replace(fancy, plain)
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def mlm_vocabulary(texts: Sequence[str]) -> Vocabulary:
    """The specials, then every character of ``texts`` in sorted order."""
    characters = sorted(set().union(*(set(t) for t in texts)))
    return Vocabulary([*SPECIALS, *characters], "char")


def encode_sequences(vocabulary: Vocabulary, texts: Sequence[str], max_len: int) -> torch.Tensor:
    """Each text as ``[CLS] text [SEP]``, cut to ``max_len`` tokens and padded with ``[PAD]``.

    Returns:
        ``(len(texts), max_len)`` int64 ids.
    """
    if max_len < 3:
        raise ClassicnetsError(f"max_len must be at least 3 ([CLS] x [SEP]), got {max_len}.")
    rows = torch.full((len(texts), max_len), PAD, dtype=torch.int64)
    for i, text in enumerate(texts):
        ids = vocabulary.encode(text[: max_len - 2])
        rows[i, : len(ids) + 2] = torch.cat([torch.tensor([CLS]), ids, torch.tensor([SEP])])
    return rows


def split_at_lines(text: str, val_fraction: float, test_fraction: float) -> tuple[str, str, str]:
    """Training, validation and test text by position: the last ``test_fraction`` of the
    characters, the ``val_fraction`` before it, the rest; every cut moved to the next line
    break, so that no line is split between two parts."""
    if not 0.0 < val_fraction < 1.0 or not 0.0 < test_fraction < 1.0:
        raise ClassicnetsError(
            f"The validation and test shares must be in (0, 1), got {val_fraction} and "
            f"{test_fraction}."
        )
    if val_fraction + test_fraction >= 1.0:
        raise ClassicnetsError(
            f"Validation ({val_fraction:g}) and test ({test_fraction:g}) leave no text to train on."
        )

    def cut(fraction: float) -> int:  # the line holding the character before the cut stays
        at = text.find("\n", max(int(len(text) * fraction) - 1, 0))
        return len(text) if at < 0 else at + 1

    val_start, test_start = cut(1.0 - val_fraction - test_fraction), cut(1.0 - test_fraction)
    return text[:val_start], text[val_start:test_start], text[test_start:]


def read_books(sources: Sequence[str], root: str | os.PathLike | None = None) -> dict[str, str]:
    """The plain-ASCII text of each named corpus or file, by name."""
    if not sources:
        raise ClassicnetsError("Give at least one corpus to read.")
    return {str(s): plain_text(read_text(corpus_path(s, root))) for s in sources}


# ------------------------------------------------------------------------- pre-training text
@dataclass(frozen=True)
class MLMCorpus:
    """Windows of text for masked-language-model pre-training: ``(N, max_len)`` ids each, every
    row ``[CLS] <max_len - 2 characters> [SEP]`` (the last window of a part padded)."""

    vocabulary: Vocabulary
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor


def windows(vocabulary: Vocabulary, text: str, max_len: int) -> torch.Tensor:
    """``text`` cut into consecutive, non-overlapping windows of ``max_len - 2`` characters,
    each wrapped in ``[CLS] ... [SEP]``; ``(N, max_len)`` int64."""
    if max_len < 3:
        raise ClassicnetsError(f"max_len must be at least 3 ([CLS] x [SEP]), got {max_len}.")
    width = max_len - 2
    return encode_sequences(
        vocabulary, [text[s : s + width] for s in range(0, len(text), width)], max_len
    )


def load_mlm_corpus(
    sources: Sequence[str] = BOOKS,
    *,
    max_len: int = 128,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    root: str | os.PathLike | None = None,
    vocabulary: Vocabulary | None = None,
) -> MLMCorpus:
    """Pre-training windows from the books in ``sources``, each book split by position with
    :func:`split_at_lines` (the same cut :func:`load_book_lines` makes).

    Args:
        sources: corpus names or text files.
        max_len: tokens per window, ``[CLS]`` and ``[SEP]`` included.
        val_fraction, test_fraction: the shares of each book held out, from its end.
        root: the folder named corpora are looked for in.
        vocabulary: the vocabulary to encode with (default: all characters of the books).

    Returns:
        An :class:`MLMCorpus`.
    """
    books = read_books(sources, root)
    vocabulary = vocabulary or mlm_vocabulary(list(books.values()))
    parts: list[list[torch.Tensor]] = [[], [], []]
    for text in books.values():
        for part, piece in zip(
            parts, split_at_lines(text, val_fraction, test_fraction), strict=True
        ):
            part.append(windows(vocabulary, piece, max_len))
    train, val, test = (torch.cat(p) for p in parts)
    return MLMCorpus(vocabulary, train, val, test)


# ----------------------------------------------------------------------- which book a line is
@dataclass(frozen=True)
class LineSplit:
    """One split of the which-book task: ``tokens`` ``(N, min_length + 2)``, ``labels`` ``(N,)``
    (the index of the book in ``classes``) and the lines' text."""

    tokens: torch.Tensor
    labels: torch.Tensor
    lines: tuple[str, ...]

    def pair(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.tokens, self.labels

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class BookLines:
    """The which-book task: its vocabulary, class names (the books) and three splits."""

    vocabulary: Vocabulary
    classes: tuple[str, ...]
    train: LineSplit
    val: LineSplit
    test: LineSplit


def long_lines(text: str, min_length: int) -> list[str]:
    """The lines of ``text`` with at least ``min_length`` characters once stripped, each cut
    to its first ``min_length``; lines without a letter (Alice's ``*  *  *`` breaks) are
    dropped."""
    stripped = (line.strip() for line in text.split("\n"))
    return [
        line[:min_length]
        for line in stripped
        if len(line) >= min_length and any(c.isalpha() for c in line)
    ]


def load_book_lines(
    sources: Sequence[str] = BOOKS,
    *,
    min_length: int = 40,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    root: str | os.PathLike | None = None,
    vocabulary: Vocabulary | None = None,
) -> BookLines:
    """Which book a line comes from (see the module docstring).

    Args:
        sources: two or more corpus names or text files; class ``i`` is ``sources[i]``.
        min_length: lines shorter than this are dropped, longer ones cut to it.
        val_fraction, test_fraction: the shares of each book held out, from its end.
        seed: which lines of the larger books are kept to balance the classes (a generator of
            its own; the global stream is not touched).
        root: the folder named corpora are looked for in.
        vocabulary: the vocabulary to encode with (default: all characters of the books; pass
            the pre-training corpus's so a pre-trained encoder reads the same ids).

    Returns:
        A :class:`BookLines`; in every split each book has as many lines, in text order.
    """
    if len(sources) < 2:
        raise ClassicnetsError(
            f"Telling books apart needs at least two books, got {list(sources)}."
        )
    if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 1:
        raise ClassicnetsError(f"min_length must be a positive integer, got {min_length!r}.")
    books = read_books(sources, root)
    vocabulary = vocabulary or mlm_vocabulary(list(books.values()))
    generator = torch.Generator().manual_seed(seed)
    per_book = [
        [long_lines(p, min_length) for p in split_at_lines(t, val_fraction, test_fraction)]
        for t in books.values()
    ]
    splits = []
    for part in range(3):
        size = min(len(lines[part]) for lines in per_book)
        if size == 0:
            name = ("training", "validation", "test")[part]
            raise ClassicnetsError(
                f"The {name} text of some book has no line of {min_length} or more characters; "
                "lower min_length or give longer books."
            )
        texts, labels = [], []
        for label, lines in enumerate(per_book):
            keep = torch.randperm(len(lines[part]), generator=generator)[:size].sort().values
            texts += [lines[part][i] for i in keep.tolist()]
            labels += [label] * size
        tokens = encode_sequences(vocabulary, texts, min_length + 2)
        splits.append(LineSplit(tokens, torch.tensor(labels), tuple(texts)))
    return BookLines(vocabulary, tuple(books), *splits)
