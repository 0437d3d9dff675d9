"""Layers shared by the models: convolutional blocks, recurrent cells, attention."""

from .attention import (
    MultiHeadAttention,
    PositionalEncoding,
    causal_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)
from .conv import (
    BasicBlock,
    Bottleneck,
    Concat,
    ConvBNAct,
    DenseBlock,
    DenseLayer,
    Inception,
    Transition,
    conv_chain,
    local_response_norm,
)
from .recurrent import GRU, LSTM, RNN
from .transformer import PositionwiseFFN, TransformerDecoderLayer, TransformerEncoderLayer

__all__: list[str] = [
    "RNN",
    "LSTM",
    "GRU",
    "scaled_dot_product_attention",
    "causal_mask",
    "MultiHeadAttention",
    "sinusoidal_positional_encoding",
    "PositionalEncoding",
    "PositionwiseFFN",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "ConvBNAct",
    "local_response_norm",
    "Concat",
    "conv_chain",
    "Inception",
    "BasicBlock",
    "Bottleneck",
    "DenseLayer",
    "DenseBlock",
    "Transition",
]
