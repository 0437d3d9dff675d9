"""The default training recipes (runs/recipes.py): one per image model, valid, overridden by
the user's flags, and good enough that models learn digits in a few epochs with no flags."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.errors import UnknownNameError
from classicnets.models import list_models, model_info
from classicnets.runs import ImageRunConfig as TrainConfig
from classicnets.runs.recipe_table import FALLBACK, RECIPES
from classicnets.runs.recipes import DEFAULT_LR, recipe_for
from classicnets.train.optim import OPTIMIZERS

IMAGE_MODELS = [n for n in list_models() if "sequence" not in model_info(n).tags]
SEQ_KINDS = {"seq2seq", "tagging", "mlm"}  # sequence models whose runs are not a language model's
TEXT_MODELS = [
    n
    for n in list_models()
    if "sequence" in model_info(n).tags and not SEQ_KINDS & set(model_info(n).tags)
]
OTHER_SEQUENCE = [n for n in list_models() if SEQ_KINDS & set(model_info(n).tags)]
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "imagefolder")


@pytest.mark.parametrize("data", DATASETS)
def test_every_image_model_has_a_valid_recipe_on_every_dataset(data):
    for name in IMAGE_MODELS:
        recipe = recipe_for(name, data).recipe
        assert recipe.optimizer in OPTIMIZERS and 0 < recipe.lr < 1, name
        assert recipe.batch_size >= 1 and recipe.epochs >= 1 and recipe.measured, name
        TrainConfig(model=name, data=data).with_recipe()  # every value passes the checks


def test_every_row_is_valid_and_names_what_measured_it():
    families = {model_info(n).family for n in list_models()}
    for (key, family), recipe in RECIPES.items():
        assert key in families or key in list_models(), key
        assert family in (
            "any", "digits", "mnist", "cifar", "images", "text", "seq2seq", "tagging", "mlm"
        ), family  # fmt: skip
        assert recipe.optimizer in OPTIMIZERS and recipe.measured, (key, family)
    for name in TEXT_MODELS:
        assert recipe_for(name, "play.txt").row[1] == "text"
    for name in OTHER_SEQUENCE:  # a task or corpus named like a text is still theirs
        kind = next(k for k in ("seq2seq", "tagging", "mlm") if k in model_info(name).tags)
        assert recipe_for(name, "play.txt").row[1] in (kind, "any"), name


def test_every_data_family_row_names_a_benchmark_that_exists_and_what_it_found():
    root = Path(__file__).resolve().parents[1]
    for (key, family), recipe in RECIPES.items():
        if family == "any":
            continue
        script = recipe.measured.split()[1]
        assert recipe.measured.startswith("python benchmarks/"), (key, family)
        assert (root / script).is_file(), (key, family, script)
        assert recipe.found, (key, family)


def test_every_image_family_has_a_row_of_its_own():
    # the table's fallback is for a user's own network, not for one of ours
    for name in IMAGE_MODELS:
        assert recipe_for(name, "digits").row[0] != "fallback", name


def test_a_row_measured_by_the_grid_is_the_candidate_its_json_chose():
    root = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "recipes"
    grid_rows = [(k, r) for k, r in RECIPES.items() if "benchmarks/recipes.py" in r.measured]
    assert len(grid_rows) >= 10
    for (key, family), recipe in grid_rows:
        words = recipe.measured.split()
        model, data = words[words.index("--model") + 1], words[words.index("--data") + 1]
        result = json.loads((root / f"{model}-{data}.json").read_text())
        chosen = result["chosen"]
        flags = dict(zip(words[2::2], words[3::2], strict=True))
        ran = result["command"].split()
        assert flags.items() <= dict(zip(ran[2::2], ran[3::2], strict=True)).items(), (key, family)
        for field in ("optimizer", "lr", "batch_size", "schedule"):
            assert getattr(recipe, field) == chosen[field], (key, family, field)
        if family != "any":  # a row for any data keeps its epochs (digits' say little)
            assert recipe.epochs == chosen["epochs"], (key, family)


def test_a_model_without_a_row_takes_the_nearest_and_says_so(monkeypatch):
    chosen = recipe_for("vgg13", "cifar10")
    assert chosen.row == ("VGG", "cifar") and "no row for vgg13 on cifar data" in chosen.line()
    exact = recipe_for("lenet5_relu", "mnist")
    assert exact.row == ("lenet5_relu", "mnist") and exact.fallback is None
    assert "measured: validation" in exact.line()
    assert recipe_for("lenet5_relu", "fashion-mnist").row == ("lenet5_relu", "mnist")
    monkeypatch.delitem(RECIPES, ("MLP", "any"))  # as a model registered by a user would be
    assert recipe_for("mlp").recipe == FALLBACK and "no row for mlp" in recipe_for("mlp").line()


def test_unknown_model_fails_in_the_recipe_lookup():
    with pytest.raises(UnknownNameError, match="Did you mean 'resnet18'"):
        recipe_for("resnet19")


def test_the_users_flags_beat_the_recipe():
    recipe = recipe_for("resnet18", "digits").recipe
    assert recipe.optimizer != "adam"  # so the cases below tell recipe and flags apart
    chosen, _ = TrainConfig(model="resnet18").with_recipe()
    assert (chosen.optimizer, chosen.lr, chosen.batch_size) == (
        recipe.optimizer, recipe.lr, recipe.batch_size)  # fmt: skip
    assert TrainConfig(model="resnet18", lr=0.2).with_recipe()[0].lr == 0.2
    # another optimizer without --lr takes that optimizer's usual rate, not the recipe's
    other, _ = TrainConfig(model="resnet18", optimizer="adam").with_recipe()
    assert (other.optimizer, other.lr) == ("adam", DEFAULT_LR["adam"])
    same, _ = TrainConfig(model="resnet18", optimizer=recipe.optimizer).with_recipe()
    assert same.lr == recipe.lr
    cifar, _ = TrainConfig(model="resnet18", data="cifar10", epochs=1, augment="none").with_recipe()
    assert (cifar.epochs, cifar.augment, cifar.batch_size) == (1, None, 128)


def test_the_run_says_and_records_what_the_recipe_chose(tmp_path, capsys):
    args = ["train", "lenet5", "--limit", "8", "--out", str(tmp_path / "a")]
    assert main([*args, "--epochs", "1"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "recipe: lenet5 (any data) — adam 1e-2 constant rate, batch 32, 10 epochs" in err
    assert "yours: --epochs" in err
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    expected = RECIPES[("lenet5", "any")]
    assert (config["optimizer"], config["lr"], config["batch_size"]) == (
        expected.optimizer, expected.lr, expected.batch_size)  # fmt: skip
    assert (config["epochs"], config["recipe"]) == (1, "lenet5/any")
    args = [*args[:-1], str(tmp_path / "b"), "--optimizer", "sgd", "--lr", "0.5", "--epochs", "1"]
    assert main(args) == 0
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert (config["optimizer"], config["lr"]) == ("sgd", 0.5)


def test_the_recipes_command(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "lenet5_relu/mnist" in out and "ResNet/cifar" in out
    assert main(["recipes", "lenet5_relu", "--data", "fashion-mnist", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["row"] == ["lenet5_relu", "mnist"] and row["batch_size"] == 256


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
