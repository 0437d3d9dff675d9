"""What a masked-language-model run writes beside its checkpoints: test windows masked and
filled in by the model (``unmasked.txt``), and test lines with the book the model names
(``classified.txt``)."""

from __future__ import annotations

import torch

from ..data.mlm import IGNORE, MASK, SPECIALS, mask_tokens
from ..data.text import Vocabulary
from ..train.mlm import MaskedLMModel, SequenceClassifierModel

SHOWN_LINES = 20  # test lines written to classified.txt


def _shown(vocabulary: Vocabulary, ids: list[int]) -> str:
    """Characters of ``ids`` on one line: a line break as ``|``, [MASK] as ``_``."""
    text = "".join("_" if i == MASK else vocabulary.tokens[i] for i in ids)
    return text.replace("\n", "|")


@torch.no_grad()
def unmasked_text(model: MaskedLMModel, windows: torch.Tensor, seed: int) -> str:
    """Each window masked (BERT's rule, a generator seeded by ``seed``) and filled in by the
    model's most likely character at every chosen position, wrong ones marked ``^``."""
    vocabulary = model.vocabulary
    generator = torch.Generator().manual_seed(seed)
    inputs, labels = mask_tokens(
        windows, vocab_size=len(vocabulary), generator=generator, rate=model.mask_rate
    )
    model.module.eval()
    scores = model.predict_step(inputs.to(model.device)).float().cpu()  # (B, T, V)
    scores[..., : len(SPECIALS)] = -torch.inf  # fill in characters, never a special token
    guesses = scores.argmax(-1)
    blocks = [
        f"{len(windows)} test windows; {model.mask_rate:g} of the characters chosen: '_' is "
        "[MASK], a chosen character may also be swapped or kept (80/10/10); '|' is a line "
        "break; '^' marks a wrong guess.\n"
    ]
    for n, (window, given, label, guess) in enumerate(
        zip(windows, inputs, labels, guesses, strict=True), 1
    ):
        real = (window >= len(SPECIALS)).nonzero().flatten().tolist()
        chosen = label != IGNORE
        filled = torch.where(chosen, guess, window)
        wrong = chosen & (guess != window)
        right = int(chosen.sum() - wrong.sum())
        marks = "".join("^" if wrong[i] else " " for i in real).rstrip()
        blocks.append(
            f"[{n}] {right} of {int(chosen.sum())} chosen characters right\n"
            f"text:   {_shown(vocabulary, window[real].tolist())}\n"
            f"masked: {_shown(vocabulary, given[real].tolist())}\n"
            f"filled: {_shown(vocabulary, filled[real].tolist())}\n"
            f"        {marks}\n"
        )
    return "\n".join(blocks)


@torch.no_grad()
def classified_text(model: SequenceClassifierModel, test) -> str:
    """The first test lines of each book with the book the model names, a wrong one marked."""
    classes = model.classes or tuple(str(i) for i in range(int(test.labels.max()) + 1))
    per_class = max(SHOWN_LINES // len(classes), 1)
    rows = []
    for label in range(len(classes)):
        rows += (test.labels == label).nonzero().flatten()[:per_class].tolist()
    model.module.eval()
    scores = model.predict_step(test.tokens[rows].to(model.device)).float().cpu()
    lines = ["line\tguess\tbook"]
    for row, guess in zip(rows, scores.argmax(-1).tolist(), strict=True):
        book = int(test.labels[row])
        mark = "" if guess == book else "  <- wrong"
        lines.append(f"{test.lines[row]}\t{classes[guess]}\t{classes[book]}{mark}")
    return "\n".join(lines) + "\n"
