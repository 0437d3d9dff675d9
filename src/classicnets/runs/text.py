"""Language-model runs: a language model on a text, cut into three contiguous parts.

The last ``--test-split`` of the text (10 %) is the test part, scored once at the end on the
checkpoint the run keeps; the ``--val-split`` before it (10 %) is validation, which picks
``best`` (by validation loss) and stops early; the rest is trained on. A text run's directory
adds ``sample.txt``: a few hundred tokens the kept model generates (temperature 0.8).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from pathlib import Path
from typing import Any

import torch

from ..data.text import TextCorpus, corpus_path, load_corpus, read_text
from ..errors import ClassicnetsError
from ..models import create_model, model_info
from ..train.sequence import SequenceModel
from .config import TextRunConfig
from .rundir import write_atomically

SAMPLE_LENGTH = 500  # tokens written to sample.txt


def load_text(config: TextRunConfig) -> TextCorpus:
    """The corpus of a run, tokenised as its model reads it (characters or words)."""
    level = "word" if "word" in model_info(config.model).tags else "char"
    return load_corpus(
        config.data,
        level=level,
        val_fraction=config.val_split,
        test_fraction=config.test_split,
        root=config.data_dir,
        max_chars=config.max_chars,
        max_vocab=config.max_vocab if level == "word" else None,
    )


def build_language_model(config: TextRunConfig, vocab_size: int) -> torch.nn.Module:
    """Build ``config.model`` for a vocabulary, its weights from the run's seed; a
    Transformer's context is the training length unless the model's arguments say otherwise."""
    kwargs: dict[str, Any] = {"vocab_size": vocab_size}
    for name in ("hidden", "layers", "cell"):
        if getattr(config, name) is not None:
            kwargs[name] = getattr(config, name)
    if config.embed is not None:
        kwargs["embed_dim"] = config.embed or None  # 0: one-hot tokens
    takes = inspect.signature(model_info(config.model).builder).parameters
    length = config.window if config.window is not None else config.seq_len
    if "context" in takes:
        kwargs["context"] = length
    return create_model(config.model, seed=config.seed, **{**kwargs, **config.model_kwargs})


class TextTask:
    """The text half of the run pipeline (:mod:`classicnets.runs.pipeline`)."""

    kind = "text"

    @staticmethod
    def score_line(test: dict) -> str:
        """The run's one line about its test score."""
        return f"test loss {test['loss']:.4f} nats/token (perplexity {test['perplexity']:.2f})"

    def prepare(self, config: TextRunConfig, notify) -> dict[str, Any]:
        corpus = load_text(config)
        module = build_language_model(config, len(corpus.vocabulary))
        model = SequenceModel(
            module,
            vocabulary=corpus.vocabulary,
            seq_len=config.seq_len,
            window=config.window,
            device=config.device,
        )
        steps = model.make_batches(corpus.train, config.batch_size, seed=config.seed).steps
        model.compile(**config.compile_options(steps))
        notify(
            f"{corpus.name}: {corpus.characters:,} characters, a vocabulary of "
            f"{len(corpus.vocabulary):,} {corpus.vocabulary.level}s; {len(corpus.train):,} "
            f"tokens to train on, {len(corpus.val):,} to validate and {len(corpus.test):,} to "
            "test on."
        )
        resolved = dataclasses.replace(config, model_kwargs=module.classicnets_spec["kwargs"])
        return {
            "model": model,
            "config": resolved,
            "train": corpus.train,
            "val": corpus.val if len(corpus.val) else None,
            "test": corpus.test,
            "summary": _summary_text(model, corpus),
            "name": Path(corpus.name).stem,  # run directories are named after the corpus
            "title": f"{config.model} on {corpus.name}",
            "describe": corpus.name,
        }

    def reopen(self, config: TextRunConfig, model: SequenceModel) -> dict[str, Any]:
        corpus = load_text(config)
        if model.vocabulary is None or model.vocabulary.tokens != corpus.vocabulary.tokens:
            raise ClassicnetsError(
                f"The text {config.data} has changed since the run began (its vocabulary "
                "differs), so the run cannot continue on it."
            )
        val = corpus.val if len(corpus.val) else None
        return {"train": corpus.train, "val": val, "test": corpus.test}

    def score(
        self,
        model: SequenceModel,
        config: TextRunConfig | None,
        split: str,
        *,
        data: str | None = None,
        data_dir: str | None = None,
        tta: bool = False,
    ) -> dict[str, Any]:
        """Loss (nats per token), bits per token, perplexity and next-token accuracy of one part
        of the run's text (``test``, ``val``, ``train``), or of all of another text through the
        run's vocabulary (its tokens outside it are an error for characters, ``<unk>`` for
        words)."""
        if tta:
            raise ClassicnetsError("--tta mirrors images; a language model's run has none.")
        if model.vocabulary is None:
            raise ClassicnetsError("This checkpoint has no vocabulary to read text with.")
        own = data is None or (config is not None and data == config.data)
        if own:
            if config is None:
                raise ClassicnetsError("This checkpoint is not part of a run; pass --data TEXT.")
            corpus = load_text(dataclasses.replace(config, data_dir=data_dir or config.data_dir))
            if corpus.vocabulary.tokens != model.vocabulary.tokens:
                raise ClassicnetsError(f"The text {config.data} has changed since the run.")
            part, source = (
                {"train": corpus.train, "val": corpus.val, "test": corpus.test}[split],
                config.data,
            )
        else:
            part, source, split = (
                model.vocabulary.encode(read_text(corpus_path(data, data_dir))),
                data,
                "all",
            )
        if len(part) < 2:
            raise ClassicnetsError(
                f"The {split} part of {source} has {len(part)} tokens; scoring needs at least 2."
            )
        logs = model.evaluate(part)
        return {
            "data": Path(str(source)).stem,
            "split": split,
            "tokens": len(part),
            **logs,
            "bits_per_token": logs["loss"] / math.log(2),
        }

    def finish(self, run_dir: Path, model: SequenceModel, config: TextRunConfig) -> None:
        sample = "".join(model.generate("", SAMPLE_LENGTH, temperature=0.8, seed=config.seed))
        write_atomically(run_dir / "sample.txt", sample + "\n")


def _summary_text(model: SequenceModel, corpus: TextCorpus) -> str:
    params = sum(p.numel() for p in model.module.parameters())
    lines = [
        f"{model.spec['name'] if model.spec else type(model.module).__name__}: "
        f"{params:,} parameters",
        f"corpus {corpus.name}: {corpus.characters:,} characters, {len(corpus.vocabulary)} "
        f"{corpus.vocabulary.level}s, {len(corpus.train):,} training, {len(corpus.val):,} "
        f"validation and {len(corpus.test):,} test tokens",
        "",
        str(model.module),
    ]
    return "\n".join(lines) + "\n"
