"""BERT, the bidirectional Transformer encoder (Devlin et al., "BERT: Pre-training of Deep
Bidirectional Transformers for Language Understanding", 2019), at the BERT-Mini size of Turc et
al., "Well-Read Students Learn Better", 2019: 4 layers, hidden 256, 4 heads, FFN 1024.

Token + learned position + segment embeddings, summed and layer-normed; a stack of post-norm
encoder layers (BERT follows the Transformer paper's ``LayerNorm(x + Sublayer(x))``) with GELU,
built from :class:`~classicnets.layers.TransformerEncoderLayer`; every position sees every other
except ``[PAD]`` keys. Two heads read the encoder's output:

- the masked-language-model head (section 3.1 and Google's ``cls/predictions``): dense + GELU +
  LayerNorm, then scores against the token embedding matrix (tied weights) plus a bias;
- the classification head (section 4.1): dropout and a linear layer on the final hidden state of
  ``[CLS]``, the only new parameters fine-tuning adds. Without next-sentence prediction there is
  no pre-trained pooler, so none is built.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ClassicnetsError, ShapeError
from ..layers import MultiHeadAttention, TransformerEncoderLayer
from ._registry import register_model

PAD_ID = 0  # classicnets.data.mlm.PAD; models may not import data, so it is repeated here
ENCODER_PARTS = ("embeddings.", "layers.")  # what a pre-trained encoder hands to fine-tuning
_INIT_STD = 0.02  # BERT's truncated-normal initializer range
_LAYER_NORM_EPS = 1e-12  # BERT's


class BertEmbeddings(nn.Module):
    """Token + position + segment embeddings, then LayerNorm and dropout (Devlin et al. 2019,
    figure 2)."""

    def __init__(
        self, vocab_size: int, d_model: int, max_len: int, segments: int, dropout: float
    ) -> None:
        super().__init__()
        self.token = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(max_len, d_model)
        self.segment = nn.Embedding(segments, d_model)
        self.norm = nn.LayerNorm(d_model, eps=_LAYER_NORM_EPS)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: Tensor, segments: Tensor | None = None) -> Tensor:
        """``(B, T)`` ids (and segment ids) to ``(B, T, d_model)``."""
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.token(tokens) + self.position(positions)  # (B, T, d)
        x = x + (self.segment.weight[0] if segments is None else self.segment(segments))
        return self.dropout(self.norm(x))


class MaskedLMHead(nn.Module):
    """Dense + GELU + LayerNorm, then scores against the (tied) token embedding plus a bias."""

    def __init__(self, d_model: int, vocab_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(d_model, d_model)
        self.norm = nn.LayerNorm(d_model, eps=_LAYER_NORM_EPS)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, hidden: Tensor, embedding: Tensor) -> Tensor:
        """``(..., d_model)`` hidden states and the ``(V, d_model)`` embedding to ``(..., V)``."""
        x = self.norm(F.gelu(self.dense(hidden)))
        return F.linear(x, embedding, self.bias)


class Bert(nn.Module):
    """The BERT encoder with its masked-language-model and classification heads.

    Args:
        vocab_size: number of tokens (id 0 is ``[PAD]``).
        d_model: hidden width ``H``.
        layers: encoder layers ``L``.
        heads: attention heads ``A``; must divide ``d_model``.
        d_ff: the feed-forward width (``4H`` in the paper).
        max_len: the longest sequence, the number of learned positions.
        num_classes: outputs of the classification head.
        segments: segment (sentence A/B) embeddings.
        dropout: on embeddings, attention weights, sublayer outputs and before the classifier.

    ``forward(tokens, segments=None)`` maps ``(B, T)`` int64 ids, ``T <= max_len``, to hidden
    states ``(B, T, d_model)``; :meth:`mlm_logits` and :meth:`classify` add the heads.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        layers: int,
        heads: int,
        d_ff: int,
        max_len: int,
        num_classes: int = 2,
        segments: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        for name, value in (
            ("vocab_size", vocab_size),
            ("hidden", d_model),
            ("layers", layers),
            ("heads", heads),
            ("d_ff", d_ff),
            ("max_len", max_len),
            ("num_classes", num_classes),
            ("segments", segments),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ClassicnetsError(f"{name} must be a positive integer, got {value!r}.")
        if d_model % heads:
            raise ClassicnetsError(
                f"hidden={d_model} must be a multiple of heads={heads} so every head gets the "
                "same width."
            )
        self.vocab_size, self.max_len = vocab_size, max_len
        self.embeddings = BertEmbeddings(vocab_size, d_model, max_len, segments, dropout)
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(
                d_model,
                heads,
                d_ff,
                dropout,
                "gelu",
                norm_first=False,
                layer_norm_eps=_LAYER_NORM_EPS,
            )
            for _ in range(layers)
        )
        self.mlm_head = MaskedLMHead(d_model, vocab_size)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_model, num_classes))
        self.apply(_init_bert)

    def forward(self, tokens: Tensor, segments: Tensor | None = None) -> Tensor:
        """Hidden states ``(B, T, d_model)``; ``[PAD]`` positions are hidden from every query."""
        if tokens.dim() != 2:
            raise ShapeError(f"BERT takes token ids of shape (B, T), got {tuple(tokens.shape)}.")
        if tokens.shape[1] > self.max_len:
            raise ShapeError(
                f"A sequence of {tokens.shape[1]} tokens is longer than this BERT's max_len of "
                f"{self.max_len}; shorten it or build the model with a larger max_len."
            )
        # (B, 1, 1, T): no query sees a [PAD] key. Built even when nothing is padded: a branch
        # on the data would stop the meta-device summary, tracing and export.
        mask = (tokens != PAD_ID)[:, None, None, :]
        x = self.embeddings(tokens, segments)  # (B, T, d)
        for layer in self.layers:
            x = layer(x, mask)  # (B, T, d)
        return x

    def mlm_logits(self, tokens: Tensor, segments: Tensor | None = None) -> Tensor:
        """Scores of every token at every position, ``(B, T, vocab_size)``."""
        return self.mlm_head(self(tokens, segments), self.embeddings.token.weight)

    def classify(self, tokens: Tensor, segments: Tensor | None = None) -> Tensor:
        """Class scores ``(B, num_classes)`` from the final hidden state of ``[CLS]`` (the
        first token)."""
        return self.classifier(self(tokens, segments)[:, 0])  # (B, num_classes)

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh classification head with ``num_classes`` outputs."""
        linear = self.classifier[1]
        self.classifier[1] = nn.Linear(linear.in_features, num_classes)
        _init_bert(self.classifier[1])

    def encoder_state_dict(self) -> dict[str, Tensor]:
        """The embeddings' and encoder layers' weights: what fine-tuning starts from."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(ENCODER_PARTS)}


def _init_bert(module: nn.Module) -> None:
    """BERT's initialisation: weights from N(0, 0.02) (Google's truncated normal at 2 std differs
    negligibly), zero biases, LayerNorms at (1, 0)."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.trunc_normal_(module.weight, std=_INIT_STD, a=-2 * _INIT_STD, b=2 * _INIT_STD)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, MultiHeadAttention):
        nn.init.trunc_normal_(module.in_proj_weight, std=_INIT_STD, a=-0.04, b=0.04)


@register_model(
    "bert_mini",
    family="BERT",
    year=2019,
    paper="Devlin et al., BERT, 2019 (BERT-Mini size: Turc et al., Well-Read Students, 2019)",
    tags=("sequence", "mlm"),
    input_size=(1, 1, 128),
    num_classes=76,
)
def bert_mini(
    *,
    vocab_size: int = 76,
    max_len: int = 128,
    num_classes: int = 2,
    hidden: int = 256,
    layers: int = 4,
    heads: int = 4,
    d_ff: int | None = None,
    dropout: float = 0.1,
) -> Bert:
    """BERT-Mini (L=4, H=256, A=4, FFN 4H = 1024) over ``vocab_size`` tokens (76: the
    characters of tinyshakespeare and Alice in plain ASCII and four specials, see
    :mod:`classicnets.data.mlm`), reading at most ``max_len`` tokens, with a ``num_classes``
    classification head."""
    return Bert(
        vocab_size,
        hidden,
        layers,
        heads,
        d_ff or 4 * hidden,
        max_len,
        num_classes,
        dropout=dropout,
    )
