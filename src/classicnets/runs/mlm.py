"""Masked-language-model runs: BERT pre-trained on books, or its encoder fine-tuned on which book
a line comes from (:mod:`classicnets.data.mlm`).

``--objective pretrain`` (the default) cuts each book by position into training, validation and
test text and trains on windows of ``--max-len`` characters, masked afresh every batch
(``--mask-rate``, BERT's 80/10/10); validation's loss on one fixed masking picks ``best``, and
the test text is scored once at the end (MLM accuracy: the share of chosen characters the
model restores). Its run directory adds ``unmasked.txt``: a few test windows with their masked
characters filled in by the kept model.

``--objective which-book`` classifies lines of ``--min-length`` characters by their book,
balanced and cut by the same positions (no test line was pre-trained on); ``--pretrained RUN``
starts from a pre-training run's encoder, its vocabulary and its sizes, else the network
starts fresh. Validation accuracy picks ``best``; the run directory adds ``classified.txt``.

The config field is ``objective`` rather than ``task`` because ``config.json``'s ``task`` key
already names the kind of run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..data.mlm import (
    BOOKS,
    IGNORE,
    SPECIALS,
    check_mask_rate,
    load_book_lines,
    load_mlm_corpus,
)
from ..data.text import Vocabulary
from ..errors import ClassicnetsError, unknown_name
from ..models import create_model
from ..train.checkpoint import load_checkpoint, resolve_checkpoint, split_state
from ..train.mlm import MaskedLMModel, SequenceClassifierModel, load_encoder
from .config import RunConfig, _number, _whole, register_config, setting
from .mlm_views import classified_text, unmasked_text
from .rundir import write_atomically

OBJECTIVES = ("pretrain", "which-book")
DEFAULT_MAX_LEN = 128  # tokens per pre-training window, [CLS] and [SEP] included
SHOWN_WINDOWS = 5  # test windows written to unmasked.txt
TRAINED_BY = {  # a checkpoint's trainer, as a --pretrained error names it
    None: "an image model's",
    "sequence": "a language model's",
    "seq2seq": "an encoder-decoder's",
    "tagging": "a tagger's",
    "sequence_classifier": "a which-book classifier's",
}


@dataclasses.dataclass(frozen=True)
class MLMRunConfig(RunConfig):
    """BERT on books: masked-language-model pre-training, or which book a line is from."""

    KIND: ClassVar[str] = "mlm"
    TAG: ClassVar[str | None] = "mlm"
    WHAT: ClassVar[str] = "a masked language model"

    model: str = setting("bert_mini", "registered masked language model", cli=False)
    data: str = setting(",".join(BOOKS), "corpus names or text files, comma-separated")
    grad_clip: float | None = setting(1.0, "clip the gradient norm to this", metavar="NORM")
    test_split: float = setting(
        0.1, "share of the text, from its end, scored once at the end", metavar="F"
    )
    objective: str = setting(
        "pretrain",
        "what the run learns: to restore masked characters, or which book a line is from",
        choices=OBJECTIVES,
    )
    max_len: int | None = setting(
        None,
        "tokens per window and positions the model reads",
        default_text=f"{DEFAULT_MAX_LEN}, or the pretrained encoder's",
    )
    mask_rate: float = setting(0.15, "share of each window's characters masked, in (0, 1)")
    pretrained: str | None = setting(
        None,
        "which-book: start from this pre-training run's (or checkpoint's) encoder",
        metavar="RUN",
    )
    min_length: int = setting(40, "which-book: lines this long, cut to it (shorter dropped)")
    hidden: int | None = setting(None, "width of the model", default_text="the model's")
    layers: int | None = setting(None, "layers stacked", default_text="the model's")
    heads: int | None = setting(None, "attention heads", default_text="the model's")

    def check(self) -> None:
        super().check()
        check_mask_rate(self.mask_rate)
        if self.objective not in OBJECTIVES:
            raise unknown_name("masked-language-model objective", self.objective, OBJECTIVES)
        if self.pretrained is not None and self.objective != "which-book":
            raise ClassicnetsError(
                "--pretrained starts a which-book run from a pre-trained encoder; add "
                "--objective which-book, or leave --pretrained out to pre-train."
            )
        for name in ("hidden", "layers", "heads"):
            _whole(name, getattr(self, name), optional=True)
        _whole("max_len", self.max_len, least=3, optional=True)  # [CLS], a character, [SEP]
        _whole("min_length", self.min_length)
        _number("test_split", self.test_split, 0, 1, closed=False)
        val, test = self.val_split, self.test_split
        if val == 0 or test == 0 or val + test >= 1:
            raise ClassicnetsError(
                "--val-split and --test-split must be above 0 (each book keeps validation and "
                f"test text) and leave text to train on, got {val:g} and {test:g}."
            )
        if not self.sources():
            raise ClassicnetsError(f"--data names no corpus, got {self.data!r}.")

    def sources(self) -> list[str]:
        """The corpora of ``data``, in order."""
        return split_sources(self.data)

    @property
    def monitor(self) -> str:
        return "val_loss" if self.objective == "pretrain" else "val_accuracy"


register_config(MLMRunConfig)


def split_sources(data: str) -> list[str]:
    """``"tinyshakespeare, b.txt"`` -> ``["tinyshakespeare", "b.txt"]``."""
    return [s.strip() for s in data.split(",") if s.strip()]


# ---------------------------------------------------------------------------- the pieces
def load_windows(config: MLMRunConfig, vocabulary: Vocabulary | None = None, data=None):
    """The pre-training windows of a run's books (or of ``data``'s) at its ``max_len``."""
    sources = split_sources(data or config.data)
    return load_mlm_corpus(
        sources,
        max_len=config.max_len or DEFAULT_MAX_LEN,
        val_fraction=config.val_split,
        test_fraction=config.test_split,
        root=config.data_dir,
        vocabulary=vocabulary,
    )


def load_lines(config: MLMRunConfig, vocabulary: Vocabulary | None = None, data=None):
    """The which-book task of a run's books (or of ``data``'s)."""
    sources = split_sources(data or config.data)
    return load_book_lines(
        sources,
        min_length=config.min_length,
        val_fraction=config.val_split,
        test_fraction=config.test_split,
        seed=config.seed,
        root=config.data_dir,
        vocabulary=vocabulary,
    )


@dataclasses.dataclass(frozen=True)
class Pretrained:
    """A pre-training checkpoint: its file, weights, vocabulary and the builder's arguments."""

    path: Path
    state: dict[str, torch.Tensor]
    vocabulary: Vocabulary
    model_kwargs: dict[str, Any]


def read_pretrained(config: MLMRunConfig) -> Pretrained:
    """The checkpoint ``--pretrained`` names, checked to be a masked language model's.

    Raises:
        ClassicnetsError: nothing there, or the checkpoint of another kind of run or model.
    """
    given = Path(config.pretrained).expanduser()
    if not given.exists() and not given.with_suffix(".safetensors").is_file():
        raise ClassicnetsError(
            f"--pretrained {config.pretrained}: there is no run directory or checkpoint there; "
            "give the directory of a `classicnets train bert_mini` pre-training run."
        )
    path = resolve_checkpoint(given)
    tensors, meta = load_checkpoint(path)
    trainer = meta.get("trainer")
    if trainer != "mlm" or not meta.get("vocabulary"):
        what = TRAINED_BY.get(trainer, f"a {trainer} trainer's")
        raise ClassicnetsError(
            f"--pretrained {config.pretrained} holds {what} checkpoint, not a masked language "
            "model's; give a run trained with --objective pretrain."
        )
    if meta.get("model") != config.model:
        raise ClassicnetsError(
            f"--pretrained {config.pretrained} holds a {meta.get('model')}, not a "
            f"{config.model}; fine-tune the model it pre-trained."
        )
    return Pretrained(
        path.absolute(),
        split_state(tensors, meta)[0],
        Vocabulary.from_dict(meta["vocabulary"]),
        dict(meta.get("model_kwargs") or {}),
    )


def book_names(sources: list[str]) -> tuple[str, ...]:
    """The class names of the which-book task: each book's file stem (``a.txt`` -> ``a``), or
    the sources as given where two stems are alike."""
    stems = tuple(Path(s).stem for s in sources)
    return stems if len(set(stems)) == len(stems) else tuple(sources)


def build_bert(config: MLMRunConfig, vocab_size: int, num_classes: int, start=None):
    """``config.model`` for a vocabulary and a number of classes, its weights from the run's
    seed; with a :class:`Pretrained` ``start``, at its sizes (a size flag that differs from
    them is one sentence)."""
    kwargs: dict[str, Any] = dict(start.model_kwargs) if start is not None else {}
    for name in ("hidden", "layers", "heads", "max_len"):
        given = getattr(config, name)
        if given is None:
            continue
        if start is not None and name in kwargs and kwargs[name] != given:
            raise ClassicnetsError(
                f"--{name.replace('_', '-')} {given} differs from the pretrained encoder's "
                f"{kwargs[name]}; leave it out to fine-tune at the encoder's size."
            )
        kwargs[name] = given
    kwargs.setdefault("max_len", DEFAULT_MAX_LEN)
    kwargs |= {"vocab_size": vocab_size, "num_classes": num_classes}
    return create_model(config.model, seed=config.seed, **{**kwargs, **config.model_kwargs})


# ------------------------------------------------------------------------------- the task
class MLMTask:
    """The masked-language-model half of the run pipeline (:mod:`classicnets.runs.pipeline`)."""

    kind = "mlm"

    @staticmethod
    def score_line(test: dict[str, Any]) -> str:
        """The run's one line about its test score (for ``RunResult.summary``)."""
        if "mlm_accuracy" in test:
            return (
                f"test MLM accuracy {test['mlm_accuracy']:.4f} on {test['masked']:,} masked "
                f"characters (loss {test['loss']:.4f})"
            )
        return f"test accuracy {test['accuracy']:.4f} which book (loss {test['loss']:.4f})"

    def prepare(self, config: MLMRunConfig, notify) -> dict[str, Any]:
        if config.objective == "pretrain":
            return self._prepare_pretraining(config, notify)
        return self._prepare_which_book(config, notify)

    def _prepare_pretraining(self, config: MLMRunConfig, notify) -> dict[str, Any]:
        corpus = load_windows(config)
        module = build_bert(config, len(corpus.vocabulary), 2)
        model = MaskedLMModel(
            module,
            vocabulary=corpus.vocabulary,
            mask_rate=config.mask_rate,
            eval_seed=config.seed,
            device=config.device,
        )
        name = "+".join(Path(s).stem for s in config.sources())
        describe = (
            f"{name}: {len(corpus.train):,} training, {len(corpus.val):,} validation and "
            f"{len(corpus.test):,} test windows of {module.max_len} tokens, a vocabulary of "
            f"{len(corpus.vocabulary)} (characters and {len(SPECIALS)} specials); "
            f"{config.mask_rate:g} of each window masked"
        )
        return self._prepared(config, model, corpus.train, corpus.val, corpus.test, name, describe)

    def _prepare_which_book(self, config: MLMRunConfig, notify) -> dict[str, Any]:
        start = read_pretrained(config) if config.pretrained else None
        task = load_lines(config, start.vocabulary if start else None)
        module = build_bert(config, len(task.vocabulary), len(task.classes), start)
        if config.min_length + 2 > module.max_len:
            raise ClassicnetsError(
                f"--min-length {config.min_length} makes lines of {config.min_length + 2} "
                f"tokens, more than the {module.max_len} positions the model reads; lower it."
            )
        if start is not None:
            load_encoder(module, start.state)
            config = dataclasses.replace(config, pretrained=str(start.path))
        classes = book_names(config.sources())
        model = SequenceClassifierModel(
            module, vocabulary=task.vocabulary, classes=classes, device=config.device
        )
        name = "+".join(Path(s).stem for s in config.sources()) + "-which-book"
        begins = f"the encoder of {start.path}" if start else "a fresh network"
        describe = (
            f"which book ({', '.join(classes)}): {len(task.train):,} training, "
            f"{len(task.val):,} validation and {len(task.test):,} test lines of "
            f"{config.min_length} characters, balanced; starting from {begins}"
        )
        return self._prepared(config, model, task.train, task.val, task.test, name, describe)

    @staticmethod
    def _prepared(config, model, train, val, test, name, describe) -> dict[str, Any]:
        steps = model.make_batches(train, config.batch_size, seed=config.seed).steps
        model.compile(**config.compile_options(steps))
        module = model.module
        kwargs = module.classicnets_spec["kwargs"]
        resolved = dataclasses.replace(config, model_kwargs=kwargs, max_len=module.max_len)
        params = sum(p.numel() for p in module.parameters())
        return {
            "model": model,
            "config": resolved,
            "train": train,
            "val": val,
            "test": test,
            "summary": f"{config.model}: {params:,} parameters\n{describe}\n\n{module}\n",
            "name": name,
            "title": f"{config.model} on {name}",
            "describe": describe,
        }

    def reopen(self, config: MLMRunConfig, model) -> dict[str, Any]:
        if config.objective == "pretrain":
            corpus = load_windows(config)
            _check_vocabulary(model, corpus.vocabulary, config.data)
            return {"train": corpus.train, "val": corpus.val, "test": corpus.test}
        task = load_lines(config, model.vocabulary)
        _check_classes(model, book_names(config.sources()))
        return {"train": task.train, "val": task.val, "test": task.test}

    def score(
        self,
        model,
        config: MLMRunConfig | None,
        split: str,
        *,
        data: str | None = None,
        data_dir: str | None = None,
        tta: bool = False,
    ) -> dict[str, Any]:
        """Pre-training: loss and MLM accuracy over the chosen characters of one split of the
        run's books (one masking, from the run's seed), or of other books read through its
        vocabulary. Which book: loss and accuracy on that split's lines."""
        if tta:
            raise ClassicnetsError("--tta mirrors images; a masked language model has none.")
        if config is None:
            raise ClassicnetsError(
                "This checkpoint is not part of a run, so it names no books to score on; score "
                "it in Python with MaskedLMModel.evaluate or SequenceClassifierModel.evaluate."
            )
        if data_dir is not None:
            config = dataclasses.replace(config, data_dir=data_dir)
        if model.vocabulary is None:
            raise ClassicnetsError("This checkpoint has no vocabulary to read text with.")
        if config.objective == "pretrain":
            corpus = load_windows(config, model.vocabulary, data)
            part = {"train": corpus.train, "val": corpus.val, "test": corpus.test}[split]
            logs = model.evaluate(part)
            masked = int((model.make_eval_batches(part, len(part)).y != IGNORE).sum())
            return {
                "data": data or config.data,
                "split": split,
                "windows": len(part),
                "tokens": int((part >= len(SPECIALS)).sum()),
                "masked": masked,
                **logs,
            }
        task = load_lines(config, model.vocabulary, data)
        _check_classes(model, book_names(task.classes), same_names=data is None)
        part = {"train": task.train, "val": task.val, "test": task.test}[split]
        return {
            "data": data or config.data,
            "split": split,
            "lines": len(part),
            "tokens": int((part.tokens >= len(SPECIALS)).sum()),
            **model.evaluate(part),
        }

    def finish(self, run_dir: Path, model, config: MLMRunConfig) -> None:
        if config.objective == "pretrain":
            test = load_windows(config, model.vocabulary).test[:SHOWN_WINDOWS]
            write_atomically(run_dir / "unmasked.txt", unmasked_text(model, test, config.seed))
        else:
            test = load_lines(config, model.vocabulary).test
            write_atomically(run_dir / "classified.txt", classified_text(model, test))


def _check_vocabulary(model, vocabulary: Vocabulary, data: str) -> None:
    if model.vocabulary is None or model.vocabulary.tokens != vocabulary.tokens:
        raise ClassicnetsError(
            f"The books {data} have changed since the run began (their characters differ), so "
            "the run cannot go on with them."
        )


def _check_classes(model, classes: tuple[str, ...], same_names: bool = True) -> None:
    """Another set of books is scored by position (class ``i`` is the ``i``-th book), so it
    must have as many; the run's own books must still have their names."""
    have = tuple(model.classes or ())
    if len(have) != len(classes) or (same_names and have != tuple(classes)):
        raise ClassicnetsError(
            f"The run tells apart {', '.join(have)}, not {', '.join(classes)}; score it on "
            f"{len(have)} books given in the same order."
        )
