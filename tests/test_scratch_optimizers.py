"""The hand-written optimizers and schedules against torch.optim, step by step: same parameters,
same sequence of gradients, float64, every step compared to 1e-10; bad settings one sentence."""

from __future__ import annotations

import math

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError, ShapeError, UnknownNameError
from classicnets.scratch import optimizers as ours
from classicnets.scratch.optimizers import OPTIMIZERS, make_optimizer
from classicnets.scratch.schedules import (
    constant,
    cosine,
    inverse_sqrt,
    make_schedule,
    step_decay,
)

STEPS = 20

# (our name, our hyper-parameters, torch class, torch keyword arguments); lr is in both.
CASES = [
    ("sgd", {"lr": 0.1}, torch.optim.SGD, {"lr": 0.1}),
    (
        "sgd",
        {"lr": 0.05, "weight_decay": 0.01},
        torch.optim.SGD,
        {"lr": 0.05, "weight_decay": 0.01},
    ),
    ("sgd", {"lr": 0.1, "momentum": 0.8}, torch.optim.SGD, {"lr": 0.1, "momentum": 0.8}),
    ("momentum", {"lr": 0.1}, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (
        "momentum",
        {"lr": 0.02, "momentum": 0.5, "weight_decay": 1e-3},
        torch.optim.SGD,
        {"lr": 0.02, "momentum": 0.5, "weight_decay": 1e-3},
    ),
    ("nesterov", {"lr": 0.1}, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (
        "nesterov",
        {"lr": 0.05, "momentum": 0.7, "weight_decay": 0.01},
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.7, "nesterov": True, "weight_decay": 0.01},
    ),
    ("adagrad", {"lr": 0.1}, torch.optim.Adagrad, {"lr": 0.1}),
    (
        "adagrad",
        {
            "lr": 0.1,
            "lr_decay": 0.01,
            "weight_decay": 0.01,
            "initial_accumulator_value": 0.1,
            "eps": 1e-6,
        },
        torch.optim.Adagrad,
        {
            "lr": 0.1,
            "lr_decay": 0.01,
            "weight_decay": 0.01,
            "initial_accumulator_value": 0.1,
            "eps": 1e-6,
        },
    ),
    ("rmsprop", {"lr": 0.01}, torch.optim.RMSprop, {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9}, torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.9}),
    (
        "rmsprop",
        {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
        torch.optim.RMSprop,
        {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
    ),
    ("adadelta", {"lr": 1.0}, torch.optim.Adadelta, {"lr": 1.0}),
    (
        "adadelta",
        {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.01},
        torch.optim.Adadelta,
        {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.01},
    ),
    ("adam", {"lr": 1e-3}, torch.optim.Adam, {"lr": 1e-3}),
    (
        "adam",
        {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-6, "weight_decay": 0.01},
        torch.optim.Adam,
        {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-6, "weight_decay": 0.01},
    ),
    ("nadam", {"lr": 2e-3}, torch.optim.NAdam, {"lr": 2e-3}),
    (
        "nadam",
        {"lr": 0.01, "betas": (0.8, 0.99), "momentum_decay": 0.01, "weight_decay": 0.01},
        torch.optim.NAdam,
        {"lr": 0.01, "betas": (0.8, 0.99), "momentum_decay": 0.01, "weight_decay": 0.01},
    ),
    ("adamw", {"lr": 1e-3}, torch.optim.AdamW, {"lr": 1e-3}),
    (
        "adamw",
        {"lr": 0.01, "betas": (0.0, 0.5), "weight_decay": 0.1},
        torch.optim.AdamW,
        {"lr": 0.01, "betas": (0.0, 0.5), "weight_decay": 0.1},
    ),
]


def _case_id(case) -> str:
    name, hp = case[0], case[1]
    return name + "-" + "-".join(f"{k}={v}" for k, v in hp.items() if k != "lr")


class _Float64Default:
    """torch keeps Nadam's ∏μ (and other scalars) in the default dtype: make it float64 so the
    reference is as exact as the float64 parameters it updates."""

    def __enter__(self):
        self.saved = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)

    def __exit__(self, *exc):
        torch.set_default_dtype(self.saved)


def _start(seed: int = 0) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
    """Two parameters (a matrix and a bias) and STEPS rounds of random gradients."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(3, 4), (5,)]
    params = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    grads = [
        [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes] for _ in range(STEPS)
    ]
    return params, grads


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_every_step_matches_torch(case):
    name, hp, torch_cls, torch_hp = case
    params, grads = _start()
    mine = [p.clone() for p in params]
    theirs = [p.clone().requires_grad_(True) for p in params]
    opt = make_optimizer(name, mine, **hp)
    with _Float64Default():
        reference = torch_cls(theirs, **torch_hp)
        for t, step_grads in enumerate(grads, start=1):
            opt.step(step_grads)
            for p, g in zip(theirs, step_grads, strict=True):
                p.grad = g.clone()
            reference.step()
            for a, b in zip(mine, theirs, strict=True):
                torch.testing.assert_close(
                    a, b.detach(), rtol=1e-10, atol=1e-12, msg=f"{name} differs at step {t}"
                )
    assert opt.t == STEPS
    # The parameters moved: a no-op optimizer would pass the closeness check only if torch's did.
    assert not torch.equal(mine[0], params[0])


def test_default_learning_rates_are_torchs_where_it_matters():
    p = [torch.zeros(2, dtype=torch.float64)]
    assert make_optimizer("adadelta", p).lr == 1.0
    assert make_optimizer("adam", p).lr == 1e-3
    assert make_optimizer("nadam", p).lr == 2e-3
    assert make_optimizer("adamw", p).weight_decay == 1e-2
    assert make_optimizer("momentum", p).momentum == 0.9
    assert make_optimizer("nesterov", p).nesterov
    assert set(OPTIMIZERS) == {
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adadelta",
        "adam",
        "nadam",
        "adamw",
    }


def test_hand_computed_adam_first_step():
    # After one step Adam moves every coordinate by lr * g / (|g| + eps·√(1-β₂)) ≈ lr·sign(g).
    theta = torch.tensor([1.0, -2.0], dtype=torch.float64)
    opt = ours.Adam([theta], lr=0.1)
    opt.step([torch.tensor([3.0, -0.5], dtype=torch.float64)])
    torch.testing.assert_close(
        theta, torch.tensor([0.9, -1.9], dtype=torch.float64), atol=1e-8, rtol=0
    )


def test_state_dict_shows_the_running_quantities():
    theta = torch.zeros(3, dtype=torch.float64)
    opt = ours.Adam([theta], lr=0.1, betas=(0.5, 0.25))
    g = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    opt.step([g])
    state = opt.state_dict()
    assert state["optimizer"] == "Adam" and state["t"] == 1 and state["betas"] == (0.5, 0.25)
    torch.testing.assert_close(state["state"][0]["m"], 0.5 * g)
    torch.testing.assert_close(state["state"][0]["v"], 0.75 * g**2)


def _lr_after(scheduler_steps: int, make_scheduler) -> list[float]:
    """torch's learning rate at t = 0 .. scheduler_steps."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = make_scheduler(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(scheduler_steps):
        opt.step()
        scheduler.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


@pytest.mark.parametrize(
    "ours_schedule, make_torch",
    [
        (
            inverse_sqrt(0.5),
            lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1 / math.sqrt(t + 1)),
        ),
        (step_decay(0.5, 7, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 7, gamma=0.5)),
        (step_decay(0.5, 3), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.1)),
        (cosine(0.5, 25), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 25)),
        (
            cosine(0.5, 30, 1e-3),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 30, eta_min=1e-3),
        ),
        (constant(0.5), lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=1.0)),
    ],
    ids=["1/t", "step7x0.5", "step3x0.1", "cosine25", "cosine30-min", "constant"],
)
def test_schedule_matches_torch_value_by_value(ours_schedule, make_torch):
    horizon = getattr(ours_schedule, "total_steps", 30)
    reference = _lr_after(horizon, make_torch)
    for t, lr in enumerate(reference):
        assert math.isclose(ours_schedule(t), lr, rel_tol=1e-10, abs_tol=1e-13), t


def test_cosine_holds_its_floor_after_the_last_step():
    schedule = cosine(1.0, 10, min_lr=0.01)
    assert schedule(10) == pytest.approx(0.01) and schedule(25) == pytest.approx(0.01)


def test_schedule_drives_an_optimizer_like_torchs_scheduler():
    params, grads = _start(1)
    mine = [p.clone() for p in params]
    theirs = [p.clone().requires_grad_(True) for p in params]
    opt = make_optimizer("momentum", mine, lr=0.2)
    schedule = make_schedule("step", 0.2, STEPS)  # step_size 6: the rate falls twice
    reference = torch.optim.SGD(theirs, lr=0.2, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(reference, step_size=STEPS // 3, gamma=0.1)
    for t, step_grads in enumerate(grads):
        opt.lr = schedule(t)
        opt.step(step_grads)
        for p, g in zip(theirs, step_grads, strict=True):
            p.grad = g.clone()
        reference.step()
        scheduler.step()
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b.detach(), rtol=1e-10, atol=1e-12)


def test_make_schedule_names_and_defaults():
    assert make_schedule("1/t", 1.0, 10)(3) == pytest.approx(0.5)
    assert make_schedule("constant", 0.3, 10)(9) == 0.3
    assert make_schedule("cosine", 1.0, 10)(5) == pytest.approx(0.5)
    assert make_schedule("step", 1.0, 9, gamma=0.5)(3) == pytest.approx(0.5)


def _one_sentence(message: str) -> None:
    assert message.endswith((".", "?")) and "\n" not in message


P = [torch.zeros(2, dtype=torch.float64)]


@pytest.mark.parametrize(
    "build, expected",
    [
        (
            lambda: make_optimizer("adam", P, betas=(1.0, 0.999)),
            r"beta1 must be in \[0, 1\), got 1.0",
        ),
        (
            lambda: make_optimizer("nadam", P, betas=(0.9, 1.5)),
            r"beta2 must be in \[0, 1\), got 1.5",
        ),
        (lambda: make_optimizer("adamw", P, betas=(-0.1, 0.9)), r"beta1 .* got -0.1"),
        (lambda: make_optimizer("adam", P, eps=0.0), r"eps must be > 0, got 0.0"),
        (lambda: make_optimizer("rmsprop", P, eps=-1e-8), r"eps must be > 0, got -1e-08"),
        (lambda: make_optimizer("sgd", P, lr=0.0), r"learning rate must be a number > 0, got 0.0"),
        (lambda: make_optimizer("adagrad", P, lr=-0.1), r"learning rate .* got -0.1"),
        (
            lambda: make_optimizer("momentum", P, momentum=1.0),
            r"momentum must be in \[0, 1\), got 1.0",
        ),
        (lambda: make_optimizer("sgd", P, momentum=-0.5), r"momentum .* got -0.5"),
        (lambda: make_optimizer("rmsprop", P, alpha=1.0), r"alpha must be in \[0, 1\), got 1.0"),
        (lambda: make_optimizer("adadelta", P, rho=1.2), r"rho must be in \[0, 1\), got 1.2"),
        (lambda: make_optimizer("sgd", P, weight_decay=-1.0), r"weight_decay must be >= 0"),
        (lambda: ours.SGD(P, 0.1, nesterov=True), r"Nesterov momentum needs momentum > 0"),
        (lambda: make_optimizer("adam", P, momentum=0.9), r"no hyper-parameter 'momentum'"),
        (lambda: make_schedule("step", 0.0, 10), r"initial learning rate .* got 0.0"),
        (lambda: make_schedule("step", 0.1, 10, step_size=0), r"step_size .* got 0"),
        (lambda: make_schedule("step", 0.1, 10, gamma=0.0), r"gamma must be in \(0, 1\], got 0.0"),
        (lambda: make_schedule("cosine", 0.1, 0), r"total_steps .* got 0"),
        (lambda: make_schedule("cosine", 0.1, 10, min_lr=0.2), r"min_lr .* got 0.2"),
        (lambda: inverse_sqrt(0.1)(-1), r"step t = 0, 1, 2, \.\.\., got -1"),
    ],
)
def test_bad_settings_raise_one_sentence(build, expected):
    with pytest.raises(ClassicnetsError, match=expected) as info:
        build()
    _one_sentence(str(info.value))


@pytest.mark.parametrize(
    "build, close",
    [
        (lambda: make_optimizer("adma", P), "'adam'"),
        (lambda: make_optimizer("nestrov", P), "'nesterov'"),
        (lambda: make_schedule("cosin", 0.1, 10), "'cosine'"),
    ],
)
def test_unknown_names_suggest_the_closest(build, close):
    with pytest.raises(UnknownNameError, match="Did you mean") as info:
        build()
    assert close in str(info.value)


def test_gradients_that_do_not_fit_the_parameters():
    opt = make_optimizer("sgd", [torch.zeros(2, 3), torch.zeros(3)])
    with pytest.raises(ShapeError, match="got 1 gradients for 2 parameters"):
        opt.step([torch.zeros(2, 3)])
    with pytest.raises(ShapeError, match=r"gradient 1 has shape \(4,\) but parameter 1"):
        opt.step([torch.zeros(2, 3), torch.zeros(4)])
