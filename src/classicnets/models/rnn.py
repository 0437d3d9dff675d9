"""Recurrent language models: tokens in, a distribution over the next token out, at every step.

All stack our recurrent layers (:mod:`classicnets.layers.recurrent`) and share one module,
:class:`RecurrentLM`. They run ``fused=True`` by default: the same parameters and numbers as the
step-by-step equations (``fused=False``), through PyTorch's kernels: 2 to 2.5 times faster for
a 256-wide LSTM on a 2-core CPU (``benchmarks/char_lstm.py`` measures both).

Characters enter as a learned 64-wide embedding. ``embed_dim=None`` feeds one-hot vectors
instead, as Karpathy's char-rnn and the d2l course do: the same family of functions (an
embedding is one-hot times a matrix), but with PyTorch's ``U(±1/sqrt(hidden))`` input weights a
one-hot input barely moves the gates, and on tinyshakespeare ``char_lstm`` then sits at the
unigram loss (3.3 nats) for about 300 updates where the embedding is at 2.1 after 100.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ClassicnetsError, ShapeError
from ..layers import RNN
from ..layers.lstm_variants import FUSABLE, VARIANTS
from ._registry import register_model

CELLS = ("rnn", *VARIANTS)  # Elman's, and the LSTM and GRU variants of layers.lstm_variants
LSTM_CELLS = tuple(c for c in VARIANTS if c.startswith("lstm"))
GRU_CELLS = tuple(c for c in VARIANTS if c.startswith("gru"))
State = Tensor | tuple[Tensor, Tensor] | None  # (L, B, H), or (h, c) for the LSTM

# Registry entries: the native input is a (1, 1, T) token sequence, the classes the 65 characters
# of tinyshakespeare.
_SEQUENCE = {"input_size": (1, 1, 128), "num_classes": 65}


class RecurrentLM(nn.Module):
    """Token ids → one-hot or embedding → stacked recurrent layers → dropout → linear.

    Args:
        vocab_size: number of tokens.
        hidden: width of every recurrent layer's state.
        layers: recurrent layers stacked.
        cell: ``"rnn"`` (Elman, tanh), or an LSTM or GRU variant of
            :data:`classicnets.layers.lstm_variants.VARIANTS` (``"lstm"``, ``"lstm_nofg"``,
            ``"lstm_coupled"``, ``"lstm_peephole"``, ``"gru"``, ``"gru_cho"``).
        embed_dim: width of a learned embedding, or None to feed one-hot vectors.
        dropout: dropout between the stacked layers and before the output layer.
        fused: run PyTorch's fused kernels instead of the step-by-step equations (only
            ``rnn``, ``lstm`` and ``gru`` have them; the other variants always run their
            equations).

    ``forward(tokens, state=None)`` maps ``(B, T)`` int64 ids to logits ``(B, T, vocab_size)``
    and returns the final state too, to be passed back in with the next piece of the same text
    (truncated back-propagation through time).
    """

    context: int | None = None  # no limit on the sequence length

    def __init__(
        self,
        vocab_size: int,
        hidden: int,
        layers: int,
        cell: str = "lstm",
        embed_dim: int | None = None,
        dropout: float = 0.0,
        fused: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("hidden", hidden), ("layers", layers)):
            if not isinstance(value, int) or value < 1:
                raise ClassicnetsError(f"{name} must be a positive integer, got {value!r}.")
        if cell not in CELLS:
            raise ClassicnetsError(f"Unknown cell '{cell}'; choose {', '.join(CELLS)}.")
        if not 0.0 <= dropout < 1.0:
            raise ClassicnetsError(f"dropout must be in [0, 1), got {dropout}.")
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embed_dim) if embed_dim else None
        layer, options = (RNN, {}) if cell == "rnn" else VARIANTS[cell][:2]
        self.cell = cell
        self.rnn = layer(
            embed_dim or vocab_size,
            hidden,
            layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
            fused=fused and cell in ("rnn", *FUSABLE),
            **options,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, tokens: Tensor, state: State = None) -> tuple[Tensor, State]:
        """Logits for the token after each position, and the final state."""
        if tokens.dim() != 2 or tokens.dtype != torch.int64:
            raise ShapeError(
                f"A language model takes int64 token ids of shape (B, T), got "
                f"{tokens.dtype} {tuple(tokens.shape)}."
            )
        if self.embedding is not None:
            x = self.embedding(tokens)  # (B, T, E)
        else:
            x = F.one_hot(tokens, self.vocab_size).to(self.head.weight.dtype)  # (B, T, V)
        out, state = self.rnn(x, state)  # (B, T, H)
        return self.head(self.dropout(out)), state  # (B, T, V)


@register_model(
    "char_rnn",
    family="RNN",
    year=1990,
    paper="Elman, Finding Structure in Time, 1990",
    tags=("sequence", "char"),
    **_SEQUENCE,
)
def char_rnn(
    *,
    vocab_size: int = 65,
    hidden: int = 256,
    layers: int = 1,
    embed_dim: int | None = 64,
    dropout: float = 0.0,
    fused: bool = True,
) -> RecurrentLM:
    """A character model on Elman's simple recurrent network, ``h_t = tanh(W x_t + U h_(t-1)
    + b)`` (Elman 1990): the course's first language model."""
    return RecurrentLM(vocab_size, hidden, layers, "rnn", embed_dim, dropout, fused)


@register_model(
    "char_lstm",
    family="RNN",
    year=1997,
    paper="Hochreiter & Schmidhuber, Long Short-Term Memory, 1997",
    tags=("sequence", "char"),
    **_SEQUENCE,
)
def char_lstm(
    *,
    vocab_size: int = 65,
    hidden: int = 256,
    layers: int = 2,
    embed_dim: int | None = 64,
    dropout: float = 0.0,
    fused: bool = True,
    cell: str = "lstm",
) -> RecurrentLM:
    """A character model on stacked LSTMs (Hochreiter & Schmidhuber 1997), the model of
    Karpathy's "The Unreasonable Effectiveness of Recurrent Neural Networks" (2015);
    ``cell`` picks a variant (no forget gate, coupled input-forget, peephole)."""
    if cell not in LSTM_CELLS:
        raise ClassicnetsError(f"char_lstm takes the cells {', '.join(LSTM_CELLS)}, got '{cell}'.")
    return RecurrentLM(vocab_size, hidden, layers, cell, embed_dim, dropout, fused)


@register_model(
    "char_gru",
    family="RNN",
    year=2014,
    paper="Cho et al., Learning Phrase Representations using RNN Encoder-Decoder, 2014",
    tags=("sequence", "char"),
    **_SEQUENCE,
)
def char_gru(
    *,
    vocab_size: int = 65,
    hidden: int = 256,
    layers: int = 2,
    embed_dim: int | None = 64,
    dropout: float = 0.0,
    fused: bool = True,
    cell: str = "gru",
) -> RecurrentLM:
    """A character model on stacked GRUs (Cho et al. 2014); ``cell="gru_cho"`` applies the
    reset gate before the matrix product, as the paper writes it."""
    if cell not in GRU_CELLS:
        raise ClassicnetsError(f"char_gru takes the cells {', '.join(GRU_CELLS)}, got '{cell}'.")
    return RecurrentLM(vocab_size, hidden, layers, cell, embed_dim, dropout, fused)


@register_model(
    "word_lstm",
    family="RNN",
    year=2014,
    paper="Zaremba, Sutskever & Vinyals, Recurrent Neural Network Regularization, 2014",
    tags=("sequence", "word"),
    input_size=(1, 1, 35),
    num_classes=10000,
)
def word_lstm(
    *,
    vocab_size: int = 10000,
    hidden: int = 256,
    layers: int = 2,
    embed_dim: int | None = None,
    dropout: float = 0.5,
    fused: bool = True,
    cell: str = "lstm",
) -> RecurrentLM:
    """A word language model: embedding → 2 stacked LSTMs → dropout 0.5 → a linear layer at
    every step, Zaremba et al.'s (2014) regularised LSTM (their small model: 200 units, 35
    steps). ``embed_dim`` defaults to ``hidden``."""
    if cell not in LSTM_CELLS:
        raise ClassicnetsError(f"word_lstm takes the cells {', '.join(LSTM_CELLS)}, got '{cell}'.")
    return RecurrentLM(
        vocab_size, hidden, layers, cell, embed_dim or hidden, dropout=dropout, fused=fused
    )
