"""Vision Transformers (ViT-Ti, ViT-S): published parameter counts, the summary's MACs against
PyTorch's FLOP counter, the small-input form, the patch embedding against the paper's
flatten-and-project, bad patch sizes in one sentence, and a tiny ViT that learns."""

from __future__ import annotations

import importlib

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.analysis import summary
from classicnets.analysis.activations import stage_outputs
from classicnets.cli import main
from classicnets.errors import ShapeError, UnknownNameError
from classicnets.layers.patch_embed import ClassTokenPositions, PatchEmbedding, patch_grid
from classicnets.models import (
    create_model,
    list_models,
    small_input_note,
    vit,  # noqa: F401  (registers)
)
from classicnets.models.vit import VisionTransformer, make_vit

NAMES = ["vit_small", "vit_tiny"]

# At 224 px and 1,000 classes: timm's vit_tiny_patch16_224 and vit_small_patch16_224.
PUBLISHED = {"vit_tiny": 5_717_416, "vit_small": 22_050_664}
# (width, MLP width) of DeiT's Table 1, for the hand count below.
WIDTHS = {"vit_tiny": (192, 768), "vit_small": (384, 1536)}


def _meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


def _tiny(**kwargs) -> VisionTransformer:
    """A ViT small enough to train in a test: 8 px images of four 4 px patches."""
    sizes = dict(image_size=8, patch_size=4, dim=32, depth=2, heads=2, mlp_dim=64, num_classes=4)
    return VisionTransformer(**(sizes | {"in_channels": 1} | kwargs))


def test_registered_in_one_family_and_a_second_import_is_harmless():
    again = importlib.import_module("classicnets.models.vit")  # the module is imported once
    assert again is vit
    assert list_models("ViT") == NAMES


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_published_parameter_count(name, expected):
    model = _meta(name)
    assert sum(p.numel() for p in model.parameters()) == expected
    # The same by hand: patch projection, class token, 197 positions, 12 blocks of
    # (2 LayerNorms, qkv and output projections, MLP), the last LayerNorm and the classifier.
    d, mlp = WIDTHS[name]
    block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * mlp + mlp) + (mlp * d + d)
    by_hand = (3 * 16 * 16 * d + d) + d + 197 * d + 12 * block + 2 * d + (d * 1000 + 1000)
    assert by_hand == expected


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("channels, size", [(1, 28), (3, 32), (3, 224)])
def test_summary_macs_match_pytorchs_flop_counter(name, channels, size):
    # PyTorch's counter sees every matrix product the forward makes, attention's Q K^T and
    # weighted sum of V included, and counts 2 FLOPs per multiply-accumulate.
    result = summary(name, (channels, size, size), num_classes=10)
    model = _meta(name, num_classes=10, in_channels=channels, image_size=size).eval()
    with FlopCounterMode(display=False) as counter, torch.device("meta"):
        model(torch.zeros(1, channels, size, size))
    reference = counter.get_total_flops() / 2
    assert abs(result.total_macs - reference) <= 0.01 * reference, (result.total_macs, reference)
    assert result.total_params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name, giga", [("vit_tiny", 1.3), ("vit_small", 4.6)])
def test_macs_at_224_round_to_the_tabulated_figures(name, giga):
    # DeiT-Ti 1.3 G and DeiT-S 4.6 G "FLOPs" (multiply-adds) in the comparisons of later papers
    # (T2T-ViT, Swin); ours are 1.254 G and 4.599 G.
    assert round(summary(name, (3, 224, 224), num_classes=1000).total_macs / 1e9, 1) == giga


@pytest.mark.parametrize("channels, size, grid", [(1, 28, 7), (3, 32, 8), (3, 224, 14)])
def test_forward_shapes_and_the_timm_interface(channels, size, grid):
    torch.manual_seed(0)
    model = create_model("vit_tiny", num_classes=10, in_channels=channels, image_size=size).eval()
    assert model.grid == grid and model.patch_size == (4 if size < 64 else 16)
    x = torch.randn(2, channels, size, size)
    with torch.no_grad():
        tokens = model.forward_features(x)
        assert tokens.shape == (2, grid * grid + 1, 192)  # the class token, then the patches
        logits = model(x)
        assert logits.shape == (2, 10) and torch.isfinite(logits).all()
        assert torch.equal(model.forward_head(tokens), logits)
        model.reset_classifier(3)
        assert model(x).shape == (2, 3) and model.num_classes == 3
    if size == 28:  # the only row cheap enough to run ViT-S for real as well
        small = create_model("vit_small", num_classes=10, in_channels=1, image_size=28).eval()
        with torch.no_grad():
            assert small(x).shape == (2, 10)


def test_small_input_form_switches_at_64_and_patch_size_overrides_it():
    with torch.device("meta"):
        assert create_model("vit_tiny", image_size=60).patch_size == 4
        assert create_model("vit_tiny", image_size=64).patch_size == 16
        custom = create_model("vit_tiny", num_classes=10, image_size=32, patch_size=8)
    assert custom.grid == 4 and custom.features.tokens.pos_embed.shape == (1, 17, 192)
    assert "small-input form" in small_input_note("vit_tiny", 32)
    assert small_input_note("vit_small", 224) is None


def test_patch_embedding_is_the_papers_flatten_and_project():
    # Eq. 1: each P x P patch, flattened (channel, row, column), times one (C P^2, D) matrix.
    torch.manual_seed(0)
    embed = PatchEmbedding(3, 5, patch_size=4, image_size=8)
    x = torch.randn(2, 3, 8, 8)
    patches = F.unfold(x, kernel_size=4, stride=4).transpose(1, 2)  # (B, N, C P^2)
    projection = embed.proj.weight.reshape(5, -1)  # (D, C P^2)
    expected = patches @ projection.T + embed.proj.bias  # (B, N, D)
    got = embed(x).flatten(2).transpose(1, 2)
    torch.testing.assert_close(got, expected)


def test_class_token_leads_and_positions_are_added():
    torch.manual_seed(0)
    tokens = ClassTokenPositions(num_patches=4, dim=3)
    grid = torch.randn(2, 3, 2, 2)
    out = tokens(grid)
    assert out.shape == (2, 5, 3)
    pos = tokens.pos_embed[0]
    for b in range(2):  # the class token is the same for every image; patches in reading order
        torch.testing.assert_close(out[b, 0], tokens.cls_token[0, 0] + pos[0])
        torch.testing.assert_close(out[b, 1 + 1], grid[b, :, 0, 1] + pos[2])
        torch.testing.assert_close(out[b, 1 + 2], grid[b, :, 1, 0] + pos[3])


def test_positions_change_the_output_so_the_model_sees_where_a_patch_is():
    torch.manual_seed(0)
    model = _tiny().eval()
    x = torch.randn(1, 1, 8, 8)
    swapped = x.clone()  # the top two patches exchanged
    swapped[..., :4, :4], swapped[..., :4, 4:] = x[..., :4, 4:], x[..., :4, :4]
    with torch.no_grad():
        assert not torch.allclose(model(x), model(swapped))
        model.features.tokens.pos_embed.zero_()  # without positions a ViT sees a bag of patches
        torch.testing.assert_close(model(x), model(swapped))


def test_the_patch_embedding_is_the_feature_map_stage():
    model = _tiny().eval()
    stages = stage_outputs(model, torch.randn(1, 8, 8))
    assert [(name, tuple(maps.shape)) for name, maps in stages] == [
        ("features.patch_embed", (1, 32, 2, 2))
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image_size": 30}, "Patch size 4 does not divide the image side 30"),
        ({"image_size": 224, "patch_size": 15}, "Patch size 15 does not divide the image side 224"),
        ({"image_size": 32, "patch_size": 0}, "patch size must be a positive integer, got 0"),
    ],
)
def test_a_patch_size_that_does_not_divide_the_image_is_one_sentence(kwargs, message):
    with pytest.raises(ShapeError, match=message) as caught:
        create_model("vit_tiny", num_classes=10, **kwargs)
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")


def test_an_image_of_another_size_is_refused():
    model = create_model("vit_tiny", num_classes=10, image_size=32)
    with pytest.raises(ShapeError, match=r"images of shape \(B, 3, 32, 32\).*got \(1, 3, 28, 28\)"):
        model(torch.zeros(1, 3, 28, 28))
    with pytest.raises(UnknownNameError, match="ViT size"):
        make_vit("base")
    assert patch_grid(224, 16) == 14


def test_the_cli_refuses_a_patch_size_that_does_not_fit(tmp_path, capsys):
    argv = ["train", "vit_tiny", "--image-size", "30", "--limit", "8", "--epochs", "1"]
    code = main([*argv, "--out", str(tmp_path / "run")])
    err = " ".join(capsys.readouterr().err.split())
    assert code != 0
    assert "Patch size 4 does not divide the image side 30" in err


def test_a_tiny_vit_learns_and_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    model = _tiny().train()
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 4, (32,))
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing  # the class token and the positions included
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    first = loss.item()
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first, (first, loss.item())
