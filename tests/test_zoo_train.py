"""Every image model trains on every image dataset through ``classicnets train MODEL --data D``.

What varies between datasets is the input a model must take. The smallest model of each family
runs one epoch on ``--limit 4`` images of digits (1x8x8, which makes most of them upsample),
MNIST and Fashion-MNIST (1x28x28). The slow set (``make test-slow``) runs every registered image
model on digits and CIFAR-10 (3x32x32): about two minutes on two CPU cores, half of it
writing checkpoints (~1 GB for a VGG run). That the recipes make models learn is in
test_zoo_recipes.py.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.cli import main
from classicnets.models import create_model, list_models, model_info
from classicnets.runs import ImageRunConfig
from classicnets.runs.image import load_splits
from classicnets.runs.recipes import recipe_for

IMAGE_MODELS = [n for n in list_models() if "sequence" not in model_info(n).tags]
QUICK = ["--epochs", "1", "--limit", "4", "--batch-size", "4", "--device", "cpu", "--json"]


def _params(name: str) -> int:
    size = max(28, model_info(name).min_image_size)
    with torch.device("meta"):  # shapes only: building even ResNet-152 costs nothing
        model = create_model(name, num_classes=10, in_channels=1, image_size=size)
    return sum(p.numel() for p in model.parameters())


def _smallest_of_each_family() -> list[str]:
    families: dict[str, list[str]] = {}
    for name in IMAGE_MODELS:
        families.setdefault(model_info(name).family, []).append(name)
    return sorted(min(names, key=_params) for names in families.values())


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("decoded")


@pytest.fixture(autouse=True)
def _decode_once(shared_cache, monkeypatch):
    # conftest gives each test an empty cache; sharing one here decodes CIFAR-10's archive
    # (~10 s) once for the whole file instead of once per model.
    monkeypatch.setenv("CLASSICNETS_CACHE", str(shared_cache))


@pytest.fixture(autouse=True)
def _remove_checkpoints(tmp_path):
    # A VGG's two checkpoints (last and best, with momentum buffers) take ~0.5 GB; the runs of
    # this file would leave ~10 GB behind in pytest's kept temporary folders.
    yield
    shutil.rmtree(tmp_path / "run", ignore_errors=True)


def _train(tmp_path, capsys, name: str, data: str, *flags: str) -> dict:
    code = main(["train", name, "--data", data, "--out", str(tmp_path / "run"), *flags])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def _check_run(tmp_path, result: dict, name: str, data: str) -> None:
    assert result["model"] == name and result["data"] == data and result["epochs"] == 1
    assert 0.0 <= result["test_accuracy"] <= 1.0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["limit"] == 4
    recipe = recipe_for(name, data).recipe
    assert (config["optimizer"], config["lr"]) == (recipe.optimizer, recipe.lr)
    assert config["image_size"] >= model_info(name).min_image_size
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2  # a header and one epoch


@pytest.mark.parametrize("name", _smallest_of_each_family())
def test_each_family_trains_on_digits(tmp_path, capsys, name):
    _check_run(tmp_path, _train(tmp_path, capsys, name, "digits", *QUICK), name, "digits")


@pytest.mark.slow
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_every_model_trains_on_digits(tmp_path, capsys, name):
    _check_run(tmp_path, _train(tmp_path, capsys, name, "digits", *QUICK), name, "digits")


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_every_model_trains_on_cifar10(data_root, tmp_path, capsys, name):
    _check_run(tmp_path, _train(tmp_path, capsys, name, "cifar10", *QUICK), name, "cifar10")


@pytest.mark.data
@pytest.mark.parametrize("name", _smallest_of_each_family())
@pytest.mark.parametrize("data", ["mnist", "fashion-mnist"])
def test_each_family_trains_on_mnist_and_fashion_mnist(data_root, tmp_path, capsys, data, name):
    _check_run(tmp_path, _train(tmp_path, capsys, name, data, *QUICK), name, data)


def test_limit_keeps_the_first_examples_of_each_split():
    full = load_splits(ImageRunConfig(data="digits"))
    cut = load_splits(ImageRunConfig(data="digits", limit=10), image_size=28)
    assert (len(cut.train), len(cut.val), len(cut.test)) == (10, 10, 10)
    # validation is carved from the whole training split first: --limit never changes it
    assert torch.equal(cut.val.labels, full.val.labels[:10])
    assert torch.equal(cut.train.labels, full.train.labels[:10])
    assert torch.equal(cut.test.labels, full.test.labels[:10])
    assert torch.equal(cut.train.images, full.train.subset(slice(0, 10)).resized(28).images)
    assert cut.train.mean == full.train.mean  # normalisation still from the whole training set
    big = load_splits(ImageRunConfig(data="digits", limit=10**9))
    assert len(big.train) == len(full.train)


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_limit_must_be_positive(tmp_path, capsys, limit):
    code = main(["train", "mlp", "--limit", limit, "--out", str(tmp_path / "run")])
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--limit must be a positive whole number, got {limit}." in err
    assert not (tmp_path / "run").exists()


def test_limit_is_for_image_models_only(tmp_path, capsys):
    assert main(["train", "char_lstm", "--limit", "5", "--out", str(tmp_path / "r")]) == 2
    assert "--limit applies to image models only" in capsys.readouterr().err
