"""What the gates of a recurrent language model do along a text: the input, forget and output
gates, cell candidate and cell state of every LSTM layer at every position (the GRU's reset and
update gates and candidate likewise).

The recurrent layer runs fused through PyTorch's kernels by default, which never expose the
gates, so they are recomputed: a forward hook captures the layer's input and initial state as
the model calls it, and the gate equations of :mod:`classicnets.layers.cells` are run from the
layer's own weights, stepping through the text. The layer's parameters are named as in
``torch.nn.LSTM`` (``weight_ih_l{k}``, gates packed ``i, f, g, o``; GRU ``r, z, n``), ours fused
or not and PyTorch's alike.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ClassicnetsError
from ..layers import GRU, LSTM, RNN
from .attention_maps import check_tokens, model_name, network

_KINDS: dict[str, tuple[type[nn.Module], ...]] = {
    "lstm": (LSTM, nn.LSTM),
    "gru": (GRU, nn.GRU),
    "rnn": (RNN, nn.RNN),
}


def lstm_gates(module: Any, tokens: Tensor) -> dict[str, Tensor]:
    """The gates of every LSTM layer of a language model along one text, from a zero state.

    Args:
        module: an LSTM language model (``char_lstm``, ``word_lstm``), or a loaded run
            holding one.
        tokens: token ids ``(T,)`` or ``(1, T)``.

    Returns:
        ``input``, ``forget``, ``output`` (the sigmoid gates ``i, f, o``, in [0, 1]),
        ``candidate`` (``g = tanh(·)``, in [-1, 1]), ``cell`` (``c_t = f⊙c_(t-1) + i⊙g``) and
        ``hidden`` (``h_t = o⊙tanh(c_t)``), each a float tensor ``(layers, T, hidden)`` on the
        CPU, layer 0 the one reading the embeddings.

    Raises:
        ClassicnetsError: a model without an LSTM (a GRU's gates come from :func:`gru_gates`),
            or tokens :func:`~.attention_maps.check_tokens` refuses.
    """
    return _gates(network(module), tokens, "lstm")


def gru_gates(module: Any, tokens: Tensor) -> dict[str, Tensor]:
    """The gates of every GRU layer of a language model along one text, from a zero state.

    Returns:
        ``reset`` and ``update`` (the sigmoid gates ``r, z``), ``candidate`` (``h̃``, in
        [-1, 1]) and ``hidden`` (``h_t = z⊙h_(t-1) + (1 - z)⊙h̃``), each ``(layers, T,
        hidden)`` on the CPU. Arguments and errors as :func:`lstm_gates`.
    """
    return _gates(network(module), tokens, "gru")


def recurrent_gates(module: Any, tokens: Tensor) -> dict[str, Tensor]:
    """:func:`lstm_gates` or :func:`gru_gates`, whichever the model's recurrent layer takes."""
    module = network(module)
    return _gates(module, tokens, _kind(module, None)[0])


def _kind(module: nn.Module, wanted: str | None) -> tuple[str, nn.Module]:
    """The kind (``"lstm"``, ``"gru"``) and the recurrent layer of ``module``; raises when it
    has none with gates, or not the ``wanted`` kind."""
    found = [
        (kind, m)
        for m in module.modules()
        for kind, types in _KINDS.items()
        if isinstance(m, types)
    ]
    name = model_name(module)
    if not found:
        raise ClassicnetsError(
            f"Model {name} has no recurrent layer, so it has no gates; for a Transformer show its "
            "attention instead."
        )
    if len(found) > 1:
        raise ClassicnetsError(
            f"Model {name} has {len(found)} recurrent layers; gates are shown for a language "
            "model with one (stacked) LSTM or GRU."
        )
    kind, layer = found[0]
    if kind == "rnn":
        raise ClassicnetsError(
            f"Model {name} is a simple recurrent network, which has no gates; only LSTM and GRU "
            "models have gates to show."
        )
    if wanted is not None and kind != wanted:
        other = "gru_gates" if kind == "gru" else "lstm_gates"
        raise ClassicnetsError(
            f"Model {name} is a {kind.upper()}, not an {wanted.upper()}; use {other} (or "
            "recurrent_gates) for its gates."
        )
    if layer.bidirectional:
        raise ClassicnetsError(
            f"Model {name} reads in both directions; gates are shown for a one-directional "
            "language model."
        )
    variants = [f"{key}={value}" for key, value, default in _variants(layer) if value != default]
    if variants:
        raise ClassicnetsError(
            f"Model {name}'s LSTM is the {variants[0]} variant; gates are shown for the standard "
            "LSTM (input, forget and output gates, no peepholes, no projection)."
        )
    return kind, layer


def _variants(layer: nn.Module) -> list[tuple[str, object, object]]:
    """The options (name, value, standard value) the recomputed equations do not cover."""
    checks = [("forget_gate", True), ("coupled", False), ("peephole", False), ("proj_size", 0)]
    return [(key, getattr(layer, key), default) for key, default in checks if hasattr(layer, key)]


def _gates(module: nn.Module, tokens: Tensor, wanted: str) -> dict[str, Tensor]:
    kind, layer = _kind(module, wanted)
    ids = check_tokens(module, tokens)
    captured: dict[str, Any] = {}

    def record(_: nn.Module, args: tuple, kwargs: dict) -> None:
        captured["input"] = args[0] if args else kwargs["input"]
        captured["hx"] = args[1] if len(args) > 1 else kwargs.get("hx")

    handle = layer.register_forward_pre_hook(record, with_kwargs=True)
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(ids)
    finally:
        handle.remove()
        module.train(was_training)
    with torch.no_grad():
        x, states = _sequence_and_state(layer, captured["input"], captured["hx"])  # (T, F)
        result: dict[str, list[Tensor]] = {}
        for index in range(layer.num_layers):
            first = tuple(s[index] for s in states)  # the layer's initial state, each (H,)
            gates = _run_layer(layer, index, x, first, kind)
            for key, value in gates.items():
                result.setdefault(key, []).append(value)
            x = gates["hidden"]  # the next layer reads this one's outputs (no dropout in eval)
    return {key: torch.stack(values).float().cpu() for key, values in result.items()}


def _sequence_and_state(
    layer: nn.Module, x: Tensor, hx: Tensor | tuple[Tensor, ...] | None
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """The layer's input as ``(T, F)`` and its initial states, each ``(layers, H)``."""
    if x.dim() == 3:
        x = x[0] if layer.batch_first else x[:, 0]  # the one text: (T, F)
    count = 2 if isinstance(layer, _KINDS["lstm"]) else 1
    if hx is None:
        zeros = x.new_zeros(layer.num_layers, layer.hidden_size)
        return x, (zeros,) * count
    states = (hx,) if isinstance(hx, Tensor) else tuple(hx)
    return x, tuple(s[:, 0] if s.dim() == 3 else s for s in states)


def _run_layer(
    layer: nn.Module, index: int, x: Tensor, state: tuple[Tensor, ...], kind: str
) -> dict[str, Tensor]:
    """Step layer ``index`` through ``x`` ``(T, F)`` from ``state``; every gate ``(T, H)``."""
    w_ih = getattr(layer, f"weight_ih_l{index}")
    w_hh = getattr(layer, f"weight_hh_l{index}")
    b_ih = getattr(layer, f"bias_ih_l{index}") if layer.bias else None
    b_hh = getattr(layer, f"bias_hh_l{index}") if layer.bias else None
    # W x_t + b does not depend on the state: one product for the whole text.
    x_proj = F.linear(x, w_ih, b_ih)  # (T, G*H)
    steps: list[dict[str, Tensor]] = []
    if kind == "lstm":
        h, c = state
        for t in range(x.shape[0]):
            pre_i, pre_f, pre_g, pre_o = (x_proj[t] + F.linear(h, w_hh, b_hh)).chunk(4)
            i, f, o = torch.sigmoid(pre_i), torch.sigmoid(pre_f), torch.sigmoid(pre_o)
            g = torch.tanh(pre_g)
            c = f * c + i * g
            h = o * torch.tanh(c)
            steps.append(
                {"input": i, "forget": f, "output": o, "candidate": g, "cell": c, "hidden": h}
            )
    else:
        (h,) = state
        size = layer.hidden_size
        reset_after = getattr(layer, "reset_after", True)  # torch's GRU resets after
        for t in range(x.shape[0]):
            x_r, x_z, x_n = x_proj[t].chunk(3)
            if reset_after:
                h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3)
                r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
                n = torch.tanh(x_n + r * h_n)
            else:  # the paper's form: the reset gate scales the state before the product
                b_rz, b_n = (None, None) if b_hh is None else (b_hh[: 2 * size], b_hh[2 * size :])
                h_r, h_z = F.linear(h, w_hh[: 2 * size], b_rz).chunk(2)
                r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
                n = torch.tanh(x_n + F.linear(r * h, w_hh[2 * size :], b_n))
            h = z * h + (1 - z) * n
            steps.append({"reset": r, "update": z, "candidate": n, "hidden": h})
    return {key: torch.stack([step[key] for step in steps]) for key in steps[0]}
