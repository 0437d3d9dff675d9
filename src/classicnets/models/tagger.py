"""Sequence labelling: a tag for every token (parts of speech, chunks, named entities, the slots
of the course's slot-filling picture).

``bilstm_tagger``: word ids → embedding (or one-hot) → a bidirectional LSTM, so that each
token's state has read the whole sentence on both sides → a linear layer giving every token
a score per tag (Graves & Schmidhuber 2005; Huang, Xu & Yu 2015). ``crf=True`` adds a
linear-chain CRF (:mod:`classicnets.layers.crf`) that scores tag-to-tag transitions, trained
on the whole sequence's likelihood and decoded by Viterbi.

The recurrent layer is :class:`~classicnets.layers.lstm_variants.VariantLSTM` (our
:class:`~classicnets.layers.recurrent.LSTM`, torch's parameters and kernels when fused), given
each sentence's length, so that its backward direction starts at the sentence's last real
token: a sentence's scores do not depend on the padding its batch adds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ClassicnetsError, ShapeError
from ..layers.crf import CRF
from ..layers.lstm_variants import VariantLSTM
from ._registry import register_model

PAD_ID = 0  # the word id of padding (data.tagging.PAD)
IGNORE = -100  # the tag id under padding (data.tagging.IGNORE)


class BiLSTMTagger(nn.Module):
    """Token ids → embedding → (bi)LSTM → dropout → per-token tag scores, optionally a CRF.

    Args:
        vocab_size: words, id 0 being padding.
        num_tags: tags.
        embed_dim: width of the learned embedding, or 0/None for one-hot input.
        hidden: state width of each direction.
        layers: recurrent layers stacked.
        bidirectional: read the sentence both ways.
        dropout: on the embedding and before the output layer (and between stacked layers).
        crf: add a linear-chain CRF on the scores.
        cell: a recurrent variant (``lstm``, ``lstm_nofg``, ``lstm_coupled``,
            ``lstm_peephole``, ``gru``, ``gru_cho``).

    ``forward(tokens)`` maps ``(B, T)`` int64 ids to emissions ``(B, T, num_tags)``; padding
    (id 0) only ever follows a sentence's tokens.
    """

    def __init__(
        self,
        vocab_size: int,
        num_tags: int,
        *,
        embed_dim: int | None = 100,
        hidden: int = 128,
        layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.5,
        crf: bool = False,
        cell: str = "lstm",
    ) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("num_tags", num_tags)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ClassicnetsError(f"{name} must be an integer of at least 2, got {value!r}.")
        if not 0.0 <= dropout < 1.0:
            raise ClassicnetsError(f"dropout must be in [0, 1), got {dropout}.")
        self.vocab_size = vocab_size
        self.embedding = (
            nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID) if embed_dim else None
        )
        self.rnn = VariantLSTM(
            embed_dim or vocab_size, hidden, cell, layers, bidirectional, dropout=dropout
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.rnn.output_size, num_tags)
        self.crf = CRF(num_tags) if crf else None

    def forward(self, tokens: Tensor) -> Tensor:
        """Per-token tag scores ``(B, T, num_tags)``."""
        if tokens.dim() != 2 or tokens.dtype != torch.int64:
            raise ShapeError(
                f"A tagger takes int64 token ids of shape (B, T), got {tokens.dtype} "
                f"{tuple(tokens.shape)}."
            )
        lengths = (tokens != PAD_ID).sum(1)
        # A meta tensor (the summary's shape run) has no values: read it as unpadded.
        padded = not tokens.is_meta and bool((lengths < tokens.shape[1]).any())
        if padded and bool((lengths == 0).any()):
            raise ClassicnetsError("A tagger cannot tag an empty sentence (a row of padding).")
        if self.embedding is not None:
            x = self.embedding(tokens)  # (B, T, E)
        else:
            x = F.one_hot(tokens, self.vocab_size).to(self.head.weight.dtype)  # (B, T, V)
        x = self.dropout(x)
        out, _ = self.rnn(x, lengths=lengths if padded else None)  # (B, T, D*H)
        return self.head(self.dropout(out))  # (B, T, K)

    def loss(self, emissions: Tensor, tags: Tensor) -> Tensor:
        """Mean loss per real token: cross-entropy, or the CRF's negative log-likelihood of
        each sentence's tags summed and divided by the tokens. ``tags`` is ``IGNORE`` under
        padding."""
        mask = tags != IGNORE
        if self.crf is None:
            return F.cross_entropy(
                emissions.reshape(-1, emissions.shape[-1]), tags.reshape(-1), ignore_index=IGNORE
            )
        return self.crf.nll(emissions, tags, mask).sum() / mask.sum().clamp(min=1)

    def decode(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """The tag ids ``(B, T)`` of each token: Viterbi with a CRF, the best score without."""
        if self.crf is None:
            return emissions.argmax(-1)
        return self.crf.decode(emissions, mask)


_PAPER = "Huang, Xu & Yu, Bidirectional LSTM-CRF Models for Sequence Tagging, 2015"
# Registry entries: a (1, 1, T) sentence of word ids; the classes are the 14 tags of the
# Turkish Web Treebank (data.tagging's "twt").
_TAGGING = {"input_size": (1, 1, 40), "num_classes": 14, "tags": ("sequence", "tagging")}


@register_model("bilstm_tagger", family="RNN", year=2015, paper=_PAPER, **_TAGGING)
def bilstm_tagger(
    *,
    vocab_size: int = 20000,
    num_tags: int = 14,
    embed_dim: int | None = 100,
    hidden: int = 128,
    layers: int = 1,
    bidirectional: bool = True,
    dropout: float = 0.5,
    crf: bool = False,
    cell: str = "lstm",
) -> BiLSTMTagger:
    """A bidirectional LSTM tagger (Graves & Schmidhuber 2005; Huang et al. 2015's BI-LSTM),
    optionally with a CRF output layer (their BI-LSTM-CRF)."""
    return BiLSTMTagger(
        vocab_size, num_tags, embed_dim=embed_dim, hidden=hidden, layers=layers,
        bidirectional=bidirectional, dropout=dropout, crf=crf, cell=cell,
    )  # fmt: skip


@register_model("bilstm_crf_tagger", family="RNN", year=2015, paper=_PAPER, **_TAGGING)
def bilstm_crf_tagger(
    *,
    vocab_size: int = 20000,
    num_tags: int = 14,
    embed_dim: int | None = 100,
    hidden: int = 128,
    layers: int = 1,
    bidirectional: bool = True,
    dropout: float = 0.5,
    cell: str = "lstm",
) -> BiLSTMTagger:
    """The BI-LSTM-CRF of Huang et al. (2015): :func:`bilstm_tagger` with ``crf=True``."""
    return BiLSTMTagger(
        vocab_size, num_tags, embed_dim=embed_dim, hidden=hidden, layers=layers,
        bidirectional=bidirectional, dropout=dropout, crf=True, cell=cell,
    )  # fmt: skip
