"""Encoder–decoder models: a source sequence in, a target sequence out, one token at a time.

- :class:`TransformerSeq2Seq` is the whole Transformer of Vaswani et al. (2017), built from our
  layers: an encoder stack of self-attention blocks, a decoder stack of masked self-attention
  plus cross-attention blocks, sinusoidal positions, post-norm residuals as in the paper.
- :class:`~.seq2seq_lstm.LSTMSeq2Seq` (in :mod:`.seq2seq_lstm`) is the recurrent
  encoder–decoder it replaced (Sutskever et al. 2014), with additive attention (Bahdanau et al.
  2015), multiplicative attention (Luong et al. 2015) or none, for comparison.

Both answer the same calls: ``forward(src, tgt_in)`` gives logits ``(B, T, V)`` under teacher
forcing, with padded source positions hidden from every query and each target position seeing
only the positions before it; ``encode(src)`` and ``decode_step(memory, prefix, state)`` serve
greedy and beam-search decoding (:mod:`classicnets.models.decoding`); ``attention_maps(src,
tgt_in)`` returns the attention weights for a picture. Everything in ``memory`` and ``state`` is
batch first, so a decoder can reorder beams by indexing dimension 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..errors import ClassicnetsError, ShapeError
from ..layers import (
    MultiHeadAttention,
    PositionalEncoding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
)
from ._registry import register_model

PAD = 0  # the padding id of classicnets.data.seq2seq (models never import data)
Memory = tuple[Tensor, ...]


def _positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ClassicnetsError(f"{name} must be a positive integer, got {value!r}.")


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ClassicnetsError(f"dropout must be in [0, 1), got {dropout}.")


def _check_ids(name: str, ids: Tensor, vocab_size: int) -> None:
    if not isinstance(ids, Tensor) or ids.dtype != torch.int64 or ids.dim() != 2:
        shape = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
        raise ShapeError(f"The {name} must be int64 token ids of shape (B, L), got {shape}.")
    if ids.is_meta or not ids.numel():  # a summary's shapes-only pass holds no values
        return
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ClassicnetsError(
            f"The {name} holds token id {int(ids.max())}, outside the vocabulary of "
            f"{vocab_size}; encode it with the model's own vocabulary."
        )


class TransformerSeq2Seq(nn.Module):
    """The Transformer encoder–decoder, Vaswani et al. (2017) figure 1.

    Embeddings are scaled by ``sqrt(d_model)`` and added to the sinusoidal encoding (section
    3.4–3.5); the decoder's output layer shares the target embedding's weights (``tie_output``,
    section 3.4), and ``share_embeddings`` also uses that one matrix for the source, which
    needs one vocabulary for both sides. The paper's base model is ``d_model=512, heads=8,
    6 + 6 layers, d_ff=2048, dropout=0.1``; the defaults of :func:`transformer_seq2seq` are a
    quarter of that width and a third of the depth, which train on a CPU in minutes.

    Args:
        source_vocab_size, target_vocab_size: tokens on each side, ``PAD`` (0) included.
        d_model: width of the embeddings and of every block.
        heads: attention heads; must divide ``d_model``.
        encoder_layers, decoder_layers: blocks in each stack.
        d_ff: width of the position-wise feed-forward layers.
        dropout: on the embedded inputs, attention weights and every sublayer's output.
        max_len: the longest source or target the positional encoding covers.
        share_embeddings: one embedding matrix for source, target and output layer.
        tie_output: the output layer reuses the target embedding.
        norm_first: pre-norm blocks (with a final LayerNorm per stack) instead of post-norm.
    """

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        d_model: int = 128,
        heads: int = 4,
        encoder_layers: int = 2,
        decoder_layers: int = 2,
        d_ff: int = 512,
        dropout: float = 0.1,
        max_len: int = 256,
        share_embeddings: bool = False,
        tie_output: bool = True,
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        _positive(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
            d_model=d_model, heads=heads, encoder_layers=encoder_layers,
            decoder_layers=decoder_layers, d_ff=d_ff, max_len=max_len,
        )  # fmt: skip
        _check_dropout(dropout)
        if d_model % heads:
            raise ClassicnetsError(
                f"d_model={d_model} must be a multiple of heads={heads} so every head gets the "
                "same width."
            )
        if share_embeddings and source_vocab_size != target_vocab_size:
            raise ClassicnetsError(
                f"share_embeddings needs one vocabulary for both sides, but the source has "
                f"{source_vocab_size} tokens and the target {target_vocab_size}."
            )
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.d_model = d_model
        self.target_embedding = nn.Embedding(target_vocab_size, d_model, padding_idx=PAD)
        self.source_embedding = (
            self.target_embedding
            if share_embeddings
            else nn.Embedding(source_vocab_size, d_model, padding_idx=PAD)
        )
        # in a fixed order (a set's would follow memory addresses and change the draws)
        for embedding in dict.fromkeys([self.source_embedding, self.target_embedding]):
            # N(0, 1/d) then the paper's sqrt(d) scale: unit-size inputs, as the encoding's
            nn.init.normal_(embedding.weight, std=d_model**-0.5)
            nn.init.zeros_(embedding.weight[PAD])
        self.positions = PositionalEncoding(d_model, max_len=max_len, dropout=dropout)
        block = {"d_ff": d_ff, "dropout": dropout, "norm_first": norm_first}
        self.encoder = nn.ModuleList(
            TransformerEncoderLayer(d_model, heads, **block) for _ in range(encoder_layers)
        )
        self.decoder = nn.ModuleList(
            TransformerDecoderLayer(d_model, heads, **block) for _ in range(decoder_layers)
        )
        # pre-norm stacks end un-normalised; post-norm blocks already end in a LayerNorm
        self.encoder_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.head = nn.Linear(d_model, target_vocab_size, bias=False)
        if tie_output or share_embeddings:
            self.head.weight = self.target_embedding.weight

    def _embed(self, embedding: nn.Embedding, ids: Tensor) -> Tensor:
        return self.positions(embedding(ids) * math.sqrt(self.d_model))  # (B, L, d)

    def encode(self, src: Tensor) -> Memory:
        """``(memory (B, S, d), keep (B, S))``: the encoder's output and which source positions
        are tokens (True) rather than padding."""
        _check_ids("source", src, self.source_vocab_size)
        keep = src != PAD  # (B, S)
        x = self._embed(self.source_embedding, src)
        for layer in self.encoder:
            x = layer(x, mask=keep[:, None, :])  # (B, S, d); no query sees a padded key
        return self.encoder_norm(x), keep

    def decode(self, memory: Memory, tgt_in: Tensor) -> Tensor:
        """Logits ``(B, T, V)`` of the token after each position of ``tgt_in``."""
        _check_ids("target", tgt_in, self.target_vocab_size)
        encoded, keep = memory
        y = self._embed(self.target_embedding, tgt_in)
        for layer in self.decoder:
            y = layer(y, encoded, memory_mask=keep[:, None, :], is_causal=True)  # (B, T, d)
        return self.head(self.decoder_norm(y))  # (B, T, V)

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher forcing: logits ``(B, T, V)`` for ``src (B, S)`` and ``tgt_in (B, T)``."""
        return self.decode(self.encode(src), tgt_in)

    def decode_step(
        self, memory: Memory, prefix: Tensor, state: None = None
    ) -> tuple[Tensor, None]:
        """Logits ``(B, V)`` of the token after ``prefix (B, t)``; the whole prefix is decoded
        again (no cache: the sequences here are short), so there is no state to carry."""
        return self.decode(memory, prefix)[:, -1], None

    def attention_maps(self, src: Tensor, tgt_in: Tensor) -> dict[str, Tensor]:
        """The weights of every attention layer on one teacher-forced pass, in eval mode.

        Returns:
            ``{"encoder": (L_enc, B, heads, S, S), "decoder": (L_dec, B, heads, T, T),
            "cross": (L_dec, B, heads, T, S)}``, on the CPU; each row sums to 1 over the
            positions it may see (0 on padding and, in the decoder, on later positions).
        """
        layers = [m for m in self.modules() if isinstance(m, MultiHeadAttention)]
        calls: list[tuple[nn.Module, tuple, dict]] = []

        def record(layer: nn.Module, args: tuple, kwargs: dict, output: Tensor) -> None:
            calls.append((layer, args, kwargs))

        was_training = self.training
        self.eval()
        handles = [m.register_forward_hook(record, with_kwargs=True) for m in layers]
        try:
            with torch.no_grad():
                self(src, tgt_in)
            for handle in handles:  # removed before the calls below, which would record again
                handle.remove()
            # each layer again with the very arguments it had: its own weights, not a copy
            with torch.no_grad():
                weights = {
                    layer: layer(*args, **{**kwargs, "need_weights": True})[1]
                    for layer, args, kwargs in calls
                }
        finally:
            for handle in handles:
                handle.remove()
            self.train(was_training)

        def stack(attention: list[nn.Module]) -> Tensor:
            return torch.stack([weights[m] for m in attention]).float().cpu()

        return {
            "encoder": stack([layer.self_attn for layer in self.encoder]),
            "decoder": stack([layer.self_attn for layer in self.decoder]),
            "cross": stack([layer.cross_attn for layer in self.decoder]),
        }


# Registry entries: a (1, 1, T) source of token ids (the summary feeds it to both sides); the
# classes are the digit tasks' 13 tokens. Shared with .seq2seq_lstm.
_SEQ2SEQ = {"tags": ("sequence", "seq2seq"), "input_size": (1, 1, 20), "num_classes": 13}


@register_model(
    "transformer_seq2seq",
    family="Transformer",
    year=2017,
    paper="Vaswani et al., Attention Is All You Need, 2017",
    **_SEQ2SEQ,
)
def transformer_seq2seq(
    *,
    source_vocab_size: int = 13,
    target_vocab_size: int = 13,
    d_model: int = 128,
    heads: int = 4,
    encoder_layers: int = 2,
    decoder_layers: int = 2,
    d_ff: int = 512,
    dropout: float = 0.1,
    max_len: int = 256,
    share_embeddings: bool = False,
    tie_output: bool = True,
    norm_first: bool = False,
) -> TransformerSeq2Seq:
    """The Transformer encoder–decoder (see :class:`TransformerSeq2Seq`); the default
    vocabularies are the digit tasks' (3 special tokens and 10 digits)."""
    return TransformerSeq2Seq(
        source_vocab_size, target_vocab_size, d_model, heads, encoder_layers, decoder_layers,
        d_ff, dropout, max_len, share_embeddings, tie_output, norm_first,
    )  # fmt: skip
