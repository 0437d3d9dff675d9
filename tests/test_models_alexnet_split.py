"""AlexNet's two-device split: the same numbers as the grouped network (scores, gradients, an SGD
step), each half holding its slice of the grouped weights, the paper's cross-tower connectivity,
merging back into the registry network, and the error for models without a split.

The reference is the registry's grouped ``alexnet_original`` with its two LRN layers run per
tower (:class:`PerTowerLRN`), as the paper's GPUs did: the registry's one LRN over all channels
mixes the maps at the tower boundary (channels 46 to 49 after conv1), which the split does not.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.analysis import summary
from classicnets.errors import ClassicnetsError, UnknownNameError
from classicnets.models import create_model, model_info
from classicnets.models.alexnet import ALEXNET_ORIGINAL, make_alexnet
from classicnets.models.alexnet_split import (
    AlexNetTwoTowers,
    grouped_state_dict,
    merge_alexnet,
    split_alexnet,
    split_model,
)
from classicnets.models.alexnet_split_state import grouped_optimizer_state, split_optimizer_state

SIZE = 99  # the last maps are 2x2, so fc6's column order is tested across space too
CPU = ("cpu", "cpu")
LAYERS = [("features", f"conv{i}") for i in range(1, 6)] + [("head", "fc6"), ("head", "fc7")]


class PerTowerLRN(nn.Module):
    """The grouped network's LRN constants applied to each channel half on its own."""

    def __init__(self, lrn: nn.LocalResponseNorm) -> None:
        super().__init__()
        self.lrn = nn.LocalResponseNorm(lrn.size, lrn.alpha, lrn.beta, lrn.k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.lrn(half) for half in x.chunk(2, dim=1)], dim=1)


def _grouped(seed: int = 0, hidden: int = 256) -> nn.Module:
    """alexnet_original's layers with narrower fc6 and fc7 (the registry's 4,096 at
    ``hidden=None``), in float64, its weights drawn from ``seed``."""
    if hidden is None:
        model = create_model("alexnet_original", num_classes=10, image_size=SIZE, seed=seed)
        return model.double()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make_alexnet(
            ALEXNET_ORIGINAL, num_classes=10, in_channels=3, image_size=SIZE, hidden=hidden
        )
    return model.double()


def _per_tower(grouped: nn.Module) -> nn.Module:
    reference = copy.deepcopy(grouped)
    for name in ("lrn1", "lrn2"):
        setattr(reference.features, name, PerTowerLRN(getattr(reference.features, name)))
    return reference


def _images(n: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed)).double()


@pytest.fixture(scope="module")
def pair():
    """(per-tower grouped reference, its split), in eval mode; read only."""
    grouped = _grouped().eval()
    return _per_tower(grouped), split_alexnet(grouped, CPU)


def test_scores_equal_the_grouped_network(pair):
    reference, split = pair
    x = _images()
    with torch.no_grad():
        expected, got = reference(x), split(x)
    assert got.shape == (2, 10)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    assert expected.abs().max() > 1e-3  # not a comparison of zeros


def test_each_half_holds_its_slice_of_the_grouped_weights(pair):
    reference, split = pair
    shapes = {"conv2": (128, 48, 5, 5), "conv3": (192, 256, 3, 3), "conv4": (192, 192, 3, 3)}
    for place, name in LAYERS:
        whole = getattr(getattr(reference, place), name)
        rows = whole.weight.shape[0] // 2
        for t, tower in enumerate(split.towers):
            half = tower[name][0]
            assert torch.equal(half.weight, whole.weight[t * rows : (t + 1) * rows])
            assert torch.equal(half.bias, whole.bias[t * rows : (t + 1) * rows])
            assert half.weight.data_ptr() != whole.weight.data_ptr()  # a copy, not a view
            if name in shapes:
                assert tuple(half.weight.shape) == shapes[name]
    assert torch.equal(split.fc8.weight, reference.head.fc8.weight)
    assert sum(p.numel() for p in split.parameters()) == sum(
        p.numel() for p in reference.parameters()
    )


def test_gradients_are_the_slices_of_the_grouped_gradients(pair):
    reference, split = pair
    x, y = _images(), torch.tensor([3, 7])
    for module in (reference, split):
        module.zero_grad()
        F.cross_entropy(module(x), y).backward()
    for place, name in LAYERS:
        whole = getattr(getattr(reference, place), name)
        for param in ("weight", "bias"):
            halves = getattr(whole, param).grad.chunk(2)
            for tower, expected in zip(split.towers, halves, strict=True):
                got = getattr(tower[name][0], param).grad
                torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(split.fc8.weight.grad, reference.head.fc8.weight.grad)
    assert reference.features.conv1.weight.grad.abs().max() > 0


def test_sgd_steps_keep_both_equal():
    grouped = _grouped()
    split = split_alexnet(grouped, CPU)
    reference = _per_tower(grouped)  # trains its own copy; the split must not share it
    for module in (reference, split):
        module.train()
        for layer in module.modules():
            if isinstance(layer, nn.Dropout):
                layer.p = 0.0  # the towers draw their own masks; the arithmetic is the test
    optimizers = [
        torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (reference, split)
    ]
    x, y = _images(4), torch.tensor([0, 1, 2, 3])
    for _ in range(2):  # the second step uses the momentum of the first
        for module, optimizer in zip((reference, split), optimizers, strict=True):
            optimizer.zero_grad()
            F.cross_entropy(module(x), y).backward()
            optimizer.step()
    trained = grouped_state_dict(split)
    before = _grouped().state_dict()  # the same seed: the weights both started from
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(trained[key], value, rtol=1e-9, atol=1e-12)
    assert not torch.equal(trained["head.fc7.weight"], before["head.fc7.weight"])


def _step(module: nn.Module, optimizer: torch.optim.Optimizer, x, y) -> None:
    optimizer.zero_grad()
    F.cross_entropy(module(x), y).backward()
    optimizer.step()


def test_adam_state_maps_between_the_layouts_and_resumes(pair):
    reference, split = (copy.deepcopy(m) for m in pair)
    x, y = _images(), torch.tensor([5, 9])
    adams = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in (reference, split)]
    for _ in range(2):
        for module, adam in zip((reference, split), adams, strict=True):
            _step(module, adam, x, y)
    expected = adams[0].state_dict()
    grouped = grouped_optimizer_state(split, adams[1].state_dict())
    assert grouped["param_groups"] == expected["param_groups"]
    assert grouped["state"].keys() == expected["state"].keys() and len(expected["state"]) == 16
    for g, entry in expected["state"].items():
        for key, value in entry.items():
            torch.testing.assert_close(grouped["state"][g][key], value, rtol=1e-7, atol=1e-15)
    # Resume a split model from the grouped state (a checkpoint's), as the run would.
    resumed = torch.optim.Adam(split.parameters(), lr=1e-3)
    resumed.load_state_dict(split_optimizer_state(split, expected))
    for module, adam in ((reference, adams[0]), (split, resumed)):
        _step(module, adam, x, y)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(grouped_state_dict(split)[key], value, rtol=1e-7, atol=1e-12)
    steps = {int(entry["step"]) for entry in resumed.state_dict()["state"].values()}
    assert steps == {3}  # each half counts its own steps (no shared counter)
    with pytest.raises(ClassicnetsError, match="one group"):
        split_optimizer_state(split, adams[1].state_dict())  # a split state is not a grouped one


@pytest.mark.parametrize(
    "perturbed, unchanged, changed",
    [
        (("tower1", "conv1"), ("tower0", "conv2"), ("tower0", "conv3")),  # conv2 is grouped
        (("tower0", "conv1"), ("tower1", "conv2"), ("tower1", "conv3")),
        (("tower1", "conv2"), ("tower0", "conv2"), ("tower0", "conv3")),  # conv3 reads both
        (("tower1", "conv3"), ("tower0", "conv5"), ("tower0", "fc6")),  # conv4, conv5 grouped
        (("tower1", "fc6"), ("tower0", "fc6"), ("tower0", "fc7")),  # fc7 reads both
    ],
)
def test_the_towers_talk_only_where_the_paper_has_them(pair, perturbed, unchanged, changed):
    _, split = pair
    seen: dict[str, torch.Tensor] = {}

    def record(key):
        def hook(module, inputs, output):
            seen[key] = output.detach().clone()

        return hook

    def run(bump: float) -> dict[str, torch.Tensor]:
        towers = {"tower0": split.tower0, "tower1": split.tower1}
        target = towers[perturbed[0]][perturbed[1]]
        handles = [target.register_forward_hook(lambda m, i, out: out + bump)]
        for key in (unchanged, changed):
            handles.append(towers[key[0]][key[1]].register_forward_hook(record(key)))
        with torch.no_grad():
            split(_images())
        for handle in handles:
            handle.remove()
        return dict(seen)

    base, bumped = run(0.0), run(0.5)
    assert torch.equal(base[unchanged], bumped[unchanged])
    assert not torch.allclose(base[changed], bumped[changed])


def test_merge_gives_back_the_registry_network():
    original = _grouped(hidden=None).eval()
    split = split_alexnet(original, CPU)
    merged = merge_alexnet(split)
    fresh = create_model("alexnet_original", num_classes=10, image_size=SIZE, seed=5).double()
    assert merged.state_dict().keys() == fresh.state_dict().keys()
    assert merged.classicnets_spec == fresh.classicnets_spec
    fresh.load_state_dict(merged.state_dict())  # strict: a checkpoint of it loads by name
    for key, value in original.state_dict().items():
        assert torch.equal(merged.state_dict()[key], value)
    x = _images()
    with torch.no_grad():
        torch.testing.assert_close(merged.eval()(x), original(x), rtol=0, atol=0)
        torch.testing.assert_close(split(x), _per_tower(original)(x), rtol=0, atol=1e-12)


def test_features_head_and_reset_classifier(pair):
    reference, split = pair
    x = _images()
    with torch.no_grad():
        features = split.forward_features(x)
        torch.testing.assert_close(features, reference.forward_features(x), rtol=0, atol=1e-12)
        torch.testing.assert_close(split.forward_head(features), split(x), rtol=0, atol=1e-12)
    changed = copy.deepcopy(split)
    changed.reset_classifier(7)
    assert changed.num_classes == 7 and changed.fc8.weight.dtype == torch.float64
    assert changed(x).shape == (2, 7)
    assert merge_alexnet(changed).num_classes == 7
    assert split.num_classes == 10  # the copy changed alone


def test_summary_counts_the_grouped_network(pair):
    reference, split = pair
    grouped, towers = (
        summary(copy.deepcopy(m).float(), input_size=(3, SIZE, SIZE)) for m in (reference, split)
    )
    assert towers.total_macs == grouped.total_macs > 0
    assert towers.total_params == grouped.total_params


def test_split_model_by_name_at_the_smallest_image():
    size = model_info("alexnet_original").min_image_size
    split = split_model("alexnet_original", CPU, num_classes=10, image_size=size, seed=0)
    assert isinstance(split, AlexNetTwoTowers)
    assert split.devices == (torch.device("cpu"), torch.device("cpu"))
    with torch.no_grad():
        assert split.eval()(torch.randn(1, 3, size, size)).shape == (1, 10)


@pytest.mark.parametrize(
    "model, named",
    [
        ("alexnet", "alexnet has no split"),
        ("resnet18", "resnet18 has no split"),
        (lambda: create_model("zfnet", num_classes=10), "zfnet has no split"),
        (lambda: nn.Linear(3, 2), "Linear has no split"),
    ],
)
def test_other_models_have_no_split(model, named):
    with pytest.raises(ClassicnetsError, match="applies to alexnet_original") as caught:
        split_model(model if isinstance(model, str) else model(), CPU)
    assert named in str(caught.value)


def test_bad_names_and_devices_are_told():
    with pytest.raises(UnknownNameError):
        split_model("alexnet_orignal", CPU)
    grouped = create_model("alexnet_original", num_classes=10, image_size=67, seed=0)
    for devices in (("cpu",), ("cpu", "cpu", "cpu"), "cpu"):
        with pytest.raises(ClassicnetsError, match="needs two devices"):
            split_alexnet(grouped, devices)
    with pytest.raises(ClassicnetsError, match="not a device"):
        split_alexnet(grouped, ("cpu", "gpu7"))
    absent = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ClassicnetsError, match="not on this machine"):
        split_alexnet(grouped, ("cpu", absent))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_gpus_give_the_grouped_scores():
    reference = _per_tower(_grouped().eval()).float()
    split = split_alexnet(_grouped().eval().float(), ("cuda:0", "cuda:1"))
    assert {p.device.index for p in split.tower1.parameters()} == {1}
    x = _images().float()
    with torch.no_grad():
        got = split(x.cuda(0))
    assert got.device == torch.device("cuda", 0)
    torch.testing.assert_close(got.cpu(), reference(x), rtol=1e-4, atol=1e-5)
