"""A linear-chain conditional random field over per-token tag scores (Lafferty et al. 2001), as
the output layer of a BiLSTM-CRF tagger (Huang, Xu & Yu 2015; Lample et al. 2016).

A tag sequence ``y`` of a sentence with emissions ``E`` (the network's ``(T, K)`` scores) scores
``s(y) = start[y_0] + Σ_t E[t, y_t] + Σ_(t>0) A[y_(t-1), y_t] + end[y_(T-1)]``, and
``p(y) = exp s(y) / Z`` with ``Z = Σ_y' exp s(y')`` over all ``K^T`` sequences. The forward
algorithm computes ``log Z`` in ``O(T K²)``; Viterbi finds the best ``y`` with the same recursion,
max in place of log-sum-exp. Shapes: emissions ``(B, T, K)``, tags ``(B, T)``, and a mask
``(B, T)`` that is True on each sentence's tokens, a prefix of every row (padding at the end).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import ClassicnetsError, ShapeError


class CRF(nn.Module):
    """Transition scores between tags, plus scores for starting and ending on each tag.

    Args:
        num_tags: ``K``, the number of tags.

    Parameters: ``transitions`` ``(K, K)`` (row: the previous tag, column: the next), ``start``
    and ``end`` ``(K,)``; all start at zero, so an untrained CRF adds nothing to the emissions.
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if isinstance(num_tags, bool) or not isinstance(num_tags, int) or num_tags < 1:
            raise ClassicnetsError(f"CRF: num_tags must be a positive integer, got {num_tags!r}.")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    def _check(self, emissions: Tensor, mask: Tensor | None) -> Tensor:
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags:
            raise ShapeError(
                f"CRF expects emissions (B, T, {self.num_tags}), got {tuple(emissions.shape)}."
            )
        if mask is None:
            return torch.ones(emissions.shape[:2], dtype=torch.bool, device=emissions.device)
        if mask.shape != emissions.shape[:2]:
            raise ShapeError(
                f"CRF: mask {tuple(mask.shape)} does not match emissions "
                f"{tuple(emissions.shape)}; it should be (B, T)."
            )
        if not bool(mask[:, 0].all()):
            raise ClassicnetsError("CRF: every sentence needs at least one token (mask[:, 0]).")
        return mask.bool()

    def log_partition(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """``log Z`` of each sentence by the forward algorithm, ``(B,)``."""
        mask = self._check(emissions, mask)
        alpha = self.start + emissions[:, 0]  # (B, K): log-sum of all prefixes ending in k
        for t in range(1, emissions.shape[1]):
            # (B, K_prev, 1) + (K_prev, K) + (B, 1, K) -> sum out the previous tag
            step = torch.logsumexp(
                alpha.unsqueeze(2) + self.transitions + emissions[:, t].unsqueeze(1), dim=1
            )
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)  # padding: unchanged
        return torch.logsumexp(alpha + self.end, dim=1)

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor | None = None) -> Tensor:
        """``s(y)`` of the given tag sequences, ``(B,)`` (tags under padding are ignored)."""
        mask = self._check(emissions, mask)
        tags = tags.clamp(0, self.num_tags - 1)  # padding may hold an ignore index
        picked = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        moves = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        total = self.start[tags[:, 0]] + (picked * mask).sum(1) + (moves * mask[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return total + self.end[last]

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor | None = None) -> Tensor:
        """``-log p(y)`` of each sentence's tags, ``(B,)``: the training loss."""
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    def decode(self, emissions: Tensor, mask: Tensor | None = None) -> Tensor:
        """The most probable tag sequences by Viterbi, ``(B, T)`` int64; positions under
        padding repeat the sentence's last tag."""
        mask = self._check(emissions, mask)
        batch, length, k = emissions.shape
        best = self.start + emissions[:, 0]  # (B, K): best score of a prefix ending in k
        keep = torch.arange(k, device=emissions.device).expand(batch, k)
        pointers = []
        for t in range(1, length):
            scores = best.unsqueeze(2) + self.transitions  # (B, K_prev, K)
            top, previous = scores.max(dim=1)  # (B, K) each
            on = mask[:, t].unsqueeze(1)
            best = torch.where(on, top + emissions[:, t], best)
            pointers.append(torch.where(on, previous, keep))  # padding points to itself
        tag = (best + self.end).argmax(dim=1)  # (B,)
        path = [tag]
        for previous in reversed(pointers):
            tag = previous.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        return torch.stack(path[::-1], dim=1)
