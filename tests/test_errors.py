"""Suggestions for names the user mistyped."""

import pytest

from classicnets.errors import UnknownNameError, closest_names, unknown_name

MODELS = ["lenet5", "lenet5_relu", "alexnet", "resnet18", "resnet34", "resnet50", "vgg11", "nin"]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("resnet19", ["resnet18"]),  # one clearly closest name
        ("resnet", ["resnet18", "resnet34", "resnet50"]),  # a family: all its members
        ("lenet", ["lenet5", "lenet5_relu", "alexnet"]),  # prefixes before look-alikes
        ("ALEXNET", ["alexnet"]),  # case is ignored
        ("bert", []),  # nothing close: no guess
    ],
)
def test_closest_names(typed, expected):
    assert closest_names(typed, MODELS) == expected


def test_closest_names_keeps_to_the_limit():
    assert closest_names("resnet", MODELS, limit=2) == ["resnet18", "resnet34"]


def test_message_lists_the_suggestions_then_every_known_name():
    error = unknown_name("model", "resnet", MODELS)
    assert isinstance(error, UnknownNameError) and isinstance(error, KeyError)
    assert str(error) == (
        "Unknown model 'resnet'. Did you mean 'resnet18', 'resnet34' or 'resnet50'? "
        "Known models: alexnet, lenet5, lenet5_relu, nin, resnet18, resnet34, resnet50, vgg11."
    )
