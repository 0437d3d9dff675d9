"""Layers shared by the models: convolutional blocks (the classic and the light-weight nets'),
recurrent cells, attention."""

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
from .darknet import CSPStage, DarknetResidual
from .dense_plain import PlainDenseBlock, PlainDenseLayer, dense_block_channels
from .fire import Fire
from .ghost import GhostBottleneck, GhostModule
from .inverted_residual import InvertedResidual
from .mbconv import FusedMBConv, MBConv
from .mobile import DepthwiseSeparable, SqueezeExcite, make_divisible
from .naive_inception import NaiveInception, conv_vs_inception, inception_costs
from .recurrent import GRU, LSTM, RNN
from .residual import Residual, StochasticDepth
from .shuffle import ShuffleV1Unit, ShuffleV2Unit, channel_shuffle
from .transformer import PositionwiseFFN, TransformerDecoderLayer, TransformerEncoderLayer

__all__: list[str] = [
    "NaiveInception",
    "inception_costs",
    "conv_vs_inception",
    "PlainDenseLayer",
    "PlainDenseBlock",
    "dense_block_channels",
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
    "make_divisible",
    "SqueezeExcite",
    "DepthwiseSeparable",
    "InvertedResidual",
    "Residual",
    "StochasticDepth",
    "MBConv",
    "FusedMBConv",
    "Fire",
    "channel_shuffle",
    "ShuffleV1Unit",
    "ShuffleV2Unit",
    "GhostModule",
    "GhostBottleneck",
    "DarknetResidual",
    "CSPStage",
]
