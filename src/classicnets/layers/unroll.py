"""Unrolling a recurrent step over stacked layers, both directions and time.

:class:`Recurrent` holds what :class:`~classicnets.layers.RNN`, ``LSTM`` and ``GRU`` share: their
parameters, named and shaped as in ``torch.nn.RNNBase`` (``weight_ih_l{k}``, ``weight_hh_l{k}``,
``bias_ih_l{k}``, ``bias_hh_l{k}``, ``_reverse`` for the backward direction), the checks on inputs
and initial states, the loop over layers and time, and the fused path through PyTorch's kernels.
A subclass says how many gates it packs and what one time step computes.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence

from ..errors import ClassicnetsError, ShapeError

State = tuple[Tensor, ...]  # (h,) or (h, c), each (B, H)


class Recurrent(nn.Module):
    """What RNN, LSTM and GRU share: parameters, input checks, the loop over layers and time."""

    _num_states = 1  # 2 for the LSTM: (h, c)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        dropout: float,
        bidirectional: bool,
        fused: bool,
        device: torch.device | str | None,
        dtype: torch.dtype | None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ClassicnetsError(f"{name}: {arg} must be a positive integer, got {value!r}.")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ClassicnetsError(
                f"{name}: num_layers must be a positive integer, got {num_layers!r}."
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ClassicnetsError(f"{name}: dropout must be in [0, 1), got {dropout!r}.")
        if dropout > 0 and num_layers == 1:
            # Same warning as PyTorch: dropout only acts between stacked layers.
            warnings.warn(
                f"{name}: dropout={dropout} does nothing with num_layers=1; it is applied to the "
                "outputs of every layer but the last.",
                stacklevel=3,
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.fused = fused
        self._suffixes = ("", "_reverse") if bidirectional else ("",)

        factory = {"device": device, "dtype": dtype}
        gates = self._num_gates() * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * len(self._suffixes)
            for suffix in self._suffixes:
                names = {
                    f"weight_ih_l{layer}{suffix}": (gates, layer_input),
                    f"weight_hh_l{layer}{suffix}": (gates, hidden_size),
                }
                if bias:
                    names[f"bias_ih_l{layer}{suffix}"] = (gates,)
                    names[f"bias_hh_l{layer}{suffix}"] = (gates,)
                names.update(self._extra_parameters(layer, suffix))
                for param_name, shape in names.items():
                    self.register_parameter(param_name, nn.Parameter(torch.empty(shape, **factory)))
        self.reset_parameters()
        if fused:
            self._make_fused()

    # Hooks the subclasses fill in.
    def _num_gates(self) -> int:
        raise NotImplementedError

    def _extra_parameters(self, layer: int, suffix: str) -> dict[str, tuple[int, ...]]:
        return {}

    def _step(self, x_proj: Tensor, state: State, layer: int, suffix: str) -> State:
        raise NotImplementedError

    def _torch_module(self, **kwargs: object) -> nn.RNNBase:
        raise NotImplementedError

    def _make_fused(self) -> None:
        """Build the torch module the fused path calls, on the meta device: it never holds
        weights of its own, ours are swapped in at each call."""
        template = self._torch_module(
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bias=self.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
            device="meta",
        )
        # Not a registered submodule, so its (meta) parameters stay out of our state_dict.
        object.__setattr__(self, "_fused_module", template)

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: every parameter uniform in ``±1/sqrt(hidden_size)``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0}
        defaults |= {"bidirectional": False, "fused": False}
        for key, default in defaults.items():
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text

    def _check_input(self, input: Tensor) -> None:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            hint = (
                " (packed sequences need fused=True)" if isinstance(input, PackedSequence) else ""
            )
            raise ClassicnetsError(f"{name} expects a tensor, got {type(input).__name__}{hint}.")
        layout = "(B, T, features)" if self.batch_first else "(T, B, features)"
        if input.dim() not in (2, 3):
            raise ShapeError(
                f"{name} expects input of shape {layout} or (T, features), "
                f"got {input.dim()} dimensions {tuple(input.shape)}."
            )
        if input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name} expects {self.input_size} input features in the last dimension, "
                f"got {input.shape[-1]} (input shape {tuple(input.shape)})."
            )
        if not input.is_floating_point():
            raise ClassicnetsError(
                f"{name} expects floating-point input, got {input.dtype}; turn token ids into "
                "vectors first (one-hot or nn.Embedding)."
            )
        if input.dtype != self.weight_ih_l0.dtype:
            raise ClassicnetsError(
                f"{name} has {self.weight_ih_l0.dtype} parameters but got {input.dtype} input; "
                "convert one to the other."
            )
        if input.numel() == 0:
            raise ShapeError(f"{name} got an empty input of shape {tuple(input.shape)}.")

    def _initial_state(self, hx: Tensor | tuple[Tensor, ...] | None, x: Tensor) -> State:
        """Check ``hx`` against the input ``x`` and return it as ``(h0,)`` or ``(h0, c0)``, each
        ``(L*D, B, H)`` (zeros when ``hx`` is None)."""
        name = type(self).__name__
        batched = x.dim() == 3
        batch = x.shape[0 if self.batch_first else 1] if batched else 1
        expected = (self.num_layers * len(self._suffixes), batch, self.hidden_size)
        if hx is None:
            zeros = x.new_zeros(expected)
            return (zeros,) * self._num_states
        states = (hx,) if isinstance(hx, Tensor) else tuple(hx)
        if len(states) != self._num_states or not all(isinstance(s, Tensor) for s in states):
            what = "a tuple (h0, c0) of tensors" if self._num_states == 2 else "one tensor h0"
            raise ClassicnetsError(f"{name} expects its initial state as {what}.")
        shown = expected if batched else (expected[0], expected[2])
        for label, state in zip(("h0", "c0"), states, strict=False):
            if tuple(state.shape) != shown:
                raise ShapeError(
                    f"{name} expects the initial state {label} of shape {shown} "
                    f"(num_layers * directions, batch, hidden_size), got {tuple(state.shape)}."
                )
        return tuple(s if batched else s.unsqueeze(1) for s in states)

    def _run(self, input: Tensor, hx: Tensor | tuple[Tensor, ...] | None) -> tuple[Tensor, State]:
        """The whole layer: returns the top layer's output in the input's layout and the final
        states, each ``(L*D, B, H)`` (``(L*D, H)`` for unbatched input)."""
        self._check_input(input)
        states = self._initial_state(hx, input)
        batched = input.dim() == 3
        if not batched:
            x = input.unsqueeze(1)  # (T, 1, F)
        else:
            x = input.transpose(0, 1) if self.batch_first else input  # (T, B, F)
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes):
                index = layer * len(self._suffixes) + direction
                state = tuple(s[index] for s in states)  # each (B, H)
                out, state = self._run_direction(x, state, layer, suffix, reverse=direction == 1)
                outputs.append(out)
                finals.append(state)
            x = torch.cat(outputs, dim=-1)  # (T, B, D*H)
            if self.dropout and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        final = tuple(torch.stack(parts) for parts in zip(*finals, strict=True))  # (L*D, B, H)
        if not batched:
            return x.squeeze(1), tuple(s.squeeze(1) for s in final)
        return (x.transpose(0, 1) if self.batch_first else x), final

    def _run_direction(
        self, x: Tensor, state: State, layer: int, suffix: str, reverse: bool
    ) -> tuple[Tensor, State]:
        w_ih = getattr(self, f"weight_ih_l{layer}{suffix}")
        b_ih = getattr(self, f"bias_ih_l{layer}{suffix}") if self.bias else None
        # W x_t + b does not depend on the state: one matrix product for all time steps.
        x_proj = F.linear(x, w_ih, b_ih)  # (T, B, G*H)
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs: list[Tensor] = [x_proj] * x.shape[0]  # placeholders, all overwritten
        for t in steps:
            state = self._step(x_proj[t], state, layer, suffix)
            outputs[t] = state[0]  # (B, H)
        return torch.stack(outputs), state  # (T, B, H)

    def _recurrent_weights(self, layer: int, suffix: str) -> tuple[Tensor, Tensor | None]:
        w_hh = getattr(self, f"weight_hh_l{layer}{suffix}")
        return w_hh, getattr(self, f"bias_hh_l{layer}{suffix}") if self.bias else None

    def _forward_fused(self, input: Tensor, hx: object) -> tuple[Tensor, object]:
        if not isinstance(input, PackedSequence):  # torch checks packed sequences itself
            self._check_input(input)
            self._initial_state(hx, input)
        module: nn.RNNBase = self._fused_module
        module.train(self.training)
        args = (input,) if hx is None else (input, hx)
        return functional_call(module, dict(self.named_parameters()), args)
