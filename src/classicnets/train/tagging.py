"""``TaggingModel``: the trainer for sequence labelling, on padded sentences of word and tag ids.

It is :class:`~.model.Model`'s loop with three narrow hooks changed:

- :meth:`~TaggingModel.forward` / :meth:`~TaggingModel.predict_step` run the tagger on the
  batch cut to its longest sentence and pad the scores back, so short batches cost less;
- :meth:`~TaggingModel.compute_loss` is the tagger's own loss over the real tokens (cross-entropy,
  or the CRF's negative log-likelihood) whatever loss ``compile`` was given;
- :meth:`~TaggingModel.compute_metrics` decodes (Viterbi with a CRF) and counts, and
  :meth:`~TaggingModel.finish_logs` turns the counts into ``accuracy`` (per real token) and
  ``f1``: the chunk F1 of conlleval for BIO tags (entities, chunks, slots), the macro F1 over
  tags otherwise (parts of speech).

Counts work with the loop's example-weighted means: a batch logs each count divided by its
weight (the padded size ``B·T``), so the epoch's means are the epoch's counts over one common
total and every ratio of them is exact. The helper logs start with ``_`` and are removed.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.tagging import IGNORE, PAD, chunks, encode_sentences, tag_scheme
from ..data.text import Vocabulary
from ..errors import ClassicnetsError
from .model import Model


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _rate(count: Tensor, weight: float) -> Tensor:
    """A count over the batch's weight, in float64 where the device has it (float32 would
    round the counts of a large epoch)."""
    dtype = torch.float32 if count.device.type == "mps" else torch.float64
    return count.to(dtype) / weight


class TaggingModel(Model):
    """Train, evaluate and apply a tagger (``forward(tokens) -> (B, T, K)`` scores, with
    ``loss(scores, tags)`` and ``decode(scores, mask)``, as the registry's taggers).

    Args:
        module: the tagger.
        words: the word vocabulary (``<pad>`` at 0), to tag new sentences.
        tags: the tag vocabulary; its tags choose the F1 (BIO chunks or macro over tags).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        **kwargs: passed to :class:`Model`.

    Data for ``fit`` and ``evaluate`` is a pair ``(word_ids, tag_ids)`` of ``(N, T)`` int64
    tensors, padded with 0 and ``IGNORE`` (a :class:`~classicnets.data.tagging.TaggedCorpus`'s
    ``tensors(split)``).
    """

    unit = "tok"  # type: ignore[assignment]  (the loop counts token positions, padding included)

    def __init__(
        self,
        module: nn.Module,
        *,
        words: Vocabulary | None = None,
        tags: Vocabulary | None = None,
        device: str | torch.device | None = "auto",
        **kwargs: Any,
    ) -> None:
        for hook in ("loss", "decode"):
            if not callable(getattr(module, hook, None)):
                raise ClassicnetsError(
                    f"TaggingModel wraps a tagger with loss() and decode(); "
                    f"{type(module).__name__} has no {hook}()."
                )
        super().__init__(module, device=device, **kwargs)
        self.words = words
        self.tags = tags

    @property
    def scheme(self) -> str:
        """``"bio"`` or ``"pos"``: which F1 is reported."""
        return tag_scheme(self.tags.tokens) if self.tags is not None else "pos"

    # ----------------------------------------------------------------- steps
    def _scores(self, x: Tensor) -> Tensor:
        longest = max(int((x != 0).sum(1).max()), 1)
        scores = self._forward(x[:, :longest])  # (B, T', K)
        return F.pad(scores, (0, 0, 0, x.shape[1] - longest))  # (B, T, K); padding scores 0

    def forward(self, x: Tensor) -> Tensor:
        return self._scores(x)

    def predict_step(self, x: Tensor) -> Tensor:
        with self.autocast():
            return self._scores(x)

    def compute_loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        return self.module.loss(outputs.float(), y)

    def compute_metrics(self, outputs: Tensor, y: Tensor) -> dict[str, Tensor]:
        mask = y != IGNORE
        with torch.no_grad():
            predicted = self.module.decode(outputs.detach().float(), mask)
        weight = float(y.numel())
        hits = (predicted == y) & mask
        logs = {"_correct": _rate(hits.sum(), weight), "_tokens": _rate(mask.sum(), weight)}
        if self.scheme == "bio":
            found = gold = matched = 0
            names = self.tags.tokens
            for row in range(y.shape[0]):
                n = int(mask[row].sum())
                truth = chunks([names[i] for i in y[row, :n].tolist()])
                guess = chunks([names[i] for i in predicted[row, :n].tolist()])
                found += len(guess)
                gold += len(truth)
                matched += len(truth & guess)
            logs |= {"_found": found / weight, "_gold": gold / weight, "_matched": matched / weight}
        else:
            k = outputs.shape[-1]
            count = torch.bincount  # per tag: true positives, predictions, gold tokens
            logs["_tp"] = _rate(count(y[hits], minlength=k), weight)
            logs["_pred"] = _rate(count(predicted[mask], minlength=k), weight)
            logs["_gold"] = _rate(count(y[mask], minlength=k), weight)
        return self._flatten(logs)

    @staticmethod
    def _flatten(logs: dict[str, Tensor | float]) -> dict[str, Tensor | float]:
        """Per-tag count vectors as one scalar log each (the running means are scalars)."""
        flat: dict[str, Tensor | float] = {}
        for key, value in logs.items():
            if isinstance(value, Tensor) and value.dim() == 1:
                flat.update({f"{key}.{i}": v for i, v in enumerate(value)})
            else:
                flat[key] = value
        return flat

    def finish_logs(self, logs: dict[str, float]) -> dict[str, float]:
        helpers = {k: logs.pop(k) for k in [k for k in logs if k.startswith("_")]}
        if not helpers:
            return logs
        logs["accuracy"] = _ratio(helpers["_correct"], helpers["_tokens"])
        if "_matched" in helpers:
            precision = _ratio(helpers["_matched"], helpers["_found"])
            recall = _ratio(helpers["_matched"], helpers["_gold"])
            logs["f1"] = _ratio(2 * precision * recall, precision + recall)
        else:
            scores = []
            for key in [k for k in helpers if k.startswith("_gold.")]:
                index = key.split(".")[1]
                tp, pred, gold = helpers[f"_tp.{index}"], helpers[f"_pred.{index}"], helpers[key]
                if gold or pred:  # a tag absent from both the data and the guesses says nothing
                    scores.append(_ratio(2 * tp, pred + gold))
            logs["f1"] = sum(scores) / len(scores) if scores else 0.0
        return logs

    # ------------------------------------------------------------------ tag
    @torch.no_grad()
    def tag(self, sentences: list[list[str]]) -> list[list[str]]:
        """The tags of each sentence of tokens (words outside the vocabulary read as
        ``<unk>``)."""
        if self.words is None or self.tags is None:
            raise ClassicnetsError("This tagger has no vocabularies; train or load it first.")
        if any(not s for s in sentences):
            raise ClassicnetsError("Cannot tag an empty sentence; give at least one token.")
        dummy = self.tags.tokens[0]
        pairs = [(tuple(s), (dummy,) * len(s)) for s in sentences]
        ids, _ = encode_sentences(pairs, self.words, self.tags)
        was_training = self.module.training
        self.module.eval()
        x = ids.to(self.device)
        scores = self.predict_step(x).float()
        predicted = self.module.decode(scores, x != 0).cpu()
        self.module.train(was_training)
        return [
            [self.tags.tokens[i] for i in predicted[r, : len(s)]] for r, s in enumerate(sentences)
        ]

    # ------------------------------------------------------------- save/load
    def checkpoint_extras(self) -> dict[str, Any]:
        return {
            "trainer": "tagging",
            "words": self.words.to_dict() if self.words else None,
            "tags": self.tags.to_dict() if self.tags else None,
        }

    def restore_extras(self, meta: dict[str, Any]) -> None:
        if meta.get("words"):
            self.words = Vocabulary.from_dict(meta["words"])
            if self.words.tokens[0] != PAD:
                raise ClassicnetsError(
                    f"The checkpoint's word vocabulary starts with {self.words.tokens[0]!r}, "
                    f"not {PAD!r}; it was not written by a tagger."
                )
        if meta.get("tags"):
            self.tags = Vocabulary.from_dict(meta["tags"])
