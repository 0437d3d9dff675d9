"""The recurrent encoder–decoder, with or without attention, for comparison with the
Transformer of :mod:`.seq2seq`: Sutskever et al. (2014), Bahdanau et al. (2015) and Luong et
al. (2015).

It answers the calls of :class:`~.seq2seq.TransformerSeq2Seq`: ``forward(src, tgt_in)``,
``encode(src)``, ``decode_step(memory, prefix, state)`` and ``attention_maps(src, tgt_in)``,
so the same trainer, decoders and pictures serve both.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import ClassicnetsError
from ..layers import LSTM
from ._registry import register_model
from .seq2seq import _SEQ2SEQ, PAD, Memory, _check_dropout, _check_ids, _positive

ATTENTIONS = ("bahdanau", "luong", "none")


class LSTMSeq2Seq(nn.Module):
    """An LSTM encoder–decoder with attention (Bahdanau et al. 2015, Luong et al. 2015).

    The encoder reads the source (both ways with ``bidirectional``; padding is packed away, so
    a padded position changes nothing); the decoder starts from its final state (through a
    linear bridge when bidirectional) and at each step reads the previous target token.

    - ``"bahdanau"``: additive attention ``v·tanh(W s_(t-1) + U h_j)`` from the previous
      decoder state; the context is fed into the step with the token, and the output is
      ``tanh(W_o [s_t; c_t])`` (the paper's maxout layer replaced by tanh).
    - ``"luong"``: the "general" score ``s_t·W h_j`` from the current state, output
      ``tanh(W_c [c_t; s_t])``, without input feeding, so teacher forcing runs the whole
      target through the fused LSTM at once.
    - ``"none"``: the final encoder state is all the decoder knows (Sutskever et al. 2014).

    Args:
        source_vocab_size, target_vocab_size: tokens on each side, ``PAD`` (0) included.
        embed_dim: width of the token embeddings.
        hidden: width of the LSTM states (each direction's, in the encoder).
        layers: LSTM layers in the encoder and in the decoder.
        attention: ``"bahdanau"``, ``"luong"`` or ``"none"``.
        bidirectional: a bidirectional encoder.
        dropout: on the embeddings, between stacked layers and before the output layer.
    """

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        embed_dim: int = 64,
        hidden: int = 128,
        layers: int = 1,
        attention: str = "bahdanau",
        bidirectional: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _positive(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
            embed_dim=embed_dim, hidden=hidden, layers=layers,
        )  # fmt: skip
        _check_dropout(dropout)
        if attention not in ATTENTIONS:
            raise ClassicnetsError(
                f"Unknown attention {attention!r}; choose {', '.join(ATTENTIONS)}."
            )
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.attention, self.hidden, self.layers = attention, hidden, layers
        between = dropout if layers > 1 else 0.0
        self.source_embedding = nn.Embedding(source_vocab_size, embed_dim, padding_idx=PAD)
        self.target_embedding = nn.Embedding(target_vocab_size, embed_dim, padding_idx=PAD)
        self.encoder = LSTM(
            embed_dim, hidden, layers, batch_first=True, dropout=between,
            bidirectional=bidirectional, fused=True,
        )  # fmt: skip
        width = hidden * (2 if bidirectional else 1)  # of the encoder's outputs
        self.bridge = nn.Linear(width, hidden) if bidirectional else None
        feed = width if attention == "bahdanau" else 0  # the context enters each step
        self.decoder = LSTM(
            embed_dim + feed, hidden, layers, batch_first=True, dropout=between, fused=True
        )
        if attention == "bahdanau":
            self.query_proj = nn.Linear(hidden, hidden, bias=False)
            self.key_proj = nn.Linear(width, hidden)
            self.score = nn.Linear(hidden, 1, bias=False)
        if attention == "luong":
            self.key_proj = nn.Linear(width, hidden, bias=False)  # the "general" W
        self.combine = nn.Linear(hidden + width, hidden) if attention != "none" else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, target_vocab_size)

    # ------------------------------------------------------------------ encoder
    def encode(self, src: Tensor) -> Memory:
        """``(outputs (B, S, width), keys (B, S, hidden), keep (B, S), h0, c0)``: the encoder's
        outputs, their projections for the attention scores, the token mask and the decoder's
        first state (each ``(B, layers, hidden)``, batch first)."""
        _check_ids("source", src, self.source_vocab_size)
        keep = src != PAD
        embedded = self.dropout(self.source_embedding(src))  # (B, S, E)
        if src.is_meta:  # shapes only (a summary): the same layers and sizes, nothing to pack
            outputs, (h, c) = self.encoder(embedded)
        else:
            lengths = keep.sum(1).clamp(min=1).cpu()  # an empty source reads one padding token
            packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
            outputs, (h, c) = self.encoder(packed)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=src.shape[1])
        if self.bridge is not None:  # (2L, B, H) -> (L, B, 2H) -> (L, B, H)
            h, c = (self.bridge(_directions(s, self.layers)).tanh() for s in (h, c))
        keys = self.key_proj(outputs) if self.attention != "none" else outputs
        return outputs, keys, keep, h.transpose(0, 1), c.transpose(0, 1)

    # ------------------------------------------------------------------ decoder
    def _attend(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """Context ``(B, T, width)`` and weights ``(B, T, S)`` for queries ``(B, T, hidden)``."""
        outputs, keys, keep = memory[:3]
        if self.attention == "bahdanau":
            scores = self.score(
                torch.tanh(self.query_proj(query)[:, :, None] + keys[:, None])  # (B, T, S, H)
            ).squeeze(-1)
        else:
            scores = query @ keys.transpose(1, 2)  # (B, T, S)
        scores = scores.masked_fill(~keep[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # an empty source: zeros
        return weights @ outputs, weights

    def _run(
        self, memory: Memory, tgt_in: Tensor, state: tuple[Tensor, Tensor]
    ) -> tuple[Tensor, tuple[Tensor, Tensor], Tensor | None]:
        """Logits ``(B, T, V)``, the final state ``(h, c)`` (each ``(L, B, H)``) and the
        attention weights ``(B, T, S)`` (None without attention)."""
        embedded = self.dropout(self.target_embedding(tgt_in))  # (B, T, E)
        if self.attention == "bahdanau":  # the query is the previous state: step by step
            steps, contexts, maps = [], [], []
            for t in range(tgt_in.shape[1]):
                context, weights = self._attend(state[0][-1][:, None], memory)  # (B, 1, W)
                step_in = torch.cat([embedded[:, t : t + 1], context], dim=-1)
                out, state = self.decoder(step_in, state)  # (B, 1, H)
                steps.append(out), contexts.append(context), maps.append(weights)
            out, context, weights = torch.cat(steps, 1), torch.cat(contexts, 1), torch.cat(maps, 1)
        else:
            out, state = self.decoder(embedded, state)  # (B, T, H)
            context, weights = (
                (None, None) if self.attention == "none" else self._attend(out, memory)
            )
        if context is not None:
            out = torch.tanh(self.combine(torch.cat([out, context], dim=-1)))  # (B, T, H)
        return self.head(self.dropout(out)), state, weights

    @staticmethod
    def _first_state(memory: Memory) -> tuple[Tensor, Tensor]:
        return memory[3].transpose(0, 1).contiguous(), memory[4].transpose(0, 1).contiguous()

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher forcing: logits ``(B, T, V)`` for ``src (B, S)`` and ``tgt_in (B, T)``."""
        memory = self.encode(src)
        _check_ids("target", tgt_in, self.target_vocab_size)
        return self._run(memory, tgt_in, self._first_state(memory))[0]

    def decode_step(
        self, memory: Memory, prefix: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Logits ``(B, V)`` of the token after ``prefix (B, t)``, reading only its last token
        from ``state`` (None: the encoder's final state); the new state, batch first."""
        hc = self._first_state(memory) if state is None else tuple(
            s.transpose(0, 1).contiguous() for s in state
        )  # fmt: skip
        logits, (h, c), _ = self._run(memory, prefix[:, -1:], hc)
        return logits[:, -1], (h.transpose(0, 1), c.transpose(0, 1))

    def attention_maps(self, src: Tensor, tgt_in: Tensor) -> dict[str, Tensor]:
        """``{"cross": (1, B, 1, T, S)}``: the decoder's attention over the source at each
        target position, in eval mode (shaped as one layer with one head, like the
        Transformer's maps)."""
        if self.attention == "none":
            raise ClassicnetsError(
                "This lstm_seq2seq has attention='none', so it has no attention weights to show."
            )
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                memory = self.encode(src)
                _, _, weights = self._run(memory, tgt_in, self._first_state(memory))
        finally:
            self.train(was_training)
        return {"cross": weights[None, :, None].float().cpu()}


def _directions(state: Tensor, layers: int) -> Tensor:
    """``(2L, B, H)`` of a bidirectional LSTM as ``(L, B, 2H)``: both directions of a layer."""
    _, batch, hidden = state.shape
    return state.view(layers, 2, batch, hidden).permute(0, 2, 1, 3).reshape(layers, batch, -1)


@register_model(
    "lstm_seq2seq",
    family="LSTM",
    year=2015,
    paper="Bahdanau et al., Neural Machine Translation by Jointly Learning to Align and "
    "Translate, 2015; Luong et al., Effective Approaches to Attention-based NMT, 2015",
    **_SEQ2SEQ,
)
def lstm_seq2seq(
    *,
    source_vocab_size: int = 13,
    target_vocab_size: int = 13,
    embed_dim: int = 64,
    hidden: int = 128,
    layers: int = 1,
    attention: str = "bahdanau",
    bidirectional: bool = True,
    dropout: float = 0.0,
) -> LSTMSeq2Seq:
    """An LSTM encoder–decoder with ``attention`` = ``"bahdanau"``, ``"luong"`` or
    ``"none"`` (see :class:`LSTMSeq2Seq`)."""
    return LSTMSeq2Seq(
        source_vocab_size, target_vocab_size, embed_dim, hidden, layers, attention,
        bidirectional, dropout,
    )  # fmt: skip
