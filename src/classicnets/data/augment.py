"""Data augmentation on the training device, a whole batch at a time.

Each operation takes a batch (N, C, H, W) of uint8 or float images where it already lives and
returns the augmented batch, without a Python loop over examples. An :class:`Augment` chains
them and is built from a short spec, the ``--augment`` flag::

    Augment.parse("crop,flip,cutout")             # pad 4 zero, random flip, 16x16 cutout at 32
    Augment.parse("crop:4:reflect,altflip,cutout:8")

Operations get the epoch and the batch's example indices (positions in the training set) so
that the alternating flip is a fixed function of (example, epoch); the random ones draw from
torch's generator on the batch's device, which the trainer seeds per epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ClassicnetsError, unknown_name


@dataclass(frozen=True)
class RandomCrop:
    """Pad by ``padding`` pixels (``"zero"`` or ``"reflect"``) and cut a random crop of the
    original size: a random shift of up to ``padding`` pixels each way (the CIFAR augmentation
    of He et al. 2016, "Deep Residual Learning", section 4.2)."""

    padding: int = 4
    mode: str = "zero"

    def __call__(self, x: torch.Tensor, epoch: int, indices: torch.Tensor) -> torch.Tensor:
        p = self.padding
        if p == 0:
            return x
        n, _, h, w = x.shape
        if self.mode == "reflect" and p >= min(h, w):
            raise ClassicnetsError(
                f"Reflect padding of {p} pixels needs images larger than {p}x{p}, got {h}x{w}."
            )
        shifts = 2 * p + 1
        dy = torch.randint(0, shifts, (n,), device=x.device)
        dx = torch.randint(0, shifts, (n,), device=x.device)
        if self.mode == "reflect":
            # by slices, which work for uint8 on every device (reflection_pad2d does not)
            padded = _reflect_pad(_reflect_pad(x, p, 2), p, 3)
        elif x.device.type == "cpu":
            return _crop_by_blocks(x, dy, dx, p)  # zero padding never materialised
        else:
            padded = F.pad(x, (p, p, p, p))
        crop = _crop_by_blocks if x.device.type == "cpu" else _crop_by_gather
        return crop(padded, dy, dx, p, padded=True)


def _crop_by_gather(
    x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, p: int, padded: bool = True
) -> torch.Tensor:
    """Crop image i of the padded batch ``x`` at (dy[i], dx[i]) with one gather from a strided
    view of every window, (N, 2p+1, 2p+1, C, H, W): best on a GPU."""
    x = x.contiguous()
    n, c, hp, wp = x.shape
    s0, s1, s2, s3 = x.stride()
    shape = (n, 2 * p + 1, 2 * p + 1, c, hp - 2 * p, wp - 2 * p)
    windows = x.as_strided(shape, (s0, s2, s3, s1, s2, s3))
    return windows[torch.arange(n, device=x.device), dy, dx]


def _crop_by_blocks(
    x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, p: int, padded: bool = False
) -> torch.Tensor:
    """Crop image i at (dy[i], dx[i]) of its padded form: of ``x`` itself when ``padded``,
    else of ``x`` with ``p`` zeros around it, which are never written out.

    On the CPU a gather indexes every byte; instead the rows are shifted, then the columns,
    each time sorting the images by shift so that every shift is one block copy of neighbouring
    images (2p+1 copies per axis), and the images are put back in order at the end: several
    times faster.
    """
    order = torch.arange(len(x), device=x.device)  # original position of each image in x
    for dim, shift in ((2, dy), (3, dx)):
        step = torch.argsort(shift[order])
        order = order[step]
        x = _shift_blocks(x.index_select(0, step), shift[order], p, dim, padded)
    back = torch.empty_like(order)
    back[order] = torch.arange(len(order), device=order.device)
    return x.index_select(0, back)


def _shift_blocks(x: torch.Tensor, shift: torch.Tensor, p: int, dim: int, padded: bool):
    """Window ``shift[i]`` (sorted) of the padded axis ``dim`` for every image, by block copies."""
    size = x.shape[dim] - 2 * p if padded else x.shape[dim]
    shape = list(x.shape)
    shape[dim] = size
    out = x.new_empty(shape)
    start = 0
    for s, count in enumerate(torch.bincount(shift, minlength=2 * p + 1).tolist()):
        if count:
            src, dst = x.narrow(0, start, count), out.narrow(0, start, count)
            if padded:
                dst.copy_(src.narrow(dim, s, size))
            else:  # the part of the window inside the image, and zeros for the rest
                offset = s - p
                length = size - abs(offset)
                dst.narrow(dim, max(0, -offset), length).copy_(
                    src.narrow(dim, max(0, offset), length)
                )
                if offset:
                    dst.narrow(dim, length if offset > 0 else 0, abs(offset)).zero_()
            start += count
    return out


def _reflect_pad(x: torch.Tensor, p: int, dim: int) -> torch.Tensor:
    """Pad ``dim`` by ``p`` on both sides with its mirror image, the edge not repeated."""
    size = x.shape[dim]
    before = x.narrow(dim, 1, p).flip(dim)
    after = x.narrow(dim, size - 1 - p, p).flip(dim)
    return torch.cat([before, x, after], dim)


@dataclass(frozen=True)
class RandomFlip:
    """Mirror each image left-right with probability 1/2."""

    def __call__(self, x: torch.Tensor, epoch: int, indices: torch.Tensor) -> torch.Tensor:
        return _flip_some(x, torch.rand(len(x), device=x.device) < 0.5)


@dataclass(frozen=True)
class AlternatingFlip:
    """Mirror a fixed random half of the examples in even epochs and the other half in odd
    ones, so every example is seen both ways in any two consecutive epochs (the "alternating
    flip" of Jordan 2024, "94% on CIFAR-10 in 3.29 Seconds on a Single GPU", arXiv:2404.00498).

    Which half an example is in comes from a hash of its index and ``seed``, so the schedule
    is the same however the epoch's batches are ordered.
    """

    seed: int = 0

    def __call__(self, x: torch.Tensor, epoch: int, indices: torch.Tensor) -> torch.Tensor:
        return _flip_some(x, (_hash_bit(indices.to(x.device), self.seed) ^ (epoch % 2)).bool())


def _flip_some(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """``x`` with the images where ``chosen`` is True mirrored left-right."""
    mirrored = x.flip(-1)
    flat, flat_mirrored = _words(x), _words(mirrored)
    if flat.dtype != flat_mirrored.dtype:  # x is a view whose offset allows no word view
        flat, flat_mirrored = x.reshape(len(x), -1), mirrored.reshape(len(x), -1)
    return torch.where(chosen.view(-1, 1), flat_mirrored, flat).view(x.dtype).view(x.shape)


def _words(x: torch.Tensor) -> torch.Tensor:
    """``x`` as (N, -1), in 8-byte words where the layout allows: element-wise selection of
    uint8 images is then 8 times fewer, far cheaper elements."""
    flat = x.reshape(len(x), -1)
    if flat.shape[1] * flat.element_size() % 8 == 0:
        try:
            return flat.view(torch.int64)
        except RuntimeError:  # an offset or stride that does not allow the view
            pass
    return flat


def _hash_bit(indices: torch.Tensor, seed: int) -> torch.Tensor:
    """A pseudo-random bit per index: splitmix-style integer mixing in int64 (wrapping)."""
    z = indices.long() * 0x9E3779B1 + seed * 0x85EBCA77 + 0x165667B1
    z = (z ^ (z >> 15)) * 0x2C1B3C6D
    z = (z ^ (z >> 12)) * 0x297A2D39
    return (z ^ (z >> 15)) >> 7 & 1


@dataclass(frozen=True)
class Cutout:
    """Fill one random ``size`` x ``size`` square per image (its centre anywhere in the image,
    so it may be cut by the border) with ``fill`` (DeVries & Taylor 2017, "Improved
    Regularization of Convolutional Neural Networks with Cutout": 16x16 on CIFAR-10).

    ``fill`` is one value per channel for uint8 images (the dataset mean in 0..255, so that the
    square becomes zero after normalisation); None, and float images, get 0.
    """

    size: int = 16
    fill: tuple[float, ...] | None = None

    def __call__(self, x: torch.Tensor, epoch: int, indices: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        cy = torch.randint(0, h, (n, 1), device=x.device)
        cx = torch.randint(0, w, (n, 1), device=x.device)
        ys = torch.arange(h, device=x.device)
        xs = torch.arange(w, device=x.device)
        top, left = cy - self.size // 2, cx - self.size // 2
        in_rows = (ys >= top) & (ys < top + self.size)  # (N, H)
        in_cols = (xs >= left) & (xs < left + self.size)  # (N, W)
        square = (in_rows[:, :, None] & in_cols[:, None, :]).unsqueeze(1).to(x.dtype)
        # float batches are taken to be normalised already: their mean is 0
        fill = self.fill if self.fill and x.dtype == torch.uint8 else (0,) * c
        fill = torch.tensor(fill, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        # arithmetic rather than torch.where: much faster for uint8 on the CPU, never overflows
        return x * (1 - square) + fill * square  # (N, C, H, W)


class Augment:
    """A chain of batch augmentations, applied in order.

    Args:
        ops: callables ``op(x, epoch, indices) -> x``.
        spec: the spec string it was parsed from, if any (for ``repr`` and configs).
    """

    NAMES = ("crop", "flip", "altflip", "cutout")

    def __init__(self, ops: Sequence, spec: str | None = None) -> None:
        self.ops = tuple(ops)
        self.spec = spec

    def __call__(
        self, x: torch.Tensor, *, epoch: int = 0, indices: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Augment a batch.

        Args:
            x: images (N, C, H, W), uint8 or float.
            epoch: the training epoch (0-based), for the alternating flip.
            indices: each image's index in the training set (default 0..N-1).
        """
        if indices is None:
            indices = torch.arange(len(x), device=x.device)
        for op in self.ops:
            x = op(x, epoch, indices)
        return x

    def __add__(self, other: Augment) -> Augment:
        spec = ",".join(s for s in (self.spec, other.spec) if s) or None
        return Augment(self.ops + other.ops, spec)

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return f"Augment({self.spec!r})" if self.spec else f"Augment({list(self.ops)!r})"

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        image_size: int | None = None,
        mean: Sequence[float] | None = None,
        seed: int = 0,
    ) -> Augment:
        """Build from a comma-separated spec: ``crop[:PAD[:zero|reflect]]`` (default pad
        ``image_size // 8``, 4 at 32x32), ``flip``, ``altflip``, ``cutout[:SIZE]`` (default
        half the image side).

        Args:
            spec: e.g. ``"crop,flip,cutout"``.
            image_size: the side of the images, for the default sizes and to check that a
                crop's padding and a cutout fit them (None: the spec's words only, sizes as
                for 32x32).
            mean: the dataset's per-channel mean in [0, 1]; cutout fills uint8 images with it.
            seed: picks the alternating flip's halves.

        Raises:
            ClassicnetsError: an unknown name or a bad number, in one sentence.
        """
        side = image_size or 32
        ops = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            name, *args = item.split(":")
            if name not in cls.NAMES:
                raise unknown_name("augmentation", name, cls.NAMES)
            if name == "crop":
                mode = args[1] if len(args) > 1 else "zero"
                if mode not in ("zero", "reflect") or len(args) > 2:
                    raise ClassicnetsError(
                        f"Augmentation '{item}' should read crop:PAD:zero or crop:PAD:reflect."
                    )
                pad = _number(item, args, max(side // 8, 1))
                if image_size is not None and pad >= image_size:
                    raise ClassicnetsError(
                        f"Augmentation '{item}' pads by {pad} pixels, but the images are "
                        f"{image_size}x{image_size}: a shift of the whole image or more; use a "
                        f"padding below {image_size} (e.g. crop:{max(image_size // 8, 1)})."
                    )
                ops.append(RandomCrop(pad, mode))
            elif name == "cutout":
                fill = tuple(round(m * 255) for m in mean) if mean else None
                size = _number(item, args, max(side // 2, 1))
                if image_size is not None and not 0 < size <= image_size:
                    raise ClassicnetsError(
                        f"Augmentation '{item}' cuts out {size}x{size} squares from "
                        f"{image_size}x{image_size} images; use a size from 1 to {image_size}."
                    )
                ops.append(Cutout(size, fill))
            elif args:
                raise ClassicnetsError(f"Augmentation '{name}' takes no value, got '{item}'.")
            else:
                ops.append(RandomFlip() if name == "flip" else AlternatingFlip(seed))
        if not ops:
            raise ClassicnetsError(
                f"--augment '{spec}' names no augmentation; use e.g. crop,flip,cutout."
            )
        return cls(ops, spec)


def _number(item: str, args: list[str], default: int) -> int:
    if not args or args[0] == "":
        return default
    if not args[0].isdigit():
        raise ClassicnetsError(
            f"Augmentation '{item}' needs a whole number of pixels, got '{args[0]}'."
        )
    return int(args[0])
