"""What a model is made of, found by running it: per-layer shapes, parameters and MACs
(:func:`summary`) and the receptive field of every layer (:func:`receptive_field`)."""

from .receptive import receptive_field
from .summary import LayerRow, Summary, human, layer_macs, summary

__all__ = ["LayerRow", "Summary", "human", "layer_macs", "receptive_field", "summary"]
