"""``SequenceModel``: the trainer for language models, on a stream of token ids.

Two ways to cut a text into batches:

- **Truncated back-propagation through time** (the default). The training ids are laid out as
  ``batch_size`` parallel streams, each a contiguous stretch of the text; step ``k`` reads the
  ``k``-th piece of ``seq_len`` tokens of every stream and predicts every next token. A recurrent
  model starts each piece from the state the previous piece ended in, detached, so gradients
  flow back ``seq_len`` steps while the state carries information further (Williams & Peng
  1990; d2l's "sequential partitioning"). Each epoch starts at a random offset below
  ``seq_len`` so the cuts fall elsewhere, and from a zero state.
- **Windows** (``window=W``, the course's setup): every ``W`` consecutive tokens are one example
  whose target is the token after them; examples are shuffled and start from a zero state.

Loss is cross-entropy in nats per token; ``perplexity = exp(loss)`` is added to every epoch's
logs. Checkpoints store the vocabulary, so a loaded model can encode prompts and ``generate``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from ..data.text import Vocabulary, join_words
from ..errors import ClassicnetsError, ShapeError
from .model import Model

EVAL_STREAMS = 32  # validation streams: each starts from a zero state, so not too many


def _detach(state: Any) -> Any:
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return None if state is None else state.detach()


class SequenceModel(Model):
    """Train, evaluate and sample a language model (``forward(tokens, state) -> (logits,
    state)``, as the registry's sequence models).

    Args:
        module: the network; ``module.context`` (if set) is the longest sequence it reads.
        vocabulary: the tokens the ids stand for; needed to generate text.
        seq_len: tokens per piece in truncated back-propagation through time (default 128,
            or the model's context if shorter).
        window: train on shuffled windows of this many tokens instead, predicting the next one.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        **kwargs: passed to :class:`Model`.

    Data for ``fit`` and ``evaluate`` is a 1-D int64 tensor of token ids (a
    :class:`~classicnets.data.text.TextCorpus`'s ``train`` or ``val``).
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        vocabulary: Vocabulary | None = None,
        seq_len: int | None = None,
        window: int | None = None,
        device: str | torch.device | None = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(module, device=device, **kwargs)
        self.vocabulary = vocabulary
        context = getattr(module, "context", None)
        self.seq_len = seq_len if seq_len is not None else min(128, context or 128)
        self.window = window
        self._check_lengths()
        self._state: Any = None  # carried from one training piece to the next

    def _check_lengths(self) -> None:
        for name, value in (("seq_len", self.seq_len), ("window", self.window)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ClassicnetsError(f"{name} must be a positive integer, got {value!r}.")
        length = self.window or self.seq_len
        context = getattr(self.module, "context", None)
        if context is not None and length > context:
            raise ShapeError(
                f"Training sequences of {length} tokens are longer than the model's context of "
                f"{context}; lower the sequence length or build the model with a longer context."
            )

    # ------------------------------------------------------------------ data
    def _tensors(self, data: Any) -> tuple[Tensor, Tensor | None]:
        """A 1-D tensor of ids becomes (inputs, next tokens): the shifted stream, or windows
        ``(N, W)`` (a view, nothing copied) and the token after each."""
        if not (isinstance(data, Tensor) and data.dim() == 1):
            return super()._tensors(data)
        if data.dtype != torch.int64:
            raise ClassicnetsError(f"Token ids must be int64, got {data.dtype}.")
        ids = data.to(self.device)
        need = (self.window or 1) + 1
        if len(ids) < need:
            raise ClassicnetsError(
                f"The text has {len(ids)} tokens; a model needs at least {need} to learn from."
            )
        if self.window:
            return ids.unfold(0, self.window, 1)[:-1], ids[self.window :]  # (N, W), (N,)
        return ids[:-1], ids[1:]

    def _layout(self, n: int, batch_size: int) -> tuple[int, int, int]:
        """Streams, piece length and pieces per epoch for a stream of ``n`` tokens."""
        if n < batch_size:
            raise ClassicnetsError(
                f"The text has {n + 1} tokens, too few for {batch_size} parallel streams; "
                "lower the batch size."
            )
        length = n // batch_size  # tokens per stream
        piece = min(self.seq_len, length)
        return batch_size, piece, length // piece

    def steps_per_epoch(self, n: int, batch_size: int) -> int:
        if batch_size < 1:
            raise ClassicnetsError(f"The batch size must be positive, got {batch_size}.")
        if self.window:
            return super().steps_per_epoch(n, batch_size)
        return self._layout(n, batch_size)[2]

    def batches(self, x, y, batch_size, seed, epoch=0, augment=None) -> Iterator:
        """Shuffled windows, or the next piece of every stream (see the module docstring)."""
        if self.window:
            return super().batches(x, y, batch_size, seed, epoch, augment)
        return self._pieces(x, y, batch_size, seed)

    def _pieces(self, x: Tensor, y: Tensor, batch_size: int, seed: int) -> Iterator:
        streams, piece, steps = self._layout(len(x), batch_size)
        length = len(x) // streams
        slack = length - steps * piece  # < piece tokens to spare: start somewhere in them
        offset = int(torch.randint(slack + 1, (1,), generator=torch.Generator().manual_seed(seed)))
        xs = x[: streams * length].view(streams, length)  # (B, L): stream b is one stretch
        ys = y[: streams * length].view(streams, length)
        self._state = None  # every epoch starts from a zero state
        for step in range(steps):
            start = offset + step * piece
            yield xs[:, start : start + piece], ys[:, start : start + piece]  # (B, T) each

    # ----------------------------------------------------------------- steps
    def compute_loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        """Mean cross-entropy over every predicted token, in nats."""
        return self.loss_fn(outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1))

    def _metrics(self, logits: Tensor, y: Tensor) -> dict[str, Tensor]:
        flat, targets = logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
        return {k: f(flat, targets) for k, f in self.metric_fns.items()}

    def train_step(self, x: Tensor, y: Tensor) -> dict[str, Tensor]:
        """One update on a piece ``(B, T)`` (or windows ``(B, W)``); the final state is kept,
        detached, for the next piece."""
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            logits, state = self._forward(x, None if self.window else self._state)
            if self.window:
                logits = logits[:, -1]  # (B, V): only the token after the window is a target
            loss = self.compute_loss(logits.float(), y)
        self._state = None if self.window else _detach(state)
        loss.backward()
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return {"loss": loss.detach(), **self._metrics(logits.detach().float(), y)}

    def test_step(self, x: Tensor, y: Tensor, tta: bool = False) -> dict[str, Tensor]:
        logits = self.predict_step(x).float()
        return {"loss": self.compute_loss(logits, y), **self._metrics(logits, y)}

    def predict_step(self, x: Tensor) -> Tensor:
        """Logits ``(B, T, V)`` from a zero state, or ``(B, V)`` for windows."""
        with self._autocast():
            logits, _ = self._forward(x, None)
        return logits[:, -1] if self.window else logits

    def _train_epoch(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        logs = super()._train_epoch(*args, **kwargs)
        logs["perplexity"] = _perplexity(logs["loss"])
        return logs

    @torch.no_grad()
    def evaluate(self, data: Any, batch_size: int = 1024, *, tta: bool = False) -> dict[str, float]:
        """Mean loss (nats per token), metrics and perplexity over a text.

        Windows are scored in batches of ``batch_size``; a stream is read as up to
        ``EVAL_STREAMS`` parallel streams (see ``_evaluate_stream``).
        """
        self._require_compiled()
        was_training = self.module.training
        x, y = self._tensors(data)
        if self.window or x.dim() != 1:
            logs = super().evaluate((x, y), batch_size)
        else:
            logs = self._evaluate_stream(x, y)
        self.module.train(was_training)
        logs["perplexity"] = _perplexity(logs["loss"])
        return logs

    def _evaluate_stream(self, x: Tensor, y: Tensor) -> dict[str, float]:
        """Score every token once, each from as much of the text before it as the model takes:
        a recurrent model reads pieces of ``seq_len`` and carries its state; a Transformer
        reads windows of its context that overlap by half and scores only the tokens it has not
        scored yet, so each one after the first window sees at least ``context / 2`` tokens
        before it (the sliding-window perplexity; cutting the text into disjoint windows would
        score a window's first tokens almost without context)."""
        self.module.eval()
        context = getattr(self.module, "context", None)
        span = context or self.seq_len  # tokens per forward pass
        stride = max(1, span // 2) if context else span
        streams = max(1, min(EVAL_STREAMS, len(x) // span))
        length = len(x) // streams
        xs = x[: streams * length].view(streams, length)  # (S, L)
        ys = y[: streams * length].view(streams, length)
        sums: dict[str, float] = {}
        state, scored = None, 0  # tokens 0..scored-1 of every stream are scored
        for start in range(0, length, stride):
            end = min(start + span, length)
            if end <= scored:
                continue
            with self._autocast():
                logits, state = self._forward(xs[:, start:end], state)  # (S, end - start, V)
            logits, targets = logits[:, scored - start :].float(), ys[:, scored:end]
            logs = {"loss": self.compute_loss(logits, targets), **self._metrics(logits, targets)}
            for key, value in logs.items():
                sums[key] = sums.get(key, 0.0) + float(value) * targets.numel()
            scored = end
        return {k: v / (streams * length) for k, v in sums.items()}

    # -------------------------------------------------------------- generate
    def generate(
        self,
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
        vocabulary = self.vocabulary
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
        context = getattr(self.module, "context", None)
        if context is not None and len(prompt_ids) > context:
            raise ShapeError(
                f"The prompt has {len(prompt_ids)} tokens but the model reads at most {context}; "
                "shorten the prompt."
            )
        previous = vocabulary.tokens[int(prompt_ids[-1])] if prompt else None
        ids = sample_tokens(
            self.module, prompt_ids.to(self.device), length, temperature, top_k, generator
        )
        return _texts(ids, vocabulary, previous)

    # ------------------------------------------------------------- save/load
    def checkpoint_extras(self) -> dict[str, Any]:
        return {
            "trainer": "sequence",
            "vocabulary": self.vocabulary.to_dict() if self.vocabulary else None,
            "seq_len": self.seq_len,
            "window": self.window,
        }

    def restore_extras(self, meta: dict[str, Any]) -> None:
        if meta.get("vocabulary"):
            self.vocabulary = Vocabulary.from_dict(meta["vocabulary"])
        self.seq_len = int(meta.get("seq_len") or self.seq_len)
        self.window = meta.get("window")
        self._check_lengths()


def _texts(ids: Iterator[int], vocabulary: Vocabulary, previous: str | None) -> Iterator[str]:
    """The text of each sampled id; words get the space they need before them."""
    for token_id in ids:
        token = vocabulary.tokens[token_id]
        yield token if vocabulary.level == "char" else join_words([token], previous)
        previous = token


def _perplexity(loss: float) -> float:
    return math.exp(min(loss, 700.0))  # exp overflows a float past ~709


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
