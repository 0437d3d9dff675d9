"""AlexNet split over two devices, as Krizhevsky et al. (2012) trained it on two GPUs.

``alexnet_original`` holds the paper's two towers in one network: the layers that see only their
own tower's maps are grouped convolutions (``groups=2``). :func:`split_alexnet` turns that network
into :class:`AlexNetTwoTowers`, whose towers live on two devices: every convolution and hidden
fully connected layer becomes two layers, one per device, each holding exactly its half of the
grouped layer's kernels (output rows) and biases, and the activations cross between devices
explicitly (``.to(device)``) at the layers that read both towers. :func:`merge_alexnet` gives
back the grouped network, so a model trained split is saved as the registry model.

The paper's Figure 2, layer by layer, at its input (224 px in the text, 227 px in the arithmetic
and in the registry: (227 - 11) / 4 + 1 = 55). Tower t lives on ``devices[t]`` and holds output
rows t*C/2 .. (t+1)*C/2 - 1 of each of alexnet_original's layers (``groups=2`` where noted)::

    layer  each tower holds                  reads                        tower gives
    conv1  48 kernels 11x11x3 s4, LRN, pool  the image, copied to both    48x55x55 -> 48x27x27
    conv2  128 kernels 5x5x48, LRN, pool     its own 48 maps (groups=2)   128x27x27 -> 128x13x13
    conv3  192 kernels 3x3x256               BOTH towers' 2 x 128 maps    192x13x13
    conv4  192 kernels 3x3x192               its own 192 maps (groups=2)  192x13x13
    conv5  128 kernels 3x3x192, pool         its own 192 maps (groups=2)  128x13x13 -> 128x6x6
    fc6    2048 neurons, dropout             BOTH: 2 x 128x6x6 = 9,216    2048
    fc7    2048 neurons, dropout             BOTH: 2 x 2048 = 4,096       2048
    fc8    whole, on devices[0] only         BOTH: 2 x 2048 = 4,096       1000 scores

A ReLU follows every convolution and fc6, fc7; s4 is stride 4; pools are 3x3 with stride 2.
So the devices talk after conv2 (each sends its 128x13x13 maps to the other), after conv5
(128x6x6), after fc6 and after fc7 (2048 values each); the backward pass sends the gradients
back the same ways. The paper puts half the neurons of every layer on each GPU; fc8 is kept whole
here, on ``devices[0]``, so the scores and the loss are in one place; that changes no number
(a linear layer cut into row halves, then concatenated, is the whole layer).

Local response normalisation runs inside each tower over that tower's maps only, as on the
paper's GPUs: tower 0's map 47 is never normalised with tower 1's map 48. (``alexnet_original``'s
one ``LocalResponseNorm`` over all 96 or 256 channels mixes the two maps on each side of the
boundary, 46 to 49 after conv1 and 126 to 129 after conv2, so it matches this split exactly only
once its LRN runs per tower too.)

Where there is one device only (a CPU: torch has one CPU device), both towers go on it: the code
path is still the two-tower one, and every transfer is a no-op.
"""

from __future__ import annotations

import copy
import itertools
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ClassicnetsError
from ._base import ImageClassifier
from ._registry import create_model, model_info

SPLIT_MODEL = "alexnet_original"  # the one registry model with a two-device split

# Figure 2 as data: what each layer of a tower reads. "image": the input, copied to both devices;
# "own": its own tower's maps (a grouped convolution, groups=2); "both": the maps of both towers,
# tower 0's then tower 1's, the other tower's sent over: the only places the devices talk.
READS = {
    "conv1": "image",
    "conv2": "own",
    "conv3": "both",
    "conv4": "own",
    "conv5": "own",
    "fc6": "both",
    "fc7": "both",
}
CONVS = ("conv1", "conv2", "conv3", "conv4", "conv5")
HIDDEN = ("fc6", "fc7")


class AlexNetTwoTowers(nn.Module):
    """``alexnet_original`` with its two towers on two devices (see the module docstring).

    Args:
        model: a built ``alexnet_original`` (its weights are copied, it is left as it was).
        devices: the two devices, tower 0's first; the scores come out on ``devices[0]``.

    Attributes:
        tower0, tower1: each tower's layers by the paper's names (``conv1`` ... ``conv5``: conv,
            ReLU, then LRN and max pooling where the paper has them; ``fc6``, ``fc7``: linear,
            ReLU, dropout), each on its own device.
        fc8: the classifier, whole, on ``devices[0]``.
    """

    def __init__(self, model: nn.Module, devices: Sequence[str | torch.device]) -> None:
        super().__init__()
        layers = _grouped_layers(model)
        places = _check_devices(devices)
        self.tower0 = _tower(layers, 0, places[0])
        self.tower1 = _tower(layers, 1, places[1])
        self.fc8 = copy.deepcopy(layers["fc8"]).to(places[0])  # a copy, not the grouped one
        # A weightless copy of the grouped network keeps its exact layout (layer classes, names,
        # the registry's spec) for merge_alexnet; set outside the module tree, so its meta
        # tensors are never parameters of this module and .to() leaves them alone.
        object.__setattr__(self, "_grouped", _weightless_copy(model))
        spec = getattr(model, "classicnets_spec", None)
        if spec is not None:  # checkpoints name the registry model this one merges back into
            self.classicnets_spec = copy.deepcopy(spec)
        self.train(model.training)

    @property
    def towers(self) -> tuple[nn.ModuleDict, nn.ModuleDict]:
        return self.tower0, self.tower1

    @property
    def devices(self) -> tuple[torch.device, torch.device]:
        """Where the towers are now (read from their weights, so it follows a ``.to()``)."""
        return self.tower0.conv1[0].weight.device, self.tower1.conv1[0].weight.device

    @property
    def num_classes(self) -> int:
        return self.fc8.out_features

    def _exchange(self, parts: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Each tower's input from both towers: tower 0's maps then tower 1's (the grouped
        network's channel order), gathered on that tower's device."""
        return [torch.cat([part.to(device) for part in parts], dim=1) for device in self.devices]

    def tower_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The last pooled maps of each tower, each on its own device: 2 x (B, C/2, S, S)."""
        maps = [x.to(device) for device in self.devices]  # the image on both devices
        for name in CONVS:
            if READS[name] == "both":
                maps = self._exchange(maps)
            maps = [tower[name](m) for tower, m in zip(self.towers, maps, strict=True)]
        return maps[0], maps[1]

    def tower_head(self, maps: Sequence[torch.Tensor]) -> torch.Tensor:
        """Class scores on ``devices[0]`` from each tower's last maps (on its device)."""
        # Flattening each half and joining them is flattening the whole (B, C, S, S), channel
        # major, so fc6's halves read their inputs in the grouped fc6's column order.
        flat = [m.flatten(1) for m in maps]  # 2 x (B, C/2 * S * S)
        for name in HIDDEN:
            flat = self._exchange(flat)  # 2 x (B, C * S * S), then 2 x (B, 4096)
            flat = [tower[name](f) for tower, f in zip(self.towers, flat, strict=True)]
        first = self.devices[0]
        return self.fc8(torch.cat([f.to(first) for f in flat], dim=1))  # (B, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Both towers' last maps joined on ``devices[0]``: (B, C, S, S), as the grouped network's
        ``forward_features`` gives them (for summaries and feature-map plots)."""
        first = self.devices[0]
        return torch.cat([m.to(first) for m in self.tower_features(x)], dim=1)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores from joined maps (B, C, S, S): each tower takes its channel half back."""
        halves = x.chunk(2, dim=1)
        return self.tower_head([h.to(d) for h, d in zip(halves, self.devices, strict=True)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Not forward_head(forward_features(x)): that would send tower 1's maps to devices[0]
        # and back; each fc6 half gets only the other tower's maps.
        return self.tower_head(self.tower_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace fc8 by a fresh one with ``num_classes`` outputs, on ``devices[0]``."""
        old = self.fc8
        self.fc8 = nn.Linear(
            old.in_features,
            num_classes,
            bias=old.bias is not None,
            device=old.weight.device,
            dtype=old.weight.dtype,
        )
        with torch.device("meta"):
            self._grouped.reset_classifier(num_classes)

    def merge(self, device: str | torch.device | None = None) -> ImageClassifier:
        """The grouped network with these weights; see :func:`merge_alexnet`."""
        return merge_alexnet(self, device)

    def checkpoint_layout(self, optimizer=None):
        """What a checkpoint of this model holds: the grouped network (the registry's
        ``alexnet_original``, on the CPU) and the optimizer's state in its layout."""
        from .alexnet_split_state import grouped_optimizer_state

        state = optimizer.state_dict() if optimizer is not None else None
        return merge_alexnet(self, "cpu"), state and grouped_optimizer_state(self, state)


def split_alexnet(model: nn.Module, devices: Sequence[str | torch.device]) -> AlexNetTwoTowers:
    """Split a built ``alexnet_original`` over two devices, as in the paper's Figure 2.

    Args:
        model: the grouped network, e.g. ``create_model("alexnet_original")``; its weights are
            copied (each half to its device) and it is left unchanged.
        devices: two devices, e.g. ``("cuda:0", "cuda:1")``; ``("cpu", "cpu")`` where there is
            one (both towers on it, the transfers no-ops).

    Returns:
        The two-tower module; its scores equal the grouped network's (with LRN per tower).

    Raises:
        ClassicnetsError: for another network, or not exactly two usable devices.
    """
    return AlexNetTwoTowers(model, devices)


def split_model(
    model: str | nn.Module, devices: Sequence[str | torch.device], **kwargs
) -> AlexNetTwoTowers:
    """The paper's two-device split of a model given by name or as a module.

    Args:
        model: a registry name (built with ``kwargs``) or a built module.
        devices: the two devices (see :func:`split_alexnet`).
        **kwargs: for a name: passed to :func:`~classicnets.models.create_model`.

    Returns:
        The two-tower module.

    Raises:
        ClassicnetsError: for a model that has no split (every one but ``alexnet_original``).
    """
    if isinstance(model, str):
        model_info(model)  # an unknown name is told as such, with suggestions
        if model != SPLIT_MODEL:
            raise _no_split(model)
        model = create_model(model, **kwargs)
    spec = getattr(model, "classicnets_spec", None)
    if spec is not None and spec.get("name") != SPLIT_MODEL:
        raise _no_split(spec.get("name"))
    return split_alexnet(model, devices)


def merge_alexnet(
    split: AlexNetTwoTowers, device: str | torch.device | None = None
) -> ImageClassifier:
    """The grouped network (the registry's ``alexnet_original``) with a split model's weights.

    Args:
        split: a two-tower model.
        device: where the merged network goes; ``split.devices[0]`` by default.

    Returns:
        A new network of the split one's source type, layer names and ``classicnets_spec``; its
        ``state_dict`` loads into ``create_model("alexnet_original", ...)``.
    """
    merged = copy.deepcopy(split._grouped)
    merged.load_state_dict(grouped_state_dict(split, device), assign=True)
    merged.train(split.training)
    return merged


def grouped_state_dict(
    split: AlexNetTwoTowers, device: str | torch.device | None = None
) -> dict[str, torch.Tensor]:
    """A split model's weights in the grouped network's layout: each pair of halves joined along
    the output rows, under the grouped names (``features.conv2.weight``, ``head.fc6.bias``...).

    Args:
        split: a two-tower model.
        device: where the joined tensors go; ``split.devices[0]`` by default.

    Returns:
        The state dict, in the grouped network's key order (detached copies).
    """
    device = split.devices[0] if device is None else torch.device(device)
    joined = {k: torch.cat([p.detach().to(device) for p in parts]) for k, parts in _pieces(split)}
    return {key: joined[key] for key in split._grouped.state_dict()}


def tower_devices(device: str | torch.device) -> tuple[torch.device, torch.device]:
    """The two devices a run on ``device`` puts the towers on: the GPU and the next one when
    there is a next one, else ``device`` twice (one GPU, or the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        first = device.index if device.index is not None else 0
        if first + 1 < torch.cuda.device_count():
            return torch.device("cuda", first), torch.device("cuda", first + 1)
        return torch.device("cuda", first), torch.device("cuda", first)
    return device, device


def _no_split(name: str | None) -> ClassicnetsError:
    return ClassicnetsError(
        f"--model-parallel 2 applies to {SPLIT_MODEL} (the paper's two-GPU split); {name} has "
        "no split, so train it with --model-parallel 1."
    )


def _grouped_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The layers of an ``alexnet_original``-shaped network by name, checked against
    :data:`READS` (grouped exactly where a tower reads only its own maps)."""
    spec = getattr(model, "classicnets_spec", None)
    name = spec.get("name") if spec else type(model).__name__
    if not isinstance(model, ImageClassifier):
        raise _no_split(name)
    layers = {**dict(model.features.named_children()), **dict(model.head.named_children())}
    kinds = {**{conv: nn.Conv2d for conv in CONVS}, "fc6": nn.Linear, "fc7": nn.Linear}
    for layer, kind in kinds.items():
        module = layers.get(layer)
        if not isinstance(module, kind) or module.weight.shape[0] % 2:
            raise _no_split(name)
        if kind is nn.Conv2d and module.groups != (2 if READS[layer] == "own" else 1):
            raise _no_split(name)
    others = [(m, nn.LocalResponseNorm) for k, m in layers.items() if k.startswith("lrn")]
    others += [(layers.get("drop6"), nn.Dropout), (layers.get("drop7"), nn.Dropout)]
    if not isinstance(layers.get("fc8"), nn.Linear) or not all(isinstance(*o) for o in others):
        raise _no_split(name)
    return layers


def _check_devices(devices: Sequence[str | torch.device]) -> tuple[torch.device, torch.device]:
    if isinstance(devices, str | torch.device) or len(devices) != 2:
        raise ClassicnetsError(
            f"{SPLIT_MODEL} splits into two towers, so it needs two devices (tower 0's first), "
            f"got {devices!r}; e.g. ('cuda:0', 'cuda:1'), or ('cpu', 'cpu') on one device."
        )
    places, count = [], torch.cuda.device_count()
    for device in devices:
        try:
            places.append(torch.device(device))
        except (RuntimeError, TypeError):
            raise ClassicnetsError(f"{device!r} is not a device; use 'cpu', 'cuda:0'...") from None
        if places[-1].type == "cuda" and (places[-1].index or 0) >= count:
            raise ClassicnetsError(
                f"Device {places[-1]} is not on this machine ({count} CUDA device(s)); put both "
                "towers on one device, e.g. ('cuda:0', 'cuda:0'), or on ('cpu', 'cpu')."
            )
    return places[0], places[1]


def _half(layer: nn.Conv2d | nn.Linear, tower: int, device: torch.device) -> nn.Module:
    """Tower ``tower``'s half of ``layer``: its output rows (kernels or neurons), a copy."""
    with torch.device("meta"):  # the shapes only: the weights are the grouped layer's
        if isinstance(layer, nn.Conv2d):
            own = layer.groups == 2
            half: nn.Module = nn.Conv2d(
                layer.in_channels // 2 if own else layer.in_channels,
                layer.out_channels // 2,
                layer.kernel_size,
                layer.stride,
                layer.padding,
                layer.dilation,
                bias=layer.bias is not None,
                padding_mode=layer.padding_mode,
            )
        else:
            bias = layer.bias is not None
            half = nn.Linear(layer.in_features, layer.out_features // 2, bias=bias)
    for name, param in layer.named_parameters():
        rows = param.detach().chunk(2)[tower].to(device, copy=True)
        setattr(half, name, nn.Parameter(rows, requires_grad=param.requires_grad))
    return half


def _tower(layers: dict[str, nn.Module], tower: int, device: torch.device) -> nn.ModuleDict:
    """One tower's layers, by the paper's names, on ``device``."""
    stages: OrderedDict[str, nn.Module] = OrderedDict()
    for i, name in enumerate(CONVS, start=1):
        stage = OrderedDict(conv=_half(layers[name], tower, device), relu=nn.ReLU())
        lrn = layers.get(f"lrn{i}")
        if lrn is not None:  # over this tower's maps only, as on the paper's GPUs
            stage["lrn"] = nn.LocalResponseNorm(lrn.size, lrn.alpha, lrn.beta, lrn.k)
        pool = layers.get(f"pool{i}")
        if pool is not None:
            stage["pool"] = copy.deepcopy(pool)
        stages[name] = nn.Sequential(stage)
    for i, name in enumerate(HIDDEN, start=6):
        stages[name] = nn.Sequential(
            OrderedDict(
                fc=_half(layers[name], tower, device),
                relu=nn.ReLU(),
                drop=nn.Dropout(layers[f"drop{i}"].p),
            )
        )
    return nn.ModuleDict(stages)


def _pieces(split: AlexNetTwoTowers) -> list[tuple[str, list[nn.Parameter]]]:
    """Each grouped parameter's name with the split parameters it is made of (two halves, or
    fc8 whole), in the grouped network's parameter order."""
    pieces = []
    for name in READS:
        halves = [tower[name][0] for tower in split.towers]
        place = "features" if name in CONVS else "head"
        for param, _ in halves[0].named_parameters():
            pieces.append((f"{place}.{name}.{param}", [getattr(h, param) for h in halves]))
    return pieces + [(f"head.fc8.{p}", [t]) for p, t in split.fc8.named_parameters()]


def _weightless_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters and buffers are on the meta device (no memory)."""
    memo: dict[int, torch.Tensor] = {}
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        empty = torch.empty_like(tensor, device="meta")
        if isinstance(tensor, nn.Parameter):
            empty = nn.Parameter(empty, requires_grad=tensor.requires_grad)
        memo[id(tensor)] = empty  # deepcopy takes what the memo holds instead of copying it
    return copy.deepcopy(model, memo)
