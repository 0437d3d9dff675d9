"""Which parts of an image a classifier's decision rests on, three ways:

- :func:`occlusion` (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
  2014, Section 4.2): slide a blank patch over the image and record how much the probability of
  the class drops; no gradients, so it works for any model, at one forward pass per position.
- :func:`gradient_saliency` (Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional
  Networks", 2014, Section 3): how strongly the class score reacts to each pixel, the largest
  absolute derivative over the colour channels.
- :func:`grad_cam` (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
  Gradient-based Localization", 2017, Section 3): the feature maps of one layer weighted by the
  spatial mean of the score's gradient with respect to them, summed over channels and passed
  through a ReLU, so only the evidence *for* the class remains.

Every function takes one normalised image, (C, H, W) or (1, C, H, W), runs the model in eval
mode and restores its training mode after. "Score" is the model's output for the class before
the softmax; the occlusion map alone is measured in probabilities, as in the paper.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ClassicnetsError, ShapeError, closest_names
from ..ops.shapes import as_tuple
from .activations import as_batch, model_label, stage_outputs

IntOrPair = int | tuple[int, int]


@contextmanager
def _evaluating(module: nn.Module) -> Iterator[None]:
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def _one_image(x: torch.Tensor, what: str) -> torch.Tensor:
    x = as_batch(x)
    if x.shape[0] != 1:
        raise ShapeError(
            f"{what}: give one image, (C, H, W) or (1, C, H, W), got a batch of {x.shape[0]}."
        )
    return x.detach()


def _scores(module: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    try:
        scores = module(x)
    except RuntimeError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        size = "x".join(map(str, x.shape[1:]))
        raise ShapeError(
            f"{what}: {model_label(module)} cannot take a {size} input: {reason.rstrip('.')}."
        ) from None
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ClassicnetsError(
            f"{what} needs a classifier that returns (N, classes) scores; "
            f"{model_label(module)} returned {shape}."
        )
    return scores


def check_target(target: int, num_classes: int, what: str) -> int:
    """``target`` as an int, if it names one of ``num_classes`` classes.

    Raises:
        ClassicnetsError: for a non-integer or out-of-range class index.
    """
    if isinstance(target, torch.Tensor) and target.numel() == 1 and not target.is_floating_point():
        target = int(target.item())
    if isinstance(target, bool) or not isinstance(target, int):
        raise ClassicnetsError(f"{what}: the target must be a class index, got {target!r}.")
    if not 0 <= target < num_classes:
        raise ClassicnetsError(
            f"{what}: target class {target} is out of range for a model with {num_classes} "
            f"classes; give 0 to {num_classes - 1}."
        )
    return target


def class_probabilities(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The softmax of the model's scores for one image, (K,), computed in eval mode.

    Raises:
        ShapeError: when ``x`` is not one image or the model cannot take it.
    """
    image = _one_image(x, "class_probabilities")
    with _evaluating(module), torch.no_grad():
        return _scores(module, image, "class_probabilities").softmax(dim=1)[0]


def occlusion_geometry(
    image_size: tuple[int, int], window: IntOrPair | None = None, stride: IntOrPair | None = None
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The (height, width) of :func:`occlusion`'s patch and step for an image of ``image_size``.

    By default the window is an eighth of the shorter image side (at least 1) and the stride
    half the window (at least 1).

    Raises:
        ClassicnetsError: for a window or stride under 1, or a window larger than the image.
    """
    height, width = image_size
    win = as_tuple(
        max(1, min(height, width) // 8) if window is None else window, "window", op="occlusion"
    )
    step = as_tuple(max(1, min(win) // 2) if stride is None else stride, "stride", op="occlusion")
    if min(win) < 1 or min(step) < 1:
        raise ClassicnetsError(
            f"occlusion: window and stride must be 1 or more, got window {window} and stride "
            f"{stride}."
        )
    if win[0] > height or win[1] > width:
        raise ClassicnetsError(
            f"occlusion: window {win[0]}x{win[1]} is larger than the {height}x{width} image; "
            f"give a window of at most {height}x{width}."
        )
    return win, step


def occlusion(
    module: nn.Module,
    x: torch.Tensor,
    target: int,
    window: IntOrPair | None = None,
    stride: IntOrPair | None = None,
    fill: float = 0.0,
    batch_size: int = 64,
) -> torch.Tensor:
    """The drop in the target's probability when a patch of the image is blanked out.

    Entry (i, j) of the map is ``p(target | x) - p(target | x with the patch whose top-left
    corner is (i * stride, j * stride) set to fill)``: positive where the patch held evidence for
    the class, negative where it held evidence against it.

    Args:
        module: the classifier.
        x: one normalised image, (C, H, W) or (1, C, H, W).
        target: the class index.
        window: the patch's side (or (height, width)); by default an eighth of the shorter
            image side, at least 1.
        stride: the step between patches; by default half the window, at least 1.
        fill: the value the patch is set to, in the normalised units of ``x``: 0 is the
            training data's mean, the grey square of Zeiler & Fergus.
        batch_size: how many occluded copies go through the model at once.

    Returns:
        A float (H', W') map with H' = (H - window_h) // stride_h + 1, likewise W'.

    Raises:
        ClassicnetsError: for an out-of-range target, a window larger than the image, or a
            window, stride or batch size under 1.
    """
    what = "occlusion"
    x = _one_image(x, what)
    height, width = x.shape[-2:]
    win, step = occlusion_geometry((height, width), window, stride)
    if batch_size < 1:
        raise ClassicnetsError(f"{what}: the batch size must be 1 or more, got {batch_size}.")
    rows = (height - win[0]) // step[0] + 1
    cols = (width - win[1]) // step[1] + 1
    corners = [(i * step[0], j * step[1]) for i in range(rows) for j in range(cols)]
    drops = []
    with _evaluating(module), torch.no_grad():
        scores = _scores(module, x, what)
        target = check_target(target, scores.shape[1], what)
        base = scores.softmax(dim=1)[0, target]
        for begin in range(0, len(corners), batch_size):
            chunk = corners[begin : begin + batch_size]
            batch = x.repeat(len(chunk), 1, 1, 1)  # (B, C, H, W), one patch blanked in each
            for k, (top, left) in enumerate(chunk):
                batch[k, :, top : top + win[0], left : left + win[1]] = fill
            probs = _scores(module, batch, what).softmax(dim=1)[:, target]
            drops.append(base - probs)
    return torch.cat(drops).reshape(rows, cols)


def gradient_saliency(module: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    """The largest absolute derivative of the target's score over the channels of each pixel.

    Args:
        module: the classifier.
        x: one normalised image, (C, H, W) or (1, C, H, W).
        target: the class index.

    Returns:
        A float (H, W) map, ``|d score / d x|`` maximised over channels.

    Raises:
        ClassicnetsError: for an out-of-range target.
    """
    what = "gradient_saliency"
    image = _one_image(x, what).clone().requires_grad_(True)
    with _evaluating(module), torch.enable_grad():
        scores = _scores(module, image, what)
        target = check_target(target, scores.shape[1], what)
        (grad,) = torch.autograd.grad(scores[0, target], image)
    return grad[0].abs().amax(dim=0)


def default_cam_layer(module: nn.Module, x: torch.Tensor) -> str:
    """The layer :func:`grad_cam` uses when none is named: the deepest stage (see
    :func:`~classicnets.analysis.activations.stage_outputs`) whose maps have more than one
    position, since a 1x1 map makes Grad-CAM a constant; the last stage if every one is 1x1.

    Raises:
        ClassicnetsError: when the model has no 4-D stages (an MLP).
    """
    stages = stage_outputs(module, x)
    if not stages:
        raise ClassicnetsError(
            f"grad_cam: {model_label(module)} has no 4-D feature maps to weight; Grad-CAM "
            "needs a convolutional model."
        )
    spatial = [name for name, maps in stages if maps.shape[-2] * maps.shape[-1] > 1]
    return spatial[-1] if spatial else stages[-1][0]


def find_module(module: nn.Module, layer: str, what: str) -> nn.Module:
    """The submodule named ``layer`` (as in ``module.named_modules()``).

    Raises:
        ClassicnetsError: for an unknown name, suggesting the closest known ones.
    """
    named = {name: child for name, child in module.named_modules() if name}
    if layer in named:
        return named[layer]
    close = closest_names(layer, named)
    hint = f" Did you mean {', '.join(repr(n) for n in close)}?" if close else ""
    raise ClassicnetsError(
        f"{what}: {model_label(module)} has no layer '{layer}'.{hint} Layer names are those of "
        "named_modules(), e.g. the stages from stage_outputs()."
    )


def grad_cam(
    module: nn.Module, x: torch.Tensor, target: int, layer: str | None = None
) -> torch.Tensor:
    """Grad-CAM: where in the image the evidence for the target class lies, seen from one layer.

    With A the layer's maps (K channels) and y the target's score, the weight of channel k is
    the mean of dy/dA_k over positions, and the map is ReLU(sum_k weight_k * A_k), upsampled
    bilinearly to the input's height and width.

    Args:
        module: the classifier.
        x: one normalised image, (C, H, W) or (1, C, H, W).
        target: the class index.
        layer: a module name from ``module.named_modules()`` whose output is (1, K, h, w); by
            default :func:`default_cam_layer`. A module called more than once is read at its
            last call.

    Returns:
        A float (H, W) map, zero or positive, not normalised.

    Raises:
        ClassicnetsError: for an out-of-range target, an unknown layer (with the closest
            names), or a layer whose output is not 4-D or that the score does not depend on.
    """
    what = "grad_cam"
    image = _one_image(x, what)
    name = default_cam_layer(module, image) if layer is None else layer
    watched = find_module(module, name, what)
    seen: dict[str, object] = {}

    def keep(_module: nn.Module, _inputs: tuple, output: object):
        seen["maps"] = output
        if isinstance(output, torch.Tensor):
            # Later layers get a copy, so an in-place activation after this one cannot change
            # the maps being explained.
            return output.clone()
        return None

    handle = watched.register_forward_hook(keep)
    try:
        with _evaluating(module), torch.enable_grad():
            # Asking for the input's gradient keeps the graph even when the weights are frozen.
            scores = _scores(module, image.clone().requires_grad_(True), what)
            target = check_target(target, scores.shape[1], what)
            maps = seen.get("maps")
            if maps is None:
                raise ClassicnetsError(f"{what}: layer '{name}' does not run in the forward pass.")
            if not isinstance(maps, torch.Tensor) or maps.dim() != 4:
                shape = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
                raise ClassicnetsError(
                    f"{what}: layer '{name}' gives {shape}, not (N, C, H, W) feature maps; "
                    "choose a convolutional layer or stage."
                )
            (grads,) = torch.autograd.grad(scores[0, target], maps, allow_unused=True)
    finally:
        handle.remove()
    if grads is None:
        raise ClassicnetsError(
            f"{what}: the score of class {target} does not depend on layer '{name}'; choose a "
            "layer on the path to the classifier."
        )
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1)
    cam = torch.relu((weights * maps.detach()).sum(dim=1, keepdim=True))  # (1, 1, h, w)
    cam = F.interpolate(cam, size=tuple(image.shape[-2:]), mode="bilinear", align_corners=False)
    return cam[0, 0]
