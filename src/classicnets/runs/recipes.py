"""Default recipes: how a model trains on a kind of data when the user's flags do not say.

A recipe is optimizer, rate, batch size, schedule, epochs, weight decay, label smoothing and
augmentation. The rows (:mod:`.recipe_table`) are keyed by a model or a family and a data
family (digits; mnist for MNIST and Fashion-MNIST; cifar; images for folders and
TinyImageNet; text; seq2seq for an encoder-decoder's tasks; tagging for a tagger's corpora);
each says which command measured it. A model without a row of its own
takes its family's, and a data family without a row the model's (or family's) general row,
and the run says so. The user's flags always win, one by one: ``--optimizer`` alone keeps the
recipe's rate only when it names the recipe's optimizer, else that optimizer's usual rate
(:data:`DEFAULT_LR`) applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import model_info

# The rate an optimizer trains with when the user names it without --lr (and the recipe uses
# another optimizer): the usual starting points of each method's paper or torch's examples.
DEFAULT_LR = {
    "sgd": 0.1,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adagrad": 0.01,
    "rmsprop": 1e-3,
    "adadelta": 1.0,
    "adam": 3e-3,
    "nadam": 3e-3,
    "adamw": 3e-3,
}

# dataset -> its data family, the second key of a recipe row
DATA_FAMILIES = {
    "digits": "digits",
    "mnist": "mnist",
    "fashion-mnist": "mnist",
    "cifar10": "cifar",
    "cifar100": "cifar",
    "tinyimagenet": "images",
    "imagefolder": "images",
}
FIELDS = (
    "optimizer", "lr", "batch_size", "schedule", "epochs", "weight_decay", "label_smoothing",
    "augment",
)  # fmt: skip


@dataclass(frozen=True)
class Recipe:
    """One row: how to train, and the command that measured it.

    Attributes:
        measured: the command (or the note) the row comes from.
        found: what that measurement found, in a few words.
    """

    optimizer: str
    lr: float
    batch_size: int = 32
    schedule: str = "constant"
    epochs: int = 10
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    augment: str | None = None
    measured: str = ""
    found: str = ""

    def describe(self) -> str:
        """``adam 3e-3 one-cycle, batch 128, 4 epochs`` (and what else it sets)."""
        schedule = {"onecycle": "one-cycle", "constant": "constant rate"}.get(
            self.schedule, self.schedule
        )
        parts = [f"{self.optimizer} {rate(self.lr)} {schedule}", f"batch {self.batch_size}"]
        parts.append(f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}")
        if self.weight_decay:
            parts.append(f"weight decay {self.weight_decay:g}")
        if self.label_smoothing:
            parts.append(f"label smoothing {self.label_smoothing:g}")
        if self.augment:
            parts.append(f"augment {self.augment}")
        return ", ".join(parts)


def rate(lr: float) -> str:
    """``3e-3`` for rates up to 0.01, ``0.05`` for the others."""
    if lr <= 0.01:
        mantissa, exponent = f"{lr:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{lr:g}"


@dataclass(frozen=True)
class Chosen:
    """The recipe a model gets on a dataset, the row it comes from, and why (a fallback)."""

    recipe: Recipe
    row: tuple[str, str]
    fallback: str | None = None

    def line(self, given: list[str] = ()) -> str:
        """The run's start line about its recipe: which row, what it sets, why; and which of
        its settings the user's flags replace."""
        key, family = self.row
        where = f"{key}/{family}" if family != "any" else f"{key} (any data)"
        text = f"recipe: {where} — {self.recipe.describe()}"
        if self.fallback:
            text += f" ({self.fallback})"
        elif self.recipe.found:
            text += f" (measured: {self.recipe.found})"
        if given:
            text += f"; yours: {', '.join(given)}"
        return text


def data_family(data: str, is_text: bool) -> str:
    """The data family of a dataset name (a text run's data is always ``text``)."""
    return "text" if is_text else DATA_FAMILIES.get(data, "images")


def model_data_family(tags: tuple[str, ...], data: str) -> str:
    """The data family of a model's runs: an encoder-decoder's tasks are ``seq2seq`` and a
    tagger's corpora ``tagging``, whatever their names; else :func:`data_family`."""
    for kind in ("seq2seq", "tagging", "mlm"):
        if kind in tags:
            return kind
    return data_family(data, "sequence" in tags)


def recipe_for(model: str, data: str = "digits", *, module: str | None = None) -> Chosen:
    """The recipe of a registered model on a dataset (unknown names raise with suggestions),
    or of a network of the user's own (``module``, ``--module``'s factory).

    Looks up, in order: the model's row for the data family, its family's, the model's row
    for any data, its family's, and the table's fallback.
    """
    from .recipe_table import FALLBACK, RECIPES

    if module is not None:  # a network of the user's own: no row can know it
        note = "a network of your own has no row: the table's fallback"
        return Chosen(FALLBACK, ("--module", data_family(data, False)), note)
    info = model_info(model)
    family = model_data_family(info.tags, data)
    for key, fam in ((model, family), (info.family, family), (model, "any"), (info.family, "any")):
        if (key, fam) in RECIPES:
            exact = (key, fam) == (model, family)
            note = None if exact else f"no row for {model} on {family} data: the nearest"
            return Chosen(RECIPES[(key, fam)], (key, fam), note)
    return Chosen(FALLBACK, ("fallback", "any"), f"no row for {model} or its family")
