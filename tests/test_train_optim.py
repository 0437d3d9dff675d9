"""Optimizers, schedules, losses and metrics by name."""

from __future__ import annotations

import math

import pytest
import torch

from classicnets.errors import ClassicnetsError, UnknownNameError
from classicnets.train import OPTIMIZERS, Schedule, build_optimizer
from classicnets.train.losses import accuracy, build_loss, top5


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_lowers_a_quadratic(name):
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.tensor([3.0, -2.0]))
    lr = {"adadelta": 20.0, "momentum": 0.05, "nesterov": 0.05}.get(name, 0.1)
    opt = build_optimizer(name, [w], lr=lr)
    start = float((w**2).sum().detach())
    for _ in range(50):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert float((w**2).sum().detach()) < 0.5 * start


def test_optimizer_kinds():
    w = [torch.nn.Parameter(torch.zeros(1))]
    assert build_optimizer("nesterov", w, 0.1).defaults["nesterov"] is True
    assert build_optimizer("momentum", w, 0.1).defaults["momentum"] == 0.9
    assert isinstance(build_optimizer("adamw", w, 0.1, weight_decay=0.05), torch.optim.AdamW)
    with pytest.raises(UnknownNameError, match="Did you mean 'adam'"):
        build_optimizer("adma", w, 0.1)
    with pytest.raises(ClassicnetsError, match="learning rate"):
        build_optimizer("sgd", w, 0.0)


def test_schedules():
    assert Schedule("constant", 100)(57) == 1.0
    s = Schedule("step", total_steps=90, steps_per_epoch=10, step_epochs=3, gamma=0.1)
    assert s(29) == 1.0 and math.isclose(s(30), 0.1) and math.isclose(s(60), 0.01)
    inv = Schedule("inverse_sqrt", total_steps=100, steps_per_epoch=10)
    assert inv(0) == 1.0 and math.isclose(inv(30), 0.5)  # eta / sqrt(3 + 1)
    cos = Schedule("cosine", total_steps=100)
    assert cos(0) == 1.0 and math.isclose(cos(50), 0.5) and cos(100) < 1e-12
    warm = Schedule("cosine", total_steps=110, warmup_steps=10)
    assert math.isclose(warm(0), 0.1) and math.isclose(warm(9), 1.0) and warm(10) == 1.0
    one = Schedule("onecycle", total_steps=100, pct_start=0.25)
    assert math.isclose(one(0), 0.04) and math.isclose(one(25), 1.0) and one(99) < 0.02
    with pytest.raises(UnknownNameError):
        Schedule("linear", 10)


def test_losses_and_metrics():
    out = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    y = torch.tensor([0, 2])
    expected = torch.nn.functional.cross_entropy(out, y)
    assert torch.isclose(build_loss("cross_entropy")(out, y), expected)
    smooth = torch.nn.functional.cross_entropy(out, y, label_smoothing=0.1)
    assert torch.isclose(build_loss("cross_entropy", 0.1)(out, y), smooth)
    onehot = torch.tensor([[1.0, 0, 0], [0, 0, 1.0]])
    assert torch.isclose(build_loss("mse")(out, y), ((out - onehot) ** 2).mean())
    assert accuracy(out, y) == 0.5
    big = torch.arange(10.0).repeat(2, 1)  # the five highest scores are classes 5 to 9
    assert top5(big, torch.tensor([9, 4])) == 0.5
    assert top5(big, torch.tensor([5, 6])) == 1.0 and top5(big, torch.tensor([0, 4])) == 0.0
    scores = torch.randn(64, 10, generator=torch.Generator().manual_seed(0))
    targets = torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(1))
    ranks = (scores > scores.gather(1, targets[:, None])).sum(1)  # classes scored higher
    assert top5(scores, targets) == (ranks < 5).float().mean()
    assert top5(torch.randn(4, 3), torch.arange(3).repeat(2)[:4]) == 1.0  # 3 classes: all in
    with pytest.raises(UnknownNameError):
        build_loss("hinge")
