"""Load weights trained elsewhere: torchvision's and timm's state dicts, or our own files.

Our models build their layers in the order the reference implementations do, under our own
names (``features.layer1.0.conv1.conv.weight`` where torchvision says ``layer1.0.conv1.weight``).
So the mapping from a foreign layout to ours pairs the two state dicts tensor by tensor in
creation order (which torch's ``.pth`` files keep; safetensors files keep names only, and
:mod:`.weights_order` finds the order again),
after moving the few blocks that the reference builds at another point (a *section*, below) and
leaving out BatchNorm's step counters, which old torchvision files lack. Every pair must agree
in kind (``weight``, ``bias``, ``running_mean``, ...) and shape, so a file for another
architecture stops at its first disagreement, and tests/test_models_weights.py checks that each
pairing gives the reference's outputs exactly.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..errors import ClassicnetsError, CorruptFileError
from .weights_order import creation_order

SOURCES = ("auto", "classicnets", "torchvision", "timm")

# Blocks that a foreign layout builds at another point of the network than ours: (their key
# prefix, our key prefix). Each section pairs with its partner; the rest pairs with the rest.
SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    # Inception-v3's auxiliary classifier: torchvision (and timm's port of it) create it between
    # Mixed_6e and Mixed_7a, we after the head.
    "torchvision": (("AuxLogits.", "aux."),),
    "timm": (("AuxLogits.", "aux."),),
}

_COUNTER = "num_batches_tracked"  # BatchNorm's step count: not a weight, missing in old files
# Wrappers that training scripts put around a state dict.
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "module")


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors in a ``.safetensors`` file or a torch ``.pth``/``.pt`` file, without pickle.

    A torch file is read with ``torch.load(weights_only=True)``; a state dict wrapped by a
    training script (under ``"state_dict"``, ``"model"``, ...) is unwrapped.

    Raises:
        ClassicnetsError: when the file does not exist.
        CorruptFileError: when it cannot be read or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise ClassicnetsError(f"The weights file {path} does not exist.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # safetensors, pickle and zip each raise their own kinds
        raise CorruptFileError(
            f"{path} is not a readable safetensors or torch weights file ({error})."
        ) from error
    return _unwrap(state, path)


def _unwrap(state: object, path: Path | str) -> dict[str, torch.Tensor]:
    while isinstance(state, Mapping):
        inner = next((state[k] for k in _WRAPPER_KEYS if isinstance(state.get(k), Mapping)), None)
        if inner is None:
            break
        state = inner
    if not isinstance(state, Mapping) or not state:
        raise CorruptFileError(f"{path} holds no state dict of tensors.")
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CorruptFileError(f"{path} holds no tensors.")
    # nn.DataParallel saves every key under "module."
    if all(k.startswith("module.") for k in tensors):
        tensors = {k.removeprefix("module."): v for k, v in tensors.items()}
    return tensors


def _model_name(model: nn.Module) -> str:
    spec = getattr(model, "classicnets_spec", None)
    return f"'{spec['name']}'" if spec else type(model).__name__


def _split(keys: list[str], prefixes: list[str]) -> dict[str, list[str]]:
    """The keys under each prefix (the first that matches), and the rest under ``""``."""
    groups: dict[str, list[str]] = {p: [] for p in [*prefixes, ""]}
    for key in keys:
        groups[next((p for p in prefixes if key.startswith(p)), "")].append(key)
    return groups


def _same_layer(theirs: tuple[int, ...], ours: tuple[int, ...]) -> bool:
    """Equal shapes, or a linear layer's (O, C*kh*kw) against a convolution's (O, C, kh, kw):
    a convolution whose kernel covers its whole input (timm's 1x1 ``conv_head`` of MobileNetV3,
    the 7x7 ``pre_logits`` of its VGG) computes the same sums as a linear layer on the flattened
    (C, H, W) input."""
    if theirs == ours:
        return True
    if sorted((len(theirs), len(ours))) != [2, 4] or theirs[0] != ours[0]:
        return False
    return math.prod(theirs) == math.prod(ours)


def map_state_dict(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str = "torchvision",
    *,
    ordered: bool = True,
) -> dict[str, torch.Tensor]:
    """Rename a foreign state dict to ``model``'s keys, pairing tensors in creation order.

    Args:
        model: the network to receive the weights.
        state: the foreign state dict, as torchvision's or timm's model would write it.
        source: ``"torchvision"`` or ``"timm"`` (they differ only in :data:`SECTIONS`).
        ordered: whether ``state`` is in creation order (a ``.pth`` file, a live state dict);
            for a safetensors file, which keeps names only, the order is found again
            (:func:`.weights_order.creation_order`).

    Returns:
        The same tensors under ``model``'s keys (BatchNorm step counters left out).

    Raises:
        ClassicnetsError: naming the first pair whose kinds or shapes disagree, or the first
            tensor without a partner, when the state is for another architecture.
    """
    ours = {k: v for k, v in model.state_dict().items() if not k.endswith(_COUNTER)}
    theirs = [k for k in state if not k.endswith(_COUNTER)]
    sections = [(a, b) for a, b in SECTIONS.get(source, ()) if any(k.startswith(a) for k in theirs)]
    their_groups = _split(theirs, [a for a, _ in sections])
    our_groups = _split(list(ours), [b for _, b in sections])
    name = _model_name(model)
    mapped: dict[str, torch.Tensor] = {}
    for their_prefix, our_prefix in [*sections, ("", "")]:
        their_keys, our_keys = their_groups[their_prefix], our_groups[our_prefix]
        if not ordered:
            if len(their_keys) != len(our_keys):
                raise ClassicnetsError(
                    f"The weights do not fit model {name}: the file has {len(theirs)} weight "
                    f"tensors and the model {len(ours)}, so they are for another architecture."
                )
            their_keys = _reorder(their_keys, our_keys, state, ours, name)
        for their_key, our_key in zip(their_keys, our_keys, strict=False):
            their_shape = tuple(state[their_key].shape)
            our_shape = tuple(ours[our_key].shape)
            if not _fits(state[their_key], their_key, ours[our_key], our_key):
                raise ClassicnetsError(
                    f"The weights do not fit model {name}: the file's '{their_key}' "
                    f"{list(their_shape)} meets the model's '{our_key}' {list(our_shape)}, so "
                    "they are for another architecture or number of classes."
                )
            mapped[our_key] = state[their_key].reshape(our_shape)
        paired = min(len(their_keys), len(our_keys))
        if len(their_keys) != len(our_keys):
            side, key = (
                ("the file's", their_keys[paired])
                if len(their_keys) > paired
                else ("the model's", our_keys[paired])
            )
            raise ClassicnetsError(
                f"The weights do not fit model {name}: the file has {len(theirs)} weight tensors "
                f"and the model {len(ours)}, and {side} '{key}' has no partner, so they are for "
                "another architecture."
            )
    return mapped


def _fits(their: torch.Tensor, their_key: str, our: torch.Tensor, our_key: str) -> bool:
    """One pair of the mapping: the same kind of tensor and the same (or an equivalent) shape."""
    same_kind = their_key.rsplit(".", 1)[-1] == our_key.rsplit(".", 1)[-1]
    return same_kind and _same_layer(tuple(their.shape), tuple(our.shape))


def _reorder(
    their_keys: list[str],
    our_keys: list[str],
    state: Mapping[str, torch.Tensor],
    ours: Mapping[str, torch.Tensor],
    name: str,
) -> list[str]:
    """The foreign keys in the creation order that pairs them with ours, found from names."""
    order = creation_order(
        their_keys,
        lambda key, i: _fits(state[key], key, ours[our_keys[i]], our_keys[i]),
        len(our_keys),
    )
    if order is None:
        raise ClassicnetsError(
            f"The weights do not fit model {name}: no order of the file's {len(their_keys)} "
            "tensors gives the kinds and shapes of the model's, so they are for another "
            "architecture or number of classes."
        )
    return order


def _check_own(model: nn.Module, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our own layout: the model's keys, each with its shape, and no others."""
    ours = model.state_dict()
    # A classicnets checkpoint keeps the weights under "model." beside the optimizer's state.
    if not any(k in ours for k in state) and any(k.startswith("model.") for k in state):
        state = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
    name = _model_name(model)
    for key, tensor in ours.items():
        if key not in state:
            if key.endswith(_COUNTER):
                continue
            raise ClassicnetsError(
                f"The weights do not fit model {name}: the file has no '{key}' "
                f"{list(tensor.shape)}; pass source='torchvision' or 'timm' for their layouts."
            )
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise ClassicnetsError(
                f"The weights do not fit model {name}: the file's '{key}' is "
                f"{list(state[key].shape)} where the model's is {list(tensor.shape)}."
            )
    extra = next((k for k in state if k not in ours), None)
    if extra is not None:  # a deeper network of the family holds all of ours and more
        raise ClassicnetsError(
            f"The weights do not fit model {name}: the file's '{extra}' "
            f"{list(state[extra].shape)} has no place in it, so they are for another architecture."
        )
    return dict(state)


def load_weights(
    model: nn.Module,
    weights: str | os.PathLike | Mapping[str, torch.Tensor],
    *,
    source: str = "auto",
) -> nn.Module:
    """Copy weights from a file or a state dict into ``model``, mapping foreign layouts.

    Args:
        model: the network, e.g. ``create_model("resnet18", num_classes=1000)``.
        weights: a ``.safetensors`` or torch ``.pth`` path, or a state dict.
        source: whose layout the weights are in: ``"classicnets"`` (our keys, or a classicnets
            checkpoint), ``"torchvision"``, ``"timm"``, or ``"auto"``: ours when most of the keys
            are ours, else torchvision's.

    Returns:
        ``model``, with the weights copied in.

    Raises:
        ClassicnetsError: for an unknown source or weights for another architecture (naming
            the first key that disagrees and both shapes).
        CorruptFileError: for a file that cannot be read.
    """
    if source not in SOURCES:
        raise ClassicnetsError(
            f"Unknown weights source {source!r}; choose one of {', '.join(SOURCES)}."
        )
    state = (
        read_state_dict(weights)
        if isinstance(weights, str | os.PathLike)
        else _unwrap(weights, "the state dict")
    )
    if source == "auto":
        # Ours when most of our keys are there: a few names coincide across layouts (DenseNet's
        # transitions are "features.transition1.norm" in torchvision's and ours).
        own = {k for k in model.state_dict() if not k.endswith(_COUNTER)}
        given = set(state) | {k.removeprefix("model.") for k in state}
        source = "classicnets" if 2 * len(own & given) >= len(own) else "torchvision"
    if source == "classicnets":
        mapped = _check_own(model, state)
    else:
        # safetensors keeps the names, not the creation order the pairing needs; a state dict
        # read from one (or shuffled otherwise) pairs in the order found from its names
        path = isinstance(weights, str | os.PathLike)
        if path and Path(weights).suffix == ".safetensors":
            mapped = map_state_dict(model, state, source, ordered=False)
        else:
            try:
                mapped = map_state_dict(model, state, source)
            except ClassicnetsError as in_given_order:
                try:
                    mapped = map_state_dict(model, state, source, ordered=False)
                except ClassicnetsError:
                    raise in_given_order from None
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    # Only BatchNorm's step counters may be absent; everything else was checked above.
    assert not unexpected and all(k.endswith(_COUNTER) for k in missing), (missing, unexpected)
    return model
