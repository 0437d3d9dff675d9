"""Scaled dot-product and multi-head attention, and positional encodings (Vaswani et al.,
"Attention Is All You Need", 2017); the Transformer's layers built on them are in
:mod:`classicnets.layers.transformer`.

Everything is batch first, ``(B, T, d_model)``. Masks follow ``torch.nn.functional.
scaled_dot_product_attention``: a boolean mask is True where a query *may* attend to a key, a
floating-point mask is added to the scores (``-inf`` blocks).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ClassicnetsError, ShapeError


def causal_mask(
    length_q: int, length_k: int | None = None, device: torch.device | str | None = None
) -> Tensor:
    """The mask that lets query ``t`` see keys ``0..t`` only (top-left aligned, as PyTorch's).

    Args:
        length_q: number of queries.
        length_k: number of keys; defaults to ``length_q``.
        device: where to create the mask.

    Returns:
        A boolean ``(length_q, length_k)`` tensor, True on and below the diagonal.
    """
    length_k = length_q if length_k is None else length_k
    return torch.ones(length_q, length_k, dtype=torch.bool, device=device).tril()


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    return_weights: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """``softmax(Q Kᵀ / sqrt(d_k)) V``, Vaswani et al. (2017) eq. 1.

    Dividing by ``sqrt(d_k)`` keeps the scores' variance near 1 whatever the width, so the softmax
    does not saturate. A query that may attend to no key at all gets zero weights (PyTorch does
    the same) instead of the NaN a plain softmax over ``-inf`` gives.

    Args:
        q: queries ``(..., L_q, d_k)``.
        k: keys ``(..., L_k, d_k)``.
        v: values ``(..., L_k, d_v)``.
        mask: boolean (True = may attend) or additive floating-point mask broadcastable to
            ``(..., L_q, L_k)``.
        dropout_p: dropout on the attention weights (always applied when positive, as in
            PyTorch's function; modules pass 0 in eval mode).
        is_causal: also hide from query ``t`` every key after ``t``; combines with ``mask``.
        return_weights: also return the attention weights.

    Returns:
        The output ``(..., L_q, d_v)``, and the weights ``(..., L_q, L_k)`` if asked for.
    """
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ShapeError(
            f"attention: q, k and v need at least 2 dimensions (length, features), got shapes "
            f"{tuple(q.shape)}, {tuple(k.shape)} and {tuple(v.shape)}."
        )
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(
            f"attention: queries have {q.shape[-1]} features but keys have {k.shape[-1]}; "
            "they must match to take dot products."
        )
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"attention: {k.shape[-2]} keys but {v.shape[-2]} values; each key needs one value."
        )
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., L_q, L_k)
    if is_causal:
        hidden = ~causal_mask(q.shape[-2], k.shape[-2], device=q.device)
        scores = scores.masked_fill(hidden, float("-inf"))
    if mask is not None:
        try:
            fits = torch.broadcast_shapes(mask.shape, scores.shape) == scores.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ShapeError(
                f"attention: mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
                f"shape {tuple(scores.shape)} (..., queries, keys)."
            )
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        elif mask.is_floating_point():
            scores = scores + mask
        else:
            raise ClassicnetsError(
                f"attention: mask must be boolean or floating point, got {mask.dtype}."
            )
    weights = torch.softmax(scores, dim=-1)
    weights = weights.masked_fill(torch.isneginf(scores).all(dim=-1, keepdim=True), 0.0)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    output = weights @ v  # (..., L_q, d_v)
    return (output, weights) if return_weights else output


class MultiHeadAttention(nn.Module):
    """Multi-head attention, Vaswani et al. (2017) section 3.2.2.

    ``MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W_O`` with
    ``head_i = Attention(Q W_Q_i, K W_K_i, V W_V_i)``. The ``h`` projections of width
    ``d_model / h`` are stored side by side, so one matrix product projects all heads at once; the
    parameters are named and packed as in ``torch.nn.MultiheadAttention`` (``in_proj_weight`` =
    ``[W_Q; W_K; W_V]``, ``out_proj``), whose state_dict therefore loads unchanged.

    Args:
        d_model: width of queries, keys, values and output.
        num_heads: number of heads; must divide ``d_model``.
        dropout: dropout on the attention weights during training.
        bias: whether the projections have biases.
        device: where to create the parameters.
        dtype: the parameters' dtype.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if d_model <= 0 or num_heads <= 0 or d_model % num_heads:
            raise ClassicnetsError(
                f"MultiHeadAttention: d_model={d_model} must be a positive multiple of "
                f"num_heads={num_heads} so every head gets the same width."
            )
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.dropout = dropout
        factory = {"device": device, "dtype": dtype}
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model, **factory))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * d_model, **factory)) if bias else None
        self.out_proj = nn.Linear(d_model, d_model, bias=bias, **factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: Xavier-uniform projections, zero biases."""
        nn.init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}, dropout={self.dropout}"

    def _check(self, name: str, x: Tensor, batch: int | None = None) -> None:
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ShapeError(
                f"MultiHeadAttention expects {name} of shape (B, T, {self.d_model}), "
                f"got {tuple(x.shape)}."
            )
        if batch is not None and x.shape[0] != batch:
            raise ShapeError(
                f"MultiHeadAttention: {name} has batch size {x.shape[0]} but the query has {batch}."
            )

    def _project(self, x: Tensor, index: slice) -> Tensor:
        bias = None if self.in_proj_bias is None else self.in_proj_bias[index]
        return F.linear(x, self.in_proj_weight[index], bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        mask: Tensor | None = None,
        *,
        is_causal: bool = False,
        need_weights: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Attend from ``query`` to ``key``/``value`` (self-attention when they are omitted).

        Args:
            query: ``(B, L_q, d_model)``.
            key: ``(B, L_k, d_model)``; defaults to ``query``.
            value: ``(B, L_k, d_model)``; defaults to ``key``.
            mask: boolean (True = may attend) or additive mask broadcastable to
                ``(B, num_heads, L_q, L_k)``; a 3-D mask ``(B, L_q, L_k)`` applies to every head.
            is_causal: hide from position ``t`` every key after ``t``.
            need_weights: also return the attention weights ``(B, num_heads, L_q, L_k)``.

        Returns:
            The output ``(B, L_q, d_model)``, and the weights if asked for.
        """
        key = query if key is None else key
        value = key if value is None else value
        self._check("query", query)
        self._check("key", key, query.shape[0])
        self._check("value", value, query.shape[0])
        if key.shape[1] != value.shape[1]:
            raise ShapeError(
                f"MultiHeadAttention: {key.shape[1]} keys but {value.shape[1]} values; "
                "each key needs one value."
            )
        d = self.d_model
        if key is query and value is query:  # self-attention: Q, K and V in one product
            q, k, v = self._project(query, slice(0, 3 * d)).chunk(3, dim=-1)  # each (B, T, d)
        else:
            q = self._project(query, slice(0, d))  # (B, L_q, d)
            if value is key:
                k, v = self._project(key, slice(d, 3 * d)).chunk(2, dim=-1)  # each (B, L_k, d)
            else:
                k, v = self._project(key, slice(d, 2 * d)), self._project(value, slice(2 * d, None))
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)  # (B, h, T, d/h)
        if mask is not None and mask.dim() == 3:
            mask = mask.unsqueeze(1)  # (B, 1, L_q, L_k): the same for every head
        output, weights = scaled_dot_product_attention(
            q, k, v, mask, self.dropout if self.training else 0.0, is_causal, return_weights=True
        )  # (B, h, L_q, d/h)
        output = output.transpose(1, 2).reshape(query.shape[0], query.shape[1], d)  # (B, L_q, d)
        output = self.out_proj(output)
        return (output, weights) if need_weights else output


def sinusoidal_positional_encoding(
    length: int,
    d_model: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """The fixed positional encoding of Vaswani et al. (2017) section 3.5.

    ``PE(pos, 2i) = sin(pos / 10000^(2i/d_model))`` and ``PE(pos, 2i+1) = cos(pos /
    10000^(2i/d_model))``: each pair of columns is a sinusoid, with wavelengths from 2π to
    10000·2π, so ``PE(pos + k)`` is a linear function of ``PE(pos)``.

    Args:
        length: number of positions, 0 to ``length - 1``.
        d_model: width of the encoding.
        dtype: dtype of the result (computed in float64).
        device: where to create it.

    Returns:
        A ``(length, d_model)`` tensor.
    """
    if length < 0 or d_model <= 0:
        raise ShapeError(
            f"positional encoding: need length >= 0 and d_model > 0, got {length} and {d_model}."
        )
    position = torch.arange(length, dtype=torch.float64, device=device).unsqueeze(1)  # (L, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64, device=device)  # (ceil(d/2),)
    angle = position / 10000.0 ** (two_i / d_model)  # (L, ceil(d/2))
    encoding = torch.zeros(length, d_model, dtype=torch.float64, device=device)
    encoding[:, 0::2] = torch.sin(angle)
    encoding[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return encoding.to(dtype)


class PositionalEncoding(nn.Module):
    """Adds :func:`sinusoidal_positional_encoding` to its input, then dropout.

    The encoding is a fixed buffer kept out of the state_dict. The paper also multiplies the
    embeddings by ``sqrt(d_model)`` before this addition; that belongs to the model.

    Args:
        d_model: width of the input.
        max_len: the longest sequence it accepts.
        dropout: dropout on the sum (0.1 in the paper).
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0) -> None:
        super().__init__()
        self.d_model = d_model
        self.max_len = max_len
        self.dropout = nn.Dropout(dropout)
        encoding = sinusoidal_positional_encoding(max_len, d_model)
        self.register_buffer("encoding", encoding, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """Add the encoding of positions ``0..T-1`` to ``x`` of shape ``(B, T, d_model)``."""
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ShapeError(
                f"PositionalEncoding expects input of shape (B, T, {self.d_model}), "
                f"got {tuple(x.shape)}."
            )
        if x.shape[1] > self.max_len:
            raise ShapeError(
                f"PositionalEncoding: sequence of length {x.shape[1]} is longer than "
                f"max_len={self.max_len}; shorten it or build the layer with a larger max_len."
            )
        return self.dropout(x + self.encoding[: x.shape[1]].to(x.dtype))  # (B, T, d_model)
