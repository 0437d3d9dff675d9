"""The activation picture: the curves it draws are the functions and their autograd
derivatives (Maxout with two pieces included), and it writes a readable PNG."""

from __future__ import annotations

import pytest
import torch

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import UnknownNameError
from classicnets.viz.activations import (
    MAXOUT_OFFSETS,
    MAXOUT_SLOPES,
    PANEL_NAMES,
    activation_curves,
    plot_activations,
)


def test_curves_are_each_function_and_its_derivative():
    x = torch.linspace(-4, 4, 801, dtype=torch.float64)[1::2]  # steps past 0, off the kinks
    curves = activation_curves(None, x)
    assert list(curves) == list(PANEL_NAMES) and len(curves) == 9
    for name, (value, slope) in curves.items():
        leaf = x.clone().requires_grad_(True)
        if name == "maxout":
            w, b = (
                torch.tensor(MAXOUT_SLOPES, dtype=x.dtype),
                torch.tensor(MAXOUT_OFFSETS, dtype=x.dtype),
            )
            reference = (leaf[:, None] * w + b).amax(dim=1)
        else:
            reference = {
                "sigmoid": torch.sigmoid,
                "tanh": torch.tanh,
                "relu": torch.relu,
                "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
                "prelu": lambda t: torch.nn.functional.prelu(
                    t, torch.tensor([0.25], dtype=x.dtype)
                ),
                "elu": torch.nn.functional.elu,
                "softplus": torch.nn.functional.softplus,
                "gelu": torch.nn.functional.gelu,
            }[name](leaf)
        (grad,) = torch.autograd.grad(reference.sum(), leaf)
        torch.testing.assert_close(value, reference.detach(), msg=name)
        torch.testing.assert_close(slope, grad, msg=name)
    assert float(curves["sigmoid"][1].max()) <= 0.25
    assert set(curves["maxout"][1].tolist()) == set(MAXOUT_SLOPES)  # each piece wins somewhere


def test_plot_writes_one_panel_per_activation(tmp_path):
    from matplotlib.image import imread

    every = imread(plot_activations(path=tmp_path / "all.png", title="Activations (all)"))
    two = imread(plot_activations(["sigmoid", "maxout"], path=tmp_path / "two.png"))
    assert every.shape[0] > every.shape[1] * 0.7  # a 3 × 3 grid
    assert two.shape[1] > 1.5 * two.shape[0]  # one row of two panels
    assert every.std() > 0.05 and two.std() > 0.05  # something was drawn


def test_unknown_name_suggests_the_closest(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'tanh'"):
        plot_activations(["tanhh"], path=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
