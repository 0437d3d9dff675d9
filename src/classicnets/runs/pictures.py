"""The pictures of a run (``classicnets viz RUN WHAT``): a table of what can be drawn, for which
kind of run, and how, each drawing from a :class:`~.views.RunView` through the ``viz/``
functions (the pictures that need no run are :mod:`.probes`').
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ClassicnetsError, unknown_name
from .kinds import TASKS
from .views import RunView, open_view


@dataclass(frozen=True)
class Options:
    """What ``viz`` was told beside the run and the picture (each picture reads its own)."""

    index: int | None = None
    image: str | None = None
    split: str = "test"
    layer: str | None = None
    unit: tuple[int, int] | None = None
    prompt: str | None = None
    steps: int = 50
    top: int = 8


@dataclass(frozen=True)
class Picture:
    name: str
    kinds: tuple[str, ...]  # the kinds of run it is drawn for: "image", "text"
    summary: str
    draw: Callable[[RunView, Options, Path], Path]


def _filters(view: RunView, o: Options, out: Path) -> Path:
    from ..viz.filters import plot_filters

    return plot_filters(view.model.module, out, f"{view.title()}: learned kernels", o.layer)


def _features(view: RunView, o: Options, out: Path) -> Path:
    from ..viz.features import plot_features

    s = view.sample(index=o.index, image=o.image, split=o.split)
    title = f"{view.title()}: feature maps of {s.caption}"
    return plot_features(view.model.module, s.x, s.raw, out, title, top=o.top)


def _test_predictions(view: RunView, split: str) -> tuple[torch.Tensor, torch.Tensor, object]:
    part = view.split(split)
    logits = view.model.predict(part.images)
    return torch.softmax(logits.float(), dim=-1), part.labels, part


def _confusion(view: RunView, o: Options, out: Path) -> Path:
    from ..viz.confusion import plot_confusion

    probs, labels, _ = _test_predictions(view, o.split)
    return plot_confusion(probs.argmax(-1), labels, view.class_names(), out, view.title(o.split))


def _mistakes(view: RunView, o: Options, out: Path) -> Path:
    from ..viz.mistakes import plot_mistakes

    probs, labels, part = _test_predictions(view, o.split)
    title = f"{view.title(o.split)}: the most confident mistakes"
    return plot_mistakes(part.images, labels, probs, view.class_names(), out, title)


def _saliency(view: RunView, o: Options, out: Path) -> Path:
    from ..viz.saliency import plot_saliency

    s = view.sample(index=o.index, image=o.image, split=o.split)
    title = f"{view.title()}: what {s.caption} is classified by"
    module = view.model.module
    return plot_saliency(module, s.x, s.raw, None, view.class_names(), out, title, layer=o.layer)


def _receptive(view: RunView, o: Options, out: Path) -> Path:
    from ..analysis.activations import stage_outputs
    from ..viz.receptive import plot_receptive

    s = view.sample(index=o.index, image=o.image, split=o.split)
    layer = o.layer
    if layer is None:  # the deepest stage that still has a spatial map
        with torch.no_grad():
            layer = stage_outputs(view.model.module, s.x)[-1][0]
    title = f"{view.title()}: what one unit of {layer} sees of {s.caption}"
    shape = tuple(s.raw.shape)
    return plot_receptive(view.model.module, s.raw, layer, o.unit, out, title, shape)


def _gradients(view: RunView, o: Options, out: Path) -> Path:
    from ..train.gradients import gradient_norms
    from ..viz.gradients import plot_gradient_norms

    data = view.split("train")
    model = _compiled_copy(view)
    results = {view.title(): gradient_norms(model, data, steps=o.steps, seed=0)}
    title = f"{view.title()}: gradient norm per layer over {o.steps} updates from its weights"
    return plot_gradient_norms(results, out, title)


def _compiled_copy(view: RunView):
    """The run's model, compiled with the run's optimizer and schedule (for a probe)."""
    from .probes import probe_model

    config = view.opened.config
    if config is None:
        raise ClassicnetsError("A lone checkpoint records no optimizer; draw this from a run.")
    config, _ = config.with_recipe()
    train = view.split("train")
    return probe_model(view.model.module, config, train, view.model.mean, view.model.std)


def _lr(view: RunView, o: Options, out: Path) -> Path:
    from ..viz.lr import plot_lr_schedule
    from .schedule import lr_per_step

    config = view.opened.config
    plan = (view.model.resume_point or {}).get("plan") if view.model.resume_point else None
    if config is None or not plan:
        raise ClassicnetsError(
            "This checkpoint does not record its training plan; draw lr from a run directory."
        )
    rates = lr_per_step(dataclasses.replace(config, epochs=plan["epochs"]), plan["steps"])
    title = f"{view.title()}: the learning rate of every update"
    return plot_lr_schedule(rates, plan["steps"], out, title)


def _curves(view: RunView, o: Options, out: Path) -> Path:
    from ..viz.curves import plot_curves, read_metrics

    metrics = view.opened.run_dir / "metrics.csv" if view.opened.run_dir else None
    if metrics is None or not metrics.is_file():
        raise ClassicnetsError("This run has no metrics.csv to draw curves from.")
    token = "character" if getattr(view.model, "vocabulary", None) is not None else "token"
    if token == "character" and view.model.vocabulary.level == "word":
        token = "word"
    return plot_curves(read_metrics(metrics), out, title=view.title(), token=token)


def _tokens(view: RunView, o: Options) -> tuple[torch.Tensor, list[str]]:
    """The prompt's token ids and texts; without ``--prompt``, the start of the run's test
    text (as many tokens as the model reads, at most 40)."""
    from ..analysis.attention_maps import encode_prompt

    vocabulary = view.model.vocabulary
    if o.prompt is not None:
        ids = encode_prompt(o.prompt, vocabulary)
    else:
        from .text import load_text

        if view.opened.config is None:
            raise ClassicnetsError("A lone checkpoint records no text; pass --prompt TEXT.")
        context = getattr(view.model.module, "context", None) or 40
        ids = load_text(view.opened.config).test[: min(40, context)]
    return ids, [vocabulary.tokens[i] for i in ids.tolist()]


def _require(view: RunView, kinds: tuple[type, ...], message: str) -> None:
    """Refuse a picture the model has no layers for, before any text is read."""
    if not any(isinstance(m, kinds) for m in view.model.module.modules()):
        raise ClassicnetsError(f"{view.title()} {message}")


def _attention(view: RunView, o: Options, out: Path) -> Path:
    from ..analysis.attention_maps import attention_maps
    from ..layers.attention import MultiHeadAttention
    from ..viz.text import plot_attention

    if view.kind == "seq2seq":  # where the decoder looks in the source as it writes
        from .seq2seq import draw_attention

        return draw_attention(view.opened.run_dir or view.opened.checkpoint, o.prompt, out=out)
    _require(view, (MultiHeadAttention,), "has no attention layers; draw its gates instead.")
    ids, labels = _tokens(view, o)
    maps = attention_maps(view.model.module, ids)
    title = f"{view.title()}: attention on the prompt"
    return plot_attention(maps, labels, out, title, layer=_layer_number(o.layer))


def _gates(view: RunView, o: Options, out: Path) -> Path:
    from ..analysis.gates import recurrent_gates
    from ..layers.recurrent import GRU, LSTM
    from ..viz.text import plot_gates

    message = "has no LSTM or GRU layer, so no gates; draw its attention instead."
    _require(view, (LSTM, GRU, torch.nn.LSTM, torch.nn.GRU), message)
    ids, labels = _tokens(view, o)
    gates = recurrent_gates(view.model.module, ids)
    title = f"{view.title()}: gates along the prompt"
    return plot_gates(gates, labels, out, title, layer=_layer_number(o.layer))


def _layer_number(layer: str | None) -> int | None:
    if layer is None:
        return None
    try:
        return int(layer)
    except ValueError:
        raise ClassicnetsError(
            f"--layer for a text picture is a layer number (0 is the first), got {layer!r}."
        ) from None


EVERY_KIND = tuple(TASKS)  # what every run has: its metrics.csv and its training plan
PICTURES: dict[str, Picture] = {
    p.name: p
    for p in (
        Picture(
            "filters", ("image",), "the learned kernels of the first (or --layer) conv", _filters
        ),
        Picture("features", ("image",), "feature maps of every stage for one image", _features),
        Picture("confusion", ("image",), "confusion matrix and per-class accuracy", _confusion),
        Picture("mistakes", ("image",), "the most confidently misclassified images", _mistakes),
        Picture("saliency", ("image",), "occlusion, gradient saliency and Grad-CAM", _saliency),
        Picture("receptive", ("image",), "the input region one unit sees", _receptive),
        Picture("gradients", ("image",), "gradient norm per layer over updates", _gradients),
        Picture("lr", EVERY_KIND, "the learning rate of every update", _lr),
        Picture("curves", EVERY_KIND, "loss, accuracy, scores, rate per epoch", _curves),
        Picture(
            "attention",
            ("text", "seq2seq"),
            "attention maps of a Transformer on a prompt (an encoder-decoder's cross-attention)",
            _attention,
        ),  # fmt: skip
        Picture("gates", ("text",), "LSTM/GRU gate activations along a prompt", _gates),
    )
}


def picture(name: str) -> Picture:
    if name not in PICTURES:
        raise unknown_name("picture", name, PICTURES)
    return PICTURES[name]


def check_fits(view: RunView, chosen: Picture) -> None:
    """A picture of image runs asked of a text run (or the reverse): one sentence."""
    if view.kind in chosen.kinds:
        return
    fitting = sorted(n for n, p in PICTURES.items() if view.kind in p.kinds)
    article = "an" if view.kind == "image" else "a"
    raise ClassicnetsError(
        f"'{chosen.name}' is a picture of {' and '.join(chosen.kinds)} runs, and "
        f"{view.title()} is {article} {view.kind} run; its pictures are: {', '.join(fitting)}."
    )


def draw(
    run: str | os.PathLike,
    what: str,
    *,
    out: str | os.PathLike | None = None,
    options: Options | None = None,
    device: str = "cpu",
) -> Path:
    """Draw picture ``what`` of the run at ``run`` into ``out`` (default ``RUN/WHAT.png``).

    Everything is checked (the picture's name, the run, that the picture fits the run, where
    it goes) before anything is computed or written.
    """
    chosen = picture(what)
    view = open_view(run, device=device)
    check_fits(view, chosen)
    target = _output_path(out, view, what)
    return chosen.draw(view, options or Options(), target)


def _output_path(out, view: RunView, what: str) -> Path:
    from .probes import png_path

    if out is None:
        if view.opened.run_dir is None:
            raise ClassicnetsError("A lone checkpoint has no run directory; pass --out FILE.")
        return view.opened.run_dir / f"{what}.png"
    return png_path(out)
