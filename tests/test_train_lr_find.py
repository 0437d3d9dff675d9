"""The learning-rate range test: on least squares, where full-batch gradient descent can be
run by hand and is stable below 2 / (the Hessian's largest eigenvalue), the test's losses
equal the hand-run ones, it stops once the rate passes that limit, and it suggests a stable
rate; its smoothing against a hand-computed average; the caller's model and optimizer left as
they were; bad settings; the picture."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.data import load_dataset
from classicnets.errors import ClassicnetsError
from classicnets.models import create_model
from classicnets.train import Model
from classicnets.train.lr_find import lr_range_test, range_rate
from classicnets.viz.lr import plot_lr_find


def _least_squares(n=32):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g) * torch.tensor([1.0, 2.0, 0.5])
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3 * torch.randn(n, 1, generator=g)
    return x, y


def _linear_model() -> Model:
    linear = nn.Linear(3, 1, bias=False)
    nn.init.zeros_(linear.weight)
    return Model(linear, device="cpu").compile("sgd", lr=1.0, loss="mse", metrics=())


def test_least_squares_against_gradient_descent_by_hand():
    x, y = _least_squares()
    n = len(x)
    result = lr_range_test(
        _linear_model(), (x, y), start=1e-4, end=10.0, steps=60, batch_size=n, smooth=0.0
    )
    rates = result["rates"]
    assert rates == pytest.approx([range_rate(1e-4, 10.0, 60, i) for i in range(len(rates))])
    assert rates[0] == pytest.approx(1e-4) and range_rate(1e-4, 10.0, 60, 59) == pytest.approx(10)
    # Full-batch gradient descent on the mean squared error, in float64, by hand.
    xd, yd = x.double(), y.double()
    w = torch.zeros(3, 1, dtype=torch.float64)
    by_hand = []
    for rate in rates:
        error = xd @ w - yd
        by_hand.append((error**2).mean().item())
        w -= rate * (2 / n) * xd.T @ error
    lowest = rates.index(result["minimum"])
    assert result["losses"][: lowest + 1] == pytest.approx(by_hand[: lowest + 1], rel=1e-5)
    assert result["smoothed"] == result["losses"]  # smooth=0 keeps each loss as it is
    # Gradient descent is stable below 2 / lambda_max of the Hessian (2/n) X^T X.
    limit = 2 / torch.linalg.eigvalsh((2 / n) * xd.T @ xd).max().item()
    assert result["diverged"] and len(rates) < 60
    assert rates[-1] > limit
    assert result["losses"][-1] > 4 * result["min_loss"]
    assert result["suggested"] == pytest.approx(result["minimum"] / 10)
    assert result["suggested"] < limit < result["minimum"]  # the minimum is past the edge
    assert result["steepest"] <= result["minimum"]


def test_smoothing_is_a_debiased_moving_average():
    x, y = _least_squares()
    result = lr_range_test(_linear_model(), (x, y), steps=30, batch_size=8, smooth=0.9)
    average, expected = 0.0, []
    for i, loss in enumerate(result["losses"], start=1):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9**i))
    assert result["smoothed"] == pytest.approx(expected, rel=1e-12)
    assert result["smoothed"][0] == pytest.approx(result["losses"][0])


def test_the_callers_model_and_optimizer_are_left_as_they_were():
    digits = load_dataset("digits", "train")
    module = create_model("mlp", seed=0, image_size=8, hidden=(32,))
    model = Model(module, device="cpu").compile("momentum", lr=0.05, schedule="onecycle")
    model.fit(digits, epochs=1, batch_size=128)
    weights = {k: v.clone() for k, v in model.module.state_dict().items()}
    optimizer = copy.deepcopy(model.optimizer.state_dict())
    result = lr_range_test(model, digits, steps=80, batch_size=64)
    assert 1e-7 <= result["suggested"] <= 10 and math.isfinite(result["min_loss"])
    for key, value in model.module.state_dict().items():
        assert torch.equal(value, weights[key]), key
    after = model.optimizer.state_dict()
    assert after["param_groups"] == optimizer["param_groups"]
    for index, state in optimizer["state"].items():
        assert torch.equal(after["state"][index]["momentum_buffer"], state["momentum_buffer"])
    assert model.global_step == 11 and model.epochs_done == 1


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"start": 0.0}, "start rate must be positive"),
        ({"start": 1.0, "end": 0.5}, "must exceed its start"),
        ({"steps": 1}, "steps must be a whole number of at least 2"),
        ({"smooth": 1.0}, "smooth must be in"),
        ({"diverge": 1.0}, "diverge must be"),
    ],
)
def test_bad_settings_are_one_sentence(settings, words):
    x, y = _least_squares()
    with pytest.raises(ClassicnetsError, match=words):
        lr_range_test(_linear_model(), (x, y), **settings)


def test_the_picture(tmp_path):
    x, y = _least_squares()
    result = lr_range_test(_linear_model(), (x, y), start=1e-4, steps=60, batch_size=32)
    path = plot_lr_find(result, tmp_path / "lr.png", "least squares: LR range test, SGD")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ClassicnetsError, match="lacks"):
        plot_lr_find({"rates": [1.0]}, tmp_path / "bad.png")
