"""Per-layer summary of a model: output shapes, parameters and multiply-accumulates (MACs).

MACs count the multiply-accumulates of convolutions and linear layers, the convention of the
papers' "ops" columns and of torchvision's "GFLOPS" column (FLOPs = 2 x MACs): a convolution
makes ``C_in / groups * k_h * k_w`` of them per output element, a linear layer ``in_features``
per output element. Recurrent layers count their weight matrices once per time step, and
multi-head attention its projections plus ``Q K^T`` and the weighted sum of ``V``. Biases,
normalisation, activations, pooling and the gates' element-wise products are not counted.

Language models (registry tag ``"sequence"``) read one sequence of token ids; their native
``input_size`` ``(1, 1, T)`` means ``T`` tokens, and their MACs are per sequence.

Named models are built and run on PyTorch's ``meta`` device, which computes shapes without
allocating or computing anything: the summary of VGG-16 at 224 px takes milliseconds.
"""

from __future__ import annotations

import inspect
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text
from torch import nn

from ..errors import ShapeError
from ..layers.attention import MultiHeadAttention
from ..layers.unroll import Recurrent
from ..models import create_model, model_info
from .hooks import run_hooked

__all__ = ["LayerRow", "Summary", "summary", "layer_macs"]


@dataclass(frozen=True)
class LayerRow:
    """One row: a module call at the summary's depth."""

    name: str
    type: str
    output_shape: tuple | None  # (C, H, W) without the batch; None for a module never called
    params: int  # parameters of the module and its children, counted at its first call only
    macs: int  # multiply-accumulates of this call, per image


@dataclass(frozen=True)
class Summary:
    """The rows and totals of :func:`summary`; ``str()`` renders the table."""

    model: str
    input_size: tuple[int, ...]
    rows: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int
    total_macs: int
    tokens: bool = False  # the input is a sequence of input_size[-1] token ids, not an image

    @property
    def total_flops(self) -> int:
        """FLOPs as torchvision and the papers count them: 2 x MACs."""
        return 2 * self.total_macs

    def to_json(self) -> dict:
        """The summary as JSON-ready data (keys as the CLI's ``--json`` prints them)."""
        return {
            "model": self.model,
            "input": list(self.input_size),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_macs": self.total_macs,
            "layers": [
                {
                    "name": row.name,
                    "type": row.type,
                    "output_shape": _json_shape(row.output_shape),
                    "params": row.params,
                    "macs": row.macs,
                }
                for row in self.rows
            ],
        }

    def __rich__(self) -> Group:
        shape = (
            f"{self.input_size[-1]} tokens" if self.tokens else "x".join(map(str, self.input_size))
        )
        table = Table(title=f"{self.model} on {shape}", title_justify="left")
        table.add_column("Layer")
        table.add_column("Type")
        table.add_column("Output shape")
        table.add_column("Params", justify="right")
        table.add_column("MACs", justify="right")
        for row in self.rows:
            table.add_row(
                row.name,
                row.type,
                _shape_text(row.output_shape),
                f"{row.params:,}" if row.params else "-",
                human(row.macs) if row.macs else "-",
            )
        totals = Text(
            f"Total params:     {self.total_params:,}\n"
            f"Trainable params: {self.trainable_params:,}\n"
            f"MACs:             {self.total_macs:,} ({human(self.total_macs)})\n"
            f"FLOPs (2 x MACs): {self.total_flops:,} ({human(self.total_flops)})"
        )
        return Group(table, totals)

    def __str__(self) -> str:
        buffer = io.StringIO()
        Console(file=buffer, width=120, color_system=None, force_terminal=False).print(self)
        return buffer.getvalue()


def human(count: float) -> str:
    """``15_470_000_000`` -> ``"15.47 G"``: a count with a metric prefix."""
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(count) >= scale:
            return f"{count / scale:.2f} {prefix}"
    return str(int(count))


def _shape_text(shape) -> str:
    if shape is None:
        return "(not called)"
    if shape and isinstance(shape[0], tuple):
        return ", ".join(_shape_text(s) for s in shape)
    return "x".join(map(str, shape))


def _json_shape(shape):
    if shape is None:
        return None
    return [_json_shape(s) if isinstance(s, tuple) else s for s in shape]


def _output_shape(output) -> tuple | None:
    # Without the batch dimension; a tuple of outputs becomes a tuple of shapes.
    if isinstance(output, torch.Tensor):
        return tuple(output.shape[1:])
    if isinstance(output, list | tuple):
        shapes = tuple(s for s in (_output_shape(o) for o in output) if s is not None)
        return shapes or None
    return None


def layer_macs(module: nn.Module, inputs: tuple, output) -> int:
    """Multiply-accumulates of one call of a convolution, linear, recurrent (ours or torch's) or
    multi-head attention layer, else 0.

    Args:
        module: the layer.
        inputs: the positional inputs of the call.
        output: what the call returned.

    Returns:
        MACs summed over the whole batch.

    A layer of one's own counts itself with a ``macs(inputs, output)`` method (LeNet-1998's
    partial C3: only its 60 listed connections).
    """
    own = getattr(module, "macs", None)
    if callable(own):
        return int(own(inputs, output))
    if isinstance(module, nn.modules.conv._ConvTransposeNd):  # each input spreads a kernel
        kernel = math.prod(module.kernel_size)
        return inputs[0].numel() * module.out_channels // module.groups * kernel
    if isinstance(module, nn.modules.conv._ConvNd):
        kernel = math.prod(module.kernel_size)
        return output.numel() * module.in_channels // module.groups * kernel
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, Recurrent | nn.RNNBase):
        # Every step of every sequence multiplies its input and state by each (layer,
        # direction)'s weight_ih and weight_hh once.
        steps = inputs[0].numel() // inputs[0].shape[-1]
        weights = (w for n, w in module.named_parameters(recurse=False) if n.startswith("weight_"))
        return steps * sum(w.numel() for w in weights)
    if isinstance(module, MultiHeadAttention):
        # Its own work, out_proj (a child nn.Linear) aside: the Q, K, V projections, then
        # Q K^T and the weighted sum of V, each L_q x L_k x d_model per sequence.
        query = inputs[0]
        key = inputs[1] if len(inputs) > 1 and inputs[1] is not None else query
        batch, l_q, l_k, d = query.shape[0], query.shape[1], key.shape[1], module.d_model
        return batch * (l_q * d * d + 2 * l_k * d * d + 2 * l_q * l_k * d)
    return 0


def summary(
    model: str | nn.Module,
    input_size: Sequence[int] | None = None,
    depth: int | None = None,
    **model_kwargs,
) -> Summary:
    """Run one image through ``model`` and record each layer's output shape, parameters and MACs.

    Args:
        model: a registered name (built on the meta device) or an ``nn.Module`` (run where its
            parameters are; it is put in eval mode for the pass and restored after).
        input_size: ``(C, H, W)`` of one image; a named model's native size by default, and a
            named model is built for the size given (``in_channels=C``, ``image_size=H``).
        depth: how deep the rows go, in nested calls: 1 lists the modules the model calls,
            2 the modules those call, ...; ``None`` lists every leaf layer. A row at the cut
            stands for everything it calls, so the rows' parameters and MACs add up to the
            totals; modules the forward skips get a row without output shape.
        **model_kwargs: passed to :func:`~classicnets.create_model` for a named model, e.g.
            ``num_classes``.

    Returns:
        The :class:`Summary`; MACs are per image.

    Raises:
        ShapeError: when the input size is malformed or the model cannot take it.
        ClassicnetsError: for an unknown model name or a bad keyword.
    """
    if depth is not None and depth < 1:
        raise ShapeError(f"summary: depth must be 1 or more, got {depth}.")
    if isinstance(model, str):
        name, info = model, model_info(model)
        size = tuple(info.input_size) if input_size is None else _checked_size(input_size)
        if "sequence" in info.tags:
            if "num_classes" in model_kwargs:  # a sequence model's classes: its output tokens
                model_kwargs[_CLASSES_ARG.get(_token_kind(info.tags), "vocab_size")] = (
                    model_kwargs.pop("num_classes")
                )
            takes = inspect.signature(info.builder).parameters
            if "context" in takes and size[-1] > info.input_size[-1]:
                model_kwargs = {"context": size[-1], **model_kwargs}
        elif size != tuple(info.input_size):
            if size[1] != size[2]:
                raise ShapeError(
                    f"summary: models are built for square images, got {_shape_text(size)}; "
                    "give equal height and width."
                )
            model_kwargs = {"in_channels": size[0], "image_size": size[1], **model_kwargs}
        with torch.device("meta"):
            module = create_model(name, **model_kwargs)
    else:
        if input_size is None:
            raise ShapeError("summary: give the input size (C, H, W) of one image for a module.")
        name, module, size = type(model).__name__, model, _checked_size(input_size)
    return _run(module, name, size, depth, tokens=_reads_tokens(module))


# what a sequence model's num_classes is called, by kind (a language model's: vocab_size)
_CLASSES_ARG = {"seq2seq": "target_vocab_size", "tagging": "num_tags"}
# the token id of the summary's example: a real token, not padding (id 0 of the seq2seq and
# tagging vocabularies; 1 is a tagger's <unk>, 3 the first non-special seq2seq token)
_EXAMPLE_ID = {"seq2seq": 3, "tagging": 1, "sequence": 0}


def _token_kind(tags: tuple[str, ...]) -> str | None:
    """``"seq2seq"``, ``"tagging"``, ``"sequence"`` (a language model) or None (images)."""
    return next((kind for kind in _EXAMPLE_ID if kind in tags), None)


def _reads_tokens(module: nn.Module) -> str | None:
    """The kind of registered sequence model ``module`` is (see :func:`_token_kind`): it reads
    token ids; None for an image model or a module of one's own."""
    spec = getattr(module, "classicnets_spec", None)
    return _token_kind(model_info(spec["name"]).tags) if spec else None


def _checked_size(input_size: Sequence[int]) -> tuple[int, int, int]:
    size = tuple(input_size)
    if len(size) != 3 or not all(isinstance(v, int) and v > 0 for v in size):
        raise ShapeError(
            f"summary: the input size must be three positive integers (C, H, W), got {size!r}."
        )
    return size  # type: ignore[return-value]


class _Call:
    """One module call in progress: how deep it is and where the MAC count stood when it
    began."""

    def __init__(self, level: int, start: int) -> None:
        self.level, self.start, self.has_children = level, start, False


def _run(
    model: nn.Module, name: str, size: tuple[int, int, int], depth: int | None, tokens: str | None
) -> Summary:
    # Rows follow the calls, not the attribute tree: a call nested `depth` calls deep is a row,
    # and so is a shallower call that calls no other module (a leaf). Containers that are
    # never called themselves, like nn.ModuleDict, thus cost no level.
    names = {module: n or type(model).__name__ for n, module in model.named_modules()}
    tensor = next(model.parameters(), None)
    device = tensor.device if tensor is not None else torch.device("cpu")
    counted: set[int] = set()  # ids of parameters already given to a row
    total = [0]  # MACs so far in this pass
    stack: list[_Call] = []
    called: set[nn.Module] = set()
    rows: list[LayerRow] = []

    def make_row(module: nn.Module, shape: tuple | None, macs: int, recurse: bool = True):
        fresh = [p for p in module.parameters(recurse=recurse) if id(p) not in counted]
        counted.update(id(p) for p in fresh)
        params = sum(p.numel() for p in fresh)
        rows.append(LayerRow(names[module], type(module).__name__, shape, params, macs))

    def pre_hook(_name: str, module: nn.Module, inputs: tuple) -> None:
        if stack:
            stack[-1].has_children = True
        stack.append(_Call(len(stack), total[0]))
        called.add(module)

    def hook(_name: str, module: nn.Module, inputs: tuple, output) -> None:
        own = layer_macs(module, inputs, output)
        total[0] += own
        call = stack.pop()
        at_cut = depth is not None and call.level == depth
        leaf_above_cut = not call.has_children and (depth is None or call.level <= depth)
        if at_cut or leaf_above_cut:  # the root is level 0 and a row only as a lone layer
            make_row(module, _output_shape(output), total[0] - call.start)
        elif (depth is None or call.level < depth) and (own or _holds_uncounted(module)):
            # A module that calls others and also computes itself (multi-head attention: its
            # projections around out_proj) gets a row for its own part, after its children's.
            make_row(module, _output_shape(output), own, recurse=False)

    def _holds_uncounted(module: nn.Module) -> bool:
        return any(id(p) not in counted for p in module.parameters(recurse=False))

    if tokens:  # one sequence of size[-1] token ids (an encoder-decoder: source and target)
        ids = torch.full((1, size[-1]), _EXAMPLE_ID[tokens], dtype=torch.long, device=device)
        example = (ids, ids) if tokens == "seq2seq" else ids
    else:
        example = torch.zeros(1, *size, device=device)
    run_hooked(
        model, example, label=name, size_text=_shape_text(size), hook=hook, pre_hook=pre_hook
    )
    # Parameters no row holds yet: those of modules the forward skipped (GoogLeNet's auxiliary
    # classifiers in eval mode), then any held directly by a called container.
    for module in model.modules():
        if module not in called and not isinstance(module, nn.ModuleDict | nn.ModuleList):
            if any(id(p) not in counted for p in module.parameters()):
                make_row(module, None, 0)
    for module in model.modules():
        if any(id(p) not in counted for p in module.parameters(recurse=False)):
            make_row(module, None, 0, recurse=False)
    params = list(model.parameters())
    return Summary(
        model=name,
        input_size=size,
        rows=tuple(rows),
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_macs=total[0],
        tokens=tokens is not None,
    )
