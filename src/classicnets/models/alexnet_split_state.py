"""Optimizer state between AlexNet's two layouts: over the two-tower model of
:mod:`.alexnet_split` (each layer's weights in two halves) and over the grouped registry model
(one tensor per layer), so a split run's checkpoint keeps the registry's layout and resumes
split. Per-weight entries (momentum, Adam's averages) are cut and joined with the weights;
counts such as ``step`` are copied, never shared."""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..errors import ClassicnetsError
from .alexnet_split import AlexNetTwoTowers, _pieces


def grouped_optimizer_state(split: AlexNetTwoTowers, state: dict[str, Any]) -> dict[str, Any]:
    """An optimizer's state over a split model in the grouped network's layout: what the same
    optimizer over ``merge_alexnet(split).parameters()`` would hold (each pair of halves joined).

    Args:
        split: the two-tower model.
        state: ``optimizer.state_dict()`` of an optimizer over ``split.parameters()`` in one
            group, as ``Model.compile`` builds it.

    Returns:
        The state dict, for the same optimizer over the grouped network's parameters.
    """
    params, pieces = list(split.parameters()), _pieces(split)
    _check_one_group(state, len(params))
    index = {id(p): i for i, p in enumerate(params)}
    joined = {}
    for g, (_, parts) in enumerate(pieces):
        entries = [state["state"].get(index[id(p)]) for p in parts]
        if entries[0] is not None:  # a parameter the optimizer has stepped
            joined[g] = {
                key: torch.cat([e[key].to(value.device) for e in entries])
                if _per_weight(value, parts[0])
                else _copy(value)
                for key, value in entries[0].items()
            }
    group = {**state["param_groups"][0], "params": list(range(len(pieces)))}
    return {"state": joined, "param_groups": [group]}


def split_optimizer_state(split: AlexNetTwoTowers, state: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`grouped_optimizer_state`: the state of an optimizer over the
    grouped network (a checkpoint's) for the same optimizer over ``split.parameters()``."""
    params, pieces = list(split.parameters()), _pieces(split)
    _check_one_group(state, len(pieces))
    index = {id(p): i for i, p in enumerate(params)}
    halves = {}
    for g, (_, parts) in enumerate(pieces):
        whole = state["state"].get(g)
        for t, part in enumerate(parts if whole is not None else ()):
            halves[index[id(part)]] = {
                key: value.chunk(len(parts))[t].clone()
                if _per_weight(value, part, len(parts))
                else _copy(value)
                for key, value in whole.items()
            }
    group = {**state["param_groups"][0], "params": list(range(len(params)))}
    return {"state": halves, "param_groups": [group]}


def _check_one_group(state: dict[str, Any], tensors: int) -> None:
    groups = state["param_groups"]
    if len(groups) != 1 or len(groups[0]["params"]) != tensors:
        raise ClassicnetsError(
            f"The optimizer state holds {[len(g['params']) for g in groups]} tensors by group; "
            f"the tower layouts map one group over all {tensors} parameters, as compile() "
            "builds it."
        )


def _per_weight(value: Any, param: torch.Tensor, halves: int = 1) -> bool:
    """Whether an optimizer state entry holds one number per weight (a momentum, Adam's
    averages), which is cut and joined with the weights, rather than a count such as ``step``."""
    if not isinstance(value, torch.Tensor) or value.dim() == 0:
        return False
    rows = param.shape[0] * halves
    return value.shape[0] == rows and value.shape[1:] == param.shape[1:]


def _copy(value: Any) -> Any:
    # Optimizers count ``step`` in place: two parameters must never share one counter.
    return value.clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)
