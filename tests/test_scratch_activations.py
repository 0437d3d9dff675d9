"""The hand-written activations and derivatives against torch's own functions and autograd
(float64), the sigmoid's 1/4 bound, Maxout and its mask, and the bad inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError, UnknownNameError
from classicnets.scratch.activations import (
    ACTIVATIONS,
    check_hyper,
    get_activation,
    maxout,
    maxout_mask,
    prelu_da,
)

# torch's implementation of each, with the same hyper-parameters: an independent reference.
TORCH = {
    "sigmoid": lambda x, **hp: torch.sigmoid(x),
    "tanh": lambda x, **hp: torch.tanh(x),
    "relu": lambda x, **hp: F.relu(x),
    "leaky_relu": lambda x, slope=0.01: F.leaky_relu(x, slope),
    "prelu": lambda x, a=0.25: F.prelu(x, torch.tensor([a], dtype=x.dtype)),
    "elu": lambda x, alpha=1.0: F.elu(x, alpha),
    "softplus": lambda x, **hp: F.softplus(x),
    "gelu": lambda x, **hp: F.gelu(x),  # exact erf form by default
}
HYPER = {"leaky_relu": {"slope": 0.2}, "prelu": {"a": -0.3}, "elu": {"alpha": 0.5}}


def _points() -> torch.Tensor:
    # Random points plus large magnitudes (overflow) and a grid; none exactly at a kink.
    g = torch.Generator().manual_seed(0)
    spread = torch.randn(500, generator=g, dtype=torch.float64) * 3
    return torch.cat([spread, torch.tensor([-60.0, -20.0, 20.0, 60.0], dtype=torch.float64)])


def _autograd_derivative(fn, x: torch.Tensor, **hp) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x, **hp).sum(), x)
    return grad


def test_every_activation_of_the_issue_is_there():
    assert set(ACTIVATIONS) == set(TORCH)


@pytest.mark.parametrize("name", sorted(TORCH))
@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom hyper"])
def test_function_and_derivative_match_torch(name, custom):
    act = get_activation(name)
    hp = check_hyper(act, HYPER.get(name, {}) if custom else {})
    x = _points()
    torch.testing.assert_close(act.f(x, **hp), TORCH[name](x, **hp), rtol=1e-12, atol=1e-12)
    expected = _autograd_derivative(TORCH[name], x, **hp)
    torch.testing.assert_close(act.df(x, **hp), expected, rtol=1e-10, atol=1e-12)
    assert act(x, **hp).shape == x.shape


def test_derivatives_at_the_kinks_are_torchs_subgradients():
    zero = torch.zeros(3, dtype=torch.float64)
    for name in ("relu", "leaky_relu", "prelu", "softplus", "sigmoid"):
        act = get_activation(name)
        hp = act.hyper
        torch.testing.assert_close(
            act.df(zero, **hp), _autograd_derivative(TORCH[name], zero, **hp)
        )


def test_sigmoid_derivative_never_exceeds_a_quarter():
    sigmoid = get_activation("sigmoid")
    x = torch.linspace(-40, 40, 400_001, dtype=torch.float64)  # step 2e-4, 0 included
    slope = sigmoid.df(x)
    assert float(slope.max()) <= 0.25
    assert float(slope.max()) == pytest.approx(0.25, abs=1e-15)  # reached at x = 0
    assert int(slope.argmax()) == 200_000
    # ten sigmoid layers shrink a gradient by at least 4**10
    assert float(slope.max()) ** 10 <= 4.0**-10


def test_prelu_slope_derivative_matches_autograd():
    x = _points()
    a = torch.tensor([0.25], dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(F.prelu(x, a).sum(), a)
    assert float(prelu_da(x).sum()) == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_maxout_and_its_mask_match_autograd(k):
    g = torch.Generator().manual_seed(k)
    z = torch.randn(6, 5 * k, generator=g, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(6, 5, generator=g, dtype=torch.float64)
    reference = z.view(6, 5, k).max(dim=-1).values  # unit j owns pieces j*k .. j*k + k - 1
    torch.testing.assert_close(maxout(z.detach(), k), reference.detach())
    (expected,) = torch.autograd.grad((reference * weights).sum(), z)
    mask = maxout_mask(z.detach(), k)
    torch.testing.assert_close(mask * weights.repeat_interleave(k, dim=1), expected)
    assert mask.sum(dim=1).tolist() == [5.0] * 6  # one winner per unit


@pytest.mark.parametrize("k", [1, 0, -2, 2.5, True])
def test_maxout_needs_at_least_two_pieces(k):
    with pytest.raises(ClassicnetsError, match=r"Maxout needs k ≥ 2 pieces"):
        maxout(torch.zeros(4, 4), k)


def test_maxout_needs_a_divisible_width():
    with pytest.raises(ClassicnetsError, match="divisible by 3"):
        maxout_mask(torch.zeros(2, 7), 3)


def test_unknown_activation_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'relu'"):
        get_activation("rellu")


def test_hyper_parameters_are_checked():
    with pytest.raises(ClassicnetsError, match="'elu' takes alpha, not slope"):
        check_hyper(get_activation("elu"), {"slope": 0.1})
    with pytest.raises(ClassicnetsError, match="takes no hyper-parameters"):
        check_hyper(get_activation("relu"), {"alpha": 1.0})
    assert check_hyper(get_activation("leaky_relu"), {}) == {"slope": 0.01}
