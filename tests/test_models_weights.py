"""Weights trained elsewhere: torchvision's (and timm's) models, built here with random weights,
load into ours through models.weights and give the same outputs.

torchvision's PyPI wheel is linked against CUDA torch, so beside our CPU torch its C++ ops
(nms, roi_align, ...) do not load and its import stops at the first Python registration for
them. Its model definitions are pure Python and need none of those ops: `make test-packages`
installs torchvision and timm with --no-deps into .venv/test-packages, which only these tests put
on sys.path, and :func:`reference` declares the two op schemas torchvision registers fake
kernels for without checking that its library loaded. Without them the tests skip, except under
CI=true, where they fail."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from _threads import one_thread  # noqa: F401
from classicnets.errors import ClassicnetsError, CorruptFileError
from classicnets.models import create_model, list_models
from classicnets.models.weights import load_weights, map_state_dict

# torchvision's GoogLeNet and Inception-v3 warn that their default initialisation will change
pytestmark = pytest.mark.filterwarnings("ignore:The default weight initialization:FutureWarning")

TEST_PACKAGES = Path(__file__).resolve().parents[1] / ".venv" / "test-packages"

# The schemas that torchvision/_meta_registrations.py registers fake kernels for unconditionally.
_UNGUARDED_OPS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_stub_library = None  # kept alive: dropping a torch.library.Library removes its definitions


def _import_torchvision():
    global _stub_library
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
    # The failed import registered nothing (its other registrations check that the ops
    # loaded); forget its half-imported modules and import it again over the declared schemas.
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    _stub_library = torch.library.Library("torchvision", "DEF")
    for schema in _UNGUARDED_OPS:
        _stub_library.define(schema)
    return importlib.import_module("torchvision")


def reference(name: str):
    """``torchvision`` or ``timm`` imported from .venv/test-packages, or the test skips (fails
    under CI=true) saying why."""
    if TEST_PACKAGES.is_dir() and str(TEST_PACKAGES) not in sys.path:
        sys.path.append(str(TEST_PACKAGES))
    try:
        torchvision = _import_torchvision()
        return torchvision if name == "torchvision" else importlib.import_module(name)
    except Exception as error:  # ImportError, or a torchvision that does not fit this torch
        message = (
            f"{name} cannot be imported here ({type(error).__name__}: {error}); "
            "`make test-packages` installs it into .venv/test-packages"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + "; CI must run these tests")
        pytest.skip(message)


# Every model that torchvision and classicnets both define, and the image side it is compared
# at (at least our small_input_below, so ours is the ImageNet network). Large ones are slow.
SLOW = pytest.mark.slow
SAME_ARCHITECTURE = [
    *[(f"resnet{d}", 64) for d in (18, 50)],
    *[pytest.param(f"resnet{d}", 64, marks=SLOW) for d in (34, 101, 152)],
    ("vgg11", 224),
    *[pytest.param(n, 224, marks=SLOW) for n in ("vgg11_bn", "vgg13", "vgg13_bn", "vgg16")],
    *[pytest.param(n, 224, marks=SLOW) for n in ("vgg16_bn", "vgg19", "vgg19_bn")],
    ("densenet121", 64),
    *[pytest.param(f"densenet{d}", 64, marks=SLOW) for d in (161, 169, 201)],
    ("squeezenet1_0", 64),
    ("squeezenet1_1", 64),
    ("mobilenet_v2", 64),
    ("mobilenet_v3_large", 64),
    ("mobilenet_v3_small", 64),
    *[(f"shufflenet_v2_x{w}", 64) for w in ("0_5", "1_0", "1_5", "2_0")],
    *[(f"efficientnet_b{i}", 64) for i in range(3)],
    *[pytest.param(f"efficientnet_b{i}", 64, marks=SLOW) for i in range(3, 8)],
    ("efficientnet_v2_s", 64),
    *[pytest.param(f"efficientnet_v2_{s}", 64, marks=SLOW) for s in ("m", "l")],
    pytest.param("inception_v3", 75, marks=SLOW),
]
# Same names, other networks: ours are the papers', torchvision's are later variants.
DIFFERENT_ARCHITECTURE = {
    "alexnet": "torchvision's is the one-GPU variant of 64-192-384-256-256 filters",
    "googlenet": "torchvision's adds batch norm",
}


def _name(param) -> str:
    return param.values[0] if hasattr(param, "values") else param[0]


def _randomise(module: torch.nn.Module, seed: int = 0) -> None:
    """Every weight and statistic made distinct, so a swapped pair changes the output (fresh
    batch-norm layers are all ones and zeros, alike whichever way they pair)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if key.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:
                scale = torch.rand(tensor.shape, generator=generator) + 0.5
                noise = torch.randn(tensor.shape, generator=generator) * 0.05
                tensor.mul_(scale).add_(noise)


def _pair(torchvision, name: str, size: int, num_classes: int = 10):
    theirs = torchvision.models.get_model(name, num_classes=num_classes).eval()
    _randomise(theirs)
    ours = create_model(name, num_classes=num_classes, image_size=size, seed=0).eval()
    return theirs, ours


def _assert_same_outputs(theirs, ours, size: int) -> None:
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


@pytest.fixture(scope="module")
def torchvision():
    return reference("torchvision")


def test_the_tables_name_every_model_both_libraries_define(torchvision):
    both = set(list_models()) & set(torchvision.models.list_models(module=torchvision.models))
    assert both == {_name(p) for p in SAME_ARCHITECTURE} | set(DIFFERENT_ARCHITECTURE)


@pytest.mark.parametrize("name, size", SAME_ARCHITECTURE)
def test_torchvision_weights_give_torchvision_outputs(torchvision, name, size, tmp_path):
    theirs, ours = _pair(torchvision, name, size)
    load_weights(ours, theirs.state_dict())  # "auto" tells torchvision's layout from ours
    _assert_same_outputs(theirs, ours, size)
    _assert_same_from_safetensors(theirs, ours, size, tmp_path, "torchvision")


def _assert_same_from_safetensors(theirs, ours, size, tmp_path, source) -> None:
    """The same weights through a safetensors file, which keeps the names but not the order."""
    path = tmp_path / "theirs.safetensors"
    save_file({k: v.clone().contiguous() for k, v in theirs.state_dict().items()}, path)
    for tensor in ours.state_dict().values():
        if tensor.is_floating_point():
            tensor.zero_()  # nothing of the first load survives
    load_weights(ours, path, source=source)
    _assert_same_outputs(theirs, ours, size)


def test_create_model_loads_a_torchvision_file(torchvision, tmp_path):
    theirs, _ = _pair(torchvision, "resnet18", 64)
    # An old torchvision file: no batch-norm step counters, and wrapped as training scripts do.
    state = {k: v for k, v in theirs.state_dict().items() if not k.endswith("batches_tracked")}
    torch.save({"state_dict": state}, tmp_path / "resnet18.pth")
    ours = create_model(
        "resnet18", num_classes=10, image_size=64, weights=tmp_path / "resnet18.pth"
    )
    _assert_same_outputs(theirs, ours.eval(), 64)
    # safetensors keeps names only: the creation order is found again from them
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "resnet18.safetensors")
    ours = create_model(
        "resnet18", num_classes=10, image_size=64, weights=tmp_path / "resnet18.safetensors"
    )
    _assert_same_outputs(theirs, ours.eval(), 64)
    with pytest.raises(ClassicnetsError, match="has 102 weight tensors and the model 182"):
        create_model("resnet34", num_classes=10, weights=tmp_path / "resnet18.safetensors")
    with pytest.raises(ClassicnetsError, match="no order of the file's 102 tensors"):
        create_model("resnet18", num_classes=7, weights=tmp_path / "resnet18.safetensors")


def test_different_architectures_name_the_first_mismatch(torchvision):
    alexnet = torchvision.models.alexnet(num_classes=10)
    with pytest.raises(ClassicnetsError) as caught:
        load_weights(create_model("alexnet", num_classes=10), alexnet.state_dict())
    message = str(caught.value)
    assert "'features.0.weight' [64, 3, 11, 11]" in message
    assert "'features.conv1.weight' [96, 3, 11, 11]" in message
    googlenet = torchvision.models.googlenet(num_classes=10, init_weights=False)
    with pytest.raises(ClassicnetsError, match="'conv1.bn.weight' \\[64\\]"):
        load_weights(create_model("googlenet", num_classes=10), googlenet.state_dict())


def test_another_depth_or_class_count_is_refused(torchvision):
    resnet18 = torchvision.models.resnet18(num_classes=10).state_dict()
    with pytest.raises(ClassicnetsError, match="do not fit model 'resnet34'"):
        load_weights(create_model("resnet34", num_classes=10), resnet18)
    with pytest.raises(ClassicnetsError, match="'head.fc.bias' has no partner"):
        load_weights(create_model("resnet18", num_classes=10), dict(list(resnet18.items())[:-1]))
    with pytest.raises(ClassicnetsError, match=r"'fc.weight' \[10, 512\].*\[7, 512\]"):
        load_weights(create_model("resnet18", num_classes=7), resnet18)


# timm models that are torchvision's or ours under timm's names. Not among them, though their
# shapes pair: timm's MobileNetV3 (batch-norm eps 1e-5, torchvision's and ours 1e-3) and
# tf_efficientnetv2_* (TensorFlow's asymmetric "same" padding), which are other networks.
TIMM_SAME_ARCHITECTURE = [
    ("resnet18", "resnet18", 64, {}),
    ("densenet121", "densenet121", 64, {}),
    ("efficientnet_b0", "efficientnet_b0", 64, {}),
    ("mobilenetv2_100", "mobilenet_v2", 64, {}),
    ("ghostnet_100", "ghostnet", 64, {}),
    pytest.param("resnet50", "resnet50", 64, {}, marks=SLOW),
    # timm's VGG head is a 7x7 convolution: our fc6 as a convolution
    pytest.param("vgg11_bn", "vgg11_bn", 224, {}, marks=SLOW),
    # timm's Inception-v3 has no auxiliary classifier by default
    pytest.param("inception_v3", "inception_v3", 75, {"aux_logits": False}, marks=SLOW),
    pytest.param("inception_v4", "inception_v4", 299, {}, marks=SLOW),
]


@pytest.mark.parametrize("timm_name, ours, size, kwargs", TIMM_SAME_ARCHITECTURE)
def test_timm_weights_give_timm_outputs(timm_name, ours, size, kwargs, tmp_path):
    timm = reference("timm")
    theirs = timm.create_model(timm_name, num_classes=10).eval()
    _randomise(theirs)
    model = create_model(ours, num_classes=10, image_size=size, **kwargs).eval()
    load_weights(model, theirs.state_dict(), source="timm")
    _assert_same_outputs(theirs, model, size)
    _assert_same_from_safetensors(theirs, model, size, tmp_path, "timm")


def test_our_own_layout_round_trips(tmp_path):
    trained = create_model("lenet5", seed=1)
    path = tmp_path / "lenet5.safetensors"
    # A classicnets checkpoint keeps the model's tensors under "model.".
    save_file({f"model.{k}": v for k, v in trained.state_dict().items()}, path)
    fresh = create_model("lenet5", seed=2, weights=path)
    for key, tensor in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], tensor)
    with pytest.raises(ClassicnetsError, match="has no 'features"):
        load_weights(create_model("resnet18"), path, source="classicnets")
    deeper = create_model("resnet34", num_classes=10, seed=0).state_dict()
    with pytest.raises(ClassicnetsError, match="'features.layer1.2.conv1.conv.weight' .* no place"):
        load_weights(create_model("resnet18", num_classes=10), deeper)


def test_bad_inputs_are_one_sentence(tmp_path):
    model = create_model("lenet5")
    with pytest.raises(ClassicnetsError, match="Unknown weights source 'keras'"):
        load_weights(model, model.state_dict(), source="keras")
    with pytest.raises(ClassicnetsError, match="does not exist"):
        load_weights(model, tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(CorruptFileError, match="not a readable"):
        load_weights(model, tmp_path / "junk.pth")


def test_mapping_pairs_in_creation_order_by_kind():
    # A hand-built foreign layout of LeNet-5: its own names, the same order and shapes.
    ours = create_model("lenet5", seed=0)
    foreign = {
        f"layer{i}.{k.rsplit('.', 1)[-1]}": v for i, (k, v) in enumerate(ours.state_dict().items())
    }
    mapped = map_state_dict(ours, foreign)
    assert list(mapped) == list(ours.state_dict())
    swapped = dict(reversed(list(foreign.items())))
    with pytest.raises(ClassicnetsError, match="do not fit"):
        map_state_dict(ours, swapped)


def test_a_whole_input_convolution_pairs_with_a_linear_layer():
    # timm writes some classifier layers as convolutions over the whole feature map
    ours = create_model("lenet5", seed=0).eval()
    state = ours.state_dict()
    last = [k for k in state if k.endswith("weight")][-1]
    foreign = dict(state)
    foreign[last] = state[last][:, :, None, None]  # (O, I) as a 1x1 convolution's (O, I, 1, 1)
    fresh = load_weights(create_model("lenet5", seed=1).eval(), foreign, source="timm")
    x = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(fresh(x), ours(x))
    foreign[last] = state[last][:, 1:, None, None]  # one input fewer: another layer
    with pytest.raises(ClassicnetsError, match=f"'{last}'"):
        load_weights(create_model("lenet5"), foreign, source="timm")
