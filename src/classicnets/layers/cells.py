"""One time step of the simple recurrent network, the LSTM and the GRU, from their equations.

Each step takes ``x_proj = W x_t + b_ih``, the input's contribution to every gate, already
computed: it does not depend on the state, so :mod:`classicnets.layers.recurrent` computes it for
all time steps in one matrix product and only the state-dependent part runs step by step. Gates
are packed along the last dimension in PyTorch's order so that its weights load unchanged:
LSTM ``i, f, g, o`` and GRU ``r, z, n``.

Shapes: ``x_proj`` is ``(B, G*H)`` for ``G`` gates, states are ``(B, H)``, ``w_hh`` is
``(G*H, H)`` and ``b_hh`` is ``(G*H,)`` or ``None``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def rnn_step(
    x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, nonlinearity: str = "tanh"
) -> Tensor:
    """Elman's simple recurrent network: ``h_t = tanh(W x_t + U h_(t-1) + b)``.

    Args:
        x_proj: ``W x_t + b_ih``, shape ``(B, H)``.
        h: the previous hidden state ``h_(t-1)``, shape ``(B, H)``.
        w_hh: the recurrent weight ``U``, shape ``(H, H)``.
        b_hh: the recurrent bias, shape ``(H,)``, or ``None``.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Returns:
        The new hidden state ``h_t``, shape ``(B, H)``.
    """
    pre = x_proj + F.linear(h, w_hh, b_hh)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def lstm_step(
    x_proj: Tensor,
    h: Tensor,
    c: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None,
    *,
    forget_gate: bool = True,
    coupled: bool = False,
    peepholes: tuple[Tensor | None, Tensor | None, Tensor | None] | None = None,
) -> tuple[Tensor, Tensor]:
    """Long short-term memory (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000).

    ``i, f, o = σ(·)``, ``g = tanh(·)``, ``c_t = f⊙c_(t-1) + i⊙g``, ``h_t = o⊙tanh(c_t)``, each
    ``(·)`` being ``W x_t + U h_(t-1) + b`` with that gate's rows of ``W``, ``U`` and ``b``.

    Variants (Greff et al., "LSTM: A Search Space Odyssey", 2017): without a forget gate
    ``c_t = c_(t-1) + i⊙g``; coupled, ``f = 1 - i``. Both leave three gates packed ``i, g, o``.
    Peephole connections (Gers & Schmidhuber 2000) add a diagonal term ``p⊙c`` inside the gates:
    ``i`` and ``f`` see ``c_(t-1)``, ``o`` sees the new ``c_t``.

    Args:
        x_proj: ``W x_t + b_ih``, shape ``(B, 4H)`` or ``(B, 3H)`` without a separate forget gate.
        h: the previous hidden state, shape ``(B, H)``.
        c: the previous cell state, shape ``(B, H)``.
        w_hh: the recurrent weights, shape ``(4H, H)`` or ``(3H, H)``.
        b_hh: the recurrent bias or ``None``.
        forget_gate: ``False`` drops the forget gate (the original 1997 LSTM).
        coupled: ``True`` ties the forget gate to the input gate, ``f = 1 - i``.
        peepholes: the peephole weights ``(p_i, p_f, p_o)``, each ``(H,)`` (``p_f`` is ``None``
            without a separate forget gate), or ``None`` for no peepholes.

    Returns:
        The new hidden and cell states ``(h_t, c_t)``, each ``(B, H)``.
    """
    gates = x_proj + F.linear(h, w_hh, b_hh)
    p_i, p_f, p_o = peepholes if peepholes is not None else (None, None, None)
    separate_forget = forget_gate and not coupled
    if separate_forget:
        i, f, g, o = gates.chunk(4, dim=-1)  # each (B, H)
    else:
        i, g, o = gates.chunk(3, dim=-1)
        f = None
    if p_i is not None:
        i = i + p_i * c
    if f is not None and p_f is not None:
        f = f + p_f * c
    i = torch.sigmoid(i)
    g = torch.tanh(g)
    if f is not None:
        c = torch.sigmoid(f) * c + i * g
    elif coupled:
        c = (1 - i) * c + i * g
    else:
        c = c + i * g
    if p_o is not None:
        o = o + p_o * c  # the output gate peeks at the new cell state
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def gru_step(
    x_proj: Tensor,
    h: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None,
    *,
    reset_after: bool = True,
) -> Tensor:
    """Gated recurrent unit (Cho et al. 2014).

    ``r, z = σ(·)``, ``h_t = z⊙h_(t-1) + (1 - z)⊙h̃``. The candidate ``h̃`` is
    ``tanh(W x + r⊙(U h + b_h) + b)`` with ``reset_after=True`` (PyTorch's and cuDNN's form) and
    ``tanh(W x + U(r⊙h) + b)`` with ``reset_after=False`` (the paper's form; the name is Keras').

    Args:
        x_proj: ``W x_t + b_ih``, shape ``(B, 3H)``, packed ``r, z, n``.
        h: the previous hidden state, shape ``(B, H)``.
        w_hh: the recurrent weights, shape ``(3H, H)``.
        b_hh: the recurrent bias, shape ``(3H,)``, or ``None``.
        reset_after: where the reset gate applies, see above.

    Returns:
        The new hidden state ``h_t``, shape ``(B, H)``.
    """
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)  # each (B, H)
    if reset_after:
        h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        candidate = torch.tanh(x_n + r * h_n)
    else:
        size = h.shape[-1]
        b_rz, b_n = (None, None) if b_hh is None else (b_hh[: 2 * size], b_hh[2 * size :])
        h_r, h_z = F.linear(h, w_hh[: 2 * size], b_rz).chunk(2, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        candidate = torch.tanh(x_n + F.linear(r * h, w_hh[2 * size :], b_n))
    return z * h + (1 - z) * candidate
