"""The LSTM variants of the course by name, behind one module, and sized to a parameter budget.

The equations live in :mod:`classicnets.layers.cells` (``lstm_step``'s ``forget_gate``,
``coupled`` and ``peepholes``; ``gru_step``'s ``reset_after``) and the loop over layers,
directions and time in :mod:`classicnets.layers.recurrent`; this module only names the variants
(Greff et al., "LSTM: A Search Space Odyssey", 2017, compare them), builds the layer for a name
and counts its parameters, so that a benchmark can compare them at equal size.

- ``lstm``: the LSTM with a forget gate (Gers, Schmidhuber & Cummins 2000), PyTorch's.
- ``lstm_nofg``: no forget gate, ``c_t = c_(t-1) + i⊙g`` (Hochreiter & Schmidhuber 1997).
- ``lstm_coupled``: input and forget gates coupled, ``f = 1 - i`` (Greff et al.'s CIFG).
- ``lstm_peephole``: peepholes ``p⊙c`` inside the gates (Gers & Schmidhuber 2000).
- ``gru``: the GRU as PyTorch computes it, ``h̃ = tanh(W x + r⊙(U h + b_hn))``.
- ``gru_cho``: the GRU of Cho et al. (2014), reset before the product, ``tanh(W x + U(r⊙h))``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import ClassicnetsError, unknown_name
from .recurrent import GRU, LSTM

# name -> (layer class, its options, gates packed in W and U, peephole vectors per direction)
VARIANTS: dict[str, tuple[type[nn.Module], dict[str, bool], int, int]] = {
    "lstm": (LSTM, {}, 4, 0),
    "lstm_nofg": (LSTM, {"forget_gate": False}, 3, 0),
    "lstm_coupled": (LSTM, {"coupled": True}, 3, 0),
    "lstm_peephole": (LSTM, {"peephole": True}, 4, 3),
    "gru": (GRU, {}, 3, 0),
    "gru_cho": (GRU, {"reset_after": False}, 3, 0),
}
# The variants torch's fused kernels compute; the others run the step-by-step equations.
FUSABLE = ("lstm", "gru")


def _variant(name: str) -> tuple[type[nn.Module], dict[str, bool], int, int]:
    if name not in VARIANTS:
        raise unknown_name("recurrent cell", name, VARIANTS)
    return VARIANTS[name]


def recurrent_parameters(
    variant: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    bias: bool = True,
) -> int:
    """The parameter count of a :class:`VariantLSTM`, from the shapes alone.

    Each layer and direction holds ``W (G·H, in)``, ``U (G·H, H)``, two biases ``(G·H,)`` and
    ``P`` peephole vectors ``(H,)``, with ``in`` the input size in the first layer and ``D·H``
    after it (``G`` gates, ``D`` directions).
    """
    _, _, gates, peepholes = _variant(variant)
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        per_direction = gates * hidden_size * (layer_input + hidden_size + 2 * bias)
        total += directions * (per_direction + peepholes * hidden_size)
    return total


def hidden_for_budget(
    variant: str,
    input_size: int,
    budget: int,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> int:
    """The hidden size whose :func:`recurrent_parameters` comes closest to ``budget``: the
    variants compared at equal parameter count (a 3-gate cell gets a wider state)."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ClassicnetsError(f"budget must be a positive number of parameters, got {budget!r}.")
    _, _, gates, _ = _variant(variant)
    # G·H² dominates: start from the one-layer root and walk to the nearest whole size.
    guess = max(1, int(math.sqrt(budget / (gates * num_layers * (2 if bidirectional else 1)))))

    def gap(h: int) -> int:
        return abs(recurrent_parameters(variant, input_size, h, num_layers, bidirectional) - budget)

    while guess > 1 and gap(guess - 1) <= gap(guess):
        guess -= 1
    while gap(guess + 1) < gap(guess):
        guess += 1
    return guess


class VariantLSTM(nn.Module):
    """A stacked, optionally bidirectional recurrent layer of the named variant, batch first.

    Args:
        input_size: features per time step.
        hidden_size: size of the hidden (and cell) state.
        variant: a name of ``VARIANTS`` (see the module docstring).
        num_layers: layers stacked.
        bidirectional: a second layer reads the sequence backwards; outputs are concatenated.
        dropout: dropout between stacked layers.
        fused: run PyTorch's kernels (``lstm`` and ``gru`` only; the default for them).

    ``forward(x, state=None)`` maps ``(B, T, input_size)`` to ``(B, T, D·hidden_size)`` and the
    final state (``(h, c)`` for the LSTMs, ``h`` for the GRUs), as ``torch.nn.LSTM`` with
    ``batch_first=True``. The layer itself is :attr:`rnn`, a
    :class:`~classicnets.layers.recurrent.LSTM` or ``GRU`` whose parameters carry torch's names.

    ``forward(x, lengths=lengths)`` reads a padded batch whose row ``b`` holds ``lengths[b]``
    steps followed by padding: the backward direction then starts at each row's last real step,
    as with a packed sequence (fused: torch packs it; step by step: each row is reversed within
    its length). Outputs under padding are unspecified and no final state is returned (None).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        variant: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        *,
        dropout: float = 0.0,
        fused: bool | None = None,
    ) -> None:
        super().__init__()
        layer, options, _, _ = _variant(variant)
        fused = variant in FUSABLE if fused is None else fused
        if fused and variant not in FUSABLE:
            raise ClassicnetsError(
                f"The {variant} cell has no fused PyTorch kernel; only {' and '.join(FUSABLE)} "
                "run fused, so leave fused unset for it."
            )
        self.variant = variant
        self.rnn = layer(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            fused=fused,
            **options,
        )

    @property
    def output_size(self) -> int:
        return self.rnn.hidden_size * (2 if self.rnn.bidirectional else 1)

    def extra_repr(self) -> str:
        return f"variant={self.variant}"

    def forward(self, x: Tensor, state=None, lengths: Tensor | None = None):
        """Run the sequence; see the class docstring for shapes."""
        if lengths is None or not self.rnn.bidirectional:
            return self.rnn(x, state)  # forward directions never read the trailing padding
        if state is not None:
            raise ClassicnetsError("VariantLSTM: give an initial state or lengths, not both.")
        if self.rnn.fused:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            return out, None
        return self._run_within_lengths(x, lengths), None

    def _run_within_lengths(self, x: Tensor, lengths: Tensor) -> Tensor:
        rnn = self.rnn
        rnn._check_input(x)
        zeros = tuple(x.new_zeros(x.shape[0], rnn.hidden_size) for _ in range(rnn._num_states))
        for layer in range(rnn.num_layers):
            # _run_direction takes (T, B, F); the backward one reads each row reversed in place.
            ahead, _ = rnn._run_direction(x.transpose(0, 1), zeros, layer, "", reverse=False)
            flipped = reverse_within_lengths(x, lengths).transpose(0, 1)
            back, _ = rnn._run_direction(flipped, zeros, layer, "_reverse", reverse=False)
            back = reverse_within_lengths(back.transpose(0, 1), lengths)
            x = torch.cat([ahead.transpose(0, 1), back], dim=-1)  # (B, T, 2H)
            if rnn.dropout and layer < rnn.num_layers - 1:
                x = F.dropout(x, rnn.dropout, rnn.training)
        return x


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Row ``b`` of ``x`` ``(B, T, F)`` with its first ``lengths[b]`` steps in reverse order and
    the padding after them left in place."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # (1, T)
    n = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(steps < n, n - 1 - steps, steps)  # (B, T)
    return x.gather(1, index.unsqueeze(2).expand_as(x))
