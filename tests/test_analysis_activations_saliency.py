"""Stage outputs for every registered image model, and the three saliency maps checked against
independent computations: occlusion on a model that reads one patch, the input gradient
against autograd, and Grad-CAM against a hand computation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.analysis.activations import stage_modules, stage_outputs
from classicnets.analysis.saliency import (
    class_probabilities,
    default_cam_layer,
    grad_cam,
    gradient_saliency,
    occlusion,
)
from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.models import create_model, list_models, model_info

IMAGE_MODELS = [n for n in list_models() if "sequence" not in model_info(n).tags]
NO_STAGES = {"mlp"}  # its features are a Flatten: no 4-D maps


def _image(channels: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(1, channels, size, size, generator=torch.Generator().manual_seed(seed))


def test_the_registry_has_enough_image_models():
    assert len(IMAGE_MODELS) > 60


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_stage_outputs_for_every_image_model(name):
    size = max(model_info(name).min_image_size, 8)
    model = create_model(name, num_classes=10, in_channels=3, image_size=size, seed=0).eval()
    x = _image(3, size)
    stages = stage_outputs(model, x)
    if name in NO_STAGES:
        assert stages == []
        return
    assert stages, f"{name} has no stages"
    names = [n for n, _ in stages]
    known = dict(model.named_modules())
    assert all(n in known for n in names)
    # Shallow to deep: the order of the feature extractor's children.
    order = [n for n, _ in stage_modules(model)]
    assert names == [n for n in order if n in names]
    assert all(maps.dim() == 4 and maps.shape[0] == 1 for _, maps in stages)
    with torch.no_grad():
        features = model.forward_features(x)
    if names[-1] == order[-1]:  # the extractor ends in a stage: it is forward_features' output
        # equal_nan: a freshly built resnet1202 overflows in eval mode (running stats 0 and 1).
        torch.testing.assert_close(stages[-1][1], features, equal_nan=True)


def test_stage_outputs_are_copied_before_an_in_place_activation():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(144, 2)
    )
    x = _image(1, 8)
    stages = dict(stage_outputs(model, x))
    assert list(stages) == ["0", "1"]  # Flatten and Linear give no 4-D maps
    torch.testing.assert_close(stages["0"], model[0](x).detach())
    assert (stages["0"] < 0).any()  # the ReLU after it did not change it
    torch.testing.assert_close(stages["1"], stages["0"].clamp_min(0))


def test_stage_outputs_restores_training_mode():
    model = create_model("lenet5", num_classes=10, image_size=16, seed=0)
    model.train()
    stage_outputs(model, _image(1, 16)[0])  # one (C, H, W) image works too
    assert model.training


class OnePatch(nn.Module):
    """Two classes; class 0's score reads only rows 2-3, columns 5-6 of the image."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patch = x[:, :, 2:4, 5:7].sum(dim=(1, 2, 3))
        return torch.stack([patch, torch.zeros_like(patch)], dim=1)


def test_occlusion_is_nonzero_exactly_where_the_patch_meets_the_read_region():
    x = torch.ones(1, 1, 10, 10)
    drop = occlusion(OnePatch(), x, target=0, window=3, stride=1)
    assert drop.shape == (8, 8)
    expected = torch.zeros(8, 8, dtype=torch.bool)
    for i in range(8):
        for j in range(8):
            rows, cols = set(range(i, i + 3)), set(range(j, j + 3))
            expected[i, j] = bool(rows & {2, 3}) and bool(cols & {5, 6})
    assert torch.equal(drop != 0, expected)
    # By hand at (1, 4): the patch covers rows 1-3, columns 4-6, so the read score falls from
    # 4 to 0 and the two classes become equally likely.
    base = torch.tensor([4.0, 0.0]).softmax(0)[0]
    torch.testing.assert_close(drop[1, 4], base - 0.5)


def test_occlusion_shape_with_stride_and_batching():
    model = create_model("lenet5_relu", num_classes=10, in_channels=3, image_size=16, seed=0)
    x = _image(3, 16)
    whole = occlusion(model, x, target=3, window=4, stride=3)
    assert whole.shape == ((16 - 4) // 3 + 1, (16 - 4) // 3 + 1)
    torch.testing.assert_close(whole, occlusion(model, x, 3, window=4, stride=3, batch_size=2))
    # Each entry is the probability drop of one occluded copy, computed here directly.
    copy = x.clone()
    copy[:, :, 3:7, 6:10] = 0.0
    with torch.no_grad():
        expected = model.eval()(x).softmax(1)[0, 3] - model(copy).softmax(1)[0, 3]
    torch.testing.assert_close(whole[1, 2], expected)


def test_occlusion_errors():
    model = OnePatch()
    x = torch.ones(1, 1, 10, 10)
    with pytest.raises(ClassicnetsError, match="larger than the 10x10 image"):
        occlusion(model, x, 0, window=11)
    with pytest.raises(ClassicnetsError, match="out of range.*2 classes"):
        occlusion(model, x, 2, window=3)
    with pytest.raises(ClassicnetsError, match="1 or more"):
        occlusion(model, x, 0, window=3, stride=0)
    with pytest.raises(ShapeError, match="one image"):
        occlusion(model, torch.ones(2, 1, 10, 10), 0)


def test_gradient_saliency_equals_autograd():
    model = create_model("lenet5", num_classes=10, in_channels=3, image_size=16, seed=0)
    model.train()  # it must compute in eval mode and give the mode back
    x = _image(3, 16)
    saliency = gradient_saliency(model, x, target=7)
    assert model.training
    model.eval()
    image = x.clone().requires_grad_(True)
    model(image)[0, 7].backward()
    torch.testing.assert_close(saliency, image.grad[0].abs().amax(dim=0))
    assert saliency.shape == (16, 16)
    with pytest.raises(ClassicnetsError, match="target class 10 is out of range"):
        gradient_saliency(model, x, 10)


def _one_stage(inplace: bool, stride: int = 1) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=stride, padding=1),
        nn.ReLU(inplace=inplace),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).eval()


@pytest.mark.parametrize("inplace", [False, True])
def test_grad_cam_matches_a_hand_computation(inplace):
    model = _one_stage(inplace)
    x = _image(2, 6)
    conv, linear = model[0], model[4]
    with torch.no_grad():
        pre = conv(x)  # (1, 4, 6, 6)
        post = pre.clamp_min(0)
    target, positions = 2, 36
    # Through the average pool, d score / d post_k = W[target, k] / positions everywhere.
    weights = linear.weight[target].detach() / positions
    expected = (weights.view(1, 4, 1, 1) * post).sum(1).clamp_min(0)[0]
    assert default_cam_layer(model, x) == "1"  # the ReLU: the deepest stage wider than 1x1
    torch.testing.assert_close(grad_cam(model, x, target), expected)
    # At the convolution the ReLU's gate enters the gradient: mean of W / positions where > 0.
    gated = (weights.view(1, 4, 1, 1) * (pre > 0)).mean(dim=(2, 3), keepdim=True)
    expected_conv = (gated * pre).sum(1).clamp_min(0)[0]
    torch.testing.assert_close(grad_cam(model, x, target, layer="0"), expected_conv)


def test_grad_cam_upsamples_a_coarser_map_to_the_input():
    model = _one_stage(False, stride=2)
    x = _image(2, 6)
    with torch.no_grad():
        post = model[1](model[0](x))  # (1, 4, 3, 3)
    weights = model[4].weight[1].detach().view(1, 4, 1, 1) / 9
    coarse = (weights * post).sum(1, keepdim=True).clamp_min(0)
    expected = F.interpolate(coarse, size=(6, 6), mode="bilinear", align_corners=False)[0, 0]
    torch.testing.assert_close(grad_cam(model, x, 1), expected)


def test_grad_cam_default_layer_skips_one_by_one_maps():
    model = create_model("vgg11", num_classes=10, in_channels=1, image_size=32, seed=0)
    x = _image(1, 32)
    assert stage_outputs(model, x)[-1][0] == "features.pool5"  # 1x1 at 32 px
    assert default_cam_layer(model, x) == "features.conv5_2"  # 2x2
    assert grad_cam(model, x, 0).shape == (32, 32)


def test_grad_cam_errors():
    model = create_model("lenet5", num_classes=10, image_size=16, seed=0)
    x = _image(1, 16)
    with pytest.raises(ClassicnetsError, match="no layer 'featurs.3'.*'features.3'"):
        grad_cam(model, x, 0, layer="featurs.3")
    with pytest.raises(ClassicnetsError, match="not \\(N, C, H, W\\) feature maps"):
        grad_cam(model, x, 0, layer="head.1")
    with pytest.raises(ClassicnetsError, match="out of range"):
        grad_cam(model, x, -1)
    mlp = create_model("mlp", num_classes=10, in_channels=1, image_size=8, seed=0)
    with pytest.raises(ClassicnetsError, match="no 4-D feature maps"):
        grad_cam(mlp, _image(1, 8), 0)


def test_class_probabilities_sum_to_one():
    model = create_model("lenet5", num_classes=10, image_size=16, seed=0)
    probs = class_probabilities(model, _image(1, 16))
    assert probs.shape == (10,)
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
