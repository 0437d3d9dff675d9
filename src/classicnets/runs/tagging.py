"""Sequence-labelling runs: a tagger on a tagged corpus, a tag for every token.

The data is a named corpus (``twt``, the Turkish Web Treebank that the PyPI package
``turkish-treebanks`` ships) or a user's file or folder in CoNLL-U, column or
``tokens<TAB>tags`` line form (:func:`~classicnets.data.tagging.load_tagged_corpus`): its fixed
split gives eight sentences in ten to training, one to validation and one to the test, scored
once at the end. Validation's F1 picks ``best`` and stops early: the chunk F1 of conlleval for
BIO tags (entities, slots), the macro F1 over tags otherwise (parts of speech); the per-token
accuracy is reported beside it. A run's directory adds ``tagged.txt``: the first test sentences
as ``token/TAG``, a wrong tag followed by the right one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from ..data.splits import DEFAULT_FRACTION
from ..data.tagging import FORMATS, TAGGED_CORPORA, TaggedCorpus, encode_sentences
from ..data.tagging import load_tagged_corpus as load_corpus
from ..errors import ClassicnetsError, DatasetNotFoundError, unknown_name
from ..layers.lstm_variants import VARIANTS
from ..models import create_model
from ..train.tagging import TaggingModel
from .config import RunConfig, _whole, register_config, setting
from .rundir import write_atomically

SHOWN = 20  # test sentences written to tagged.txt
F1_OF = {"bio": "chunk F1", "pos": "macro F1"}  # what the f1 metric is, by tag scheme


@dataclasses.dataclass(frozen=True)
class TaggingRunConfig(RunConfig):
    """A tagger on a tagged corpus: a named one or a user's file or folder."""

    KIND: ClassVar[str] = "tagging"
    TAG: ClassVar[str | None] = "tagging"
    WHAT: ClassVar[str] = "a tagger"

    model: str = setting("bilstm_tagger", "registered tagger", cli=False)
    data: str = setting(
        "twt", f"tagged corpus: {', '.join(TAGGED_CORPORA)}, or a CoNLL-U, columns or "
        "tokens<TAB>tags file, or a folder of train/dev/test files",
    )  # fmt: skip
    grad_clip: float | None = setting(5.0, "clip the gradient norm to this", metavar="NORM")
    hidden: int | None = setting(None, "width of the model", default_text="the model's")
    layers: int | None = setting(None, "layers stacked", default_text="the model's")
    embed: int | None = setting(
        None, "width of the word embedding; 0 reads one-hot words", default_text="the model's"
    )
    cell: str | None = setting(
        None, f"the recurrent cell: {', '.join(VARIANTS)}", default_text="the model's"
    )
    one_way: bool = setting(False, "read each sentence left to right only, not both ways")
    min_count: int = setting(2, "rarer training words read as <unk>")
    max_sentences: int | None = setting(
        None, "a quick look: the first N sentences of each split", metavar="N", default_text="all"
    )
    format: str = setting("auto", "the files' format", choices=FORMATS)

    def check(self) -> None:
        super().check()
        if self.val_split != DEFAULT_FRACTION:
            raise ClassicnetsError(
                "--val-split applies to image models and language models; a tagged corpus "
                "fixes its validation sentences."
            )
        for name in ("hidden", "layers", "max_sentences"):
            _whole(name, getattr(self, name), optional=True)
        _whole("embed", self.embed, least=0, optional=True)
        _whole("min_count", self.min_count)
        if self.cell is not None and self.cell not in VARIANTS:
            raise unknown_name("recurrent cell", self.cell, VARIANTS)
        if self.format not in FORMATS:
            raise unknown_name("tagged-corpus format", self.format, FORMATS)
        corpus_source(self)  # a corpus that is not there fails before anything is written

    @property
    def monitor(self) -> str:
        return "val_f1"


register_config(TaggingRunConfig)


def corpus_source(config: TaggingRunConfig, data: str | None = None) -> str | Path:
    """A named corpus, or the file or folder ``data`` names (under ``--data-dir`` if given).

    Raises:
        DatasetNotFoundError: neither a corpus name nor an existing path (says where it looked).
    """
    data = data or config.data
    if data in TAGGED_CORPORA:
        return data
    path = Path(config.data_dir or ".", data).expanduser().absolute()
    if not path.exists():
        raise DatasetNotFoundError(
            f"No tagged corpus named {data!r} and no file or folder at {path}; give "
            f"{', '.join(TAGGED_CORPORA)} or a CoNLL-U, columns or tokens<TAB>tags file."
        )
    return path


def load_tagged(config: TaggingRunConfig, data: str | None = None) -> TaggedCorpus:
    """The run's corpus, split and with its vocabularies."""
    return load_corpus(
        corpus_source(config, data),
        fmt=config.format,
        min_count=config.min_count,
        max_sentences=config.max_sentences,
    )


def build_tagger(config: TaggingRunConfig, corpus: TaggedCorpus):
    """``config.model`` for the corpus's words and tags, its weights from the run's seed."""
    kwargs: dict[str, Any] = {"vocab_size": len(corpus.words), "num_tags": len(corpus.tags)}
    for name, arg in (("hidden", "hidden"), ("layers", "layers"), ("embed", "embed_dim")):
        if getattr(config, name) is not None:
            kwargs[arg] = getattr(config, name) or None  # embed 0: one-hot words
    if config.cell is not None:
        kwargs["cell"] = config.cell
    if config.one_way:
        kwargs["bidirectional"] = False
    return create_model(config.model, seed=config.seed, **{**kwargs, **config.model_kwargs})


class TaggingTask:
    """The sequence-labelling half of the run pipeline (:mod:`classicnets.runs.pipeline`)."""

    kind = "tagging"

    @staticmethod
    def score_line(test: dict) -> str:
        """The run's one line about its test score."""
        return (
            f"test accuracy {test['accuracy']:.4f}, {test['f1_of']} {test['f1']:.4f} "
            f"(loss {test['loss']:.4f})"
        )

    def prepare(self, config: TaggingRunConfig, notify) -> dict[str, Any]:
        corpus = load_tagged(config)
        module = build_tagger(config, corpus)
        model = TaggingModel(module, words=corpus.words, tags=corpus.tags, device=config.device)
        train = corpus.tensors("train")
        steps = model.make_batches(train, config.batch_size, seed=config.seed).steps
        model.compile(**config.compile_options(steps))
        notify(f"{corpus.describe()}; reported: accuracy and {F1_OF[corpus.scheme]}")
        resolved = dataclasses.replace(config, model_kwargs=module.classicnets_spec["kwargs"])
        params = sum(p.numel() for p in module.parameters())
        return {
            "model": model,
            "config": resolved,
            "train": train,
            "val": corpus.tensors("val"),
            "test": corpus.tensors("test"),
            "summary": f"{config.model}: {params:,} parameters\n{corpus.describe()}\n"
            f"tags: {' '.join(corpus.tags.tokens)}\n\n{module}\n",
            "name": corpus.name,
            "title": f"{config.model} on {corpus.name}",
            "describe": corpus.name,
        }

    def reopen(self, config: TaggingRunConfig, model: TaggingModel) -> dict[str, Any]:
        corpus = load_tagged(config)
        _check_vocabularies(model, corpus, config.data)
        return {
            "train": corpus.tensors("train"),
            "val": corpus.tensors("val"),
            "test": corpus.tensors("test"),
        }

    def score(
        self,
        model: TaggingModel,
        config: TaggingRunConfig | None,
        split: str,
        *,
        data: str | None = None,
        data_dir: str | None = None,
        tta: bool = False,
    ) -> dict[str, Any]:
        """Loss, per-token accuracy and F1 (see the module docstring) on one split of the
        run's corpus, or of another corpus read through the run's vocabularies (an unseen word
        is ``<unk>``; an unseen tag is an error)."""
        if tta:
            raise ClassicnetsError("--tta mirrors images; a tagger's run has none.")
        if config is None:
            raise ClassicnetsError(
                "This checkpoint is not part of a run, so it names no corpus to score on; "
                "score it in Python with TaggingModel.evaluate."
            )
        if data_dir is not None:
            config = dataclasses.replace(config, data_dir=data_dir)
        corpus = load_tagged(config, data)
        if data is None or data == config.data:
            _check_vocabularies(model, corpus, config.data)
        sentences = corpus.split(split)
        logs = model.evaluate(encode_sentences(sentences, model.words, model.tags))
        return {
            "data": corpus.name,
            "split": split,
            "sentences": len(sentences),
            "tokens": sum(len(tokens) for tokens, _ in sentences),
            **logs,
            "f1_of": F1_OF[model.scheme],
        }

    def finish(self, run_dir: Path, model: TaggingModel, config: TaggingRunConfig) -> None:
        shown = load_tagged(config).test[:SHOWN]
        guesses = model.tag([list(tokens) for tokens, _ in shown])
        lines = []
        for (tokens, tags), guess in zip(shown, guesses, strict=True):
            words = [
                f"{w}/{g}" if g == t else f"{w}/{g}(not {t})"
                for w, g, t in zip(tokens, guess, tags, strict=True)
            ]
            lines.append(" ".join(words))
        write_atomically(run_dir / "tagged.txt", "\n".join(lines) + "\n")


def _check_vocabularies(model: TaggingModel, corpus: TaggedCorpus, data: str) -> None:
    for side in ("words", "tags"):
        have, want = getattr(model, side), getattr(corpus, side)
        if have is None or have.tokens != want.tokens:
            raise ClassicnetsError(
                f"The {side} of {data} have changed since the run began ({len(want)} now, "
                f"{len(have) if have is not None else 'none'} in the checkpoint); the run "
                "cannot go on with them."
            )
