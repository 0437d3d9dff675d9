"""The default training recipes (runs/recipes.py): one per image model, valid, overridden by
the user's flags, and good enough that models learn digits in a few epochs with no flags."""

from __future__ import annotations

import json
import shutil

import pytest

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.errors import UnknownNameError
from classicnets.models import list_models, model_info
from classicnets.runs import ImageRunConfig as TrainConfig
from classicnets.runs.recipes import DEFAULT_LR, FALLBACK, RECIPES, recipe_for
from classicnets.train.optim import OPTIMIZERS

IMAGE_MODELS = [n for n in list_models() if "sequence" not in model_info(n).tags]


def test_every_image_model_has_a_valid_recipe():
    assert sorted(RECIPES) == IMAGE_MODELS
    for name, recipe in RECIPES.items():
        assert recipe.optimizer in OPTIMIZERS and 0 < recipe.lr < 1, name
    assert FALLBACK.optimizer in OPTIMIZERS


def test_a_model_without_a_row_takes_the_fallback(monkeypatch):
    monkeypatch.delitem(RECIPES, "mlp")  # as a model registered by a user would be
    assert recipe_for("mlp") == FALLBACK
    assert TrainConfig(model="mlp").learning_rate == FALLBACK.lr


def test_unknown_model_fails_in_the_recipe_lookup():
    with pytest.raises(UnknownNameError, match="Did you mean 'resnet18'"):
        recipe_for("resnet19")


def test_the_users_flags_beat_the_recipe():
    recipe = recipe_for("resnet18")
    assert recipe.optimizer != "adam"  # so the cases below tell recipe and flags apart
    chosen = TrainConfig(model="resnet18")
    assert (chosen.optimizer_name, chosen.learning_rate) == (recipe.optimizer, recipe.lr)
    assert TrainConfig(model="resnet18", lr=0.2).learning_rate == 0.2
    # another optimizer without --lr takes that optimizer's usual rate, not the recipe's
    other = TrainConfig(model="resnet18", optimizer="adam")
    assert (other.optimizer_name, other.learning_rate) == ("adam", DEFAULT_LR["adam"])
    same = TrainConfig(model="resnet18", optimizer=recipe.optimizer)
    assert same.learning_rate == recipe.lr


def test_the_run_records_what_the_recipe_chose(tmp_path, capsys):
    args = ["train", "lenet5", "--epochs", "1", "--limit", "8", "--out", str(tmp_path / "a")]
    assert main(args) == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert (config["optimizer"], config["lr"]) == (
        RECIPES["lenet5"].optimizer,
        RECIPES["lenet5"].lr,
    )
    args = [*args[:-1], str(tmp_path / "b"), "--optimizer", "sgd", "--lr", "0.5"]
    assert main(args) == 0
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert (config["optimizer"], config["lr"]) == ("sgd", 0.5)


@pytest.fixture
def run_dir(tmp_path):
    """A run directory, removed afterwards: VGG's two checkpoints take ~0.5 GB."""
    yield tmp_path / "run"
    shutil.rmtree(tmp_path / "run", ignore_errors=True)


# Each model at its cheapest setting that learns: LeNet and NiN (8x8 digits as they are) are
# cheap on the whole of digits; ResNet-18 and VGG-11-BN (upsampled to 32) see 320 images.
@pytest.mark.parametrize(
    "name, flags, at_least",
    [
        ("lenet5", ["--epochs", "4"], 0.8),
        ("nin", ["--epochs", "5"], 0.4),
        ("resnet18", ["--epochs", "3", "--limit", "320"], 0.6),
        ("vgg11_bn", ["--epochs", "3", "--limit", "320"], 0.5),
    ],
)
def test_recipes_learn_digits_in_a_few_epochs(run_dir, capsys, name, flags, at_least):
    """With nothing but the recipe's defaults, accuracy ends far above chance (0.1)."""
    out = str(run_dir)
    code = main(
        ["train", name, "--data", "digits", *flags, "--device", "cpu", "--json", "--out", out]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["test_accuracy"] >= at_least
