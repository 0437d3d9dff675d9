"""The layers that turn an image into the token sequence of a Vision Transformer and back into
one vector (Dosovitskiy et al., "An Image is Worth 16x16 Words", 2020, section 3.1, eq. 1).

An image is cut into non-overlapping ``P x P`` patches, each flattened and projected linearly to
the model's width: :class:`PatchEmbedding`, a convolution whose kernel and stride are both ``P``,
which computes exactly that projection. :class:`ClassTokenPositions` lays the ``N`` patch
embeddings out as a sequence, puts a learned class token in front and adds learned position
embeddings; after the encoder, :class:`ClassTokenPool` keeps the class token's output for the
classifier. The encoder itself is :class:`classicnets.layers.transformer.TransformerEncoderLayer`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import ShapeError

__all__ = ["patch_grid", "PatchEmbedding", "ClassTokenPositions", "ClassTokenPool"]


def patch_grid(image_size: int, patch_size: int) -> int:
    """How many patches fit along one side of a square image.

    Args:
        image_size: the image's side in pixels.
        patch_size: the patches' side in pixels.

    Returns:
        ``image_size // patch_size``: the grid is that many patches on a side.

    Raises:
        ShapeError: when either is not a positive integer or the patch size does not divide the
            image side (a ViT has no padding, and its positions are learned for a whole grid).
    """
    for name, value in (("image size", image_size), ("patch size", patch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ShapeError(f"The {name} must be a positive integer, got {value!r}.")
    if image_size % patch_size:
        raise ShapeError(
            f"Patch size {patch_size} does not divide the image side {image_size} "
            f"({image_size} = {image_size // patch_size} x {patch_size} + {image_size % patch_size}"
            f"); choose a patch size that divides {image_size} or resize the images."
        )
    return image_size // patch_size


class PatchEmbedding(nn.Module):
    """Project every ``P x P`` patch of an image to a ``dim``-vector, Dosovitskiy et al. (2020)
    eq. 1's ``x_p E``.

    A convolution with kernel and stride ``P`` multiplies each patch, flattened, by one
    ``(C P^2, dim)`` matrix: the paper's linear projection, with its bias. The output keeps the
    patch grid, ``(B, dim, H / P, W / P)``, so feature-map pictures and Grad-CAM can read it as
    a stage; :class:`ClassTokenPositions` flattens it into a sequence.

    Args:
        in_channels: image channels.
        dim: the embedding width (the Transformer's ``D``).
        patch_size: the patches' side ``P``.
        image_size: the side of the square images it takes; ``patch_size`` must divide it.

    Raises:
        ShapeError: when the patch size does not divide the image side.
    """

    def __init__(self, in_channels: int, dim: int, patch_size: int, image_size: int) -> None:
        super().__init__()
        self.grid = patch_grid(image_size, patch_size)
        self.image_size = image_size
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)

    @property
    def num_patches(self) -> int:
        """``N = (H / P) * (W / P)``, the length of the patch sequence."""
        return self.grid * self.grid

    def extra_repr(self) -> str:
        return f"image_size={self.image_size}, patch_size={self.patch_size}, grid={self.grid}"

    def forward(self, x: Tensor) -> Tensor:
        """Map images ``(B, C, H, W)`` to patch embeddings ``(B, dim, H / P, W / P)``."""
        side = self.image_size
        if x.dim() != 4 or x.shape[1] != self.proj.in_channels or x.shape[-2:] != (side, side):
            raise ShapeError(
                f"This Vision Transformer takes images of shape (B, {self.proj.in_channels}, "
                f"{side}, {side}) ({self.grid}x{self.grid} patches of {self.patch_size} px, each "
                f"with a learned position), got {tuple(x.shape)}; resize the images or build the "
                "model for their size."
            )
        return self.proj(x)  # (B, dim, H/P, W/P)


class ClassTokenPositions(nn.Module):
    """The patch grid as a sequence, behind a learned class token, plus learned positions.

    ``z_0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos`` (Dosovitskiy et al. 2020, eq. 1): the
    class token is one learned ``dim``-vector shared by every image, and ``E_pos`` one learned
    vector per place in the sequence, class token included. Both are stored as in timm,
    ``cls_token`` ``(1, 1, dim)`` and ``pos_embed`` ``(1, N + 1, dim)``, and start from a normal
    distribution truncated at two standard deviations of 0.02 (DeiT's initialisation).

    Args:
        num_patches: ``N``, the patches of one image.
        dim: the embedding width.
        dropout: dropout on the sum (the paper's "dropout after every dense layer except the
            qkv-projections and directly after adding positional- to patch embeddings").
    """

    def __init__(self, num_patches: int, dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_patches = num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, dim))
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Both from ``N(0, 0.02^2)`` truncated to ``[-0.04, 0.04]``."""
        for parameter in (self.cls_token, self.pos_embed):
            nn.init.trunc_normal_(parameter, std=0.02, a=-0.04, b=0.04)

    def forward(self, patches: Tensor) -> Tensor:
        """Map the grid ``(B, dim, h, w)`` (``h * w = N``) to tokens ``(B, N + 1, dim)``."""
        batch, dim = patches.shape[0], self.cls_token.shape[-1]
        if patches.dim() != 4 or patches.shape[1] != dim:
            raise ShapeError(
                f"ClassTokenPositions takes a patch grid of shape (B, {dim}, h, w), got "
                f"{tuple(patches.shape)}."
            )
        tokens = patches.flatten(2).transpose(1, 2)  # (B, N, dim), patches in reading order
        if tokens.shape[1] != self.num_patches:
            raise ShapeError(
                f"ClassTokenPositions learned positions for {self.num_patches} patches, got "
                f"{tokens.shape[1]}; build the model for this image size."
            )
        cls = self.cls_token.expand(batch, -1, -1)  # (B, 1, dim)
        tokens = torch.cat([cls, tokens], dim=1)  # (B, N + 1, dim)
        return self.dropout(tokens + self.pos_embed)


class ClassTokenPool(nn.Module):
    """The class token's output, ``(B, T, dim) -> (B, dim)``: the image's representation ``y``
    of Dosovitskiy et al. (2020) eq. 4, which the classifier reads."""

    def forward(self, tokens: Tensor) -> Tensor:
        """Keep position 0 of ``tokens`` ``(B, T, dim)``."""
        if tokens.dim() != 3:
            raise ShapeError(
                f"ClassTokenPool takes tokens of shape (B, T, dim), got {tuple(tokens.shape)}."
            )
        return tokens[:, 0]  # (B, dim)
