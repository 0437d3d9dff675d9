"""Sequence-to-sequence runs: an encoder–decoder on a task of
:func:`~classicnets.data.seq2seq.load_pairs`, three disjoint splits generated from the run's seed.

Validation's greedy exact match picks ``best`` and stops early; the test split is scored once,
at the end, with the run's decoding (``--beam-width``): exact match and corpus BLEU. A run's
directory adds ``translations.txt``: the first test sources, the kept model's outputs and the
targets, a wrong output marked; :func:`draw_attention` pictures where the decoder looks
(``classicnets viz RUN attention --prompt TEXT``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar

from ..data.seq2seq import EOS, TASKS, PairCorpus, load_pairs
from ..data.splits import DEFAULT_FRACTION
from ..errors import ClassicnetsError, unknown_name
from ..models import create_model
from ..train.seq2seq import Seq2SeqModel
from .config import RunConfig, _number, _whole, register_config, setting
from .rundir import write_atomically

SHOWN = 20  # test pairs written to translations.txt
RECIPE = "the recipe's; see `classicnets recipes MODEL --data DATA`"


@dataclasses.dataclass(frozen=True)
class Seq2SeqRunConfig(RunConfig):
    """An encoder–decoder on a sequence-to-sequence task."""

    KIND: ClassVar[str] = "seq2seq"
    TAG: ClassVar[str | None] = "seq2seq"
    WHAT: ClassVar[str] = "an encoder-decoder"

    model: str = setting("transformer_seq2seq", "registered encoder-decoder", cli=False)
    data: str = setting("seq2seq_reverse", f"task: {', '.join(TASKS)}")
    grad_clip: float | None = setting(1.0, "clip the gradient norm to this", metavar="NORM")
    label_smoothing: float | None = setting(
        None, "label smoothing of the cross-entropy", default_text=RECIPE
    )
    train_size: int = setting(20_000, "training pairs generated")
    val_size: int = setting(1_000, "validation pairs (greedy exact match picks best)")
    test_size: int = setting(1_000, "test pairs, scored once at the end")
    max_length: int = setting(20, "digit tasks: the longest source, in tokens")
    beam_width: int = setting(1, "decode the test split with this beam (1: greedy)")

    def check(self) -> None:
        super().check()
        if self.val_split != DEFAULT_FRACTION:
            raise ClassicnetsError(
                "--val-split applies to image models and language models; use --val-size."
            )
        if self.data not in TASKS:
            raise unknown_name("sequence-to-sequence task", self.data, TASKS)
        for name in ("train_size", "test_size", "max_length", "beam_width"):
            _whole(name, getattr(self, name))
        _whole("val_size", self.val_size, least=0)
        _number("label_smoothing", self.label_smoothing, 0, 1, closed=False, optional=True)

    @property
    def monitor(self) -> str:
        return "val_exact_match"

    def compile_options(self, steps_per_epoch: int) -> dict[str, Any]:
        options = super().compile_options(steps_per_epoch)
        return options | {"label_smoothing": self.label_smoothing or 0.0}


register_config(Seq2SeqRunConfig)


def load_task(config: Seq2SeqRunConfig) -> PairCorpus:
    """The run's pairs: its task generated from its seed at its sizes."""
    return load_pairs(
        config.data,
        train_size=config.train_size,
        val_size=config.val_size,
        test_size=config.test_size,
        max_length=config.max_length,
        seed=config.seed,
    )


class Seq2SeqTask:
    """The sequence-to-sequence half of the run pipeline (:mod:`classicnets.runs.pipeline`)."""

    kind = "seq2seq"

    @staticmethod
    def score_line(test: dict) -> str:
        """The run's one line about its test score."""
        return (
            f"test exact match {test['decoded_exact_match']:.4f}, BLEU {test['bleu']:.1f} "
            f"(loss {test['loss']:.4f})"
        )

    def prepare(self, config: Seq2SeqRunConfig, notify) -> dict[str, Any]:
        corpus = load_task(config)
        sizes = {
            "source_vocab_size": len(corpus.source_vocabulary),
            "target_vocab_size": len(corpus.target_vocabulary),
        }
        module = create_model(config.model, seed=config.seed, **{**sizes, **config.model_kwargs})
        model = Seq2SeqModel(
            module,
            source_vocabulary=corpus.source_vocabulary,
            target_vocabulary=corpus.target_vocabulary,
            device=config.device,
        )
        steps = model.make_batches(corpus.train, config.batch_size, seed=config.seed).steps
        model.compile(**config.compile_options(steps))
        notify(
            f"{corpus.name}: {len(corpus.train):,} training, {len(corpus.val):,} validation and "
            f"{len(corpus.test):,} test pairs; vocabularies of {sizes['source_vocab_size']} and "
            f"{sizes['target_vocab_size']} tokens"
        )
        resolved = dataclasses.replace(config, model_kwargs=module.classicnets_spec["kwargs"])
        params = sum(p.numel() for p in module.parameters())
        return {
            "model": model,
            "config": resolved,
            "train": corpus.train,
            "val": corpus.val if len(corpus.val) else None,
            "test": corpus.test,
            "summary": f"{config.model}: {params:,} parameters\n{corpus.name}: "
            f"{sizes['source_vocab_size']} source and {sizes['target_vocab_size']} target "
            f"tokens\n\n{module}\n",
            "name": corpus.name,
            "title": f"{config.model} on {corpus.name}",
            "describe": corpus.name,
        }

    def reopen(self, config: Seq2SeqRunConfig, model: Seq2SeqModel) -> dict[str, Any]:
        corpus = load_task(config)
        check_vocabularies(model, corpus, config.data)
        val = corpus.val if len(corpus.val) else None
        return {"train": corpus.train, "val": val, "test": corpus.test}

    def score(
        self,
        model: Seq2SeqModel,
        config: Seq2SeqRunConfig | None,
        split: str,
        *,
        data: str | None = None,
        data_dir: str | None = None,
        tta: bool = False,
    ) -> dict[str, Any]:
        """Loss, token and sequence accuracy (teacher forcing), greedy exact match, and exact
        match and BLEU of the run's decoding (its beam) on one split of the run's task, or of
        another task generated at the run's sizes (its vocabularies must be the run's)."""
        if tta:
            raise ClassicnetsError("--tta mirrors images; a sequence-to-sequence run has none.")
        if config is None:
            raise ClassicnetsError(
                "This checkpoint is not part of a run, so it names no task to score on; score "
                "it in Python with Seq2SeqModel.score."
            )
        task = data or config.data
        if task not in TASKS:
            raise unknown_name("sequence-to-sequence task", task, TASKS)
        corpus = load_task(dataclasses.replace(config, data=task))
        check_vocabularies(model, corpus, task)
        part = {"train": corpus.train, "val": corpus.val, "test": corpus.test}[split]
        if not len(part):
            raise ClassicnetsError(f"The {split} split of {task} is empty (--val-size 0).")
        logs = model.evaluate(part)
        decoded = model.score(part, beam_width=config.beam_width)
        return {
            "data": task,
            "split": split,
            "pairs": len(part),
            "tokens": int((part.target_ids[:, 1:] != 0).sum()),  # targets and their <eos>
            **logs,
            "decoded_exact_match": decoded["exact_match"],
            "bleu": decoded["bleu"],
        }

    def finish(self, run_dir: Path, model: Seq2SeqModel, config: Seq2SeqRunConfig) -> None:
        test = load_task(config).test
        sources = list(test.sources[:SHOWN])
        outputs = model.translate(sources, beam_width=config.beam_width)
        lines = [
            f"{s}\t{o}\t{t}{'' if o == t else '  <- wrong'}"
            for s, o, t in zip(sources, outputs, test.targets[:SHOWN], strict=True)
        ]
        text = "source\toutput\ttarget\n" + "\n".join(lines) + "\n"
        write_atomically(run_dir / "translations.txt", text)


def check_vocabularies(model: Seq2SeqModel, corpus: PairCorpus, task: str) -> None:
    """Raise one sentence when a task's vocabularies are not the checkpoint's."""
    for side in ("source", "target"):
        have = getattr(model, f"{side}_vocabulary")
        want = getattr(corpus, f"{side}_vocabulary")
        if have is None or have.tokens != want.tokens:
            theirs = f"{len(have)} tokens" if have is not None else "none"
            raise ClassicnetsError(
                f"The {side} vocabulary of {task} ({len(want)} tokens) does not match the "
                f"checkpoint's ({theirs}); score it on the task it was trained on."
            )


def draw_attention(
    run: str | os.PathLike, text: str | None, *, out: str | os.PathLike | None = None
) -> Path:
    """The cross-attention of an encoder-decoder run on ``text`` (default: the first test
    source), as it writes its greedy output; a PNG at ``out`` (default ``RUN/attention.png``).

    Raises:
        ClassicnetsError: not an encoder-decoder's run, a character the run's source
            vocabulary lacks, or an ``out`` that is not a .png in an existing folder.
    """
    from ..viz.seq2seq_attention import cross_attention, plot_cross_attention
    from .pipeline import load_run  # imported here: the pipeline imports this module
    from .probes import png_path

    opened, model = load_run(run, device="cpu")
    config = opened.config
    if not isinstance(model, Seq2SeqModel) or not isinstance(config, Seq2SeqRunConfig):
        raise ClassicnetsError(f"{run} is not an encoder-decoder's run directory.")
    if out is None and opened.run_dir is None:
        raise ClassicnetsError("A lone checkpoint has no run directory; pass --out FILE.")
    target = png_path(out) if out is not None else opened.run_dir / "attention.png"
    text = text or load_task(config).test.sources[0]
    src = model.source_vocabulary.encode(text, strict=True)
    written = model.decode(src[None], max_len=64)[0].cpu()
    ends = (written == EOS).nonzero()
    written = written[: int(ends[0]) + 1] if len(ends) else written
    weights = cross_attention(model.module, src, written)
    tokens = [model.target_vocabulary.tokens[i] for i in written.tolist()]
    title = f"{config.model} on {config.data}: {text!r} -> {''.join(tokens[:-1])!r}"
    return plot_cross_attention(weights, list(text), tokens, target, title)
