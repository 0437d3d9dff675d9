"""A decoder-only Transformer language model on characters (GPT's shape, Radford et al. 2018).

Built from our layers (:mod:`classicnets.layers.transformer`): token embedding plus the
sinusoidal positional encoding, a stack of self-attention blocks with a causal mask, so position
``t`` sees only positions ``0..t``, a final LayerNorm and a linear layer to the vocabulary. The
blocks are pre-norm (``norm_first=True``), which trains without learning-rate warm-up.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..errors import ClassicnetsError, ShapeError
from ..layers import PositionalEncoding, TransformerEncoderLayer
from ._registry import register_model


class TransformerLM(nn.Module):
    """Token ids → embedding + positional encoding → causal self-attention blocks → linear.

    Args:
        vocab_size: number of tokens.
        d_model: width of the embeddings and of every block.
        layers: number of blocks.
        heads: attention heads per block; must divide ``d_model``.
        context: the longest sequence it reads; longer ones are refused.
        d_ff: width of the feed-forward layers (``4 * d_model`` when None, as in the paper).
        dropout: dropout on the embeddings, attention weights and sublayer outputs.

    ``forward(tokens, state=None)`` maps ``(B, T)`` int64 ids, ``T <= context``, to logits
    ``(B, T, vocab_size)``. It returns ``(logits, None)``: a Transformer carries no state from
    one piece of text to the next, but answers the same call as the recurrent models.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        layers: int,
        heads: int,
        context: int,
        d_ff: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value in (
            ("vocab_size", vocab_size),
            ("hidden", d_model),
            ("layers", layers),
            ("heads", heads),
            ("context", context),
        ):
            if not isinstance(value, int) or value < 1:
                raise ClassicnetsError(f"{name} must be a positive integer, got {value!r}.")
        if d_model % heads:
            raise ClassicnetsError(
                f"hidden={d_model} must be a multiple of heads={heads} so every head gets the "
                "same width."
            )
        self.vocab_size = vocab_size
        self.context = context
        # nn.Embedding starts at N(0, 1), the same scale as the encoding's sines and cosines.
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.positions = PositionalEncoding(d_model, max_len=context, dropout=dropout)
        self.blocks = nn.ModuleList(
            TransformerEncoderLayer(
                d_model, heads, d_ff or 4 * d_model, dropout, "gelu", norm_first=True
            )
            for _ in range(layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens: Tensor, state: None = None) -> tuple[Tensor, None]:
        """Logits for the token after each position; see the class docstring."""
        if tokens.dim() != 2:
            raise ShapeError(
                f"A language model takes token ids of shape (B, T), got {tuple(tokens.shape)}."
            )
        if tokens.shape[1] > self.context:
            raise ShapeError(
                f"A sequence of {tokens.shape[1]} tokens is longer than this Transformer's "
                f"context of {self.context}; shorten it or train a model with a longer context."
            )
        x = self.positions(self.embedding(tokens))  # (B, T, d)
        for block in self.blocks:
            x = block(x, is_causal=True)  # (B, T, d)
        return self.head(self.norm(x)), None  # (B, T, V)


@register_model(
    "char_transformer",
    family="Transformer",
    year=2017,
    paper="Vaswani et al., Attention Is All You Need, 2017 (decoder-only: Radford et al., 2018)",
    tags=("sequence", "char"),
    input_size=(1, 1, 128),
    num_classes=65,
)
def char_transformer(
    *,
    vocab_size: int = 65,
    hidden: int = 192,
    layers: int = 4,
    heads: int = 4,
    context: int = 128,
    dropout: float = 0.0,
) -> TransformerLM:
    """A small decoder-only Transformer on characters: ``layers`` pre-norm blocks of width
    ``hidden`` with ``heads`` heads, reading at most ``context`` characters."""
    return TransformerLM(vocab_size, hidden, layers, heads, context, dropout=dropout)
