"""Convolution arithmetic from first principles."""

from .shapes import conv_output_size

__all__ = ["conv_output_size"]
