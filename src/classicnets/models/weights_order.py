"""The creation order of a state dict that was saved by name (a safetensors file).

torch writes a module's state dict in creation order: each module's own tensors (parameters,
then buffers) before its children, the children in the order they were assigned. A safetensors
file keeps only the names, so the order has to be found again before a foreign layout can be
paired with ours tensor by tensor (:func:`..weights.map_state_dict`).

The names give part of it. Siblings named alike but for their numbers (``0``, ``1``, ...;
``layer1`` .. ``layer4``; ``conv1``, ``conv2``; Inception's ``Mixed_5b`` .. ``Mixed_7c``) were
made in the order of those numbers, by the naming conventions of torchvision and timm. What the
names do not give (does ``bn1`` come before ``conv1``?) is found by search: at each module the
next child is one whose tensors, in its own order, have the kinds and shapes of our model's
next tensors. Trying first the sibling whose name sorts first keeps, among orders that all fit,
the one closest to the names' order. tests/test_models_weights.py checks that a safetensors file
of every model torchvision and timm share with us gives their outputs exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

_DIGITS = re.compile(r"(\d+)")
_LEAF_FIRST = ("weight", "bias", "running_mean", "running_var")


def _natural(name: str) -> tuple:
    """``layer10`` after ``layer9``: digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(name))


def _stem(name: str) -> str:
    """The name without its numbers: siblings with one stem were made in numbered order."""
    return _DIGITS.sub("#", name)


class _Node:
    """A module of the saved tree: its own tensors (leaves) and its children."""

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.key: str | None = None  # the full key, for a tensor
        self._size: int | None = None

    def size(self) -> int:
        """How many tensors the subtree holds."""
        if self._size is None:
            leaf = self.key is not None
            self._size = 1 if leaf else sum(c.size() for c in self.children.values())
        return self._size


def _tree(keys: Sequence[str]) -> _Node:
    root = _Node()
    for key in keys:
        node = root
        for part in key.split("."):
            node = node.children.setdefault(part, _Node())
        node.key = key
    return root


def _groups(node: _Node) -> list[list[str]]:
    """The children of ``node`` in groups of one stem, each group in its numbers' order; the
    tensors of the module itself first (torch's order), in their usual order of registration."""
    stems: dict[str, list[str]] = {}
    for name in node.children:
        stems.setdefault(_stem(name), []).append(name)
    groups = [sorted(names, key=_natural) for names in stems.values()]

    def priority(group: list[str]) -> tuple:
        first = node.children[group[0]]
        leaf = first.key is not None
        rank = _LEAF_FIRST.index(group[0]) if group[0] in _LEAF_FIRST else len(_LEAF_FIRST)
        return (not leaf, rank, _natural(group[0]))

    return sorted(groups, key=priority)


def creation_order(
    keys: Sequence[str], fits: Callable[[str, int], bool], count: int
) -> list[str] | None:
    """``keys`` in an order in which key i ``fits`` position i of our model's ``count``
    tensors (same kind, same or equivalent shape), or None when there is none."""
    if len(keys) != count:
        return None
    root = _tree(keys)

    @cache
    def place(node: _Node, start: int) -> tuple[str, ...] | None:
        """The keys of ``node``'s subtree in an order that fits from position ``start``."""
        if node.key is not None:
            return (node.key,) if fits(node.key, start) else None
        groups = _groups(node)

        @cache
        def rest(pointers: tuple[int, ...], at: int) -> tuple[str, ...] | None:
            if all(p == len(g) for p, g in zip(pointers, groups, strict=True)):
                return ()
            for i, group in enumerate(groups):
                if pointers[i] == len(group):
                    continue
                child = node.children[group[pointers[i]]]
                head = place(child, at)
                if head is None:
                    continue
                moved = pointers[:i] + (pointers[i] + 1,) + pointers[i + 1 :]
                tail = rest(moved, at + child.size())
                if tail is not None:
                    return head + tail
            return None

        return rest(tuple(0 for _ in groups), start)

    found = place(root, 0)
    return None if found is None else list(found)
