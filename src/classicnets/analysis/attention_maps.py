"""Where each head of a Transformer language model looks: the attention weights of every head of
every layer over one piece of text, and the checks every picture of a text model shares (a
prompt turned into token ids, token ids a model can read).

The model's code is left alone. A forward hook on each attention layer records how the model
called it (its input, its mask, whether it was causal); once the run is over, each layer is
called again with those same arguments and ``need_weights=True``. The weights are thus the
layer's own computation, not a second copy of its equations that could drift from it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ClassicnetsError, ShapeError
from ..layers import MultiHeadAttention


def model_name(module: nn.Module) -> str:
    """How errors name a model: its registry name, else its class."""
    spec = getattr(module, "classicnets_spec", None)
    return f"'{spec['name']}'" if spec else type(module).__name__


def network(model: Any) -> nn.Module:
    """The ``nn.Module`` of ``model``: itself, or the network a trainer (``cn.load(...)``,
    a :class:`~classicnets.train.sequence.SequenceModel`) holds in ``.module``."""
    if isinstance(model, nn.Module):
        return model
    inner = getattr(model, "module", None)
    if isinstance(inner, nn.Module):
        return inner
    raise ClassicnetsError(
        f"Expected a language model (an nn.Module or a loaded run), got {type(model).__name__}."
    )


def encode_prompt(prompt: str, vocabulary: Any) -> Tensor:
    """The token ids of a prompt, refusing what a picture of it could not show honestly.

    Args:
        prompt: the text to show the model.
        vocabulary: the run's :class:`~classicnets.data.text.Vocabulary` (a loaded run's
            ``model.vocabulary``).

    Returns:
        An int64 tensor ``(T,)``, ``T >= 1``.

    Raises:
        ClassicnetsError: an empty prompt, or one with characters (words) the vocabulary lacks,
            named in the message; even a word vocabulary's ``<unk>`` is refused, since the model
            would only see ``<unk>`` where the prompt has a word.
    """
    if not isinstance(prompt, str):
        raise ClassicnetsError(f"The prompt must be text, got {type(prompt).__name__}.")
    if not prompt:
        raise ClassicnetsError("The prompt is empty; give at least one token of text to show.")
    ids = vocabulary.encode(prompt, strict=True)  # names the tokens outside the vocabulary
    if len(ids) == 0:
        raise ClassicnetsError(
            f"The prompt {prompt!r} holds no {vocabulary.level}s; give some text to show."
        )
    return ids


def check_tokens(module: nn.Module, tokens: Tensor) -> Tensor:
    """``tokens`` as the ``(1, T)`` batch ``module`` reads, on its device, after checking that
    it is one non-empty piece of text of ids the model knows, no longer than its context.

    Raises:
        ClassicnetsError: not int64 ids, a batch of several texts, an empty text, an id outside
            the model's vocabulary.
        ShapeError: more tokens than a Transformer's context.
    """
    if not isinstance(tokens, Tensor) or tokens.dtype != torch.int64:
        what = tokens.dtype if isinstance(tokens, Tensor) else type(tokens).__name__
        raise ClassicnetsError(f"Token ids must be an int64 tensor, got {what}.")
    if tokens.dim() == 1:
        tokens = tokens.unsqueeze(0)  # (1, T)
    if tokens.dim() != 2 or tokens.shape[0] != 1:
        raise ShapeError(
            f"A picture shows one piece of text, token ids of shape (T,) or (1, T); got "
            f"{tuple(tokens.shape)}."
        )
    length = tokens.shape[1]
    if length == 0:
        raise ClassicnetsError("The text is empty; give at least one token to show.")
    context = getattr(module, "context", None)
    if context is not None and length > context:
        raise ShapeError(
            f"The text has {length} tokens but model {model_name(module)} reads at most "
            f"{context}; shorten the prompt to {context} tokens or fewer."
        )
    vocab_size = getattr(module, "vocab_size", None)
    if vocab_size is not None:
        outside = tokens[(tokens < 0) | (tokens >= vocab_size)]
        if len(outside):
            raise ClassicnetsError(
                f"Token id {int(outside[0])} is outside model {model_name(module)}'s vocabulary "
                f"of {vocab_size} (ids 0 to {vocab_size - 1}); encode the text with the run's "
                "own vocabulary."
            )
    device = next(module.parameters()).device
    return tokens.to(device)


def attention_maps(module: Any, tokens: Tensor) -> Tensor:
    """The attention weights of every head of every layer of a Transformer on one text.

    Row ``t`` of a head's map is how that head, reading position ``t``, shares its attention
    over positions ``0..T-1``: it sums to 1, and a causal language model gives every later
    position 0. The model runs once in eval mode (no dropout) without gradients; its training
    mode is restored afterwards.

    Args:
        module: a Transformer language model (``char_transformer``), or a loaded run holding
            one.
        tokens: token ids ``(T,)`` or ``(1, T)``, e.g. from :func:`encode_prompt`.

    Returns:
        A float tensor ``(layers, heads, T, T)`` on the CPU, layers in the order the model
        calls them: ``maps[l, h, t, s]`` is the weight head ``h`` of layer ``l`` puts on
        position ``s`` when reading position ``t``.

    Raises:
        ClassicnetsError: a model without attention layers (a recurrent model: its picture is
            its gates), or tokens :func:`check_tokens` refuses.
    """
    module = network(module)
    layers = [m for m in module.modules() if isinstance(m, MultiHeadAttention)]
    if not layers:
        raise ClassicnetsError(
            f"Model {model_name(module)} has no attention layers, so it has no attention maps; "
            "for an LSTM or GRU language model show its gates instead."
        )
    ids = check_tokens(module, tokens)
    calls: list[tuple[nn.Module, tuple, dict]] = []

    def record(layer: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        calls.append((layer, args, kwargs))

    was_training = module.training
    module.eval()
    try:
        handles = [m.register_forward_hook(record, with_kwargs=True) for m in layers]
        try:
            with torch.no_grad():
                module(ids)
        finally:
            for handle in handles:  # removed before the calls below, which would record again
                handle.remove()
        maps = []
        with torch.no_grad():
            for layer, args, kwargs in calls:
                _, weights = layer(*args, **{**kwargs, "need_weights": True})  # (1, h, T, S)
                maps.append(weights[0])
    finally:
        module.train(was_training)
    shapes = {tuple(m.shape) for m in maps}
    if len(shapes) != 1 or next(iter(shapes))[1:] != (ids.shape[1], ids.shape[1]):
        raise ClassicnetsError(
            f"Model {model_name(module)} has attention layers that are not self-attention over "
            f"its input (weights of shapes {sorted(shapes)}); only such maps can be shown."
        )
    return torch.stack(maps).float().cpu()  # (layers, heads, T, T)
