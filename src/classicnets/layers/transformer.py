"""The Transformer's layers (Vaswani et al., "Attention Is All You Need", 2017).

Each sublayer (attention, position-wise FFN) is wrapped in a residual connection and a LayerNorm.
Everything is batch first, ``(B, T, d_model)``; masks are those of
:func:`classicnets.layers.attention.scaled_dot_product_attention`.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import unknown_name
from .attention import MultiHeadAttention

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU}


class PositionwiseFFN(nn.Module):
    """``FFN(x) = max(0, x W_1 + b_1) W_2 + b_2`` at every position, Vaswani et al. (2017) eq. 2.

    Args:
        d_model: width of input and output.
        d_ff: width of the hidden layer (2048 for ``d_model = 512`` in the paper).
        dropout: dropout after the activation during training.
        activation: ``"relu"`` (the paper) or ``"gelu"`` (GPT, BERT).
    """

    def __init__(
        self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu"
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise unknown_name("activation", activation, _ACTIVATIONS)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.activation = _ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(B, T, d_model)`` to ``(B, T, d_model)``."""
        hidden = self.dropout(self.activation(self.linear1(x)))  # (B, T, d_ff)
        return self.linear2(hidden)  # (B, T, d_model)


class TransformerEncoderLayer(nn.Module):
    """Self-attention then a position-wise FFN, each wrapped in a residual and a LayerNorm.

    Post-norm as in Vaswani et al. (2017), ``x = LayerNorm(x + Dropout(Sublayer(x)))``, or with
    ``norm_first=True`` pre-norm, ``x = x + Dropout(Sublayer(LayerNorm(x)))``, which trains deep
    stacks without warm-up (Xiong et al. 2020). With ``is_causal=True`` in ``forward`` it is the
    block of a decoder-only (GPT-style) language model.

    Args:
        d_model: width of the input and output.
        num_heads: attention heads; must divide ``d_model``.
        d_ff: width of the FFN's hidden layer.
        dropout: dropout on attention weights, inside the FFN and on each sublayer's output.
        activation: the FFN's activation, ``"relu"`` or ``"gelu"``.
        norm_first: pre-norm instead of the paper's post-norm.
        layer_norm_eps: the LayerNorms' epsilon.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ffn = PositionwiseFFN(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None, *, is_causal: bool = False) -> Tensor:
        """Encode ``x`` of shape ``(B, T, d_model)``; ``mask`` and ``is_causal`` as in
        :meth:`MultiHeadAttention.forward`. Returns ``(B, T, d_model)``."""

        def attend(y: Tensor) -> Tensor:
            return self.dropout1(self.self_attn(y, mask=mask, is_causal=is_causal))

        if self.norm_first:
            x = x + attend(self.norm1(x))  # (B, T, d_model)
            return x + self.dropout2(self.ffn(self.norm2(x)))
        x = self.norm1(x + attend(x))  # (B, T, d_model)
        return self.norm2(x + self.dropout2(self.ffn(x)))


class TransformerDecoderLayer(nn.Module):
    """Masked self-attention, cross-attention to the encoder's output, then a position-wise FFN.

    Each sublayer is wrapped in a residual and a LayerNorm, post-norm as in Vaswani et al. (2017)
    or pre-norm with ``norm_first=True`` (see :class:`TransformerEncoderLayer`).

    Args:
        d_model: width of the input, the memory and the output.
        num_heads: attention heads; must divide ``d_model``.
        d_ff: width of the FFN's hidden layer.
        dropout: dropout on attention weights, inside the FFN and on each sublayer's output.
        activation: the FFN's activation, ``"relu"`` or ``"gelu"``.
        norm_first: pre-norm instead of the paper's post-norm.
        layer_norm_eps: the LayerNorms' epsilon.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ffn = PositionwiseFFN(d_model, d_ff, dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        *,
        is_causal: bool = True,
    ) -> Tensor:
        """Decode ``x`` ``(B, T, d_model)`` attending to ``memory`` ``(B, S, d_model)``.

        Args:
            x: the target sequence so far, ``(B, T, d_model)``.
            memory: the encoder's output, ``(B, S, d_model)``.
            mask: extra self-attention mask, as in :meth:`MultiHeadAttention.forward`.
            memory_mask: cross-attention mask, broadcastable to ``(B, heads, T, S)``.
            is_causal: hide later target positions from earlier ones (the decoder's masking).

        Returns:
            ``(B, T, d_model)``.
        """

        def self_attend(y: Tensor) -> Tensor:
            return self.dropout1(self.self_attn(y, mask=mask, is_causal=is_causal))

        def cross_attend(y: Tensor) -> Tensor:
            return self.dropout2(self.cross_attn(y, memory, mask=memory_mask))

        if self.norm_first:
            x = x + self_attend(self.norm1(x))  # (B, T, d_model)
            x = x + cross_attend(self.norm2(x))
            return x + self.dropout3(self.ffn(self.norm3(x)))
        x = self.norm1(x + self_attend(x))  # (B, T, d_model)
        x = self.norm2(x + cross_attend(x))
        return self.norm3(x + self.dropout3(self.ffn(x)))
