"""The training checks of ``classicnets reproduce`` (runs/reproduce_training.py): quick mode on
real MNIST, the kept weights scored as claimed, a starved run flagged, missing data in one
sentence."""

from __future__ import annotations

import json

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.data import ImageDataset
from classicnets.errors import ClassicnetsError
from classicnets.models import create_model, keras_listings  # noqa: F401  (registers them)
from classicnets.runs import reproduce_training as rt
from classicnets.runs.reproduce_outcome import CLOSE, DIFFERENT, EQUAL, NO_FIGURE, NOT_RUN


def _blobs(n: int, seed: int, split: str) -> ImageDataset:
    """Two classes of 8x8 images told apart by which half is bright (noisy, so that a few
    epochs of training differ in validation accuracy)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    images = torch.rand(n, 1, 8, 8, generator=g) * 120
    images[labels == 0, :, :4] += 100
    images[labels == 1, :, 4:] += 100
    return ImageDataset("blobs", split, images.to(torch.uint8), labels, ("top", "bottom"),
                        (0.0,), (1.0,))  # fmt: skip


def _accuracy(module: torch.nn.Module, data: ImageDataset) -> float:
    with torch.no_grad():
        predicted = module.eval()(data.images.float() / 255).argmax(1)
    return (predicted == data.labels).float().mean().item()


def test_kept_weights_are_the_best_validation_epoch_and_scores_are_theirs():
    train, val, test = _blobs(256, 0, "train"), _blobs(128, 1, "val"), _blobs(200, 2, "test")
    module = create_model("mlp", num_classes=2, in_channels=1, image_size=8, seed=0)
    trained = rt.train_and_score(
        module, train, val, test,
        epochs=4, batch_size=32, score_train=True, plain_inputs=True,
        compile_options={"optimizer": "sgd", "lr": 0.05, "precision": "fp32"},
        device="cpu",
    )  # fmt: skip
    # the module holds the kept weights: every score recomputed by hand from them
    assert trained.val_accuracy == pytest.approx(_accuracy(module, val), abs=1e-6)
    assert trained.test_accuracy == pytest.approx(_accuracy(module, test), abs=1e-6)
    assert trained.train_accuracy == pytest.approx(_accuracy(module, train), abs=1e-6)
    assert 1 <= trained.best_epoch <= trained.epochs == 4
    assert trained.test_accuracy > 0.9  # the halves are easy to tell apart


def test_full_mode_explains_only_what_its_causes_allow():
    figures = rt.LENET5_KERAS_FIGURES
    near = rt.Trained(0.9931, None, 0.99, 0.9871, epochs=50, best_epoch=41)
    lines = rt._figure_lines("g", "lenet5_keras on MNIST", near, figures, "", "src")
    assert [o.mark for o in lines] == [CLOSE, CLOSE] and all(o.explained for o in lines)
    assert "54,000" in lines[1].why and "epoch 41 of 50 kept" in lines[1].what
    far = rt.Trained(0.95, None, 0.95, 0.95, epochs=50, best_epoch=50)  # 3.5 points off
    lines = rt._figure_lines("g", "lenet5_keras on MNIST", far, figures, "", "src")
    assert [o.mark for o in lines] == [DIFFERENT, DIFFERENT]
    assert not any(o.explained for o in lines)


def test_keras_cnn_quick_mode_on_real_mnist(data_root):
    outcomes = rt.TRAINING_CHECKS["keras_cnn"]("quick")
    assert all(o.group == "keras_cnn" and o.source and o.explained for o in outcomes)
    structure = {o.what: o for o in outcomes[:7]}
    assert structure["keras_cnn pool2 output"].ours == "50x5x5"
    assert all(o.mark == EQUAL for o in structure.values())
    params = outcomes[7]
    assert (params.course, params.ours, params.mark) == (138_110, 137_660, CLOSE)
    train, test = outcomes[8:]
    assert "train accuracy" in train.what and "test accuracy" in test.what
    for line in (train, test):
        assert line.mark == CLOSE and line.why == "quick mode: 1 epoch of the printed run's 20"
        assert 0.88 <= line.ours < line.course  # one epoch of 10,000 images: ~0.93
    json.dumps([o.to_json() for o in outcomes])  # the --json form


def test_a_starved_run_is_an_unexplained_cross(monkeypatch):
    """200 images for two epochs cannot clear the quick floor: the line must fail the command
    rather than be explained away as 'quick mode'."""
    train, test = _mnist_like(200, 0), _mnist_like(300, 1)
    monkeypatch.setattr(rt, "_load", lambda name: (train, test))
    lines = rt.TRAINING_CHECKS["lenet5_keras"]("quick")
    assert [o.mark for o in lines] == [DIFFERENT, DIFFERENT]
    assert not any(o.explained for o in lines) and all(o.ours < 0.88 for o in lines)


def _mnist_like(n: int, seed: int) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (n,), generator=g)
    return ImageDataset("mnist", "train", images, labels, tuple("0123456789"), (0.1,), (0.3,))


def test_missing_data_is_one_sentence_not_a_traceback(monkeypatch):
    monkeypatch.setattr(rt, "locate_dataset", lambda name: None)
    for group, check in rt.TRAINING_CHECKS.items():
        for mode in ("quick", "full"):
            trained_lines = [o for o in check(mode) if o.ours is None]
            assert trained_lines and all(o.explained for o in trained_lines), group
            for line in trained_lines:
                if mode == "quick" and "not run in quick mode" in line.why:
                    continue
                assert "is not on this machine" in line.why and "CLASSICNETS_DATA" in line.why
                assert line.why.count(". ") == 0 and line.mark == NOT_RUN


def test_d2l_and_cifar_full_mode_explain_only_what_their_causes_allow(monkeypatch):
    """The full runs take hours on a CPU; their verdicts are checked on given scores."""
    scores = {}
    monkeypatch.setattr(rt, "locate_dataset", lambda name: "here")
    monkeypatch.setattr(
        rt, "_recipe_run", lambda name, data, epochs=None: (scores[name], "its recipe")
    )
    for name, (_, theirs) in rt.D2L_TABLE.items():
        scores[name] = rt.Trained(0.9, None, 0.9, theirs - 0.01, epochs=10, best_epoch=9)
    lines = rt.TRAINING_CHECKS["d2l_fashion_mnist"]("full")
    assert len(lines) == 7 and all(o.mark == CLOSE and o.explained for o in lines)
    scores["nin"] = rt.Trained(0.5, None, 0.5, 0.5, epochs=10, best_epoch=10)  # broken
    lines = {o.what.split(" (")[0]: o for o in rt.TRAINING_CHECKS["d2l_fashion_mnist"]("full")}
    assert lines["NiN"].mark == DIFFERENT and not lines["NiN"].explained
    scores["vgg11"] = rt.Trained(0.7, None, 0.7, 0.69, epochs=4, best_epoch=4)
    scores["resnet18"] = rt.Trained(0.3, None, 0.3, 0.3, epochs=4, best_epoch=4)
    vgg, resnet = rt.TRAINING_CHECKS["course_cifar10"]("full")
    assert (vgg.course, vgg.ours, vgg.explained, vgg.mark) == (None, 0.69, True, NO_FIGURE)
    assert "not recorded here" in vgg.why and not resnet.explained


def test_d2l_lenet_quick_mode_on_real_fashion_mnist(data_root):
    if not (data_root / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist not in the data folder")
    lenet, *rest = rt.TRAINING_CHECKS["d2l_fashion_mnist"]("quick")
    assert lenet.what.startswith("LeNet (lenet5)") and lenet.course == 0.8
    assert lenet.explained and lenet.why.startswith("quick mode: 1 epoch of d2l's 10")
    assert lenet.ours >= rt.D2L_QUICK_FLOOR  # ~0.82 after one epoch
    assert len(rest) == 6 and all(o.ours is None and "not run" in o.why for o in rest)


def test_quick_mode_names_what_it_leaves_out():
    lines = rt.TRAINING_CHECKS["course_cifar10"]("quick")
    assert [o.what.split(" (")[0] for o in lines] == ["VGG-11", "ResNet-18"]
    assert all(o.ours is None and o.explained for o in lines)
    assert all("python -m classicnets reproduce --full" in o.why for o in lines)


def test_an_unknown_mode_is_refused():
    for check in rt.TRAINING_CHECKS.values():
        with pytest.raises(ClassicnetsError, match="must be quick or full, got 'fast'"):
            check("fast")
