"""Stacked, optionally bidirectional RNN, LSTM and GRU layers, run one time step at a time.

They take the same constructor arguments, hold the same parameters under the same names and
return the same tensors as ``torch.nn.RNN``, ``torch.nn.LSTM`` and ``torch.nn.GRU``, so
``ours.load_state_dict(theirs.state_dict())`` works and both compute the same numbers. The
equations of one step live in :mod:`classicnets.layers.cells`, the loop over layers, directions
and time in :mod:`classicnets.layers.unroll`. ``fused=True`` keeps the same parameters but runs
PyTorch's fused kernels instead of the Python loop.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import ClassicnetsError
from .cells import gru_step, lstm_step, rnn_step
from .unroll import Recurrent, State


class RNN(Recurrent):
    """Elman's simple recurrent network, ``h_t = tanh(W x_t + U h_(t-1) + b)``, stacked.

    Same arguments, parameters and outputs as ``torch.nn.RNN``; ``fused=True`` runs it.

    Args:
        input_size: features per time step of the input.
        hidden_size: size of the hidden state.
        num_layers: recurrent layers stacked, each reading the previous one's outputs.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: whether the layers have biases ``b_ih`` and ``b_hh``.
        batch_first: inputs and outputs are ``(B, T, F)`` instead of ``(T, B, F)``.
        dropout: dropout on the outputs of every layer except the last.
        bidirectional: run a second layer over the reversed sequence and concatenate.
        fused: compute with ``torch.nn.RNN``'s kernels instead of the step-by-step loop.
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Shapes:
        ``forward(input, hx=None)`` takes input ``(T, B, input_size)`` (or ``(B, T, ...)`` with
        ``batch_first``, or unbatched ``(T, input_size)``) and an optional ``hx`` of shape
        ``(num_layers * D, B, hidden_size)``, D = 2 if bidirectional else 1. It returns the top
        layer's outputs ``(T, B, D * hidden_size)`` and the final hidden states, shaped like ``hx``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        fused: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ClassicnetsError(
                f"RNN: unknown nonlinearity '{nonlinearity}'; choose tanh or relu."
            )
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            fused,
            device,
            dtype,
        )

    def _num_gates(self) -> int:
        return 1

    def _torch_module(self, **kwargs: object) -> nn.RNNBase:
        return nn.RNN(nonlinearity=self.nonlinearity, **kwargs)

    def _step(self, x_proj: Tensor, state: State, layer: int, suffix: str) -> State:
        w_hh, b_hh = self._recurrent_weights(layer, suffix)
        return (rnn_step(x_proj, state[0], w_hh, b_hh, self.nonlinearity),)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (f", nonlinearity={self.nonlinearity}" if self.nonlinearity != "tanh" else "")

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run the sequence; see the class docstring for shapes."""
        if self.fused:
            return self._forward_fused(input, hx)
        output, (h_n,) = self._run(input, hx)
        return output, h_n


class LSTM(Recurrent):
    """Long short-term memory, stacked: ``c_t = f⊙c_(t-1) + i⊙g``, ``h_t = o⊙tanh(c_t)``.

    Same arguments, parameters (gates packed ``i, f, g, o``) and outputs as ``torch.nn.LSTM``
    with the default variant; the other variants of Greff et al. (2017) are options. Equations:
    :func:`classicnets.layers.cells.lstm_step`.

    Args:
        input_size: features per time step of the input.
        hidden_size: size of the hidden and cell states.
        num_layers: LSTM layers stacked, each reading the previous one's outputs.
        bias: whether the layers have biases ``b_ih`` and ``b_hh``.
        batch_first: inputs and outputs are ``(B, T, F)`` instead of ``(T, B, F)``.
        dropout: dropout on the outputs of every layer except the last.
        bidirectional: run a second layer over the reversed sequence and concatenate.
        forget_gate: ``False`` drops the forget gate, ``c_t = c_(t-1) + i⊙g`` (the 1997 LSTM);
            gates are then packed ``i, g, o``.
        coupled: ``True`` ties the forget gate to the input gate, ``f = 1 - i``; gates packed
            ``i, g, o``.
        peephole: ``True`` adds diagonal peephole weights ``weight_ci``, ``weight_cf`` and
            ``weight_co`` (each ``(hidden_size,)``, suffixed ``_l{k}`` like the others): ``i`` and
            ``f`` see ``c_(t-1)``, ``o`` sees ``c_t`` (Gers & Schmidhuber 2000).
        fused: compute with ``torch.nn.LSTM``'s kernels (standard variant only).
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Shapes:
        ``forward(input, hx=None)`` takes input ``(T, B, input_size)`` (or ``(B, T, ...)`` with
        ``batch_first``, or unbatched ``(T, input_size)``) and an optional ``hx = (h0, c0)``, each
        ``(num_layers * D, B, hidden_size)``, D = 2 if bidirectional else 1. It returns the top
        layer's outputs ``(T, B, D * hidden_size)`` and ``(h_n, c_n)``, shaped like ``hx``.
    """

    _num_states = 2

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        forget_gate: bool = True,
        coupled: bool = False,
        peephole: bool = False,
        fused: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if coupled and not forget_gate:
            raise ClassicnetsError(
                "LSTM: coupled=True sets the forget gate to 1 - i, so it needs forget_gate=True."
            )
        variants = {"forget_gate=False": not forget_gate, "coupled=True": coupled}
        variants["peephole=True"] = peephole
        chosen = [name for name, on in variants.items() if on]
        if fused and chosen:
            raise ClassicnetsError(
                f"LSTM: fused=True runs torch.nn.LSTM, which has no {chosen[0]} variant; "
                "drop one of the two options."
            )
        self.forget_gate = forget_gate
        self.coupled = coupled
        self.peephole = peephole
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            fused,
            device,
            dtype,
        )

    def _num_gates(self) -> int:
        return 4 if self.forget_gate and not self.coupled else 3

    def _extra_parameters(self, layer: int, suffix: str) -> dict[str, tuple[int, ...]]:
        if not self.peephole:
            return {}
        gates = ("i", "f", "o") if self._num_gates() == 4 else ("i", "o")
        return {f"weight_c{gate}_l{layer}{suffix}": (self.hidden_size,) for gate in gates}

    def _torch_module(self, **kwargs: object) -> nn.RNNBase:
        return nn.LSTM(**kwargs)

    def _step(self, x_proj: Tensor, state: State, layer: int, suffix: str) -> State:
        w_hh, b_hh = self._recurrent_weights(layer, suffix)
        peepholes = None
        if self.peephole:
            peepholes = tuple(
                getattr(self, f"weight_c{gate}_l{layer}{suffix}", None) for gate in "ifo"
            )
        return lstm_step(
            x_proj, state[0], state[1], w_hh, b_hh,
            forget_gate=self.forget_gate, coupled=self.coupled, peepholes=peepholes,
        )  # fmt: skip

    def extra_repr(self) -> str:
        text = super().extra_repr()
        for key, default in (("forget_gate", True), ("coupled", False), ("peephole", False)):
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Run the sequence; see the class docstring for shapes."""
        if self.fused:
            return self._forward_fused(input, hx)
        output, (h_n, c_n) = self._run(input, hx)
        return output, (h_n, c_n)


class GRU(Recurrent):
    """Gated recurrent unit (Cho et al. 2014), stacked: ``h_t = z⊙h_(t-1) + (1 - z)⊙h̃``.

    Same arguments, parameters (gates packed ``r, z, n``) and outputs as ``torch.nn.GRU`` with
    ``reset_after=True``. Equations: :func:`classicnets.layers.cells.gru_step`.

    Args:
        input_size: features per time step of the input.
        hidden_size: size of the hidden state.
        num_layers: GRU layers stacked, each reading the previous one's outputs.
        bias: whether the layers have biases ``b_ih`` and ``b_hh``.
        batch_first: inputs and outputs are ``(B, T, F)`` instead of ``(T, B, F)``.
        dropout: dropout on the outputs of every layer except the last.
        bidirectional: run a second layer over the reversed sequence and concatenate.
        reset_after: ``True`` (PyTorch's form) resets after the recurrent product,
            ``h̃ = tanh(W x + r⊙(U h + b_hn) + b_in)``; ``False`` (the paper's, Keras' name) before
            it, ``h̃ = tanh(W x + U(r⊙h) + b)``. The parameters are the same either way.
        fused: compute with ``torch.nn.GRU``'s kernels (``reset_after=True`` only).
        device: where to create the parameters.
        dtype: the parameters' dtype.

    Shapes:
        As :class:`RNN`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        reset_after: bool = True,
        fused: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if fused and not reset_after:
            raise ClassicnetsError(
                "GRU: fused=True runs torch.nn.GRU, which only has reset_after=True; "
                "drop one of the two options."
            )
        self.reset_after = reset_after
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            fused,
            device,
            dtype,
        )

    def _num_gates(self) -> int:
        return 3

    def _torch_module(self, **kwargs: object) -> nn.RNNBase:
        return nn.GRU(**kwargs)

    def _step(self, x_proj: Tensor, state: State, layer: int, suffix: str) -> State:
        w_hh, b_hh = self._recurrent_weights(layer, suffix)
        return (gru_step(x_proj, state[0], w_hh, b_hh, reset_after=self.reset_after),)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run the sequence; see the class docstring for shapes."""
        if self.fused:
            return self._forward_fused(input, hx)
        output, (h_n,) = self._run(input, hx)
        return output, h_n
