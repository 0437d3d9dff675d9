"""``SequenceModel``: the trainer for language models, on a stream of token ids.

It is :class:`~.model.Model`'s loop with the state a language model carries: two ways to cut a
text into batches (:mod:`.text_batches`) and the hidden state passed from one piece to the next.

- **Truncated back-propagation through time** (the default): ``batch_size`` parallel streams,
  ``seq_len`` tokens per piece; a recurrent model starts each piece from the state the previous
  one ended in, detached, so gradients flow back ``seq_len`` steps while the state carries
  information further. Every epoch starts from a zero state; a checkpoint taken mid-epoch keeps
  the carried state, so a resumed run continues it.
- **Windows** (``window=W``, the course's setup): every ``W`` consecutive tokens are one example
  whose target is the token after them; examples are shuffled and start from a zero state.

Loss is cross-entropy in nats per token; ``perplexity = exp(loss)`` is added to every epoch's
and every evaluation's logs. Checkpoints store the vocabulary, so a loaded model can encode
prompts and ``generate``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from ..data.text import Vocabulary
from ..errors import ClassicnetsError, ShapeError
from .batching import Batches, TensorBatches
from .model import Model
from .sampling import generate_text
from .text_batches import ScoredPieces, StreamBatches


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
    :class:`~classicnets.data.text.TextCorpus`'s ``train``, ``val`` or ``test``).
    """

    unit = "tok"  # type: ignore[assignment]  (a token is what a language model predicts)

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
        self._eval_state: Any = None  # ... and from one scored piece to the next

    def _check_lengths(self) -> None:
        for name, value in (("seq_len", self.seq_len), ("window", self.window)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ClassicnetsError(f"{name} must be a positive integer, got {value!r}.")
        length = self.window or self.seq_len
        context = getattr(self.module, "context", None)
        if context is not None and length > context:
            raise ShapeError(
                f"Training sequences of {length} tokens are longer than the model's context of "
                f"{context}; lower the sequence length or build the model with a longer context."
            )

    # ------------------------------------------------------------------ data
    def _ids(self, data: Any) -> Tensor | None:
        if not (isinstance(data, Tensor) and data.dim() == 1):
            return None
        if data.dtype != torch.int64:
            raise ClassicnetsError(f"Token ids must be int64, got {data.dtype}.")
        need = (self.window or 1) + 1
        if len(data) < need:
            raise ClassicnetsError(
                f"The text has {len(data)} tokens; a model needs at least {need} to learn from."
            )
        return data.to(self.device)

    def _windows(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """Every window ``(N, W)`` (a view, nothing copied) and the token after each."""
        return ids.unfold(0, self.window, 1)[:-1], ids[self.window :]

    def make_batches(self, data: Any, batch_size: int, *, seed: int, augment=None) -> Batches:
        ids = self._ids(data)
        if ids is None:
            return super().make_batches(data, batch_size, seed=seed, augment=augment)
        if self.window:
            return TensorBatches(*self._windows(ids), batch_size, seed=seed, device=self.device)
        return StreamBatches(ids, batch_size, self.seq_len, seed=seed)

    def make_eval_batches(self, data: Any, batch_size: int) -> Batches:
        ids = self._ids(data)
        if ids is None:
            return super().make_eval_batches(data, batch_size)
        if self.window:
            x, y = self._windows(ids)
            return TensorBatches(x, y, batch_size, device=self.device, shuffle=False)
        context = getattr(self.module, "context", None)
        return ScoredPieces(ids, context or self.seq_len, overlap=context is not None)

    # ----------------------------------------------------------------- steps
    def forward(self, x: Tensor) -> Tensor:
        """Logits of a training piece ``(B, T, V)`` from the carried state (kept, detached,
        for the next piece), or of the token after each window ``(B, V)``."""
        logits, state = self._forward(x, None if self.window else self._state)
        if self.window:
            return logits[:, -1]  # only the token after the window is a target
        self._state = _detach(state)
        return logits

    def test_step(self, batch: tuple, tta: bool = False) -> dict[str, Tensor]:
        """Windows score their next token; a scored piece ``(x, y, skip, continues)`` scores
        its tokens after ``skip``, from the previous piece's state when it ``continues``."""
        if tta:
            raise ClassicnetsError("--tta mirrors images; a language model's text has none.")
        if len(batch) == 2:
            return super().test_step(batch)
        x, y, skip, continues = batch
        with self.autocast():
            logits, state = self._forward(x, self._eval_state if continues else None)
        self._eval_state = state
        logits = logits[:, skip:].float()
        return {"loss": self.compute_loss(logits, y), **self.compute_metrics(logits, y)}

    def predict_step(self, x: Tensor) -> Tensor:
        """Logits ``(B, T, V)`` from a zero state, or ``(B, V)`` for windows."""
        with self.autocast():
            logits, _ = self._forward(x, None)
        return logits[:, -1] if self.window else logits

    def finish_logs(self, logs: dict[str, float]) -> dict[str, float]:
        if "loss" in logs:
            logs["perplexity"] = math.exp(min(logs["loss"], 700.0))  # exp overflows past ~709
        return logs

    def reset_state(self) -> None:
        self._state = None

    def state_tensors(self) -> dict[str, Tensor]:
        state = self._state
        if state is None:
            return {}
        parts = state if isinstance(state, tuple) else (state,)
        kind = "tuple" if isinstance(state, tuple) else "tensor"
        return {f"carry.{kind}.{i}": t for i, t in enumerate(parts)}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        parts = sorted((k for k in tensors if k.startswith("carry.")), key=lambda k: int(k[-1]))
        if not parts:
            self._state = None
            return
        values = tuple(tensors[k].to(self.device) for k in parts)
        self._state = values if parts[0].startswith("carry.tuple") else values[0]

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
        """Sample ``length`` tokens after ``prompt``, yielding the text of each as it comes
        (see :func:`~.sampling.generate_text`)."""
        return generate_text(
            self.module,
            self.vocabulary,
            prompt,
            length,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
        )

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
