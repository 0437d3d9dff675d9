"""Vision Transformers: an image as a sequence of patches, read by a Transformer encoder.

Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", section 3.1: cut the image into ``P x P`` patches, project each linearly, put a learned
class token in front, add learned position embeddings (eq. 1), run ``L`` pre-norm encoder blocks
of multi-head self-attention and a GELU MLP (eqs. 2-3), apply a last LayerNorm and classify the
class token's output (eq. 4). The sizes Ti and S are those of Touvron et al. 2021, "Training
data-efficient image transformers & distillation through attention" (DeiT), Table 1:

==========  =====  =====  =====  ========  ===========================
name        width  depth  heads  MLP       parameters (224 px, 1000)
==========  =====  =====  =====  ========  ===========================
vit_tiny    192    12     3      768       5,717,416 (5.7 M)
vit_small   384    12     6      1536      22,050,664 (22.1 M)
==========  =====  =====  =====  ========  ===========================

The counts are timm's ``vit_tiny_patch16_224`` and ``vit_small_patch16_224`` exactly: biases on
the query, key and value projections and LayerNorm's epsilon 1e-6, as there.

Natively the patches are 16 px at 224 px (a 14x14 grid, 196 patches). Below 64 px the builders
make the small-input form that ViTs trained from scratch on CIFAR use: 4 px patches, so a 32 px
image is an 8x8 grid of 64 patches and a 28 px one 7x7; at 16 px patches it would be 2x2.
``patch_size`` overrides either; it must divide the image side.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..errors import unknown_name
from ..layers.attention import MultiHeadAttention
from ..layers.patch_embed import ClassTokenPool, ClassTokenPositions, PatchEmbedding
from ..layers.transformer import TransformerEncoderLayer
from ._base import ImageClassifier
from ._registry import register_model

_PAPER = (
    "Dosovitskiy et al., An Image is Worth 16x16 Words: Transformers for Image Recognition at "
    "Scale, 2020 (sizes Ti and S: Touvron et al., DeiT, 2021)"
)
SMALL_INPUT = 64  # images under this side get the small-input form (4 px patches)
NATIVE_PATCH = 16  # the paper's ViT-*/16 at 224 px
SMALL_PATCH = 4  # 8x8 patches of a CIFAR image, 7x7 of an MNIST one
LAYER_NORM_EPS = 1e-6  # as the reference (JAX) models and timm

# DeiT Table 1: (width D, depth L, heads, MLP width); the head width D / heads is 64 in both.
SIZES: dict[str, tuple[int, int, int, int]] = {
    "tiny": (192, 12, 3, 768),
    "small": (384, 12, 6, 1536),
}


class VisionTransformer(ImageClassifier):
    """Patch embedding, class token and positions, pre-norm encoder blocks, LayerNorm: the
    ``features``; the class token's output and a linear classifier: the ``head``.

    ``forward_features`` returns every token after the last LayerNorm, ``(B, N + 1, dim)``, as
    timm's ViTs do; ``forward_head`` keeps the class token and classifies it.

    Args:
        image_size: side of the square images it takes.
        patch_size: side of the patches; must divide ``image_size``.
        dim: the width ``D`` of every token.
        depth: the number of encoder blocks ``L``.
        heads: attention heads per block; must divide ``dim``.
        mlp_dim: the hidden width of each block's MLP.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        dropout: dropout after the positions are added, on the attention weights, inside the
            MLP and on each block's two branches (0.1 in the paper's ImageNet runs, 0 in DeiT's).

    Raises:
        ShapeError: when ``patch_size`` does not divide ``image_size``.
        ClassicnetsError: when ``heads`` does not divide ``dim``.
    """

    def __init__(
        self,
        *,
        image_size: int,
        patch_size: int,
        dim: int,
        depth: int,
        heads: int,
        mlp_dim: int,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.0,
    ) -> None:
        embedding = PatchEmbedding(in_channels, dim, patch_size, image_size)
        blocks = [
            TransformerEncoderLayer(
                dim,
                heads,
                mlp_dim,
                dropout,
                activation="gelu",
                norm_first=True,
                layer_norm_eps=LAYER_NORM_EPS,
            )
            for _ in range(depth)
        ]
        features = nn.Sequential(
            OrderedDict(
                patch_embed=embedding,  # (B, D, H/P, W/P)
                tokens=ClassTokenPositions(embedding.num_patches, dim, dropout),  # (B, N+1, D)
                blocks=nn.Sequential(*blocks),  # (B, N+1, D)
                norm=nn.LayerNorm(dim, eps=LAYER_NORM_EPS),
            )
        )
        head = nn.Sequential(
            OrderedDict(
                pool=ClassTokenPool(),  # (B, D)
                fc=nn.Linear(dim, num_classes),  # (B, num_classes)
            )
        )
        super().__init__(features, head)
        self.image_size = image_size
        self.patch_size = patch_size
        _init_weights(self)

    @property
    def grid(self) -> int:
        """Patches along one side of the image."""
        return self.features.patch_embed.grid


def _init_weights(model: nn.Module) -> None:
    """DeiT's (and timm's) initialisation: every dense weight, the query, key and value
    projections included, from ``N(0, 0.02^2)`` truncated at two standard deviations, biases
    zero, LayerNorms at 1 and 0. The patch projection keeps PyTorch's default for a
    convolution, as there; the class token and positions initialise themselves."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02, a=-0.04, b=0.04)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, MultiHeadAttention):
            nn.init.trunc_normal_(module.in_proj_weight, std=0.02, a=-0.04, b=0.04)
            if module.in_proj_bias is not None:
                nn.init.zeros_(module.in_proj_bias)


def make_vit(
    size: str,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    patch_size: int | None = None,
    dropout: float = 0.0,
) -> VisionTransformer:
    """Build the ViT of one row of :data:`SIZES`.

    Args:
        size: ``"tiny"`` or ``"small"``.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the small-input form (4 px patches).
        patch_size: the patches' side; by default 16 px, or 4 px under 64 px.
        dropout: see :class:`VisionTransformer`.

    Returns:
        The network.

    Raises:
        ShapeError: when the patch size does not divide the image side.
        UnknownNameError: for a size not in :data:`SIZES`.
    """
    if size not in SIZES:
        raise unknown_name("ViT size", size, SIZES)
    dim, depth, heads, mlp_dim = SIZES[size]
    if patch_size is None:
        patch_size = SMALL_PATCH if image_size < SMALL_INPUT else NATIVE_PATCH
    return VisionTransformer(
        image_size=image_size,
        patch_size=patch_size,
        dim=dim,
        depth=depth,
        heads=heads,
        mlp_dim=mlp_dim,
        num_classes=num_classes,
        in_channels=in_channels,
        dropout=dropout,
    )


_VIT = {"family": "ViT", "year": 2020, "paper": _PAPER, "small_input_below": SMALL_INPUT}


@register_model("vit_tiny", **_VIT)
def vit_tiny(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    patch_size: int | None = None,
    dropout: float = 0.0,
) -> VisionTransformer:
    """ViT-Ti/16 (DeiT-Ti): width 192, 12 blocks of 3 heads, MLP 768; 5,717,416 parameters at
    224 px and 1000 classes (timm ``vit_tiny_patch16_224``) and 1.25 G MACs."""
    return make_vit(
        "tiny",
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        patch_size=patch_size,
        dropout=dropout,
    )


@register_model("vit_small", **_VIT)
def vit_small(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    patch_size: int | None = None,
    dropout: float = 0.0,
) -> VisionTransformer:
    """ViT-S/16 (DeiT-S): width 384, 12 blocks of 6 heads, MLP 1536; 22,050,664 parameters at
    224 px and 1000 classes (timm ``vit_small_patch16_224``) and 4.60 G MACs."""
    return make_vit(
        "small",
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        patch_size=patch_size,
        dropout=dropout,
    )
