"""Command-line flags derived from the run config dataclasses: one ``--flag`` per field, its
type, help and default taken from the field, so the CLI keeps no second list of settings."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any

from ..errors import ClassicnetsError

KIND_NAMES = {
    "image": "image models",
    "text": "language models",
    "seq2seq": "encoder-decoders",
    "tagging": "taggers",
    "mlm": "masked language models",
}


def _kinds(kinds: list[str]) -> str:
    """``language models and taggers``."""
    names = [KIND_NAMES[k] for k in kinds]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _base_type(hint: Any) -> type:
    """``int | None`` -> ``int``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _shown(f: dataclasses.Field) -> str:
    if "default_text" in f.metadata:
        return f.metadata["default_text"]
    default = f.default
    if isinstance(default, bool):
        return "on" if default else "off"
    return (
        "none"
        if default is None
        else f"{default:g}"
        if isinstance(default, float)
        else str(default)
    )


def config_fields(classes: list[type]) -> dict[str, list[tuple[type, dataclasses.Field, Any]]]:
    """Field name -> the (class, field, type) of every config class that has it as a flag."""
    found: dict[str, list[tuple[type, dataclasses.Field, Any]]] = {}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.metadata.get("cli", True):
                found.setdefault(f.name, []).append((cls, f, hints[f.name]))
    return found


def add_config_flags(parser: argparse.ArgumentParser, classes: list[type]) -> None:
    """One flag per config field; a flag only some kinds of run take says so in its help, and
    a default that differs between kinds shows each."""
    for name, entries in config_fields(classes).items():
        _, f, hint = entries[0]
        kinds = [cls.KIND for cls, _, _ in entries]
        defaults = {cls.KIND: _shown(field) for cls, field, _ in entries}
        if len(set(defaults.values())) == 1:
            default = next(iter(defaults.values()))
        else:
            default = ", ".join(f"{v} for {KIND_NAMES[k]}" for k, v in defaults.items())
        help_text = f.metadata["help"]
        if len(kinds) < len(classes):
            help_text = f"{_kinds(kinds)} only: {help_text}"
        options: dict[str, Any] = {"dest": name, "default": None}
        base = _base_type(hint)
        if base is bool:
            options["action"] = "store_true"
        else:
            options["type"] = base if base in (int, float) else str
            shape = {int: "N", float: "X"}.get(base, "NAME")
            options["metavar"] = f.metadata.get("metavar") or shape
            if f.metadata.get("choices"):
                options["choices"] = f.metadata["choices"]
                help_text += f": {', '.join(f.metadata['choices'])}"
        parser.add_argument(
            "--" + name.replace("_", "-"), help=f"{help_text} (default: {default})", **options
        )


def given_settings(args: argparse.Namespace, cls: type, classes: list[type]) -> dict[str, Any]:
    """The flags the user gave, as ``cls``'s fields; a flag that only another kind of run
    takes is one sentence."""
    own = {f.name for f in dataclasses.fields(cls)}
    for name, entries in config_fields(classes).items():
        if getattr(args, name, None) is not None and name not in own:
            other = _kinds([cls.KIND for cls, _, _ in entries])
            raise ClassicnetsError(
                f"--{name.replace('_', '-')} applies to {other} only, not to "
                f"{getattr(args, 'model', None) or 'lenet5'}."
            )
    return {
        name: getattr(args, name)
        for name in own
        if getattr(args, name, None) is not None and name in config_fields([cls])
    }
