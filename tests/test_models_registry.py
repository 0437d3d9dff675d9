"""Registry-driven checks: every registered model builds at small inputs, runs forward without
NaN, gives every parameter a gradient and answers the forward_features / forward_head /
reset_classifier interface."""

from __future__ import annotations

import pytest
import torch

from classicnets.errors import ClassicnetsError, ShapeError, UnknownNameError
from classicnets.models import create_model, list_models, model_info, register_model

NUM_CLASSES = 10
ALL = [n for n in list_models() if "sequence" not in model_info(n).tags]  # the image models
TINY = 12  # real forward and backward passes run at this size (or the model's minimum)


@pytest.fixture(autouse=True)
def _one_thread():
    # On tiny inputs, thread start-up and synchronisation cost more than the arithmetic, and
    # far more on a busy machine: one thread runs these tests many times faster.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _size(name: str, wanted: int) -> int:
    return max(wanted, model_info(name).min_image_size)


def _outputs(out) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name", ALL)
def test_shapes_at_mnist_and_cifar_sizes(name):
    # On the meta device the forward computes shapes only: cheap even for 200-layer nets.
    # Training mode runs the auxiliary classifiers too.
    for channels, wanted, training in ((1, 28, True), (3, 32, False)):
        size = _size(name, wanted)
        with torch.device("meta"):
            model = create_model(
                name, num_classes=NUM_CLASSES, in_channels=channels, image_size=size
            )
            outputs = _outputs(model.train(training)(torch.zeros(2, channels, size, size)))
        assert all(out.shape == (2, NUM_CLASSES) for out in outputs)


@pytest.mark.parametrize("name", ALL)
def test_forward_backward_features_head_and_reset(name):
    torch.manual_seed(0)
    size = _size(name, TINY)
    model = create_model(name, num_classes=NUM_CLASSES, in_channels=3, image_size=size)
    x = torch.randn(2, 3, size, size)
    outputs = _outputs(model.train()(x))
    for out in outputs:  # GoogLeNet and Inception-v3 add auxiliary logits in training
        assert out.shape == (2, NUM_CLASSES)
        assert torch.isfinite(out).all()
    sum(out.square().mean() for out in outputs).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{name}: no gradient for {missing[:5]}"

    model.eval()
    with torch.no_grad():
        out = model(x)
        assert torch.equal(model.forward_head(model.forward_features(x)), out)
        model.reset_classifier(3)
        assert model(x).shape == (2, 3)
    assert model.num_classes == 3


@pytest.mark.parametrize("name", [n for n in ALL if model_info(n).min_image_size > 1])
def test_min_image_size_is_exact(name):
    minimum = model_info(name).min_image_size
    with pytest.raises(ShapeError, match=f"at least {minimum}x{minimum}"):
        create_model(name, num_classes=NUM_CLASSES, image_size=minimum - 1)
    with torch.device("meta"):  # shapes only: runs the forward without computing it
        model = create_model(name, num_classes=NUM_CLASSES, image_size=minimum).train()
        channels = model_info(name).input_size[0]
        outputs = _outputs(model(torch.zeros(2, channels, minimum, minimum)))
    assert all(out.shape == (2, NUM_CLASSES) for out in outputs)


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_auxiliary_logits_only_in_training(name):
    size = _size(name, TINY)
    model = create_model(name, num_classes=NUM_CLASSES, image_size=size)
    assert model.aux_loss_weight == 0.3
    x = torch.randn(2, 3, size, size)
    outputs = model.train()(x)
    assert isinstance(outputs, tuple)
    assert len(outputs) == (3 if name == "googlenet" else 2)
    with torch.no_grad():
        assert isinstance(model.eval()(x), torch.Tensor)
    model.reset_classifier(4)
    assert all(out.shape == (2, 4) for out in model.train()(x))
    plain = create_model(name, num_classes=NUM_CLASSES, image_size=size, aux_logits=False)
    assert isinstance(plain.train()(x), torch.Tensor)


def test_small_input_forms_switch_at_64():
    resnet_small = create_model("resnet18", num_classes=NUM_CLASSES, image_size=32)
    resnet_native = create_model("resnet18", num_classes=NUM_CLASSES, image_size=64)
    assert resnet_small.features.stem.conv.conv.kernel_size == (3, 3)
    assert not hasattr(resnet_small.features.stem, "pool")
    assert resnet_native.features.stem.conv.conv.kernel_size == (7, 7)
    with torch.no_grad():  # the CIFAR stem keeps a 32 px image at 4x4 in the last stage
        assert resnet_small.eval().forward_features(torch.zeros(1, 3, 32, 32)).shape[-1] == 4
    nin_small = create_model("nin", num_classes=NUM_CLASSES, image_size=63)
    assert nin_small.features.block1[0].conv.kernel_size == (5, 5)  # the paper's CIFAR net
    vgg = create_model("vgg11", num_classes=NUM_CLASSES, image_size=32)
    assert vgg.head.fc6.in_features == 512  # classifier sized to the 1x1 map


def test_zero_init_residual_zeroes_last_norm():
    model = create_model(
        "resnet50", num_classes=NUM_CLASSES, image_size=32, zero_init_residual=True
    )
    block = model.features.layer1[0]
    assert torch.count_nonzero(block.last_norm().weight) == 0
    with torch.no_grad():  # each block starts as relu(x + shortcut(x))
        x = torch.randn(1, 64, 8, 8)
        assert torch.allclose(block.eval()(x), torch.relu(block.shortcut(x)))


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'resnet18'"):
        create_model("resnet19")


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_model("resnet18", family="ResNet")(lambda **kwargs: None)
    assert model_info("resnet18").family == "ResNet"


def test_zero_classes_is_one_sentence():
    with pytest.raises(ClassicnetsError, match="at least one class"):
        create_model("vgg11", num_classes=0)
