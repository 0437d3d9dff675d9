"""The small interface every image classifier answers (as in timm).

``forward_features`` maps images to the last feature maps, ``forward_head`` maps those to class
scores, and ``reset_classifier`` swaps the last layer for a new number of classes, so summaries,
feature-map plots and fine-tuning work the same way for every model.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


class ImageClassifier(nn.Module):
    """A ``features`` trunk followed by a ``head`` whose last layer is the classifier."""

    def __init__(self, features: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.head = head

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    @property
    def num_classes(self) -> int:
        last = self._classifier()
        return last.out_features if isinstance(last, nn.Linear) else last.out_channels

    def _classifier(self) -> nn.Module:
        layers = [m for m in self.head.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
        if not layers:
            raise TypeError(f"{type(self).__name__} has no Linear or Conv2d layer in its head.")
        return layers[-1]

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last Linear (or 1x1 Conv2d) of the head by a fresh one with
        ``num_classes`` outputs."""
        old = self._classifier()
        if isinstance(old, nn.Linear):
            new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
        else:
            new = nn.Conv2d(
                old.in_channels,
                num_classes,
                old.kernel_size,
                old.stride,
                old.padding,
                bias=old.bias is not None,
            )
        if self.head is old:
            self.head = new
            return
        for module in self.head.modules():
            for child_name, child in module.named_children():
                if child is old:
                    setattr(module, child_name, new)
                    return


def pooled_head(channels: int, num_classes: int) -> nn.Sequential:
    """The classifier most of the zoo ends with: global average pooling, flatten, one linear
    layer (``pool``, ``flatten``, ``fc``: (B, C, H, W) -> (B, C, 1, 1) -> (B, C) -> (B, K))."""
    return nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            fc=nn.Linear(channels, num_classes),
        )
    )
