"""The in-memory image dataset every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class ImageDataset:
    """A whole split of an image dataset held as tensors.

    Attributes:
        name: registry name, e.g. ``"mnist"``.
        split: ``"train"``, ``"val"`` (carved from train) or ``"test"``.
        images: uint8 tensor (N, C, H, W).
        labels: int64 tensor (N,).
        classes: class names, index = label.
        mean: per-channel mean of the training images, in [0, 1].
        std: per-channel standard deviation of the training images, in [0, 1].
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise TypeError(
                f"images must be uint8 (N, C, H, W), got {self.images.dtype} "
                f"{tuple(self.images.shape)}"
            )
        if self.labels.dtype != torch.int64 or self.labels.shape != (len(self.images),):
            raise TypeError("labels must be int64 (N,) with one label per image")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def resized(self, size: int) -> ImageDataset:
        """The same dataset with every image resized to ``size`` x ``size`` (bilinear,
        antialiased when shrinking), still uint8."""
        if size <= 0:
            raise ValueError(f"image size must be positive, got {size}")
        if self.images.shape[-2:] == (size, size):
            return self
        chunks = []
        for start in range(0, len(self.images), 8192):  # bounded memory for big sets
            x = self.images[start : start + 8192].float()
            x = F.interpolate(
                x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
            chunks.append(x.round_().clamp_(0, 255).to(torch.uint8))
        return replace(self, images=torch.cat(chunks))

    def subset(self, indices: torch.Tensor | slice, split: str | None = None) -> ImageDataset:
        """Some of the examples (a validation split, a quick test), named ``split`` if given."""
        return replace(
            self,
            images=self.images[indices],
            labels=self.labels[indices],
            split=split or self.split,
        )

    def validation_split(
        self, fraction: float = 0.1, seed: int = 0
    ) -> tuple[ImageDataset, ImageDataset]:
        """``(train, val)``: a stratified share ``fraction`` of every class, fixed by
        ``seed``, becomes the ``"val"`` split (see :mod:`classicnets.data.splits`)."""
        from .splits import stratified_split

        train, val = stratified_split(self.labels, fraction, seed, self.classes)
        return self.subset(train), self.subset(val, split="val")
