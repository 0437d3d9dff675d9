"""Per-layer gradient norms: the recorded norms against torch.autograd by hand, the forward
order of the layers, the vanishing gradient of a deep sigmoid MLP against its ReLU form, a
probe that leaves the caller's model and optimizer exactly as they were, and the picture."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.data import load_dataset
from classicnets.errors import ClassicnetsError
from classicnets.models import create_model
from classicnets.train import Model
from classicnets.train.gradients import GradientNorms, gradient_norms, parametrised_layers
from classicnets.viz.gradients import plot_gradient_norms


def _tensors(n=64, features=12, classes=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=g), torch.randint(0, classes, (n,), generator=g)


def _mlp(features=12, classes=5):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(features, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, classes)
    )


def test_first_update_norms_equal_autograd_by_hand():
    x, y = _tensors()
    module = _mlp()
    # A tiny clip: the recorded norms are the loss's own gradient, not the clipped one.
    model = Model(module, device="cpu").compile("sgd", lr=0.1, grad_clip=1e-3)
    result = gradient_norms(model, (x, y), steps=3, batch_size=len(x))  # one batch: all of it
    assert result["layers"] == ["0", "2", "4"]
    loss = F.cross_entropy(module(x), y)  # the caller's weights are still the initial ones
    expected = []
    for index in (0, 2, 4):
        grads = torch.autograd.grad(loss, list(module[index].parameters()), retain_graph=True)
        expected.append(torch.sqrt(sum(g.pow(2).sum() for g in grads)).item())
    assert result["norms"][0] == pytest.approx(expected, rel=1e-5)
    assert result["loss"][0] == pytest.approx(loss.item(), rel=1e-6)
    assert len(result["norms"]) == len(result["loss"]) == 3
    assert result["loss"][2] < result["loss"][0]  # the copy did train


class _Backwards(nn.Module):
    """Defined output-first, called input-first."""

    def __init__(self) -> None:
        super().__init__()
        self.out = nn.Linear(6, 3)
        self.unused = nn.Linear(6, 6)  # never called: no gradient, no entry
        self.inp = nn.Linear(12, 6)

    def forward(self, x):
        return self.out(torch.relu(self.inp(x)))


def test_layers_come_in_forward_order_and_unused_ones_are_left_out():
    x, y = _tensors(n=16, classes=3)
    model = Model(_Backwards(), device="cpu").compile("sgd", lr=0.1)
    assert [name for name, _, _ in parametrised_layers(model.module)] == ["out", "unused", "inp"]
    assert gradient_norms(model, (x, y), steps=1)["layers"] == ["inp", "out"]


def test_lenet5_layers_by_module_path():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (32, 1, 12, 12), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (32,), generator=g)
    model = Model(create_model("lenet5", seed=0, image_size=12), device="cpu").compile()
    result = gradient_norms(model, (x, y), steps=2, batch_size=16)
    assert result["layers"] == ["features.0", "features.3", "head.1", "head.3", "head.5"]
    assert all(v > 0 for row in result["norms"] for v in row)


def _first_last_ratio(activation: str, data) -> float:
    module = create_model(
        "mlp", seed=0, image_size=8, hidden=(32,) * 9, activation=activation
    )  # 10 linear layers
    model = Model(module, device="cpu").compile("sgd", lr=0.1)
    norms = gradient_norms(model, data, steps=1)["norms"][0]
    assert len(norms) == 10
    return norms[-1] / norms[0]


def test_a_deep_sigmoid_mlp_vanishes_where_relu_does_not():
    digits = load_dataset("digits", "train")
    sigmoid = _first_last_ratio("sigmoid", digits)
    relu = _first_last_ratio("relu", digits)
    # sigmoid' <= 1/4 at every layer: about 1e7 at init here; ReLU's is a few hundred.
    assert sigmoid >= 100
    assert relu * 1000 < sigmoid


def test_the_callers_model_and_optimizer_are_left_as_they_were():
    x, y = _tensors()
    model = Model(_mlp(), device="cpu").compile("adam", lr=1e-2, schedule="cosine")
    model.fit(x, y, epochs=1, batch_size=16)  # the optimizer now has moments to keep
    weights = {k: v.clone() for k, v in model.module.state_dict().items()}
    optimizer = copy.deepcopy(model.optimizer.state_dict())
    where = (model.global_step, model.position, model.epochs_done, model.resume_point["position"])
    result = gradient_norms(model, (x, y), steps=6, batch_size=16)
    assert len(result["norms"]) == 6
    for key, value in model.module.state_dict().items():
        assert torch.equal(value, weights[key]), key
    after = model.optimizer.state_dict()
    assert after["param_groups"] == optimizer["param_groups"]
    for index, state in optimizer["state"].items():
        for key, value in state.items():
            assert torch.equal(after["state"][index][key], value), (index, key)
    assert (
        model.global_step,
        model.position,
        model.epochs_done,
        model.resume_point["position"],
    ) == where
    assert model.optimizer.param_groups[0]["params"][0] is next(model.module.parameters())


def test_the_callback_records_only_the_first_steps_of_a_fit():
    x, y = _tensors()
    model = Model(_mlp(), device="cpu").compile("sgd", lr=0.1)
    recorder = GradientNorms(steps=3)
    history = model.fit(x, y, epochs=2, batch_size=16, callbacks=[recorder])  # 8 updates
    assert len(history.history["loss"]) == 2
    assert len(recorder.norms) == len(recorder.loss) == 3
    assert not recorder._handles and not recorder._order_handles  # hooks gone once recorded


def test_bad_requests_are_one_sentence():
    x, y = _tensors()
    with pytest.raises(ClassicnetsError, match="steps"):
        GradientNorms(steps=0)
    with pytest.raises(ClassicnetsError, match="compiled"):
        gradient_norms(Model(_mlp(), device="cpu"), (x, y), steps=2)


def test_the_picture(tmp_path):
    x, y = _tensors()
    results = {}
    for label, act in (("tanh", nn.Tanh), ("relu", nn.ReLU)):
        module = nn.Sequential(nn.Linear(12, 16), act(), nn.Linear(16, 5))
        model = Model(module, device="cpu").compile("sgd", lr=0.1)
        results[label] = gradient_norms(model, (x, y), steps=4, batch_size=16)
    path = plot_gradient_norms(results, tmp_path / "g.png", "two MLPs on random tensors")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]  # no temporary file left
    with pytest.raises(ClassicnetsError, match="at least one"):
        plot_gradient_norms({}, tmp_path / "e.png")
    broken = {"layers": ["a", "b"], "norms": [[1.0]]}
    with pytest.raises(ClassicnetsError, match="one value per layer"):
        plot_gradient_norms({"broken": broken}, tmp_path / "e.png")
