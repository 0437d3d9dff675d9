"""``Seq2SeqModel``: the trainer for encoder–decoders (:mod:`classicnets.models.seq2seq`).

It is :class:`~.model.Model`'s loop with four narrow hooks changed:

- **batching**: data is a :class:`~classicnets.data.seq2seq.PairSplit` or a ``(source_ids,
  target_ids)`` pair; a batch is cut to its longest source and target while training
  (:meth:`prepare_batch`), so short pairs cost no padded steps.
- **teacher forcing** (:meth:`prepare_batch` and :meth:`forward`): the decoder reads the target
  shifted right, ``<bos> t_1 ... t_n``, and predicts ``t_1 ... t_n <eos>``.
- **loss** (:meth:`compute_loss`): cross-entropy per target token, padding ignored, with the
  compile's ``label_smoothing`` (0.1 in Vaswani et al. 2017).
- **metrics** (:meth:`compute_metrics`, :meth:`test_step`): ``token_accuracy`` (the share of
  target tokens predicted right under teacher forcing), ``sequence_accuracy`` (the share of
  targets predicted right at every position under teacher forcing) and, in evaluation only,
  ``exact_match``: the share of targets that greedy decoding reproduces exactly, ``<eos>``
  included, which is what the model does when it is used. Decoding is batched and the tasks'
  targets are short, so it runs on every validation pass (``decode_eval=False`` turns it off).

Epoch means weigh each batch by its examples (every target is padded to the same width in
evaluation), so ``exact_match`` and ``sequence_accuracy`` are exact shares of the split;
``token_accuracy`` and the loss are means of per-batch token means (exact when the split fits
in one batch, as the validation splits of :func:`~classicnets.data.seq2seq.load_pairs` do).

:meth:`score` decodes a whole split (greedy or beam search) for exact match and corpus BLEU
(sacrebleu when it is installed, the same formula here otherwise); :meth:`translate` turns
texts into texts. Checkpoints store both vocabularies.
"""

from __future__ import annotations

import collections
import importlib.util
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.seq2seq import EOS, PAD, PairSplit, decode_ids, pad_ids
from ..data.text import Vocabulary
from ..errors import ClassicnetsError
from ..models.decoding import beam_search, greedy_decode, pad_hypotheses
from .batching import Batches
from .model import Model


class Seq2SeqModel(Model):
    """Train, evaluate and run an encoder–decoder (``forward(src, tgt_in) -> (B, T, V)``).

    Args:
        module: the network (``transformer_seq2seq``, ``lstm_seq2seq`` or one answering the
            same calls).
        source_vocabulary, target_vocabulary: what the ids stand for; needed to translate
            text and kept in checkpoints.
        decode_eval: add greedy ``exact_match`` to every evaluation.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        **kwargs: passed to :class:`Model`.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        *,
        source_vocabulary: Vocabulary | None = None,
        target_vocabulary: Vocabulary | None = None,
        decode_eval: bool = True,
        device: str | torch.device | None = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(module, device=device, **kwargs)
        self.source_vocabulary = source_vocabulary
        self.target_vocabulary = target_vocabulary
        self.decode_eval = decode_eval

    # ------------------------------------------------------------------ data
    @staticmethod
    def _pair(data: Any) -> Any:
        return data.pair() if isinstance(data, PairSplit) else data

    def make_batches(self, data: Any, batch_size: int, *, seed: int, augment=None) -> Batches:
        if augment is not None:
            raise ClassicnetsError("Augmentation transforms images; a pair of texts has none.")
        return super().make_batches(self._pair(data), batch_size, seed=seed)

    def make_eval_batches(self, data: Any, batch_size: int) -> Batches:
        return super().make_eval_batches(self._pair(data), batch_size)

    def prepare_batch(self, batch: tuple) -> tuple:
        """``((src, tgt_in), tgt_out)`` on the device: the target shifted right for the
        decoder and the tokens it must predict. While training, the batch is cut to its
        longest source and target; evaluation keeps the split's width, so that every batch
        weighs its examples alike in the means (see the module docstring)."""
        src, tgt = batch[0].to(self.device), batch[1].to(self.device)
        if src.dtype != torch.int64 or tgt.dtype != torch.int64 or tgt.shape[1] < 2:
            raise ClassicnetsError(
                "A sequence-to-sequence batch is int64 source ids and int64 target ids "
                f"wrapped in <bos> ... <eos>; got {src.dtype} {tuple(src.shape)} and "
                f"{tgt.dtype} {tuple(tgt.shape)}."
            )
        if self.module.training:
            src = src[:, : max(int((src != PAD).sum(1).max()), 1)]
            tgt = tgt[:, : int((tgt != PAD).sum(1).max())]
        return (src, tgt[:, :-1]), tgt[:, 1:]

    # ----------------------------------------------------------------- steps
    def forward(self, x: tuple[Tensor, Tensor]) -> Tensor:
        """Teacher-forced logits ``(B, T, V)``."""
        return self._forward(*x)

    def predict_step(self, x: tuple[Tensor, Tensor]) -> Tensor:
        if not isinstance(x, tuple):
            raise ClassicnetsError(
                "A sequence-to-sequence model scores (source, shifted target) pairs; to turn "
                "sources into outputs use decode() or translate()."
            )
        with self.autocast():
            return self._forward(*x)

    def compute_loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        """Mean cross-entropy over the target tokens, padding ignored, label-smoothed as
        compiled."""
        if self.config.loss != "cross_entropy":
            raise ClassicnetsError(
                f"A sequence-to-sequence model trains with cross_entropy, not {self.config.loss}."
            )
        return F.cross_entropy(
            outputs.float().reshape(-1, outputs.shape[-1]),
            y.reshape(-1),
            ignore_index=PAD,
            label_smoothing=self.config.label_smoothing,
        )

    def compute_metrics(self, outputs: Tensor, y: Tensor) -> dict[str, Tensor]:
        """``token_accuracy`` and ``sequence_accuracy`` under teacher forcing."""
        real = y != PAD  # (B, T)
        right = (outputs.detach().argmax(-1) == y) & real
        tokens = right.sum().double() / real.sum().clamp(min=1)
        sequences = (right | ~real).all(1).double().mean()
        return {"token_accuracy": tokens, "sequence_accuracy": sequences}

    def test_step(self, batch: tuple, tta: bool = False) -> dict[str, Tensor]:
        """Loss and teacher-forced metrics, and greedy ``exact_match`` (see the class)."""
        if tta:
            raise ClassicnetsError("--tta mirrors images; a pair of texts has none.")
        logs = super().test_step(batch)
        if self.decode_eval:
            (src, _), y = batch
            with self.autocast():
                decoded = greedy_decode(self.module, src, max_len=y.shape[1])
            logs["exact_match"] = _same(decoded, y).double().mean()
        return logs

    # ---------------------------------------------------------------- decode
    def decode(
        self, src: Tensor, *, beam_width: int = 1, alpha: float = 0.6, max_len: int = 64
    ) -> Tensor:
        """Decoded ids ``(B, L)`` of source ids ``(B, S)``: greedy when ``beam_width`` is 1,
        else beam search with GNMT's length penalty ``alpha``."""
        was_training = self.module.training
        self.module.eval()
        try:
            src = src.to(self.device)
            with self.autocast():
                if beam_width == 1:
                    return greedy_decode(self.module, src, max_len)
                found = beam_search(self.module, src, max_len, beam_width=beam_width, alpha=alpha)
                return pad_hypotheses(found, self.device)
        finally:
            self.module.train(was_training)

    def translate(
        self, texts: Sequence[str] | str, *, beam_width: int = 1, alpha: float = 0.6
    ) -> list[str]:
        """The model's output text for each input text.

        Raises:
            ClassicnetsError: no vocabularies (a module trained outside a run), or a text with
                characters the source vocabulary lacks (named).
        """
        if self.source_vocabulary is None or self.target_vocabulary is None:
            raise ClassicnetsError(
                "This model has no vocabularies to read and write text with; train it with "
                "Seq2SeqModel(..., source_vocabulary=, target_vocabulary=) or load a run."
            )
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts or any(not t for t in texts):
            raise ClassicnetsError("Give at least one non-empty text to translate.")
        src = pad_ids([self.source_vocabulary.encode(t, strict=True) for t in texts])
        limit = getattr(self.module, "positions", None)
        max_len = min(64, limit.max_len - 1) if limit is not None else 64
        ids = self.decode(src, beam_width=beam_width, alpha=alpha, max_len=max_len)
        return [decode_ids(self.target_vocabulary, row) for row in ids.cpu()]

    @torch.no_grad()
    def score(
        self, split: PairSplit, *, beam_width: int = 1, alpha: float = 0.6, batch_size: int = 256
    ) -> dict[str, float]:
        """Decode a whole split: ``exact_match`` (share of outputs equal to the target) and
        corpus ``bleu`` (0–100, over target tokens, 4-grams, one reference each)."""
        hyps, refs, hits = [], [], 0
        for start in range(0, len(split), batch_size):
            src = split.source_ids[start : start + batch_size]
            tgt = split.target_ids[start : start + batch_size, 1:]
            out = self.decode(src, beam_width=beam_width, alpha=alpha, max_len=tgt.shape[1] + 8)
            for row, ref in zip(out.cpu().tolist(), tgt.tolist(), strict=True):
                hyp, want = _until_eos(row), _until_eos(ref)
                hyps.append(hyp), refs.append(want)
                hits += hyp == want
        return {"exact_match": hits / max(len(split), 1), "bleu": corpus_bleu(hyps, refs)}

    # ------------------------------------------------------------- save/load
    def checkpoint_extras(self) -> dict[str, Any]:
        return {
            "trainer": "seq2seq",
            "source_vocabulary": self.source_vocabulary.to_dict()
            if self.source_vocabulary
            else None,
            "target_vocabulary": self.target_vocabulary.to_dict()
            if self.target_vocabulary
            else None,
            "decode_eval": self.decode_eval,
        }

    def restore_extras(self, meta: dict[str, Any]) -> None:
        for side in ("source", "target"):
            stored = meta.get(f"{side}_vocabulary")
            if stored:
                vocabulary = Vocabulary.from_dict(stored)
                size = getattr(self.module, f"{side}_vocab_size", len(vocabulary))
                if size != len(vocabulary):
                    raise ClassicnetsError(
                        f"The checkpoint's {side} vocabulary has {len(vocabulary)} tokens but "
                        f"the model reads {size}; the weights and vocabularies do not match."
                    )
                setattr(self, f"{side}_vocabulary", vocabulary)
        self.decode_eval = bool(meta.get("decode_eval", True))


def _same(decoded: Tensor, target: Tensor) -> Tensor:
    """Which rows of greedy output equal the padded target, ``EOS`` included."""
    width = target.shape[1]
    if decoded.shape[1] < width:
        decoded = F.pad(decoded, (0, width - decoded.shape[1]), value=PAD)
    return (decoded[:, :width] == target).all(1)


def _until_eos(ids: Sequence[int]) -> tuple[int, ...]:
    out = []
    for i in ids:
        if i in (EOS, PAD):
            break
        out.append(i)
    return tuple(out)


# -------------------------------------------------------------------- BLEU
def corpus_bleu(hypotheses: Sequence[Sequence[int]], references: Sequence[Sequence[int]]) -> float:
    """Corpus BLEU-4 of token sequences against one reference each (Papineni et al. 2002),
    0 to 100, without smoothing: ``sacrebleu`` computes it where installed, else
    :func:`own_corpus_bleu` (the same numbers; a test checks them against each other)."""
    if len(hypotheses) != len(references):
        raise ClassicnetsError(
            f"BLEU needs one reference per hypothesis, got {len(hypotheses)} hypotheses and "
            f"{len(references)} references."
        )
    if importlib.util.find_spec("sacrebleu") is None:
        return own_corpus_bleu(hypotheses, references)
    from sacrebleu.metrics import BLEU

    def words(tokens: Sequence[int]) -> str:  # ids as words: a token may be a space
        return " ".join(f"t{t}" for t in tokens)

    bleu = BLEU(tokenize="none", smooth_method="none", force=True)
    refs = [[words(r) for r in references]]
    return float(bleu.corpus_score([words(h) for h in hypotheses], refs).score)


def own_corpus_bleu(
    hypotheses: Sequence[Sequence[int]], references: Sequence[Sequence[int]], order: int = 4
) -> float:
    """BLEU from its definition: the geometric mean of the clipped n-gram precisions for
    ``n = 1..order``, pooled over the corpus, times the brevity penalty ``exp(1 - r/c)`` when
    the hypotheses' ``c`` tokens are fewer than the references' ``r``."""
    matches, totals = [0] * order, [0] * order
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        hyp_len, ref_len = hyp_len + len(hyp), ref_len + len(ref)
        for n in range(1, order + 1):
            got = collections.Counter(tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1))
            want = collections.Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
            matches[n - 1] += sum(min(c, want[g]) for g, c in got.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    if hyp_len == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / order
    brevity = 1.0 if hyp_len >= ref_len else math.exp(1.0 - ref_len / hyp_len)
    return 100.0 * brevity * math.exp(log_precision)
