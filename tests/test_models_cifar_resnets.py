"""The CIFAR ResNets and plain nets (He et al. 2015, Section 4.2), the pre-activation ResNets
(He et al. 2016) and the basic DenseNet (Huang et al. 2016): published parameter counts, the
layouts of the papers' tables, the option A shortcut and the pre-activation unit against
hand-written references, gradients, and one-sentence errors for impossible depths."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ShapeError
from classicnets.layers.dense_plain import PlainDenseLayer
from classicnets.models import (  # noqa: F401  (registers)
    create_model,
    densenet_basic,
    list_models,
    model_info,
    preact_resnet,
    resnet_cifar,
)
from classicnets.models.preact_resnet import PreActBlock
from classicnets.models.resnet_cifar import CifarBasicBlock, ZeroPadShortcut, cifar_resnet

# At 10 classes: the counts commonly reproduced for He et al.'s CIFAR ResNets with option A
# shortcuts (the paper's Table 6 rounds them to 0.27M, 0.46M, 0.66M, 0.85M, 1.7M, 19.4M); a
# plain net has the same, since option A has no parameters.
RESNET_CIFAR = {
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "resnet1202": 19_421_274,
    "plain20": 269_722,
    "plain32": 464_154,
    "plain44": 658_586,
    "plain56": 853_018,
    "plain110": 1_727_962,
}

# Computed, then checked against the convolutions they share with their post-activation twins:
# resnet18 has 11,689,512 parameters, 9,600 of them in batch norms (stem 128, two per block
# 7,680, the three projections' 1,792). preact_resnet18 has the same convolutions and FC and
# 7,808 in batch norms: no stem BN (-128), none on the projections (-1,792), each unit's first
# BN over its input, not its output (-896 over the three widening units), a final BN (+1,024):
# 11,689,512 - 1,792. preact_resnet110 against resnet110 (1,727,962): no stem BN (-32), -96
# over the two widening units, a final BN (+128) and 1x1 projections instead of option A
# (+16*32 + 32*64 = +2,560); the paper's Table 3 says 1.7M.
PREACT = {
    "preact_resnet18": (1000, 224, 11_689_512 - 1_792),  # 11,687,720
    "preact_resnet110": (10, 32, 1_727_962 - 32 - 96 + 128 + 2_560),  # 1,730,522
}

# Huang et al., Table 2: DenseNet (L=40, k=12) 1.0M, (L=100, k=12) 7.0M, (L=100, k=24) 27.2M.
DENSENET_BASIC = {(12, 40): 1_019_722, (12, 100): 6_979_642, (24, 100): 27_249_082}


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta(name: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


@pytest.mark.parametrize("name, expected", RESNET_CIFAR.items())
def test_resnet_cifar_parameter_counts(name, expected):
    assert _params(_meta(name)) == expected
    info = model_info(name)
    assert (info.family, info.input_size, info.num_classes) == ("ResNet-CIFAR", (3, 32, 32), 10)


def test_resnet_cifar_family_is_the_table():
    assert list_models("ResNet-CIFAR") == sorted(RESNET_CIFAR)
    model = _meta("resnet56")
    stages = [model.features.layer1, model.features.layer2, model.features.layer3]
    assert [len(stage) for stage in stages] == [9, 9, 9]  # n = (56 - 2) / 6
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) + 1 == 56  # 6n + 1 convolutions and the FC, none on the shortcuts
    with torch.no_grad():  # 32, 16 and 8 px maps at widths 16, 32, 64
        x = torch.zeros(1, 3, 32, 32, device="meta")
        sizes = []
        for name, stage in model.features.named_children():
            x = stage(x)
            sizes.append((name, tuple(x.shape[1:])))
    assert sizes == [
        ("stem", (16, 32, 32)),
        ("layer1", (16, 32, 32)),
        ("layer2", (32, 16, 16)),
        ("layer3", (64, 8, 8)),
    ]


def test_plain_nets_have_no_shortcut_and_resnets_no_projection():
    plain, resnet = _meta("plain20"), _meta("resnet20")
    plain_blocks = [m for m in plain.modules() if isinstance(m, CifarBasicBlock)]
    resnet_blocks = [m for m in resnet.modules() if isinstance(m, CifarBasicBlock)]
    assert len(plain_blocks) == len(resnet_blocks) == 9
    assert all(b.shortcut is None for b in plain_blocks)
    assert all(isinstance(b.shortcut, ZeroPadShortcut) for b in resnet_blocks)
    assert all(not list(b.shortcut.parameters()) for b in resnet_blocks)


def test_option_a_shortcut_subsamples_and_zero_pads():
    x = torch.randn(2, 16, 7, 7)
    out = ZeroPadShortcut(16, 32, 2)(x)
    assert out.shape == (2, 32, 4, 4)  # ceil(7 / 2), as a 3x3/2 convolution with padding 1
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(out[:, 16:]) == 0
    assert torch.equal(ZeroPadShortcut(16, 16, 1)(x), x)


def test_cifar_block_is_relu_of_branch_plus_shortcut():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 8, 8)
    block = CifarBasicBlock(16, 32, 2).eval()
    plain = CifarBasicBlock(16, 32, 2, residual=False).eval()
    plain.load_state_dict(block.state_dict())
    with torch.no_grad():
        branch = block.conv2(block.conv1(x))
        padded = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 0, 16))
        assert torch.allclose(block(x), torch.relu(branch + padded))
        assert torch.allclose(plain(x), torch.relu(branch))


def test_zero_init_residual_starts_each_block_as_its_shortcut():
    model = cifar_resnet(20, zero_init_residual=True).eval()
    block = model.features.layer2[0]
    x = torch.randn(1, 16, 8, 8)
    with torch.no_grad():
        assert torch.allclose(block(x), torch.relu(block.shortcut(x)))


@pytest.mark.parametrize("depth", [21, 2, 0, 19, 20.0, True])
def test_depth_not_6n_plus_2_is_one_sentence(depth):
    with pytest.raises(ShapeError) as err:
        cifar_resnet(depth)
    assert str(err.value) == (
        f"ResNet-CIFAR depth must be 6n+2 (20, 32, 44, 56, 110, 1202, ...), got {depth!r}."
    )


def test_cifar_resnet_builds_any_6n_plus_2():
    with torch.device("meta"):
        # n = 1: resnet20 less two 16-wide blocks (2 x 4,672), two 32-wide (2 x 18,560) and
        # two 64-wide (2 x 73,984), each two 3x3 convolutions and two batch norms.
        assert _params(cifar_resnet(8)) == 269_722 - 2 * (4_672 + 18_560 + 73_984) == 75_290
        assert _params(cifar_resnet(20, residual=False)) == RESNET_CIFAR["resnet20"]


@pytest.mark.parametrize("name, spec", PREACT.items())
def test_preact_parameter_counts(name, spec):
    num_classes, size, expected = spec
    assert _params(_meta(name)) == expected
    info = model_info(name)
    assert (info.family, info.num_classes, info.input_size[-1]) == (
        "PreAct-ResNet",
        num_classes,
        size,
    )


def test_preact_resnet18_has_resnet18_convolutions():
    def convs(model):
        return [m.weight.shape for m in model.modules() if isinstance(m, torch.nn.Conv2d)]

    preact, post = _meta("preact_resnet18"), _meta("resnet18")
    assert sorted(convs(preact)) == sorted(convs(post))
    assert preact.features.stem.conv.kernel_size == (7, 7)
    small = _meta("preact_resnet18", image_size=32)  # the CIFAR stem under 64 px
    assert small.features.stem.conv.kernel_size == (3, 3)
    assert not hasattr(small.features.stem, "pool")
    assert small.forward_features(torch.zeros(1, 3, 32, 32, device="meta")).shape == (
        1,
        512,
        4,
        4,
    )


def test_preact_resnet110_layout():
    model = _meta("preact_resnet110")
    stages = [model.features.layer1, model.features.layer2, model.features.layer3]
    assert [len(s) for s in stages] == [18, 18, 18]
    assert [s[-1].out_channels for s in stages] == [16, 32, 64]
    out = model.forward_features(torch.zeros(1, 3, 32, 32, device="meta"))
    assert out.shape == (1, 64, 8, 8)


def test_preact_block_is_bn_relu_conv_with_identity_shortcut():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 8, 8)
    same = PreActBlock(16, 16).eval()
    widen = PreActBlock(16, 32, 2).eval()
    first = PreActBlock(16, 16, share_preact=True).eval()
    first.load_state_dict(same.state_dict())
    with torch.no_grad():

        def residual(b, inp):
            pre = torch.relu(b.norm1(inp))
            mid = torch.relu(
                b.conv1.norm(F.conv2d(pre, b.conv1.conv.weight, None, b.conv1.conv.stride, 1))
            )
            return pre, F.conv2d(mid, b.conv2.weight, None, 1, 1)

        pre, branch = residual(same, x)
        assert torch.allclose(same(x), x + branch)  # the sum is not activated
        assert torch.allclose(first(x), pre + branch)  # shares the pre-activation
        pre, branch = residual(widen, x)
        assert torch.allclose(widen(x), branch + F.conv2d(pre, widen.shortcut.weight, None, 2))
    assert widen.share_preact and not same.share_preact


@pytest.mark.parametrize("spec, expected", DENSENET_BASIC.items())
def test_densenet_basic_parameter_counts(spec, expected):
    growth, depth = spec
    assert _params(_meta("densenet_basic", growth=growth, depth=depth)) == expected


def test_densenet_basic_is_the_papers_one_million():
    model = _meta("densenet_basic")
    count = _params(model)
    assert abs(count - 1_000_000) <= 0.1 * 1_000_000  # "1.0M" in Table 2
    assert model_info("densenet_basic").family == "DenseNet"
    blocks = [model.features.block1, model.features.block2, model.features.block3]
    assert [len(b) for b in blocks] == [12, 12, 12]
    assert [b.out_channels for b in blocks] == [16 + 144, 160 + 144, 304 + 144]
    assert model.features.transition1.out_channels == 160  # no compression
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.kernel_size == (3, 3) for b in blocks for c in b.modules() if c in convs)
    assert len(convs) + 1 == 40  # first conv, 36 layers, 2 transitions and the FC


def test_densenet_basic_layer_concatenates_one_conv():
    torch.manual_seed(0)
    layer = PlainDenseLayer(8, 4).eval()
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        expected = F.conv2d(torch.relu(layer.norm(x)), layer.conv.weight, None, 1, 1)
        out = layer(x)
    assert torch.equal(out[:, :8], x)
    assert torch.allclose(out[:, 8:], expected)


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"depth": 41}, "depth must be 3n+4 (40, 100, ...: three dense blocks"),
        ({"depth": 4}, "got 4."),
        ({"growth": 0}, "growth rate must be a positive integer (12, 24, ...), got 0."),
    ],
)
def test_densenet_basic_bad_arguments_are_one_sentence(kwargs, text):
    with pytest.raises(ShapeError) as err:
        create_model("densenet_basic", **kwargs)
    assert text in str(err.value)
    assert str(err.value).count(". ") == 0


@pytest.mark.parametrize("name", ["resnet20", "plain20", "preact_resnet18", "densenet_basic"])
def test_forward_and_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=10, image_size=8).train()
    out = model(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.square().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


@pytest.mark.parametrize("name", ["resnet110", "preact_resnet110", "densenet_basic"])
def test_native_and_mnist_shapes(name):
    for channels, size in ((3, 32), (1, 28)):
        model = _meta(name, in_channels=channels, image_size=size)
        assert model(torch.zeros(2, channels, size, size, device="meta")).shape == (2, 10)
