"""What a run is told: frozen dataclasses, one field per setting, each with its help text.

The command line derives its ``train`` flags, their help and their defaults from these fields
(:mod:`classicnets.cli.flags`), so there is no second list to keep in step. A config checks
every value when it is made, so a bad one fails before anything is read or written, with one
sentence naming the flag.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import math
import os
from dataclasses import dataclass
from typing import Any, ClassVar

from ..data import dataset_info
from ..data.augment import Augment
from ..data.splits import DEFAULT_FRACTION
from ..errors import ClassicnetsError, CorruptFileError, unknown_name
from ..models import model_info
from ..train.optim import OPTIMIZERS, SCHEDULES
from ..train.precision import PRECISIONS, Precision, resolve_precision
from ..train.saving import parse_save_every
from ..train.setup import resolve_device
from .recipes import DEFAULT_LR, FIELDS, Chosen, recipe_for
from .settings import _flag, _number, _whole, setting  # noqa: F401  (shared by every kind)


@dataclass(frozen=True)
class RunConfig:
    """The settings every run has, whatever its kind."""

    KIND: ClassVar[str] = ""
    TAG: ClassVar[str | None] = None  # the registry tag of the models it trains (None: images)
    WHAT: ClassVar[str] = ""  # what those models are, for messages: "a language model"

    model: str = setting("lenet5", "registered model (see `classicnets models`)", cli=False)
    data: str = setting(
        "digits", "dataset; language models: a text file; encoder-decoders: a task; taggers: "
        "a tagged corpus or file",
    )  # fmt: skip
    data_dir: str | None = setting(
        None, "folder holding the data files; only there is the data looked for", metavar="DIR"
    )
    epochs: int | None = setting(
        None,
        "epochs to train",
        metavar="N",
        default_text="the recipe's; see `classicnets recipes MODEL --data DATA`",
    )
    batch_size: int | None = setting(
        None,
        "examples per update (language models: parallel streams)",
        default_text="the recipe's; see `classicnets recipes MODEL --data DATA`",
    )
    optimizer: str | None = setting(
        None,
        f"one of {', '.join(OPTIMIZERS)}",
        default_text="the recipe's; see `classicnets recipes MODEL --data DATA`",
    )
    lr: float | None = setting(
        None,
        "base learning rate",
        default_text="the recipe's, or the chosen optimizer's usual rate",
    )
    momentum: float = setting(0.9, "momentum of the momentum and nesterov optimizers")
    weight_decay: float | None = setting(
        None,
        "L2 penalty (decoupled for adamw)",
        default_text="the recipe's; see `classicnets recipes MODEL --data DATA`",
    )
    schedule: str | None = setting(
        None,
        "learning-rate schedule",
        choices=SCHEDULES,
        default_text="the recipe's; see `classicnets recipes MODEL --data DATA`",
    )
    warmup_epochs: float = setting(0.0, "linear warm-up, in epochs (not for onecycle)")
    grad_clip: float | None = setting(None, "clip the gradient norm to this", metavar="NORM")
    patience: int | None = setting(
        None,
        "stop early after this many epochs without a better validation value",
        metavar="EPOCHS",
        default_text="off",
    )
    val_split: float = setting(
        DEFAULT_FRACTION,
        "share of the training data kept for validation (picks best, early stopping); "
        "0 trains on all of it and keeps only last",
        metavar="F",
    )
    seed: int = setting(0, "fixes weights, data order, augmentation and dropout")
    device: str = setting("auto", "auto (cuda > mps > cpu), cpu, cuda or mps")
    precision: str = setting(
        "auto",
        "number format: auto picks bfloat16 + channels-last where the hardware has bfloat16, "
        "float16 on CUDA GPUs without it, else float32",
        choices=PRECISIONS,
    )
    compile: bool = setting(False, "torch.compile the model")
    save_every: str = setting(
        "auto",
        "also save last within epochs: every N updates, every Ns seconds, 'epoch' (epoch ends "
        "only) or 'auto' (at most once a minute, writing at most 2 %% of the time)",
        metavar="N|Ns",
    )
    nproc: int = setting(
        1,
        "processes training one model together (data parallel: each takes --batch-size "
        "examples of every global batch); under torchrun, torchrun's own count",
    )
    sync_bn: bool = setting(False, "several processes: BatchNorm statistics of the global batch")
    tensorboard: bool = setting(
        False, "also write TensorBoard event files to RUN/tensorboard (classicnets[tensorboard])"
    )
    out: str | None = setting(None, "run directory", default_text="runs/MODEL-DATA-TIME")
    model_kwargs: dict = setting({}, "more arguments of the model's builder", cli=False)
    recipe: str | None = setting(None, "the recipe row the run's defaults came from", cli=False)

    def __post_init__(self) -> None:
        self.check()

    # ------------------------------------------------------------- checking
    def check(self) -> None:
        """Raise one sentence for the first value out of range."""
        model_info(self.model)  # unknown names fail here, with suggestions
        belongs = config_for_model(self.model)
        if belongs.KIND != self.KIND:
            raise ClassicnetsError(
                f"Model '{self.model}' is {belongs.WHAT}; it cannot run as a {self.KIND} run."
            )
        _whole("epochs", self.epochs, optional=True)
        _whole("batch_size", self.batch_size, optional=True)
        _whole("seed", self.seed, least=0)
        _whole("patience", self.patience, optional=True)
        _whole("nproc", self.nproc)
        if self.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise ClassicnetsError(
                "--tensorboard needs the tensorboard package; install it with: "
                "pip install 'classicnets[tensorboard]'."
            )
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise unknown_name("optimizer", self.optimizer, OPTIMIZERS)
        if self.schedule is not None and self.schedule not in SCHEDULES:
            raise unknown_name("schedule", self.schedule, SCHEDULES)
        _number("lr", self.lr, 0, math.inf, optional=True)
        if self.lr is not None and self.lr == 0:
            raise ClassicnetsError("--lr must be a positive number, got 0.")
        _number("momentum", self.momentum, 0, 1, closed=False)
        _number("weight_decay", self.weight_decay, 0, math.inf, optional=True)
        _number("warmup_epochs", self.warmup_epochs, 0, math.inf)
        _number("grad_clip", self.grad_clip, 0, math.inf, optional=True)
        if self.grad_clip == 0:
            raise ClassicnetsError("--grad-clip must be a positive norm; leave it out to not clip.")
        _number("val_split", self.val_split, 0, 1, closed=False)
        if self.patience is not None and self.val_split == 0:
            raise ClassicnetsError(
                "--patience stops on the validation value, and --val-split 0 leaves no "
                "validation data; keep a validation split or drop --patience."
            )
        parse_save_every(self.save_every)
        self.precision_choice()  # a format the hardware lacks fails now, before any data
        if not isinstance(self.model_kwargs, dict):
            raise ClassicnetsError("model_kwargs must be a dict of the builder's arguments.")

    # ------------------------------------------------------------- choices
    def with_recipe(self) -> tuple[RunConfig, Chosen]:
        """The config with every setting the user left out taken from the model's recipe for
        the data (see :mod:`.recipes`); the rate follows the recipe only with its optimizer."""
        chosen = recipe_for(self.model, self.data, module=getattr(self, "module", None))
        recipe = chosen.recipe
        optimizer = self.optimizer or recipe.optimizer
        if self.lr is not None:
            lr = self.lr
        else:
            lr = recipe.lr if optimizer == recipe.optimizer else DEFAULT_LR.get(optimizer, 1e-3)
        values = {"optimizer": optimizer, "lr": lr, "recipe": "/".join(chosen.row)}
        for name in FIELDS:
            if name in ("optimizer", "lr") or not hasattr(self, name):
                continue
            given = getattr(self, name)
            values[name] = getattr(recipe, name) if given is None else given
        if values.get("augment") == "none":
            values["augment"] = None
        return dataclasses.replace(self, **values), chosen

    def given(self) -> list[str]:
        """The recipe's settings the user gave, as flags."""
        return [_flag(n) for n in FIELDS if getattr(self, n, None) is not None]

    @property
    def monitor(self) -> str:
        """The validation value that picks ``best`` and stops early."""
        return "val_accuracy"

    def precision_choice(self) -> Precision:
        """What ``--precision`` means on this run's device."""
        return resolve_precision(self.precision, resolve_device(self.device), self.KIND == "image")

    def compile_options(self, steps_per_epoch: int) -> dict[str, Any]:
        """What ``Model.compile`` is told for this run (a config :meth:`with_recipe` filled:
        warm-up from epochs to updates, the precision resolved for the machine)."""
        precision = self.precision_choice()
        return {
            "optimizer": self.optimizer,
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "schedule": self.schedule,
            "warmup_steps": int(self.warmup_epochs * steps_per_epoch),
            "grad_clip": self.grad_clip,
            "precision": precision.name,
            "channels_last": precision.channels_last,
            "compile": self.compile,
        }

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {"task": self.KIND, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, saved: dict[str, Any], source: str) -> RunConfig:
        """A config from ``config.json``; anything that does not fit names ``source``."""
        fields = {f.name for f in dataclasses.fields(cls)}
        stray = sorted(set(saved) - fields - {"task"})
        if stray:
            raise CorruptFileError(
                f"{source} has settings this version does not know ({', '.join(stray)}); it "
                "was damaged or written by another version."
            )
        try:
            return cls(**{k: v for k, v in saved.items() if k in fields})
        except (ClassicnetsError, TypeError) as err:
            raise CorruptFileError(f"{source} does not hold a valid run config: {err}") from None


@dataclass(frozen=True)
class ImageRunConfig(RunConfig):
    """An image classifier on an image dataset."""

    KIND: ClassVar[str] = "image"
    WHAT: ClassVar[str] = "an image model"

    image_size: int | None = setting(
        None, "resize images to this side", metavar="PX", default_text="the data's own, or "
        "the smallest the model takes",
    )  # fmt: skip
    augment: str | None = setting(
        None,
        "batch augmentation on the device, e.g. crop,flip,cutout (also crop:PAD:reflect, "
        "altflip, cutout:SIZE); none for none",
        metavar="SPEC",
        default_text="the recipe's; see `classicnets recipes MODEL --data DATA`",
    )
    label: str | None = setting(
        None, "cifar100: 100 fine classes or 20 coarse", choices=("fine", "coarse")
    )
    label_smoothing: float | None = setting(
        None,
        "label smoothing of the cross-entropy",
        default_text="the recipe's; see `classicnets recipes MODEL --data DATA`",
    )
    channels_last: bool = setting(False, "channels-last memory layout")
    limit: int | None = setting(
        None,
        "a quick look: the first N examples of each split only",
        metavar="N",
        default_text="all",
    )
    module: str | None = setting(
        None,
        "your own network instead of a registered model: package.module:factory (imported "
        "from the current folder first), called with the data's num_classes, in_channels and "
        "image_size where it names them; its recipe is the table's fallback, not MODEL's",
        metavar="PKG.MOD:FACTORY",
    )
    model_parallel: int = setting(
        1,
        "devices one model's layers are split over: 2 puts alexnet_original's two towers on "
        "two GPUs as in the paper (with one device, both towers run on it)",
    )

    def check(self) -> None:
        super().check()
        dataset_info(self.data)  # unknown names fail here, with suggestions
        if self.module is not None:
            from ..models.custom import import_factory

            import_factory(self.module, search_path=[os.getcwd()])  # a typo fails before data
        if self.model_parallel not in (1, 2) or isinstance(self.model_parallel, bool):
            raise ClassicnetsError(
                "--model-parallel must be 1 or 2 (AlexNet's two towers), got "
                f"{self.model_parallel!r}."
            )
        if self.model_parallel == 2 and self.model != "alexnet_original":
            raise ClassicnetsError(
                "--model-parallel 2 applies to alexnet_original (the paper's two-GPU split); "
                f"{self.model} has no split, so train it with --model-parallel 1."
            )
        if self.module is not None and self.model_parallel > 1:
            raise ClassicnetsError("--model-parallel 2 splits alexnet_original, not --module.")
        if self.model_parallel > 1 and self.nproc > 1:
            raise ClassicnetsError("--model-parallel 2 and --nproc cannot be combined; choose one.")
        _whole("image_size", self.image_size, optional=True)
        _whole("limit", self.limit, optional=True)
        _number("label_smoothing", self.label_smoothing, 0, 1, closed=False, optional=True)
        if self.augment not in (None, "none"):
            Augment.parse(self.augment)  # the spec's words; sizes are checked with the data

    def compile_options(self, steps_per_epoch: int) -> dict[str, Any]:
        options = super().compile_options(steps_per_epoch)
        return options | {
            "label_smoothing": self.label_smoothing,
            "channels_last": self.channels_last or options["channels_last"],
        }


@dataclass(frozen=True)
class TextRunConfig(RunConfig):
    """A language model on a text: a named corpus or any UTF-8 file."""

    KIND: ClassVar[str] = "text"
    TAG: ClassVar[str | None] = "sequence"
    WHAT: ClassVar[str] = "a language model"

    model: str = setting("char_lstm", "registered language model", cli=False)
    data: str = setting("tinyshakespeare", "corpus name or UTF-8 text file")
    grad_clip: float | None = setting(1.0, "clip the gradient norm to this", metavar="NORM")
    test_split: float = setting(
        0.1, "share of the text, from its end, scored once at the end", metavar="F"
    )
    seq_len: int = setting(128, "tokens per piece of truncated back-propagation through time")
    window: int | None = setting(
        None, "train on windows of N tokens, predicting the next one", metavar="N"
    )
    hidden: int | None = setting(None, "width of the model", default_text="the model's")
    layers: int | None = setting(None, "layers stacked", default_text="the model's")
    max_chars: int | None = setting(
        None, "read only the start of the text", metavar="N", default_text="all"
    )
    max_vocab: int = setting(10000, "word models: the most frequent words; the rest are <unk>")
    cell: str | None = setting(None, "recurrent cell: rnn, lstm (_nofg, _coupled, _peephole), "
                               "gru, gru_cho", default_text="the model's")  # fmt: skip
    embed: int | None = setting(
        None, "width of the token embedding; 0 feeds one-hot tokens", default_text="the model's"
    )

    def check(self) -> None:
        super().check()
        takes = inspect.signature(model_info(self.model).builder).parameters
        for flag, name in (("cell", "cell"), ("embed", "embed_dim")):
            if getattr(self, flag) is not None and name not in takes:
                raise ClassicnetsError(f"--{flag} applies to recurrent models, not {self.model}.")
        _whole("embed", self.embed, least=0, optional=True)
        _number("test_split", self.test_split, 0, 1, closed=False)
        if self.test_split == 0 or self.val_split + self.test_split >= 1:
            raise ClassicnetsError(
                f"--test-split must be above 0 and leave text to train on with --val-split "
                f"{self.val_split:g}, got {self.test_split:g}."
            )
        _whole("seq_len", self.seq_len)
        for name in ("window", "hidden", "layers", "max_chars"):
            _whole(name, getattr(self, name), optional=True)
        _whole("max_vocab", self.max_vocab, least=2)

    @property
    def monitor(self) -> str:
        return "val_loss"


# kind -> config class; runs/__init__.py imports the other kinds' modules, which register theirs
CONFIGS: dict[str, type[RunConfig]] = {}


def register_config(cls: type[RunConfig]) -> type[RunConfig]:
    """Make ``cls`` a kind of run: its ``config.json`` reads back and ``config_for_model``
    picks it for models tagged ``cls.TAG``. Raises on a kind registered twice."""
    if cls.KIND in CONFIGS:
        raise ValueError(f"A run config of kind {cls.KIND!r} is already registered.")
    CONFIGS[cls.KIND] = cls
    return cls


register_config(ImageRunConfig)
register_config(TextRunConfig)


def config_for_model(model: str | None) -> type[RunConfig]:
    """The config class of a model's runs: the most specific registered kind whose tag the
    model carries (a seq2seq model is also a "sequence" one), else an image run (also
    without a model)."""
    if model is None:
        return ImageRunConfig
    tags = model_info(model).tags
    found = [c for c in CONFIGS.values() if c.TAG is not None and c.TAG in tags]
    # the most specific: the tag that comes last in the model's tags ("sequence", "seq2seq")
    return max(found, key=lambda c: tags.index(c.TAG), default=ImageRunConfig)
