"""Linear and softmax regression by hand: the normal equations, gradient descent with the
gradient written out, and mini-batch SGD on the softmax cross-entropy. No autograd.

Conventions: x is (N, F) with one example per row, weights are (F, ...) so that predictions are
``x @ W + b``; the losses are averages over the N examples, so a gradient carries a 1/N.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..errors import ClassicnetsError, ShapeError


def _check_features(name: str, x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.ndim != 2 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ShapeError(f"{name} must be a float tensor (N, F), one example per row, got {shape}.")


def _check_rows(x_name: str, x: Tensor, y_name: str, y: Tensor) -> None:
    if y.shape[0] != x.shape[0]:
        raise ShapeError(
            f"{x_name} has {x.shape[0]} examples but {y_name} has {y.shape[0]}; "
            "give one target per row."
        )


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and value > 0):
        raise ClassicnetsError(f"{name} must be > 0, got {value!r}.")


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClassicnetsError(f"{name} must be an integer >= 1, got {value!r}.")


def _check_l2(l2: float) -> None:
    if not (isinstance(l2, (int, float)) and l2 >= 0):
        raise ClassicnetsError(f"l2 must be >= 0, got {l2!r}.")


# ---------------------------------------------------------------------------------------------
# Linear regression: L(w, b) = 1/(2N) ||X w + b − y||² + λ/2 ||w||²


@dataclass
class LinearRegression:
    """A fitted linear model ``ŷ = x @ weight + bias``.

    Attributes:
        weight: (F,) for one target, (F, T) for T targets.
        bias: () or (T,); never regularised.
        losses: the loss after each gradient-descent step (empty for the closed form).
    """

    weight: Tensor
    bias: Tensor
    losses: list[float] = field(default_factory=list)

    def predict(self, x: Tensor) -> Tensor:
        """ŷ = x W + b for x (N, F)."""
        return x @ self.weight + self.bias


def mean_squared_error(prediction: Tensor, target: Tensor) -> float:
    """1/N Σ (ŷ − y)², summed over targets when there are several."""
    return float(((prediction - target) ** 2).sum() / prediction.shape[0])


def _linear_loss(x: Tensor, y: Tensor, w: Tensor, b: Tensor, l2: float) -> float:
    r = x @ w + b - y
    return float((r**2).sum() / (2 * x.shape[0]) + l2 / 2 * (w**2).sum())


def fit_linear_closed_form(x: Tensor, y: Tensor, *, l2: float = 0.0) -> LinearRegression:
    """Least squares (ridge when l2 > 0) from the normal equations.

    With a column of ones appended for the bias, A = [X 1], the minimiser of the loss solves

        (AᵀA / N + λ D) θ = Aᵀy / N,   θ = [w; b],   D = diag(1, ..., 1, 0)  (b not decayed)

    We solve this square system with ``torch.linalg.solve`` (an LU factorisation) instead of
    forming (AᵀA)⁻¹: inverting costs more and loses more digits. ``torch.linalg.lstsq`` on A
    itself would avoid squaring A's condition number, which matters only for nearly collinear
    features; the normal equations are the textbook formula and, in float64 on data like
    diabetes, agree with lstsq to ~1e-10 (the tests check it).

    Args:
        x: (N, F) features.
        y: (N,) or (N, T) targets.
        l2: the ridge coefficient λ.

    Returns:
        The fitted :class:`LinearRegression`.
    """
    _check_features("x", x)
    _check_rows("x", x, "y", y)
    _check_l2(l2)
    n, f = x.shape
    a = torch.cat([x, torch.ones(n, 1, dtype=x.dtype)], dim=1)  # (N, F + 1)
    decay = torch.ones(f + 1, dtype=x.dtype)
    decay[-1] = 0.0
    lhs = a.T @ a / n + l2 * torch.diag(decay)  # (F + 1, F + 1)
    rhs = a.T @ y.to(x.dtype) / n  # (F + 1,) or (F + 1, T)
    try:
        theta = torch.linalg.solve(lhs, rhs)
    except RuntimeError as exc:  # torch's LinAlgError: a singular AᵀA
        raise ClassicnetsError(
            f"The normal equations are singular ({n} examples, {f} features, some features "
            "collinear or constant); pass l2 > 0 or remove the redundant features."
        ) from exc
    return LinearRegression(weight=theta[:-1], bias=theta[-1])


def linear_gradients(
    x: Tensor, y: Tensor, w: Tensor, b: Tensor, l2: float = 0.0
) -> tuple[Tensor, Tensor]:
    """∂L/∂w = Xᵀ(Xw + b − y)/N + λw and ∂L/∂b = mean(Xw + b − y)."""
    r = x @ w + b - y  # residuals (N,) or (N, T)
    return x.T @ r / x.shape[0] + l2 * w, r.mean(dim=0)


def fit_linear_gd(
    x: Tensor,
    y: Tensor,
    *,
    lr: float | None = None,
    steps: int = 10_000,
    l2: float = 0.0,
    tol: float = 0.0,
) -> LinearRegression:
    """Least squares by full-batch gradient descent, w ← w − η ∂L/∂w, b ← b − η ∂L/∂b.

    Args:
        x: (N, F) features (standardise them: GD's speed depends on their conditioning).
        y: (N,) or (N, T) targets.
        lr: the step η; ``None`` takes 1/L, L the largest eigenvalue of AᵀA/N + λ (A = [X 1]),
            the loss's curvature: the textbook step that always decreases the loss.
        steps: the most updates to make.
        l2: the ridge coefficient λ (the bias is not decayed).
        tol: stop once the gradient's norm is at most this.

    Returns:
        The fitted :class:`LinearRegression`, with the loss after every step in ``losses``.
    """
    _check_features("x", x)
    _check_rows("x", x, "y", y)
    _check_l2(l2)
    _check_count("steps", steps)
    y = y.to(x.dtype)
    n = x.shape[0]
    if lr is None:
        a = torch.cat([x, torch.ones(n, 1, dtype=x.dtype)], dim=1)
        lr = 1.0 / (float(torch.linalg.eigvalsh(a.T @ a / n)[-1]) + l2)
    _check_positive("lr", lr)
    w = torch.zeros((x.shape[1],) + tuple(y.shape[1:]), dtype=x.dtype)
    b = torch.zeros(tuple(y.shape[1:]), dtype=x.dtype)
    losses = []
    for _ in range(steps):
        dw, db = linear_gradients(x, y, w, b, l2)
        if tol and float(torch.sqrt((dw**2).sum() + (db**2).sum())) <= tol:
            break
        w = w - lr * dw
        b = b - lr * db
        losses.append(_linear_loss(x, y, w, b, l2))
    return LinearRegression(weight=w, bias=b, losses=losses)


# ---------------------------------------------------------------------------------------------
# Softmax regression: ŷ = softmax(XW + b), L = −1/N Σ log ŷ_{n, y_n} + λ/2 ||W||²


def softmax(z: Tensor) -> Tensor:
    """softmax over the last axis; subtracting the row maximum keeps exp from overflowing."""
    e = torch.exp(z - z.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def cross_entropy(logits: Tensor, labels: Tensor) -> float:
    """−1/N Σ log softmax(z)_{n, y_n}, with log Σ exp computed stably."""
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    return float(-log_probs[torch.arange(len(labels)), labels].mean())


def softmax_regression_gradients(
    x: Tensor, labels: Tensor, w: Tensor, b: Tensor, l2: float = 0.0
) -> tuple[float, Tensor, Tensor]:
    """The loss and its gradients for one batch.

    ∂L/∂Z = (ŷ − y)/N with y the one-hot labels (softmax and cross-entropy together simplify to
    this), so ∂L/∂W = Xᵀ(ŷ − y)/N + λW and ∂L/∂b = Σ_n (ŷ − y)_n / N.

    Returns:
        (loss, ∂L/∂W (F, C), ∂L/∂b (C,)).
    """
    z = x @ w + b  # (N, C)
    y_hat = softmax(z)
    one_hot = torch.zeros_like(y_hat)
    one_hot[torch.arange(len(labels)), labels] = 1.0
    dz = (y_hat - one_hot) / x.shape[0]
    loss = cross_entropy(z, labels) + l2 / 2 * float((w**2).sum())
    return loss, x.T @ dz + l2 * w, dz.sum(dim=0)


def accuracy(scores: Tensor, labels: Tensor) -> float:
    """The fraction of examples whose predicted class is the label.

    Args:
        scores: (N, C) logits or probabilities (the argmax is the prediction), or (N,) predicted
            classes.
        labels: (N,) true classes.
    """
    predictions = scores.argmax(dim=1) if scores.ndim == 2 else scores
    if predictions.shape != labels.shape:
        raise ShapeError(
            f"accuracy: {tuple(predictions.shape)} predictions for {tuple(labels.shape)} labels; "
            "give one score row or prediction per label."
        )
    return float((predictions == labels).double().mean())


@dataclass
class SoftmaxRegression:
    """A softmax-regression classifier and how its training went.

    Attributes:
        weight: (F, C).  bias: (C,).
        train_loss, train_accuracy: on the whole training set after each epoch.
        val_accuracy: on the validation set after each epoch (empty without one).
    """

    weight: Tensor
    bias: Tensor
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)

    def logits(self, x: Tensor) -> Tensor:
        """z = xW + b, (N, C)."""
        return x @ self.weight + self.bias

    def predict_proba(self, x: Tensor) -> Tensor:
        """softmax(xW + b), (N, C)."""
        return softmax(self.logits(x))

    def predict(self, x: Tensor) -> Tensor:
        """The most probable class of each row, (N,)."""
        return self.logits(x).argmax(dim=1)


def _check_labels(name: str, labels: Tensor, num_classes: int) -> None:
    if labels.ndim != 1 or labels.dtype != torch.int64:
        raise ShapeError(
            f"{name} must be int64 class indices (N,), got {labels.dtype} {tuple(labels.shape)}."
        )
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ClassicnetsError(
            f"{name} holds classes {int(labels.min())}..{int(labels.max())} but there are "
            f"{num_classes} classes (0..{num_classes - 1})."
        )


def fit_softmax_regression(
    x_train: Tensor,
    y_train: Tensor,
    x_val: Tensor | None = None,
    y_val: Tensor | None = None,
    *,
    epochs: int = 30,
    lr: float = 0.1,
    batch_size: int = 32,
    seed: int = 0,
    l2: float = 0.0,
    num_classes: int | None = None,
) -> SoftmaxRegression:
    """Train softmax regression with mini-batch SGD and the hand-written gradient.

    The randomness comes from one ``torch.Generator`` seeded with ``seed`` (the global RNG is
    left alone), drawn in this order so that another implementation can replay it: first
    W ~ N(0, 0.01²) of shape (F, C) (b starts at 0), then one ``torch.randperm(N)`` per epoch,
    cut into consecutive batches of ``batch_size`` (the last one may be smaller).

    Args:
        x_train: (N, F) float features.   y_train: (N,) int64 labels.
        x_val, y_val: an optional validation set, scored after every epoch.
        epochs: passes over the training set.
        lr: the SGD step η.
        batch_size: examples per update.
        seed: seeds the initial weights and the batch order.
        l2: weight decay λ on W (the loss gains λ/2 ||W||²; b is not decayed).
        num_classes: C; by default one more than the largest label seen.

    Returns:
        The trained :class:`SoftmaxRegression` with its per-epoch history.
    """
    _check_features("x_train", x_train)
    _check_rows("x_train", x_train, "y_train", y_train)
    if (x_val is None) != (y_val is None):
        raise ClassicnetsError("Give both x_val and y_val, or neither.")
    if x_val is not None:
        _check_features("x_val", x_val)
        _check_rows("x_val", x_val, "y_val", y_val)
        if x_val.shape[1] != x_train.shape[1]:
            raise ShapeError(
                f"x_val has {x_val.shape[1]} features but x_train has {x_train.shape[1]}."
            )
    _check_count("epochs", epochs)
    _check_count("batch_size", batch_size)
    _check_positive("lr", lr)
    _check_l2(l2)
    if num_classes is None:
        seen = [y_train] + ([y_val] if y_val is not None else [])
        num_classes = int(max(int(y.max()) for y in seen if len(y))) + 1
    _check_count("num_classes", num_classes)
    _check_labels("y_train", y_train, num_classes)
    if y_val is not None:
        _check_labels("y_val", y_val, num_classes)

    n, f = x_train.shape
    generator = torch.Generator().manual_seed(seed)
    w = 0.01 * torch.randn(f, num_classes, generator=generator, dtype=x_train.dtype)
    b = torch.zeros(num_classes, dtype=x_train.dtype)
    result = SoftmaxRegression(weight=w, bias=b)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            _, dw, db = softmax_regression_gradients(x_train[batch], y_train[batch], w, b, l2)
            w = w - lr * dw
            b = b - lr * db
        result.weight, result.bias = w, b
        logits = result.logits(x_train)
        result.train_loss.append(cross_entropy(logits, y_train) + l2 / 2 * float((w**2).sum()))
        result.train_accuracy.append(accuracy(logits, y_train))
        if x_val is not None:
            result.val_accuracy.append(accuracy(result.logits(x_val), y_val))
    return result
