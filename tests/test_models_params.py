"""Parameter counts at 1,000 classes and the native input, asserted exactly against published
numbers. Models are built on the meta device: counting needs shapes, not memory."""

from __future__ import annotations

import pytest
import torch

from classicnets.layers import Inception
from classicnets.models import create_model

# The "Must match" table (torchvision's model docs for VGG, ResNet and DenseNet), with
# more rows from the same sources and timm's inception_v4.
PUBLISHED = {
    "lenet5": 61_706,
    "alexnet_original": 60_965_224,  # course notes' 60,964,224 leaves out FC8's bias
    "alexnet": 50_844_008,
    "vgg11": 132_863_336,
    "vgg11_lrn": 132_863_336,  # LRN has no parameters
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840,
    "vgg13_bn": 133_053_736,
    "vgg16_bn": 138_365_992,
    "vgg19_bn": 143_678_248,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "densenet121": 7_978_856,
    "densenet169": 14_149_480,
    "densenet201": 20_013_928,
    "densenet161": 28_681_000,
    "inception_v3": 27_161_264,  # with its auxiliary classifier
    "inception_v4": 42_679_816,
}


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _build(name: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


@pytest.mark.parametrize("name, expected", PUBLISHED.items())
def test_published_parameter_count(name, expected):
    assert _params(_build(name)) == expected


def test_inception_v3_without_auxiliary_classifier():
    assert _params(_build("inception_v3", aux_logits=False)) == 23_834_568


def test_vgg_configurations_match_table_2_in_millions():
    # Simonyan & Zisserman, Table 2: A, A-LRN 133; B 133; C 134; D 138; E 144 (millions).
    for name, millions in [("vgg11", 133), ("vgg13", 133), ("vgg16_c", 134), ("vgg19", 144)]:
        assert round(_params(_build(name)) / 1e6) == millions


def test_googlenet_inception_3a():
    # 163,696 parameters, 163,328 without biases: the paper's Table 1 prints 159K = 163,328/1024.
    block = _build("googlenet").features.inception3a
    assert isinstance(block, Inception)
    assert _params(block) == 163_696
    weights = sum(p.numel() for n, p in block.named_parameters() if n.endswith("weight"))
    assert weights == 163_328 and weights // 1024 == 159
    assert block.out_channels == 256


def test_googlenet_without_auxiliary_classifiers_is_the_paper_network():
    model = _build("googlenet", aux_logits=False)
    assert _params(model) == 6_998_552
    assert _params(_build("googlenet")) - _params(model) == 3_188_840 + 3_190_888
