"""Convolution arithmetic from first principles: what a convolutional layer computes, what shape
comes out, what each output cell sees, and the classic hand-made kernels. Pure: nothing here
knows the models (walking a model's layers is :mod:`classicnets.analysis`)."""

from . import kernels
from .conv import conv2d
from .corr import convolve2d, corr2d, corr2d_multi_in, corr2d_multi_in_out
from .corr1d import conv1d, conv1d_output_size, corr1d
from .explain import explain_corr2d, explain_pool2d
from .kernels import apply_kernel, get_kernel, list_kernels
from .pool import pool2d
from .receptive import LayerField
from .separable import (
    SeparableCost,
    after_shuffle,
    conv_cost,
    grouped_connections,
    separable_cost,
    shuffle_order,
)
from .shapes import conv_output_size, same_padding

__all__ = [
    "LayerField",
    "SeparableCost",
    "after_shuffle",
    "conv_cost",
    "grouped_connections",
    "separable_cost",
    "shuffle_order",
    "apply_kernel",
    "conv1d",
    "conv1d_output_size",
    "conv2d",
    "corr1d",
    "conv_output_size",
    "convolve2d",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "explain_corr2d",
    "explain_pool2d",
    "get_kernel",
    "kernels",
    "list_kernels",
    "pool2d",
    "same_padding",
]
