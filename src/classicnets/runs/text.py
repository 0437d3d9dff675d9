"""A language-model run from start to finish: corpus -> model -> fit -> a run directory.

The run directory is laid out as an image run's (see :mod:`classicnets.experiment`):
``config.json``, ``metrics.csv``, ``curves.png``, ``summary.txt``, the checkpoints ``last`` and
``best`` (best by validation loss; the vocabulary is in their metadata) and ``sample.txt``, a
few hundred tokens generated at the end (temperature 0.8). ``classicnets train char_lstm`` calls
:func:`train_text_run`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..data.text import TextCorpus, corpus_path, load_corpus, read_text
from ..errors import ClassicnetsError
from .image import DEFAULT_LR
from ..models import create_model, model_info
from .rundir import fit_into_run_dir, prepare_run_dir, reopen_run, write_atomically
from ..train import load
from ..train.sequence import SequenceModel

SAMPLE_LENGTH = 500  # tokens written to sample.txt


@dataclass(frozen=True)
class TextConfig:
    """Everything a language-model run needs; the CLI maps its flags onto these fields."""

    model: str = "char_lstm"
    data: str = "tinyshakespeare"  # a corpus name or a UTF-8 text file
    data_dir: str | None = None
    epochs: int = 10
    batch_size: int = 32  # parallel streams (or windows per batch)
    seq_len: int = 128  # tokens per piece of truncated back-propagation through time
    window: int | None = None  # train on windows of this many tokens instead
    hidden: int | None = None  # None: the builder's default
    layers: int | None = None
    optimizer: str = "adam"
    lr: float | None = None  # None: DEFAULT_LR[optimizer]
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    grad_clip: float = 1.0  # gradient norm clipping, against exploding gradients
    val_fraction: float = 0.1
    max_chars: int | None = None  # read only the start of the text
    max_vocab: int = 10000  # word models: the most frequent words, the rest are <unk>
    seed: int = 0
    device: str = "auto"
    bf16: bool = False
    compile: bool = False
    out: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR.get(self.optimizer, 1e-3)


@dataclass(frozen=True)
class TextRunResult:
    run_dir: Path
    model: str
    data: str
    epochs: int
    val_loss: float  # nats per token
    val_perplexity: float
    seconds: float

    def to_json(self) -> str:
        return json.dumps(
            {
                "model": self.model,
                "data": self.data,
                "epochs": self.epochs,
                "val_loss": round(self.val_loss, 6),
                "val_perplexity": round(self.val_perplexity, 4),
                "seconds": round(self.seconds, 3),
                "run_dir": str(self.run_dir),
            }
        )


def is_sequence_model(name: str) -> bool:
    """Whether a registered model is a language model (tagged ``"sequence"``)."""
    return "sequence" in model_info(name).tags


def load_text(config: TextConfig) -> TextCorpus:
    """The corpus of a run, tokenised as its model reads it (characters or words)."""
    level = "word" if "word" in model_info(config.model).tags else "char"
    return load_corpus(
        config.data,
        level=level,
        val_fraction=config.val_fraction,
        root=config.data_dir,
        max_chars=config.max_chars,
        max_vocab=config.max_vocab if level == "word" else None,
    )


def build_language_model(config: TextConfig, vocab_size: int) -> torch.nn.Module:
    """Build ``config.model`` for a vocabulary; a Transformer's context is the training length
    unless the model's arguments say otherwise."""
    kwargs: dict[str, Any] = {"vocab_size": vocab_size}
    for name in ("hidden", "layers"):
        if getattr(config, name) is not None:
            kwargs[name] = getattr(config, name)
    takes = inspect.signature(model_info(config.model).builder).parameters
    length = config.window if config.window is not None else config.seq_len
    if "context" in takes and length >= 1:  # SequenceModel explains a length below 1
        kwargs["context"] = length
    return create_model(config.model, **{**kwargs, **config.model_kwargs})


def train_text_run(
    config: TextConfig,
    *,
    progress: bool = True,
    notify: Callable[[str], None] | None = None,
) -> TextRunResult:
    """Train the language model ``config.model`` on ``config.data`` into a new run directory.

    Args:
        config: what to train and how.
        progress: show a progress bar on stderr.
        notify: called with each note worth telling the user, as soon as it is known.
    """
    began = time.perf_counter()
    if not is_sequence_model(config.model):
        raise ClassicnetsError(
            f"Model '{config.model}' is not a language model; text runs take char_rnn, "
            "char_lstm, char_gru, char_transformer or word_lstm."
        )
    torch.manual_seed(config.seed)
    corpus = load_text(config)
    module = build_language_model(config, len(corpus.vocabulary))
    model = SequenceModel(
        module,
        vocabulary=corpus.vocabulary,
        seq_len=config.seq_len,
        window=config.window,
        device=config.device,
    )
    examples = len(corpus.train) - (config.window or 1)  # (input, next token) pairs
    steps_per_epoch = model.steps_per_epoch(examples, config.batch_size)  # checks the batch size
    # Run directories are named after the corpus, not after a path to it.
    run_dir = prepare_run_dir(config.out, config.model, Path(corpus.name).stem)
    if notify:
        notify(
            f"{corpus.name}: {corpus.characters:,} characters, a vocabulary of "
            f"{len(corpus.vocabulary):,} {corpus.vocabulary.level}s, {len(corpus.train):,} "
            f"tokens to train on and {len(corpus.val):,} to validate on."
        )
    model.compile(
        optimizer=config.optimizer,
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        schedule=config.schedule,
        warmup_steps=int(config.warmup_epochs * steps_per_epoch),
        grad_clip=config.grad_clip or None,
        bf16=config.bf16,
        compile=config.compile,
    )
    saved = {
        "task": "text",
        **dataclasses.asdict(config),
        "out": str(run_dir),
        "model_kwargs": module.classicnets_spec["kwargs"],
    }
    write_atomically(run_dir / "config.json", json.dumps(saved, indent=2) + "\n")
    _write_text_summary(run_dir / "summary.txt", model, corpus)
    return _fit_text(run_dir, model, config, corpus, began, progress, resumed=False)


def resume_text_run(
    run_dir: str | os.PathLike,
    *,
    epochs: int | None = None,
    device: str = "auto",
    progress: bool = True,
) -> TextRunResult:
    """Continue a language-model run from its ``last`` checkpoint with its own settings."""
    began = time.perf_counter()
    run_dir = Path(run_dir)
    saved = read_text_config(run_dir)
    if saved is None:
        raise ClassicnetsError(f"{run_dir} is not a language model's run directory.")
    config = dataclasses.replace(saved, epochs=epochs or saved.epochs, device=device)
    model = reopen_run(run_dir, config.epochs, device)
    corpus = load_text(config)
    if model.vocabulary is None or model.vocabulary.tokens != corpus.vocabulary.tokens:
        raise ClassicnetsError(
            f"The text {config.data} has changed since {run_dir} was trained (its vocabulary "
            "differs), so the run cannot continue on it."
        )
    return _fit_text(run_dir, model, config, corpus, began, progress, resumed=True)


def read_text_config(run_dir: str | os.PathLike) -> TextConfig | None:
    """The :class:`TextConfig` of a text run directory, or None for any other directory."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    if saved.get("task") != "text":
        return None
    fields = TextConfig.__dataclass_fields__
    return TextConfig(**{k: v for k, v in saved.items() if k in fields})


def evaluate_text_run(
    run_dir: str | os.PathLike,
    *,
    data: str | None = None,
    data_dir: str | None = None,
    split: str = "test",
    device: str = "auto",
) -> dict[str, Any]:
    """Score a trained language model on its corpus or on another text.

    The text is cut as in training: ``"test"`` is the last ``val_fraction`` of it (the
    validation text of the run's own corpus), ``"train"`` the rest. Tokens are encoded with the
    run's vocabulary, so another text may use only tokens of the training text (words outside
    a word vocabulary count as ``<unk>``).

    Returns:
        ``{"data", "split", "tokens", "loss", "perplexity", "bits_per_token", ...}``: loss in
        nats per token, plus the model's other metrics (next-token accuracy).
    """
    config = read_text_config(run_dir)
    if config is None:
        raise ClassicnetsError(f"{run_dir} is not a language model's run directory.")
    if split not in ("train", "test"):
        raise ClassicnetsError(f"The split must be 'train' or 'test', got {split!r}.")
    model = load(run_dir, device=device)
    if model.vocabulary is None:
        raise ClassicnetsError(f"The checkpoint in {run_dir} has no vocabulary to read text with.")
    source = data or config.data
    own = data is None or data == config.data
    text = read_text(corpus_path(source, data_dir or config.data_dir))
    ids = model.vocabulary.encode(text[: config.max_chars] if own else text)
    cut = int(len(ids) * (1.0 - config.val_fraction))
    part = ids[cut:] if split == "test" else ids[:cut]
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


def _write_text_summary(path: Path, model: SequenceModel, corpus: TextCorpus) -> None:
    params = sum(p.numel() for p in model.module.parameters())
    lines = [
        f"{model.spec['name'] if model.spec else type(model.module).__name__}: "
        f"{params:,} parameters",
        f"corpus {corpus.name}: {corpus.characters:,} characters, {len(corpus.vocabulary)} "
        f"{corpus.vocabulary.level}s, {len(corpus.train):,} training and {len(corpus.val):,} "
        "validation tokens",
        "",
        str(model.module),
    ]
    write_atomically(path, "\n".join(lines) + "\n")


def _fit_text(run_dir, model, config, corpus, began, progress, resumed) -> TextRunResult:
    fit_into_run_dir(
        run_dir,
        model,
        corpus.train,
        title=f"{config.model} on {corpus.name}",
        monitor="val_loss",
        progress=progress,
        resumed=resumed,
        epochs=config.epochs,
        batch_size=config.batch_size,
        validation_data=corpus.val,
        seed=config.seed,
    )
    final = model.evaluate(corpus.val)
    sample = "".join(model.generate("", SAMPLE_LENGTH, temperature=0.8, seed=config.seed))
    write_atomically(run_dir / "sample.txt", sample + "\n")
    return TextRunResult(
        run_dir=run_dir,
        model=config.model,
        data=corpus.name,
        epochs=model.epochs_done,
        val_loss=final["loss"],
        val_perplexity=final["perplexity"],
        seconds=time.perf_counter() - began,
    )
