"""Trainers for BERT (:mod:`classicnets.models.bert`): masked-language-model pre-training and
fine-tuning its encoder on a classification task.

Both are :class:`~.model.Model`'s one loop with narrow hooks changed:

- :class:`MaskedLMModel` takes ``(N, T)`` token windows (an
  :class:`~classicnets.data.mlm.MLMCorpus`'s ``train``). **Batching**: every training batch is
  masked afresh (:class:`MaskedBatches`, RoBERTa's dynamic masking), from a generator seeded by
  ``(seed, epoch, step)``, so a resumed run masks exactly as the uninterrupted one; evaluation
  masks once, from ``eval_seed``, so every evaluation asks the same questions. **Loss**: mean
  cross-entropy over the chosen positions only. **Metric**: ``mlm_accuracy``, the share of
  chosen positions whose original token scores highest.
- :class:`SequenceClassifierModel` takes ``(tokens, labels)`` (a
  :class:`~classicnets.data.mlm.LineSplit`); its forward is the model's ``classify``; loss and
  accuracy are the base trainer's. :func:`load_encoder` copies a pre-trained encoder into it.

Epoch and evaluation means weigh each batch by its ``B x T`` positions, not by its chosen ones:
every window holds the same number of chosen tokens (:func:`~classicnets.data.mlm.mask_tokens`
chooses ``round(0.15 n)`` per row), so only a padded last window shifts the mean, by a hair.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.mlm import IGNORE, LineSplit, check_mask_rate, mask_tokens
from ..data.text import Vocabulary
from ..errors import ClassicnetsError
from .batching import Batches, TensorBatches
from .checkpoint import load_checkpoint, resolve_checkpoint, split_state
from .model import Model
from .state import epoch_seed


class MaskedBatches(TensorBatches):
    """Shuffled batches of token windows, each masked with BERT's 80/10/10 rule as it is
    taken: ``(inputs, labels)`` with :data:`~classicnets.data.mlm.IGNORE` at unchosen
    positions.

    Args:
        tokens: ``(N, T)`` int64 windows.
        batch_size: windows per batch.
        vocab_size: the vocabulary's size, for random replacements.
        rate: the share of tokens chosen.
        seed: the run's seed; epoch order and every batch's masks derive from it.
        device: the training device.
        shuffle: False keeps the windows' order.
    """

    def __init__(
        self,
        tokens: Tensor,
        batch_size: int,
        *,
        vocab_size: int,
        rate: float = 0.15,
        seed: int = 0,
        device: torch.device | str = "cpu",
        shuffle: bool = True,
    ) -> None:
        super().__init__(tokens, tokens, batch_size, seed=seed, device=device, shuffle=shuffle)
        self.vocab_size, self.rate = vocab_size, check_mask_rate(rate)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        order = self.order(epoch)
        for step in range(start, self.steps):
            index = order[step * self.batch_size : (step + 1) * self.batch_size]
            generator = torch.Generator().manual_seed(
                epoch_seed(epoch_seed(self.seed, epoch), step)
            )
            tokens = self.x.index_select(0, index)
            yield (
                step,
                mask_tokens(
                    tokens, vocab_size=self.vocab_size, generator=generator, rate=self.rate
                ),
            )

    def plan(self) -> dict[str, Any]:
        return {**super().plan(), "mask_rate": self.rate}


def _windows(data: Any) -> Tensor | None:
    if isinstance(data, Tensor) and data.dim() == 2:
        if data.dtype != torch.int64:
            raise ClassicnetsError(f"Token ids must be int64, got {data.dtype}.")
        return data
    return None


class MaskedLMModel(Model):
    """Pre-train a BERT (``module.mlm_logits(tokens) -> (B, T, V)``) as a masked language model.

    Args:
        module: the network (``bert_mini`` or one answering ``mlm_logits`` and ``vocab_size``).
        vocabulary: what the ids stand for, kept in checkpoints.
        mask_rate: the share of tokens chosen in every window, in (0, 1).
        eval_seed: the seed of the one masking evaluation uses.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        **kwargs: passed to :class:`Model`.

    Data for ``fit`` and ``evaluate`` is ``(N, T)`` int64 windows; ``evaluate`` also takes an
    already masked ``(inputs, labels)`` pair.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        vocabulary: Vocabulary | None = None,
        mask_rate: float = 0.15,
        eval_seed: int = 0,
        device: str | torch.device | None = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(module, device=device, **kwargs)
        self.vocabulary = vocabulary
        self.mask_rate = check_mask_rate(mask_rate)
        self.eval_seed = eval_seed

    @property
    def vocab_size(self) -> int:
        return int(self.module.vocab_size)

    # ------------------------------------------------------------------ data
    def make_batches(self, data: Any, batch_size: int, *, seed: int, augment=None) -> Batches:
        if augment is not None:
            raise ClassicnetsError("Augmentation transforms images; masked text has none.")
        tokens = _windows(data)
        if tokens is None:
            raise ClassicnetsError(
                "Masked-language-model training takes (N, T) int64 token windows (an "
                f"MLMCorpus's train), got {type(data).__name__}."
            )
        return MaskedBatches(
            tokens,
            batch_size,
            vocab_size=self.vocab_size,
            rate=self.mask_rate,
            seed=seed,
            device=self.device,
        )

    def make_eval_batches(self, data: Any, batch_size: int) -> Batches:
        tokens = _windows(data)
        if tokens is None:
            return super().make_eval_batches(data, batch_size)
        generator = torch.Generator().manual_seed(self.eval_seed)
        inputs, labels = mask_tokens(
            tokens, vocab_size=self.vocab_size, generator=generator, rate=self.mask_rate
        )
        return TensorBatches(inputs, labels, batch_size, device=self.device, shuffle=False)

    # ----------------------------------------------------------------- steps
    def forward(self, x: Tensor) -> Tensor:
        """Token scores ``(B, T, V)`` of a masked batch."""
        return self.module.mlm_logits(x)

    def predict_step(self, x: Tensor) -> Tensor:
        with self.autocast():
            return self.module.mlm_logits(x)

    def compute_loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        """Mean cross-entropy over the chosen positions (labels other than ``IGNORE``)."""
        if self.config.loss != "cross_entropy":
            raise ClassicnetsError(
                f"A masked language model trains with cross_entropy, not {self.config.loss}."
            )
        return F.cross_entropy(
            outputs.float().reshape(-1, outputs.shape[-1]),
            y.reshape(-1),
            ignore_index=IGNORE,
            label_smoothing=self.config.label_smoothing,
        )

    def compute_metrics(self, outputs: Tensor, y: Tensor) -> dict[str, Tensor]:
        """``mlm_accuracy``: the share of chosen positions predicted right."""
        chosen = y != IGNORE
        right = (outputs.detach().argmax(-1) == y) & chosen
        return {"mlm_accuracy": right.sum().double() / chosen.sum().clamp(min=1)}

    def test_step(self, batch: tuple, tta: bool = False) -> dict[str, Tensor]:
        if tta:
            raise ClassicnetsError("--tta mirrors images; masked text has none.")
        return super().test_step(batch)

    # ------------------------------------------------------------- save/load
    def checkpoint_extras(self) -> dict[str, Any]:
        return {
            "trainer": "mlm",
            "vocabulary": self.vocabulary.to_dict() if self.vocabulary else None,
            "mask_rate": self.mask_rate,
            "eval_seed": self.eval_seed,
        }

    def restore_extras(self, meta: dict[str, Any]) -> None:
        if meta.get("vocabulary"):
            self.vocabulary = Vocabulary.from_dict(meta["vocabulary"])
        self.mask_rate = check_mask_rate(meta.get("mask_rate", self.mask_rate))
        self.eval_seed = int(meta.get("eval_seed", self.eval_seed))


class SequenceClassifierModel(Model):
    """Fine-tune (or train from scratch) a BERT on sequence classification
    (``module.classify(tokens) -> (B, num_classes)``).

    Args:
        module: the network; :func:`load_encoder` first to start from a pre-trained encoder.
        vocabulary: what the ids stand for, kept in checkpoints.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        **kwargs: passed to :class:`Model` (``classes``: the class names).

    Data is a :class:`~classicnets.data.mlm.LineSplit` or a ``(tokens, labels)`` pair.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        vocabulary: Vocabulary | None = None,
        device: str | torch.device | None = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(module, device=device, **kwargs)
        self.vocabulary = vocabulary

    @staticmethod
    def _pair(data: Any) -> Any:
        return data.pair() if isinstance(data, LineSplit) else data

    def make_batches(self, data: Any, batch_size: int, *, seed: int, augment=None) -> Batches:
        if augment is not None:
            raise ClassicnetsError("Augmentation transforms images; a line of text has none.")
        return super().make_batches(self._pair(data), batch_size, seed=seed)

    def make_eval_batches(self, data: Any, batch_size: int) -> Batches:
        return super().make_eval_batches(self._pair(data), batch_size)

    def forward(self, x: Tensor) -> Tensor:
        """Class scores ``(B, num_classes)``."""
        return self.module.classify(x)

    def predict_step(self, x: Tensor) -> Tensor:
        with self.autocast():
            return self.module.classify(x)

    def test_step(self, batch: tuple, tta: bool = False) -> dict[str, Tensor]:
        if tta:
            raise ClassicnetsError("--tta mirrors images; a line of text has none.")
        return super().test_step(batch)

    def checkpoint_extras(self) -> dict[str, Any]:
        return {
            "trainer": "sequence_classifier",
            "vocabulary": self.vocabulary.to_dict() if self.vocabulary else None,
        }

    def restore_extras(self, meta: dict[str, Any]) -> None:
        if meta.get("vocabulary"):
            self.vocabulary = Vocabulary.from_dict(meta["vocabulary"])


def load_encoder(
    module: nn.Module,
    source: nn.Module | Mapping[str, Tensor] | str | os.PathLike,
    parts: tuple[str, ...] = ("embeddings.", "layers."),
) -> list[str]:
    """Copy a pre-trained encoder (embeddings and encoder layers) into ``module``, leaving its
    heads as they are.

    Args:
        module: the network to fine-tune.
        source: a pre-trained network, its state dict, or a checkpoint (``STEM``,
            ``STEM.safetensors`` or a run directory) saved by :class:`MaskedLMModel`.
        parts: the name prefixes that make the encoder.

    Returns:
        The names of the tensors copied, sorted.

    Raises:
        ClassicnetsError: ``source`` holds no encoder, or one of another size (named).
    """
    if isinstance(source, nn.Module):
        state = source.state_dict()
    elif isinstance(source, Mapping):
        state = dict(source)
    else:
        tensors, meta = load_checkpoint(resolve_checkpoint(source))
        state = split_state(tensors, meta)[0]
    encoder = {k: v for k, v in state.items() if k.startswith(parts)}
    own = module.state_dict()
    wanted = sorted(k for k in own if k.startswith(parts))
    missing = [k for k in wanted if k not in encoder]
    if not encoder or missing:
        raise ClassicnetsError(
            f"The pre-trained weights lack {len(missing)} of the encoder's {len(wanted)} tensors "
            f"(first: {(missing or wanted or ['none'])[0]}); give a model of the same kind."
        )
    for name in wanted:
        if encoder[name].shape != own[name].shape:
            raise ClassicnetsError(
                f"The pre-trained {name} has shape {tuple(encoder[name].shape)} but this model's "
                f"is {tuple(own[name].shape)}; build it with the pre-trained vocabulary, width "
                "and max_len."
            )
    with torch.no_grad():
        for name in wanted:
            own[name].copy_(encoder[name])
    return wanted
