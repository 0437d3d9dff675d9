"""One run pipeline for every kind of model: config -> data and model -> fit into a run
directory -> the test split scored once -> :class:`RunResult`.

``train(config)`` starts a run (what ``classicnets train`` calls), ``resume(run_dir)``
continues one from its ``last`` checkpoint at the very step it stopped, and ``evaluate`` scores
a run's kept checkpoint on a split. The task of a config (:class:`ImageTask`,
:class:`TextTask`) supplies what differs between images and text: the data, the model and how a
split is scored.

The order is the user's safety: every input is checked and the data read before anything is
written; a run that fails before its first checkpoint leaves no directory behind; Ctrl-C saves
where training stood; a diverging loss stops the run and is never saved as ``best``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ClassicnetsError, RunInterrupted, TrainingDivergedError, plural
from ..train import (
    CSVLogger,
    EarlyStopping,
    Model,
    ModelCheckpoint,
    ProgressBar,
    load,
)
from ..train.checkpoint import load_checkpoint
from ..train.distributed import DataParallel, data_parallel, is_network_failure
from .config import RunConfig
from .kinds import TASKS, model_kind
from .rundir import (
    OpenedRun,
    check_matches,
    check_new_run_dir,
    create_run_dir,
    open_run,
    remove_unfinished,
    write_atomically,
    write_curves,
    write_json,
)

Notify = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    """A finished run: which checkpoint it kept and how that scores.

    Attributes:
        validation: the kept checkpoint's validation values (empty without validation).
        test: its scores on the test split, measured once, after training.
        checkpoint: ``"best"`` (chosen on validation) or ``"last"`` (no validation split).
        best_epoch: the epoch ``best`` comes from.
    """

    run_dir: Path
    kind: str
    model: str
    data: str
    epochs: int
    checkpoint: str
    best_epoch: int | None
    validation: dict[str, float]
    test: dict[str, Any]
    seconds: float
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        scores = {f"test_{k}": v for k, v in self.test.items() if isinstance(v, float)}
        return {
            "model": self.model,
            "data": self.data,
            "epochs": self.epochs,
            "checkpoint": self.checkpoint,
            "best_epoch": self.best_epoch,
            **{k: round(v, 6) for k, v in self.validation.items()},
            **{k: round(v, 6) for k, v in scores.items()},
            **({"test_f1_of": self.test["f1_of"]} if "f1_of" in self.test else {}),
            "seconds": round(self.seconds, 3),
            "run_dir": str(self.run_dir),
        }

    def summary(self) -> str:
        """The run's one line: the test score, and where the kept checkpoint came from."""
        where = (
            f"best of {plural(self.epochs, 'epoch')} on validation: epoch {self.best_epoch}"
            if self.checkpoint == "best"
            else f"last of {plural(self.epochs, 'epoch')}, no validation split"
        )
        score = TASKS[self.kind].score_line(self.test)
        return f"{score}  ({where}; {self.seconds:.1f} s)"


def _quiet(_: str) -> None:
    return None


def load_run(
    path: str | os.PathLike, *, stem: str | None = None, device: str = "auto"
) -> tuple[OpenedRun, Model]:
    """A run's checkpoint (``stem``: by default ``best``, else ``last``; or the checkpoint
    ``path`` names), loaded and checked against the run's ``config.json``."""
    opened = open_run(path, stem)
    model = load(opened.checkpoint, device=device)
    check_matches(opened, model.run)
    return opened, model


def _run_name(config: RunConfig) -> str:
    """What a run directory is named after: the model, or the factory of ``--module``."""
    module = getattr(config, "module", None)
    return module.rpartition(":")[2].replace(".", "_") if module else config.model


def _shown(config: RunConfig) -> str:
    """The model as the user named it: a registry name, or ``--module``'s spec."""
    return getattr(config, "module", None) or config.model


def train(
    config: RunConfig,
    *,
    progress: bool = True,
    notify: Notify | None = None,
    announce: Notify | None = None,
) -> RunResult | None:
    """Train ``config.model`` on ``config.data`` into a new run directory.

    Under torchrun every process calls this and they train one model together (see
    :mod:`classicnets.train.distributed`); rank 0 writes the run directory, tells and returns
    the result, the other ranks return None.

    Args:
        config: a registered run config (:data:`~.config.CONFIGS`): image, text, seq2seq or
            tagging.
        progress: show a progress bar on stderr.
        notify: called with each note worth telling the user, as soon as it is known (the
            data was upsampled, the corpus's size).
        announce: called with the line that says training starts, once every input is
            checked and the data read.
    """
    with data_parallel(config.device) as context:
        if context is not None and not context.lead:
            progress, notify, announce = False, _quiet, _quiet
        return _train(config, context, progress, notify, announce)


def _processes(config: RunConfig, context: DataParallel | None) -> RunConfig:
    """The config with the number of processes the run really has."""
    world = context.world if context is not None else 1
    if config.nproc not in (1, world):
        raise ClassicnetsError(
            f"--nproc {config.nproc} starts its own processes, but this is one of {world}; "
            "give --nproc without torchrun, or torchrun's --nproc-per-node alone."
        )
    return dataclasses.replace(config, nproc=world)


def _train(config, context, progress, notify, announce) -> RunResult | None:
    began = time.perf_counter()
    notify = notify or _quiet
    announce = announce or notify
    task = TASKS[config.KIND]
    lead = context is None or context.lead
    config = _processes(config, context)
    if config.out and lead:
        check_new_run_dir(config.out, _run_name(config), config.data)  # before the data is read
    given = config.given()
    config, chosen = config.with_recipe()
    prepared = task.prepare(config, notify)
    model: Model = prepared["model"]
    notify(f"precision: {config.precision_choice().describe()}")
    if context is not None and config.warmup_epochs:  # warm-up counts global updates
        steps = -(-len(prepared["train"]) // (config.batch_size * context.world))
        model.compile(**prepared["config"].compile_options(steps))
    if not lead:  # rank 0 alone names, writes and scores the run
        _fit(None, model, prepared["config"], prepared, False, resumed=False, context=context)
        return None
    run_dir = check_new_run_dir(config.out, _run_name(config), prepared["name"])
    resolved = dataclasses.replace(prepared["config"], out=str(run_dir))
    model.run = resolved.to_dict()
    processes = f" in {config.nproc} processes" if config.nproc > 1 else ""
    announce(
        f"training {_shown(config)} on {prepared['describe']} for "
        f"{plural(config.epochs, 'epoch')}{processes}"
    )
    announce(chosen.line(given))
    create_run_dir(run_dir)
    try:
        write_json(run_dir / "config.json", resolved.to_dict())
        write_atomically(run_dir / "summary.txt", prepared["summary"])
        _fit(run_dir, model, resolved, prepared, progress, resumed=False, context=context)
    except BaseException:
        remove_unfinished(run_dir)
        raise
    return _finish(run_dir, task, resolved, model, began)


def resume(
    run_dir: str | os.PathLike,
    *,
    epochs: int | None = None,
    device: str = "auto",
    progress: bool = True,
    notify: Notify | None = None,
    announce: Notify | None = None,
) -> RunResult | None:
    """Continue a run from its ``last`` checkpoint, at the step it stopped, with its own
    settings; ``epochs`` sets a new total. A run trained by several processes continues in as
    many (under torchrun; every rank reads the run directory, rank 0 alone writes it and
    returns the result, the others return None)."""
    with data_parallel(device) as context:
        if context is not None and not context.lead:
            progress, notify, announce = False, _quiet, _quiet
        return _resume(run_dir, epochs, device, progress, notify, announce, context)


def _resume(run_dir, epochs, device, progress, notify, announce, context) -> RunResult | None:
    began = time.perf_counter()
    notify = notify or _quiet
    announce = announce or notify
    opened, model = load_run(run_dir, stem="last", device=device)
    config = opened.config
    processes = context.world if context is not None else 1
    if config is not None and config.nproc != processes:
        raise ClassicnetsError(
            f"{opened.run_dir} was trained by {plural(config.nproc, 'process')}; continue it "
            f"with --nproc {config.nproc} (or torchrun --nproc-per-node {config.nproc}), not "
            f"{processes}."
        )
    best = opened.run_dir / "best.safetensors"
    if best.exists():  # the run's kept checkpoint so far must be whole too
        _, best_meta = load_checkpoint(best)
        check_matches(dataclasses.replace(opened, checkpoint=best), best_meta.get("run"))
    point = model.resume_point
    if point is None:
        raise ClassicnetsError(f"{opened.checkpoint} does not record where training stood.")
    total = epochs if epochs is not None else point["plan"]["epochs"]
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ClassicnetsError(f"--epochs must be a whole number above 0, got {total!r}.")
    done, step = point["position"]
    if done >= total:
        raise ClassicnetsError(
            f"{opened.run_dir} has already trained {done} of its {total} epochs; pass a larger "
            "--epochs to train further."
        )
    if total != point["plan"]["epochs"] and config.schedule != "constant":
        notify(f"the {config.schedule} schedule is stretched over {total} epochs")
    task = TASKS[config.KIND]
    prepared = {**task.reopen(config, model), "model": model}
    where = f"step {step} of epoch {done + 1}" if step else f"epoch {done + 1}"
    announce(f"resuming {_shown(config)} on {config.data} at {where} of {total}")
    lead = context is None or context.lead
    where_dir = opened.run_dir if lead else None
    _fit(where_dir, model, config, prepared, progress, resumed=True, epochs=total, context=context)
    return _finish(opened.run_dir, task, config, model, began) if lead else None


def _fit(run_dir, model, config, prepared, progress, resumed, epochs=None, context=None) -> None:
    """``model.fit`` with the run directory's callbacks; then the curves. Under data
    parallelism the model trains as one rank; a rank other than 0 (``run_dir`` None) keeps no
    files, only what decides when to stop."""
    has_val = prepared["val"] is not None
    if context is not None:
        context.wrap(model, sync_bn=config.sync_bn)
    if run_dir is None:
        callbacks = []
    else:
        checkpoint = ModelCheckpoint(run_dir, monitor=config.monitor, save_every=config.save_every)
        callbacks = [CSVLogger(run_dir / "metrics.csv", append=resumed), checkpoint]
        if getattr(config, "tensorboard", False):
            from ..train.tensorboard import TensorBoard

            callbacks.append(TensorBoard(run_dir / "tensorboard"))
    if config.patience:
        callbacks.append(EarlyStopping(monitor=config.monitor, patience=config.patience))
    if progress:
        callbacks.append(ProgressBar())
    title = prepared.get("title", f"{config.model} on {config.data}")
    level = getattr(getattr(model, "vocabulary", None), "level", None)
    token = {"char": "character"}.get(level, level or "token")  # curves: bits per character
    try:
        model.fit(
            prepared["train"],
            epochs=epochs or config.epochs,
            batch_size=config.batch_size,
            validation_data=prepared["val"] if has_val else None,
            callbacks=callbacks,
            seed=config.seed,
            augment=getattr(config, "augment", None),
            resume=resumed,
        )
    except RuntimeError as err:  # a collective of DDP's backward found a peer gone
        if context is None or not is_network_failure(err):
            raise
        raise context.lost(err) from None
    except TrainingDivergedError as err:
        if run_dir is None:
            raise
        kept = run_dir / "last.safetensors"
        if (run_dir / "metrics.csv").exists():
            write_curves(run_dir, title, token)
        if kept.exists():
            where = f"the last good checkpoint is {kept} (best, if any, is from before it)"
        else:
            where = f"no checkpoint was saved, so {run_dir} is removed"
        raise TrainingDivergedError(f"{err} {where[0].upper()}{where[1:]}.") from None
    except KeyboardInterrupt:
        epoch, step = model.position
        if run_dir is None:
            raise RunInterrupted(f"Interrupted at step {step} of epoch {epoch + 1}.") from None
        if model.resume_point is None:
            raise RunInterrupted(
                f"Interrupted twice, during an update; {run_dir}/last is from before it."
            ) from None
        model.save(run_dir / "last")
        raise RunInterrupted(
            f"Interrupted at step {step} of epoch {epoch + 1}; saved where training stood in "
            f"{run_dir}/last: continue with `classicnets train --resume {run_dir}`."
        ) from None
    if run_dir is not None:
        write_curves(run_dir, title, token)


def _finish(run_dir: Path, task, config: RunConfig, trained: Model, began: float) -> RunResult:
    """Score the checkpoint the run keeps on the test split, once, and record it."""
    kept = "best" if (run_dir / "best.safetensors").exists() else "last"
    model = load(run_dir / kept, device=config.device)
    meta = model.checkpoint_meta
    validation = {k: v for k, v in (meta.get("metrics") or {}).items() if k.startswith("val_")}
    test = task.score(model, config, "test")
    result = RunResult(
        run_dir=run_dir,
        kind=task.kind,
        model=_shown(config),
        data=test["data"] if task.kind == "text" else config.data,
        epochs=trained.epochs_done,
        checkpoint=kept,
        best_epoch=model.epochs_done if kept == "best" else None,
        validation=validation,
        test={k: v for k, v in test.items() if k not in ("data", "split")},
        seconds=time.perf_counter() - began,
    )
    task.finish(run_dir, model, config)
    write_json(run_dir / "results.json", {**result.to_json(), "test": result.test})
    return result


def evaluate(
    path: str | os.PathLike,
    *,
    split: str = "test",
    data: str | None = None,
    data_dir: str | None = None,
    tta: bool = False,
    device: str = "auto",
) -> dict[str, Any]:
    """Score a run's kept checkpoint (or the checkpoint ``path`` names) on a split of its data,
    or on another dataset. On the test split this is the number the run reported."""
    if split not in ("train", "val", "test"):
        raise ClassicnetsError(f"The split must be train, val or test, got {split!r}.")
    opened, model = load_run(path, device=device)
    if opened.config is not None:
        kind = opened.config.KIND
    else:
        kind = model_kind(model)
    return {
        "checkpoint": str(opened.checkpoint),
        **TASKS[kind].score(model, opened.config, split, data=data, data_dir=data_dir, tta=tta),
    }
