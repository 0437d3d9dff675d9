"""BERT's masking (counts, the 80/10/10 rule, specials, seeding, bad rates) and the text it is
applied to: windows, position splits and the which-book task."""

from __future__ import annotations

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.data.mlm import (
    CLS,
    IGNORE,
    MASK,
    PAD,
    SEP,
    SPECIALS,
    check_mask_rate,
    encode_sequences,
    load_book_lines,
    load_mlm_corpus,
    mask_tokens,
    mlm_vocabulary,
    plain_text,
    split_at_lines,
    windows,
)
from classicnets.errors import ClassicnetsError

VOCAB = 104  # 4 specials and 100 ordinary tokens


def sample(rows: int = 2000, length: int = 128, seed: int = 0) -> torch.Tensor:
    """Random ordinary tokens framed by [CLS] ... [SEP] and a random amount of padding."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(len(SPECIALS), VOCAB, (rows, length), generator=g)
    ends = torch.randint(length // 2, length, (rows,), generator=g)
    position = torch.arange(length)
    tokens[:, 0] = CLS
    tokens[position >= ends[:, None]] = PAD
    tokens[torch.arange(rows), ends - 1] = SEP
    return tokens


def test_masking_chooses_the_rate_of_each_row_and_splits_it_80_10_10():
    tokens = sample()
    inputs, labels = mask_tokens(
        tokens, vocab_size=VOCAB, generator=torch.Generator().manual_seed(1)
    )
    chosen = labels != IGNORE
    real = tokens >= len(SPECIALS)
    # Google's create_pretraining_data: round(0.15 * n) of the row's n real tokens, at least 1
    expected = [max(1, round(0.15 * int(n))) for n in real.sum(1)]
    assert chosen.sum(1).tolist() == expected
    assert torch.equal(labels[chosen], tokens[chosen])  # the labels are the original tokens
    assert torch.equal(inputs[~chosen], tokens[~chosen])  # nothing else is touched
    total = chosen.sum().item()
    masked = (inputs[chosen] == MASK).sum().item() / total
    unchanged = (inputs[chosen] == tokens[chosen]).sum().item() / total
    replaced = 1 - masked - unchanged
    # a random replacement draws the original token again once in 100
    assert abs(masked - 0.8) < 0.01
    assert abs(unchanged - (0.1 + 0.1 / (VOCAB - len(SPECIALS)))) < 0.01
    assert abs(replaced - 0.1 * (1 - 1 / (VOCAB - len(SPECIALS)))) < 0.01
    swapped = inputs[chosen & (inputs != MASK) & (inputs != tokens)]
    assert swapped.min() >= len(SPECIALS) and swapped.max() < VOCAB  # never a special
    # the chosen positions are spread over the row, not bunched at its start
    where = chosen.nonzero()[:, 1].float()
    assert 40 < where.mean() < 60  # rows end uniformly between 64 and 128


def test_specials_are_never_chosen_and_rows_without_text_are_left_alone():
    tokens = sample(rows=500)
    tokens[0, 1:] = PAD  # a row of [CLS] and padding only
    tokens[0, 1] = SEP
    inputs, labels = mask_tokens(
        tokens, vocab_size=VOCAB, generator=torch.Generator().manual_seed(0), rate=0.5
    )
    special = tokens < len(SPECIALS)
    assert (labels[special] == IGNORE).all() and torch.equal(inputs[special], tokens[special])
    assert (labels[0] == IGNORE).all() and torch.equal(inputs[0], tokens[0])


def test_masking_is_seeded_by_its_own_generator_and_leaves_the_global_stream_alone():
    tokens = sample(rows=50)
    before = torch.random.get_rng_state()

    def run(seed):
        return mask_tokens(tokens, vocab_size=VOCAB, generator=torch.Generator().manual_seed(seed))

    first, again, other = run(3), run(3), run(4)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], other[1])


@pytest.mark.parametrize("rate", [0, 0.0, 1, 1.0, -0.15, 1.5, True, "0.15", None])
def test_a_masking_rate_outside_0_1_is_one_sentence(rate):
    with pytest.raises(ClassicnetsError) as err:
        mask_tokens(sample(rows=2), vocab_size=VOCAB, generator=torch.Generator(), rate=rate)
    message = str(err.value)
    assert message.endswith(".") and ". " not in message  # one sentence
    assert "strictly between 0 and 1" in message
    assert repr(rate) in message
    assert check_mask_rate(0.5) == 0.5


def test_sequences_are_framed_padded_and_cut():
    vocabulary = mlm_vocabulary(["abc"])
    assert vocabulary.tokens[: len(SPECIALS)] == SPECIALS
    rows = encode_sequences(vocabulary, ["ab", "abcabc"], 6)
    a, b, c = (vocabulary.index[ch] for ch in "abc")
    assert rows.tolist() == [[CLS, a, b, SEP, PAD, PAD], [CLS, a, b, c, a, SEP]]
    cut = windows(vocabulary, "abcabca", 5)  # 3 characters a window
    assert cut.tolist() == [[CLS, a, b, c, SEP], [CLS, a, b, c, SEP], [CLS, a, SEP, PAD, PAD]]
    with pytest.raises(ClassicnetsError, match="max_len must be at least 3"):
        encode_sequences(vocabulary, ["a"], 2)
    with pytest.raises(ClassicnetsError, match="max_len must be at least 3"):
        windows(vocabulary, "abc", 2)


def test_plain_text_removes_the_marks_only_alice_has():
    assert (
        plain_text("\u201cAlice\u2019s _very_ \u2014 na\u00efve\u201d")
        == '"Alice\'s very -- naive"'
    )


def test_the_position_split_cuts_at_line_breaks():
    text = "".join(f"line {i:03d}\n" for i in range(100))
    train, val, test = split_at_lines(text, 0.1, 0.2)
    assert train + val + test == text
    assert all(part.endswith("\n") for part in (train, val, test))
    assert train.count("\n") == 70 and val.count("\n") == 10 and test.count("\n") == 20
    with pytest.raises(ClassicnetsError, match="leave no text"):
        split_at_lines(text, 0.5, 0.5)


def _books(tmp_path):
    short = "".join(f"{i:04d} Shakespeare verse line, it ends.\nshort\n" for i in range(300))
    long = "".join(f"{i:04d} \u201cAlice\u201d prose line, a longer one.\n" for i in range(100))
    (tmp_path / "play.txt").write_text(short)
    (tmp_path / "book.txt").write_text(long)
    return [str(tmp_path / "play.txt"), str(tmp_path / "book.txt")]


def test_which_book_lines_are_balanced_cut_and_split_by_position(tmp_path):
    sources = _books(tmp_path)
    task = load_book_lines(sources, min_length=30, seed=0)
    assert task.classes == tuple(sources)
    for split, size in ((task.train, 80), (task.val, 10), (task.test, 10)):
        assert split.labels.tolist() == [0] * size + [1] * size  # balanced
        assert split.tokens.shape == (2 * size, 32) and (split.tokens != PAD).all()
        assert all(len(line) == 30 and "short" not in line for line in split.lines)
        assert not any(ch in "".join(split.lines) for ch in "\u201c\u201d")
    number = {
        name: [int(line[:4]) for line in split.lines[: len(split) // 2]]
        for name, split in (("train", task.train), ("val", task.val), ("test", task.test))
    }
    # Shakespeare's 300 lines: train the first 240 (subsampled to 80), then 30, then 30
    assert max(number["train"]) < 240 <= min(number["val"])
    assert max(number["val"]) < 270 <= min(number["test"])
    assert number["train"] == sorted(number["train"])  # in text order
    again = load_book_lines(sources, min_length=30, seed=0)
    other = load_book_lines(sources, min_length=30, seed=1)
    assert again.train.lines == task.train.lines and other.train.lines != task.train.lines


def test_pretraining_windows_hold_out_the_same_text_as_the_task(tmp_path):
    sources = _books(tmp_path)
    corpus = load_mlm_corpus(sources, max_len=34)
    task = load_book_lines(sources, min_length=30, vocabulary=corpus.vocabulary)
    seen = "".join(corpus.vocabulary.decode(row[(row >= len(SPECIALS))]) for row in corpus.train)
    assert not any(line in seen for line in task.test.lines + task.val.lines)
    assert sum(line in seen for line in task.train.lines) >= 0.9 * len(task.train)
    with pytest.raises(ClassicnetsError, match="at least two books"):
        load_book_lines(sources[:1])


def test_the_shipped_books_make_a_76_token_vocabulary(data_root):
    task = load_book_lines(root=data_root)
    assert len(task.vocabulary) == 76 and task.vocabulary.tokens.count("\u2019") == 0
    assert task.classes == ("tinyshakespeare", "alice")
    assert len(task.test) > 300 and task.test.labels.float().mean() == 0.5
