"""Decoding an encoder–decoder: greedy (batched) and beam search with GNMT's length penalty.

Both work with any model that answers ``encode(src) -> memory`` and ``decode_step(memory,
prefix, state) -> (logits (B, V), state)``, every tensor in ``memory`` and ``state`` batch
first (:mod:`classicnets.models.seq2seq`). A decoded sequence holds the tokens after ``BOS``:
the model's choices (never ``PAD`` or ``BOS``) up to and including ``EOS``, then ``PAD``.

Beam search keeps the ``beam_width`` best prefixes of every source (Sutskever et al. 2014):
at each step the ``k`` best one-token extensions of the ``k`` live prefixes survive, and those
among them that end in ``EOS`` are finished, so the beam shrinks by one for each, until
``beam_width`` hypotheses are finished or ``max_len`` tokens are reached (the live prefixes then
count as they stand). Width 1 is therefore greedy decoding. Finished hypotheses are ranked by
``log P(Y | X) / lp(Y)`` with ``lp(Y) = ((5 + |Y|) / 6) ** alpha`` (Wu et al., "Google's Neural
Machine Translation System", 2016, eq. 14; ``|Y|`` counts the ``EOS``), which keeps the search
from preferring short outputs merely because every token multiplies in a probability under 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ClassicnetsError

PAD, BOS, EOS = 0, 1, 2  # the ids of classicnets.data.seq2seq


@dataclass(frozen=True)
class Hypothesis:
    """One decoded sequence: its tokens (after ``BOS``, ``EOS`` included when it finished),
    ``log P(tokens | source)`` and the length-penalised score beam search ranks by."""

    tokens: tuple[int, ...]
    log_prob: float
    score: float


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's ``((5 + length) / 6) ** alpha``; ``alpha = 0`` ranks by log-probability alone."""
    return ((5.0 + length) / 6.0) ** alpha


def _select(tree: Any, index: Tensor) -> Any:
    """Every tensor of a (nested tuple) ``memory`` or ``state`` at rows ``index``."""
    if tree is None:
        return None
    if isinstance(tree, tuple):
        return tuple(_select(t, index) for t in tree)
    return tree.index_select(0, index)


def _never_special(scores: Tensor) -> Tensor:
    """``scores`` with ``PAD`` and ``BOS`` made impossible: a decoder's output never holds
    them (the others keep the model's own log-probabilities, not renormalised ones)."""
    scores = scores.clone()
    scores[:, [PAD, BOS]] = float("-inf")
    return scores


def _check_max_len(max_len: Any) -> None:
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ClassicnetsError(f"max_len must be a positive integer, got {max_len!r}.")


@torch.no_grad()
def greedy_decode(model: nn.Module, src: Tensor, max_len: int) -> Tensor:
    """The most likely token at every step, for a whole batch at once.

    Args:
        model: an encoder–decoder (in eval mode for deterministic output).
        src: source ids ``(B, S)``, padded with ``PAD``.
        max_len: the most tokens to produce per sequence, ``EOS`` included.

    Returns:
        ``(B, L)`` int64 ids, ``L <= max_len``: each row's tokens up to its ``EOS``, then
        ``PAD``; decoding stops as soon as every row has produced ``EOS``.
    """
    _check_max_len(max_len)
    memory = model.encode(src)
    batch = src.shape[0]
    prefix = torch.full((batch, 1), BOS, dtype=torch.int64, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    state = None
    for _ in range(max_len):
        logits, state = model.decode_step(memory, prefix, state)  # (B, V)
        token = _never_special(logits).argmax(-1).masked_fill(done, PAD)  # done rows pad
        prefix = torch.cat([prefix, token[:, None]], dim=1)
        done |= token == EOS
        if done.all():
            break
    return prefix[:, 1:]


@torch.no_grad()
def sequence_log_prob(model: nn.Module, src: Tensor, tokens: Tensor) -> Tensor:
    """``log P(tokens | src)`` of each row, summed over its tokens up to and including ``EOS``.

    Args:
        model: an encoder–decoder.
        src: source ids ``(B, S)``.
        tokens: decoded ids ``(B, L)`` in :func:`greedy_decode`'s form.

    Returns:
        ``(B,)`` float log-probabilities.
    """
    bos = torch.full((tokens.shape[0], 1), BOS, dtype=torch.int64, device=tokens.device)
    logits = model(src, torch.cat([bos, tokens[:, :-1]], dim=1)).float()  # (B, L, V)
    chosen = logits.log_softmax(-1).gather(-1, tokens[:, :, None]).squeeze(-1)  # (B, L)
    return (chosen * (tokens != PAD)).sum(1)


@torch.no_grad()
def beam_search(
    model: nn.Module,
    src: Tensor,
    max_len: int,
    *,
    beam_width: int = 4,
    alpha: float = 0.6,
) -> list[Hypothesis]:
    """The best hypothesis for each source by beam search.

    Args:
        model: an encoder–decoder (in eval mode).
        src: source ids ``(B, S)``, padded with ``PAD``.
        max_len: the most tokens per hypothesis, ``EOS`` included.
        beam_width: prefixes kept per source; 1 is greedy decoding.
        alpha: the length penalty's exponent (GNMT used 0.6 to 0.7; 0 turns it off).

    Returns:
        One :class:`Hypothesis` per source, the highest-scoring it finished.

    Raises:
        ClassicnetsError: ``beam_width`` under 1, or ``max_len`` under 1.
    """
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ClassicnetsError(
            f"The beam width must be a positive integer (1 is greedy decoding), got {beam_width!r}."
        )
    _check_max_len(max_len)
    width, batch, device = beam_width, src.shape[0], src.device
    # every source's beams side by side: row b * width + k is beam k of source b
    memory = _select(model.encode(src), torch.arange(batch, device=device).repeat_interleave(width))
    prefix = torch.full((batch * width, 1), BOS, dtype=torch.int64, device=device)
    scores = torch.full((batch, width), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live beam at the start: the others would repeat it
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    state = None
    for step in range(1, max_len + 1):
        logits, state = model.decode_step(memory, prefix, state)
        log_probs = _never_special(logits.float().log_softmax(-1))  # (B*K, V)
        vocab = log_probs.shape[-1]
        total = (scores.reshape(-1, 1) + log_probs).reshape(batch, width * vocab)
        best, where = total.topk(min(width, width * vocab), dim=1)  # (B, K), best first
        rows, next_scores, next_tokens = [], torch.full_like(scores, float("-inf")), []
        for b in range(batch):
            kept, live = 0, width - len(finished[b])  # the beam shrinks as hypotheses end
            candidates = zip(best[b, :live].tolist(), where[b, :live].tolist(), strict=True)
            for value, flat in candidates:
                if value == float("-inf"):
                    break  # no live prefix left
                beam, token = divmod(flat, vocab)
                row = b * width + beam
                if token == EOS:
                    tokens = (*prefix[row, 1:].tolist(), EOS)
                    finished[b].append(
                        Hypothesis(tokens, value, value / length_penalty(step, alpha))
                    )
                else:
                    rows.append(row), next_tokens.append(token)
                    next_scores[b, kept] = value
                    kept += 1
            while kept < width:  # fill dead beams with any row; their score stays -inf
                rows.append(b * width), next_tokens.append(PAD)
                kept += 1
        if all(len(f) >= width for f in finished):
            break
        index = torch.tensor(rows, device=device)
        token_column = torch.tensor(next_tokens, device=device)[:, None]
        prefix = torch.cat([prefix.index_select(0, index), token_column], dim=1)
        state, scores = _select(state, index), next_scores
    for b in range(batch):  # max_len reached: the live prefixes count as they stand
        if len(finished[b]) < width:
            for k in range(width):
                value = float(scores[b, k])
                if value > float("-inf"):
                    tokens = tuple(prefix[b * width + k, 1:].tolist())
                    score = value / length_penalty(len(tokens), alpha)
                    finished[b].append(Hypothesis(tokens, value, score))
    nothing = Hypothesis((), float("-inf"), float("-inf"))  # a model that allows no token
    return [max(f, key=lambda h: h.score) if f else nothing for f in finished]


def pad_hypotheses(hypotheses: list[Hypothesis], device: torch.device | str = "cpu") -> Tensor:
    """Hypotheses as ``(B, L)`` ids padded with ``PAD``: :func:`greedy_decode`'s form."""
    width = max((len(h.tokens) for h in hypotheses), default=0)
    out = torch.full((len(hypotheses), max(width, 1)), PAD, dtype=torch.int64, device=device)
    for i, h in enumerate(hypotheses):
        out[i, : len(h.tokens)] = torch.tensor(h.tokens, dtype=torch.int64)
    return out
