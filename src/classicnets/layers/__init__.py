"""Layers shared by the models: convolutional blocks, recurrent cells, attention."""

__all__: list[str] = []
