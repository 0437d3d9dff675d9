"""Sampling text from a language model, token by token."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from ..data.text import Vocabulary, join_words
from ..errors import ClassicnetsError, ShapeError


def generate_text(
    module: nn.Module,
    vocabulary: Vocabulary | None,
    prompt: str = "",
    length: int = 500,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
) -> Iterator[str]:
    """Sample ``length`` tokens after ``prompt``; the iterator yields the text of each as it
    comes. Arguments are checked at once, before any sampling.

    Args:
        module: a language model, ``forward(tokens, state) -> (logits, state)``.
        vocabulary: the tokens its ids stand for.
        prompt: text to start from; every character (word) must be in the vocabulary. An
            empty prompt starts after a line break (or a random token without one).
        length: tokens to generate.
        temperature: divides the logits; below 1 sharper and safer, above 1 more varied.
        top_k: sample only among the ``top_k`` most likely tokens.
        seed: makes the sample reproducible on the same machine.

    Raises:
        ClassicnetsError: no vocabulary, a prompt with unknown characters (named), a
            temperature that is not positive, a negative length or ``top_k`` below 1.
        ShapeError: a prompt longer than a Transformer's context.
    """
    if vocabulary is None:
        raise ClassicnetsError("This model has no vocabulary, so it cannot turn ids into text.")
    if not temperature > 0 or not math.isfinite(temperature):
        raise ClassicnetsError(
            f"The temperature must be a positive number, got {temperature}; use e.g. 0.5 "
            "for safer text, 1 for the model's own distribution."
        )
    if length < 0:
        raise ClassicnetsError(f"The length must be 0 or more tokens, got {length}.")
    if top_k is not None and top_k < 1:
        raise ClassicnetsError(f"top-k must be at least 1, got {top_k}.")
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    prompt_ids = vocabulary.encode(prompt, strict=True)
    if len(prompt_ids) == 0:
        start = vocabulary.index.get("\n")
        if start is None:
            start = int(torch.randint(len(vocabulary), (1,), generator=generator))
        prompt_ids = torch.tensor([start])
    context = getattr(module, "context", None)
    if context is not None and len(prompt_ids) > context:
        raise ShapeError(
            f"The prompt has {len(prompt_ids)} tokens but the model reads at most {context}; "
            "shorten the prompt."
        )
    previous = vocabulary.tokens[int(prompt_ids[-1])] if prompt else None
    device = next(module.parameters()).device
    ids = sample_tokens(module, prompt_ids.to(device), length, temperature, top_k, generator)
    return _texts(ids, vocabulary, previous)


def _texts(ids: Iterator[int], vocabulary: Vocabulary, previous: str | None) -> Iterator[str]:
    """The text of each sampled id; words get the space they need before them."""
    for token_id in ids:
        token = vocabulary.tokens[token_id]
        yield token if vocabulary.level == "char" else join_words([token], previous)
        previous = token


@torch.no_grad()
def sample_tokens(
    module: nn.Module,
    prompt: Tensor,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> Iterator[int]:
    """Sample ``length`` token ids one after another from a language model.

    A recurrent model reads the prompt once and then one token per step, carrying its state;
    a model with a ``context`` re-reads its last ``context`` tokens at every step.

    Args:
        module: ``forward(tokens (1, T), state) -> (logits (1, T, V), state)``.
        prompt: ids ``(P,)``, P >= 1, on the module's device.
        length: how many ids to sample.
        temperature: the logits are divided by it before the softmax.
        top_k: keep only the ``top_k`` largest logits.
        generator: a CPU generator for reproducible samples.
    """
    was_training = module.training
    module.eval()
    context = getattr(module, "context", None)
    tokens = prompt.view(1, -1)  # (1, P)
    try:
        logits, state = module(tokens if context is None else tokens[:, -context:], None)
        for _ in range(length):
            scores = logits[0, -1].float().cpu() / temperature  # (V,)
            if top_k is not None and top_k < len(scores):
                kth = scores.topk(top_k).values[-1]
                scores = scores.masked_fill(scores < kth, float("-inf"))
            token = int(torch.multinomial(torch.softmax(scores, -1), 1, generator=generator))
            yield token
            step = torch.tensor([[token]], device=prompt.device)  # (1, 1)
            if context is None:
                logits, state = module(step, state)
            else:
                tokens = torch.cat([tokens, step], dim=1)[:, -context:]  # (1, <= context)
                logits, _ = module(tokens, None)
    finally:
        module.train(was_training)
