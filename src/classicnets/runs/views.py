"""A trained run opened for looking inside: its model, its data split by split, and one image
prepared exactly as training prepared its images (for ``classicnets viz`` and ``serve``)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import torch

from ..data import ImageDataset
from ..errors import ClassicnetsError
from ..train.model import Model
from .config import ImageRunConfig
from .image import load_splits
from .kinds import model_kind
from .pipeline import load_run
from .predict import read_image
from .rundir import OpenedRun


@dataclass
class Sample:
    """One image as the model takes it: ``raw`` uint8 (C, H, W) to show, ``x`` the prepared
    float batch of one (1, C, H, W), its ``label`` when it comes from the data, and where it
    came from in words."""

    raw: torch.Tensor
    x: torch.Tensor
    label: int | None
    caption: str


@dataclass
class RunView:
    """A run's kept checkpoint and what it was trained on."""

    opened: OpenedRun
    model: Model

    @property
    def kind(self) -> str:
        """The run's kind (``image``, ``text``, ``seq2seq``, ``tagging``): its config's, or
        for a lone checkpoint its trainer's."""
        if self.opened.config is not None:
            return self.opened.config.KIND
        return model_kind(self.model)

    @property
    def model_name(self) -> str:
        if self.opened.config is not None:
            return getattr(self.opened.config, "module", None) or self.opened.config.model
        return getattr(self.model.module, "registry_name", None) or type(self.model.module).__name__

    @property
    def data_name(self) -> str | None:
        if self.opened.config is not None:
            return self.opened.config.data
        return self.model.data_name

    def title(self, split: str | None = None) -> str:
        """``"lenet5 on digits (test split)"``: what every picture of the run is titled."""
        data = f" on {self.data_name}" if self.data_name else ""
        return f"{self.model_name}{data}" + (f" ({split} split)" if split else "")

    def split(self, name: str = "test") -> ImageDataset:
        """The run's ``train``, ``val`` or ``test`` images, at the size the model took."""
        if self.kind != "image":
            raise ClassicnetsError(f"{self.title()} is a text run; it has no image splits.")
        config = self.opened.config
        if not isinstance(config, ImageRunConfig):
            raise ClassicnetsError(
                f"{self.opened.checkpoint} is a lone checkpoint, not a run directory; its data "
                "is not recorded, so there is no split to draw from."
            )
        size = self.model.input_shape[-1] if self.model.input_shape else config.image_size
        splits = load_splits(config, size)
        part = {"train": splits.train, "val": splits.val, "test": splits.test}[name]
        if part is None:
            raise ClassicnetsError(
                "This run has no validation split (it trained with --val-split 0)."
            )
        return part

    def prepare(self, raw: torch.Tensor) -> torch.Tensor:
        """uint8 images (N, C, H, W) as the model's first layer saw them in training: scaled,
        normalised by the training mean and std, float32 and contiguous."""
        x = self.model.prepare_inputs(raw)
        return x.float().contiguous()

    def sample(
        self, *, index: int | None = None, image: str | os.PathLike | None = None, split="test"
    ) -> Sample:
        """Image ``index`` of a split (default the first), or an image file prepared as
        ``classicnets predict`` prepares it."""
        if image is not None and index is not None:
            raise ClassicnetsError("Give --image or --index, not both.")
        if image is not None:
            if not self.model.input_shape:
                raise ClassicnetsError("The checkpoint does not record the image shape it takes.")
            raw = read_image(str(image), self.model.input_shape)
            return Sample(raw, self.prepare(raw[None]), None, f"image {image}")
        part = self.split(split)
        index = 0 if index is None else index
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(part):
            raise ClassicnetsError(
                f"--index {index} is out of range: the {split} split has {len(part):,} images "
                f"(0 to {len(part) - 1:,})."
            )
        raw = part.images[index]
        label = int(part.labels[index])
        caption = f"{split} image {index} ({part.classes[label]})"
        return Sample(raw, self.prepare(raw[None]), label, caption)

    def class_names(self) -> tuple[str, ...]:
        if self.model.classes:
            return tuple(self.model.classes)
        return tuple(str(i) for i in range(self._outputs()))

    def _outputs(self) -> int:
        with torch.no_grad():
            shape = self.model.input_shape or (1, 28, 28)
            return int(self.model.module(torch.zeros(1, *shape)).shape[-1])

    def options(self) -> dict[str, Any]:
        """The run's config as a dict (empty for a lone checkpoint)."""
        config = self.opened.config
        return dataclasses.asdict(config) if config is not None else {}


def open_view(path: str | os.PathLike, *, device: str = "cpu") -> RunView:
    """Open a run directory (its ``best`` checkpoint, else ``last``) or a checkpoint, in eval
    mode on ``device``.

    Raises:
        ClassicnetsError: nothing there, no checkpoint in it, or a damaged one (named).
    """
    opened, model = load_run(path, device=device)
    model.module.eval()
    return RunView(opened, model)
