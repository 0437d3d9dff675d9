"""Batching strategies for language models, on a 1-D stream of token ids.

- :class:`StreamBatches` (training, truncated back-propagation through time). The ids are laid
  out as ``streams`` parallel streams, each a contiguous stretch of the text; step ``k`` reads
  the ``k``-th piece of ``seq_len`` tokens of every stream, and its targets are the next tokens.
  Each epoch starts at a random offset below ``seq_len`` (drawn from ``(seed, epoch)``) so the
  cuts fall elsewhere (Williams & Peng 1990; d2l's "sequential partitioning").
- :class:`ScoredPieces` (evaluation): every token scored once, each from as much of the text
  before it as the model takes. A recurrent model reads pieces of ``span`` tokens and carries
  its state from one to the next; a model with a fixed context reads windows of it that overlap
  by half and scores only the tokens no window has scored yet, so each token after the first
  window sees at least ``context / 2`` tokens before it (the sliding-window perplexity).

Batches of :class:`ScoredPieces` are ``(tokens (S, T), targets (S, T'), skip, continues)``:
the targets of the last ``T'`` positions, and whether the piece continues the previous one's
state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from ..errors import ClassicnetsError
from .batching import Batches, check_batch_size
from .state import epoch_seed

EVAL_STREAMS = 32  # evaluation streams: each starts from a zero state, so not too many


class StreamBatches(Batches):
    """Pieces ``(B, T)`` of ``streams`` contiguous streams, and their next tokens."""

    def __init__(self, ids: torch.Tensor, streams: int, seq_len: int, *, seed: int = 0) -> None:
        streams = check_batch_size(streams)
        n = len(ids) - 1  # (token, next token) pairs
        if n < streams:
            raise ClassicnetsError(
                f"The text has {len(ids)} tokens, too few for {streams} parallel streams; "
                "lower the batch size."
            )
        self.length = n // streams  # tokens per stream
        self.piece = min(seq_len, self.length)
        self.streams, self.seed = streams, seed
        self.examples = n
        self.steps = self.length // self.piece
        used = streams * self.length
        self.x = ids[:used].view(streams, self.length)  # (B, L): stream b is one stretch
        self.y = ids[1 : used + 1].view(streams, self.length)

    def offset(self, epoch: int) -> int:
        slack = self.length - self.steps * self.piece  # < piece tokens to spare
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        return int(torch.randint(slack + 1, (1,), generator=generator))

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        offset = self.offset(epoch)
        for step in range(start, self.steps):
            begin = offset + step * self.piece
            end = begin + self.piece
            yield step, (self.x[:, begin:end], self.y[:, begin:end])  # (B, T) each


class ScoredPieces(Batches):
    """The pieces that score every token of a text once (see the module docstring).

    Args:
        ids: the text's token ids.
        span: tokens per forward pass (the model's context, or a piece length).
        overlap: a context model re-reads half a window; a recurrent one carries its state.
    """

    def __init__(self, ids: torch.Tensor, span: int, overlap: bool) -> None:
        if len(ids) < 2:
            raise ClassicnetsError(
                f"The text has {len(ids)} tokens; scoring needs at least 2 (a token and the one "
                "after it)."
            )
        n = len(ids) - 1
        self.span, self.overlap = span, overlap
        self.stride = max(1, span // 2) if overlap else span
        self.streams = max(1, min(EVAL_STREAMS, n // span))
        self.length = n // self.streams
        used = self.streams * self.length
        self.x = ids[:used].view(self.streams, self.length)  # (S, L)
        self.y = ids[1 : used + 1].view(self.streams, self.length)
        self.examples = used
        self.steps = len(self._windows())

    def _windows(self) -> list[tuple[int, int, int]]:
        windows, scored = [], 0
        for start in range(0, self.length, self.stride):
            end = min(start + self.span, self.length)
            if end > scored:
                windows.append((start, end, scored))
                scored = end
        return windows

    def epoch(self, epoch: int = 0, start: int = 0) -> Iterator[tuple[int, Any]]:
        for step, (begin, end, scored) in enumerate(self._windows()):
            if step >= start:
                continues = step > 0 and not self.overlap
                yield step, (self.x[:, begin:end], self.y[:, scored:end], scored - begin, continues)
