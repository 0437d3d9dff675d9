"""A user's own network (``--module package.module:factory``): imported, built for the data,
trained through classicnets.train.Model and summarised; each mistake is one sentence."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest
import torch

import classicnets as cn
from _threads import one_thread  # noqa: F401
from classicnets.errors import ClassicnetsError
from classicnets.models.custom import build_custom, factory_arguments
from test_models_weights import reference

USER_CODE = """
from torch import nn

CALLS = []


def small_convnet(num_classes, in_channels=3, *, width=8):
    CALLS.append((num_classes, in_channels))
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * width, num_classes),
    )


class Net(nn.Module):
    def __init__(self, num_classes, image_size):
        super().__init__()
        self.fc = nn.Linear(image_size * image_size, num_classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


def needs_depth(depth, num_classes):
    return nn.Identity()


def broken(num_classes):
    raise ValueError("width must be even")


def not_a_module(num_classes):
    return [num_classes]


def ignores_classes(num_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))


NOT_CALLABLE = 3
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    (tmp_path / "usernets").mkdir()
    (tmp_path / "usernets" / "__init__.py").write_text("")
    (tmp_path / "usernets" / "small.py").write_text(textwrap.dedent(USER_CODE))
    (tmp_path / "usernets" / "fails.py").write_text("raise RuntimeError('no GPU here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "usernets"
    for name in ("usernets", "usernets.small", "usernets.fails"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_a_users_factory_trains_and_is_summarised(package):
    train = cn.load_dataset("digits", "train")
    test = cn.load_dataset("digits", "test")
    module = build_custom(
        f"{package}.small:small_convnet", num_classes=10, in_channels=1, image_size=8
    )
    assert importlib.import_module(f"{package}.small").CALLS == [
        (10, 1)
    ]  # called once, with the data's classes and channels
    model = cn.Model(module, device="cpu").compile(optimizer="adam", lr=1e-2)
    history = model.fit(train, epochs=3, batch_size=64, seed=0)
    assert history["loss"][-1] < history["loss"][0]
    assert model.evaluate(test)["accuracy"] > 0.5  # ten classes: chance is 0.1
    table = cn.summary(module, (1, 8, 8))
    # conv 1*8*9+8, batch norm 2*8, linear 32*10+10
    assert table.total_params == 80 + 16 + 330


def test_a_class_gets_the_arguments_it_names(package):
    module = build_custom(f"{package}.small:Net", num_classes=4, in_channels=1, image_size=6)
    assert module.fc.in_features == 36 and module.fc.out_features == 4


def test_a_torchvision_builder_trains_a_step():
    reference("torchvision")
    module = build_custom(
        "torchvision.models:resnet18", num_classes=5, in_channels=3, image_size=32
    )
    before = [p.detach().clone() for p in module.parameters()]
    model = cn.Model(module, device="cpu").compile(optimizer="sgd", lr=0.1)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 5, (8,))
    history = model.fit(x, y, epochs=1, batch_size=8)
    assert torch.isfinite(torch.tensor(history["loss"])).all()
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))
    with pytest.raises(ClassicnetsError, match="cannot take a batch of 1x32x32 images"):
        build_custom("torchvision.models:resnet18", num_classes=5, in_channels=1, image_size=32)


def test_kwargs_only_factories_get_the_class_count():
    def builder(**kwargs):
        return kwargs

    def named(num_classes, image_size, **kwargs):
        return None

    values = {"num_classes": 3, "in_channels": 1, "image_size": 8}
    assert factory_arguments(builder, values) == {"num_classes": 3}
    assert factory_arguments(named, values) == {"num_classes": 3, "image_size": 8}


@pytest.mark.parametrize(
    "spec, message",
    [
        ("usernets.small", "is written package.module:factory"),
        ("usernets/small.py:net", "is written package.module:factory"),
        ("nosuchpackage.nets:build", "Cannot import 'nosuchpackage.nets'"),
        ("usernets.fails:build", "Importing 'usernets.fails' .* failed: RuntimeError: no GPU here"),
        (
            "usernets.small:small_convnett",
            "has no attribute 'small_convnett'; did you mean small_convnet",
        ),
        ("usernets.small:NOT_CALLABLE", "object of type int, not a function or class"),
        ("usernets.small:needs_depth", "requires depth, which a run cannot give"),
        ("usernets.small:broken", r"small:broken\(num_classes=10\) failed: ValueError: width must"),
        ("usernets.small:not_a_module", "returned a list, not a torch.nn.Module"),
        (
            "usernets.small:ignores_classes",
            r"gives shape \(2, 3\) for 2 images; a run needs \(2, 10\)",
        ),
    ],
)
def test_each_mistake_is_one_sentence(package, spec, message):
    with pytest.raises(ClassicnetsError, match=message) as caught:
        build_custom(spec, num_classes=10, in_channels=1, image_size=8)
    assert "\n" not in str(caught.value)
