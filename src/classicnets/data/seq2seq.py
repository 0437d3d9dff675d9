"""Sequence-to-sequence tasks: pairs of (source text, target text) as padded token ids.

Four algorithmic tasks are generated from a seed, for tests and for the course's exercises:
``seq2seq_copy``, ``seq2seq_reverse``, ``seq2seq_sort`` (strings of digits) and ``seq2seq_add``
(``"123+45"`` → ``"168"``). One translation-like task comes from real locale data: ``dates``
writes calendar dates in the medium, long and full formats of many locales with the Unicode
CLDR tables the ``babel`` package ships (``"1. März 2003"``, ``"March 1, 2003"``,
``"1 de marzo de 2003"``) and asks for the ISO form ``"2003-03-01"``; nothing is downloaded.

Every split is disjoint from the others: no source string (for ``dates``: no calendar day) is in
two of them, so validation and test measure what the model learnt, not what it memorised.

Token ids 0, 1 and 2 are ``<pad>``, ``<bos>`` and ``<eos>`` in both vocabularies. Sources are
padded with ``<pad>``; targets are ``<bos> t_1 ... t_n <eos>`` then ``<pad>``, so a trainer
feeds ``target[:, :-1]`` to the decoder and scores its predictions against ``target[:, 1:]``.
"""

from __future__ import annotations

import datetime
import importlib.util
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..errors import ClassicnetsError, unknown_name
from .text import Vocabulary

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")
DIGITS = "0123456789"
DATE_FORMATS = ("medium", "long", "full")  # "short" is ambiguous: 3/1/03 vs 01/03/03
# Locales whose medium, long and full formats all name the day before the month or spell the
# month, so that no date string means two different days.
DATE_LOCALES = (
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL", "sv_SE",
    "da_DK", "nb_NO", "pl_PL", "cs_CZ", "tr_TR", "fi_FI", "ro_RO", "hu_HU", "id_ID",
)  # fmt: skip
DATE_RANGE = (datetime.date(1900, 1, 1), datetime.date(2099, 12, 31))


@dataclass(frozen=True)
class PairSplit:
    """One split of a task: the texts and their padded token ids.

    Attributes:
        sources: the source texts.
        targets: the target texts.
        source_ids: ``(N, S)`` int64, each source padded with ``PAD`` to the longest.
        target_ids: ``(N, T + 2)`` int64, ``BOS``, the target's ids, ``EOS``, then ``PAD``.
    """

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    source_ids: torch.Tensor
    target_ids: torch.Tensor

    def __len__(self) -> int:
        return len(self.sources)

    def pair(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(source_ids, target_ids)``, the form ``fit`` and ``evaluate`` take."""
        return self.source_ids, self.target_ids


@dataclass(frozen=True)
class PairCorpus:
    """A sequence-to-sequence task ready for a model: two vocabularies and three splits."""

    name: str
    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary
    train: PairSplit
    val: PairSplit
    test: PairSplit

    @property
    def shared_vocabulary(self) -> bool:
        """Whether source and target use the same tokens (so a model may share embeddings)."""
        return self.source_vocabulary.tokens == self.target_vocabulary.tokens


def make_vocabulary(symbols: str | Sequence[str]) -> Vocabulary:
    """A character vocabulary: the three special tokens, then ``symbols`` in sorted order."""
    return Vocabulary([*SPECIALS, *sorted(set(symbols) - set(SPECIALS))], "char")


def pad_ids(rows: Sequence[torch.Tensor], *, bos_eos: bool = False) -> torch.Tensor:
    """Stack 1-D id tensors into ``(N, L)``, padded with ``PAD``; ``bos_eos`` wraps each row in
    ``BOS ... EOS`` first (the target form)."""
    if bos_eos:
        rows = [torch.cat([torch.tensor([BOS]), row, torch.tensor([EOS])]) for row in rows]
    width = max((len(row) for row in rows), default=0)
    out = torch.full((len(rows), width), PAD, dtype=torch.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def decode_ids(vocabulary: Vocabulary, ids: Sequence[int] | torch.Tensor) -> str:
    """The text of a decoded sequence: up to its first ``EOS``, special tokens dropped."""
    if isinstance(ids, torch.Tensor):
        ids = ids.tolist()
    kept = []
    for i in ids:
        if i == EOS:
            break
        if i >= len(SPECIALS):
            kept.append(i)
    return vocabulary.decode(kept)


def make_split(
    sources: Sequence[str], targets: Sequence[str], source: Vocabulary, target: Vocabulary
) -> PairSplit:
    """Encode and pad a list of pairs with the two vocabularies."""
    source_ids = pad_ids([source.encode(s) for s in sources])
    target_ids = pad_ids([target.encode(t) for t in targets], bos_eos=True)
    return PairSplit(tuple(sources), tuple(targets), source_ids, target_ids)


# ---------------------------------------------------------------- algorithmic tasks
def _digits(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(length))


def _number(rng: random.Random, length: int) -> str:
    """A number of ``length`` digits without a leading zero (``"0"`` itself can be drawn)."""
    return str(rng.randrange(10 ** (length - 1) if length > 1 else 0, 10**length))


def _draw_string(rng: random.Random, low: int, high: int) -> str:
    return _digits(rng, rng.randint(low, high))


def _draw_sum(rng: random.Random, low: int, high: int) -> str:
    while True:  # operand lengths whose "a+b" fits [low, high]
        a, b = rng.randint(1, high - 2), rng.randint(1, high - 2)
        if low <= a + b + 1 <= high:
            return f"{_number(rng, a)}+{_number(rng, b)}"


def _add(source: str) -> str:
    a, b = source.split("+")
    return str(int(a) + int(b))


# name -> (draw a source, the target of a source, the source symbols, the shortest source)
_ALGORITHMIC: dict[str, tuple[Callable, Callable[[str], str], str, int]] = {
    "seq2seq_copy": (_draw_string, lambda s: s, DIGITS, 1),
    "seq2seq_reverse": (_draw_string, lambda s: s[::-1], DIGITS, 1),
    "seq2seq_sort": (_draw_string, lambda s: "".join(sorted(s)), DIGITS, 1),
    "seq2seq_add": (_draw_sum, _add, DIGITS + "+", 3),
}


def _distinct_sources(name: str, draw: Callable[[], str], count: int) -> list[str]:
    """``count`` different sources in the order they were drawn."""
    seen: dict[str, None] = {}
    for _ in range(20 * count + 1000):  # a budget: a small space of strings runs out
        seen.setdefault(draw())
        if len(seen) == count:
            return list(seen)
    raise ClassicnetsError(
        f"Task '{name}' gave only {len(seen):,} different sources in {20 * count + 1000:,} "
        f"draws, fewer than the {count:,} asked for; ask for fewer examples or longer sequences."
    )


def _algorithmic(
    name: str, sizes: tuple[int, int, int], min_length: int, max_length: int, seed: int
) -> PairCorpus:
    draw, solve, symbols, shortest = _ALGORITHMIC[name]
    if min_length < shortest or max_length < min_length:
        raise ClassicnetsError(
            f"Task '{name}' needs {shortest} <= min_length <= max_length, got min_length="
            f"{min_length} and max_length={max_length}."
        )
    rng = random.Random(f"{name}:{seed}")  # a stream of its own: the global one is untouched
    sources = _distinct_sources(name, lambda: draw(rng, min_length, max_length), sum(sizes))
    vocabulary = make_vocabulary(symbols)  # the same for both sides: embeddings can be shared
    splits = _cut(sources, sizes)
    made = [make_split(s, [solve(x) for x in s], vocabulary, vocabulary) for s in splits]
    return PairCorpus(name, vocabulary, vocabulary, *made)


def _cut(items: Sequence, sizes: tuple[int, int, int]) -> list[list]:
    train, val, _ = sizes
    return [list(items[:train]), list(items[train : train + val]), list(items[train + val :])]


# ----------------------------------------------------------------------- dates
def render_date(day: datetime.date, locale: str, style: str) -> str:
    """``day`` as ``locale`` writes it in ``style`` (``"medium"``, ``"long"`` or ``"full"``),
    with the narrow and no-break spaces some locales use turned into plain spaces."""
    from babel.dates import format_date

    text = format_date(day, style, locale=locale)
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _dates(sizes: tuple[int, int, int], seed: int, locales: Sequence[str] | None) -> PairCorpus:
    if importlib.util.find_spec("babel") is None:
        raise ClassicnetsError(
            "Task 'dates' needs the babel package (its CLDR locale tables); install it with: "
            "pip install babel."
        )
    from babel import Locale, UnknownLocaleError

    locales = tuple(locales or DATE_LOCALES)
    for locale in locales:
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError):
            raise ClassicnetsError(
                f"Task 'dates': babel knows no locale {locale!r}; give names such as en_US or "
                "de_DE."
            ) from None
    first, last = DATE_RANGE
    span = (last - first).days + 1
    if sum(sizes) > span:
        raise ClassicnetsError(
            f"Task 'dates' has {span:,} days from {first} to {last}, fewer than the "
            f"{sum(sizes):,} examples asked for; ask for fewer."
        )
    rng = random.Random(f"dates:{seed}")
    days = [first + datetime.timedelta(days=d) for d in rng.sample(range(span), sum(sizes))]
    pairs = [  # each day once, in one locale's one format: splits are disjoint by day
        (render_date(day, rng.choice(locales), rng.choice(DATE_FORMATS)), day.isoformat())
        for day in days
    ]
    source = make_vocabulary("".join(s for s, _ in pairs))
    target = make_vocabulary(DIGITS + "-")
    made = [
        make_split([s for s, _ in part], [t for _, t in part], source, target)
        for part in _cut(pairs, sizes)
    ]
    return PairCorpus("dates", source, target, *made)


TASKS: dict[str, str] = {
    "seq2seq_copy": "copy a string of digits",
    "seq2seq_reverse": "reverse a string of digits",
    "seq2seq_sort": "sort the digits of a string",
    "seq2seq_add": "add two numbers: 123+45 -> 168",
    "dates": "dates in 18 locales' words (babel's CLDR data) -> ISO 8601, 2003-03-01",
}


def load_pairs(
    task: str,
    *,
    train_size: int = 20_000,
    val_size: int = 1_000,
    test_size: int = 1_000,
    min_length: int | None = None,
    max_length: int = 20,
    seed: int = 0,
    locales: Sequence[str] | None = None,
) -> PairCorpus:
    """Generate a task's three disjoint splits.

    Args:
        task: a name from ``TASKS``.
        train_size, val_size, test_size: examples per split.
        min_length, max_length: algorithmic tasks: the shortest and longest source in tokens
            (``min_length`` defaults to 1, and to 3 for ``seq2seq_add``'s ``"a+b"``).
        seed: the same seed gives the same pairs, on any machine.
        locales: ``dates``: the babel locales to write dates in (default ``DATE_LOCALES``).

    Returns:
        A :class:`PairCorpus`.

    Raises:
        ClassicnetsError: an unknown task, a size or length out of range, or ``dates``
            without the babel package.
    """
    if task not in TASKS:
        raise unknown_name("sequence-to-sequence task", task, TASKS)
    for label, value, least in (
        ("train_size", train_size, 1),
        ("val_size", val_size, 0),
        ("test_size", test_size, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ClassicnetsError(
                f"{label} must be an integer of at least {least}, got {value!r}."
            )
    sizes = (train_size, val_size, test_size)
    if task == "dates":
        return _dates(sizes, seed, locales)
    shortest = _ALGORITHMIC[task][3]
    return _algorithmic(
        task, sizes, shortest if min_length is None else min_length, max_length, seed
    )
