"""Linear regression (normal equations, gradient descent) and softmax regression trained by hand,
checked against torch.linalg.lstsq, scikit-learn's Ridge, autograd and a torch-trained model on
real data (scikit-learn's diabetes and digits)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.data import load_dataset
from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.scratch.regression import (
    accuracy,
    cross_entropy,
    fit_linear_closed_form,
    fit_linear_gd,
    fit_softmax_regression,
    linear_gradients,
    mean_squared_error,
    softmax_regression_gradients,
)


@pytest.fixture(scope="module")
def diabetes() -> tuple[torch.Tensor, torch.Tensor]:
    """442 patients, 10 standardised features, disease progression after a year (25..346)."""
    x, y = load_diabetes(return_X_y=True)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    return (x - x.mean(0)) / x.std(0), y


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, ...]:
    """The project's stratified digits split, pixels in [0, 1], float64, flattened to 64."""
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")

    def flat(ds):
        return ds.images.reshape(len(ds), -1).double() / 255.0

    return flat(train), train.labels, flat(test), test.labels


def _lstsq(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    a = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    return torch.linalg.lstsq(a, y.unsqueeze(1), driver="gelsd").solution.squeeze(1)


def test_closed_form_and_gradient_descent_agree_with_lstsq(diabetes):
    x, y = diabetes
    reference = _lstsq(x, y)  # [w; b]
    closed = fit_linear_closed_form(x, y)
    gd = fit_linear_gd(x, y, steps=20_000, tol=1e-9)
    for model in (closed, gd):
        torch.testing.assert_close(model.weight, reference[:-1], rtol=0, atol=1e-6)
        torch.testing.assert_close(model.bias, reference[-1], rtol=0, atol=1e-6)
    # GD really descended: the loss falls every step (1/L is a safe step) to the optimum's.
    losses = torch.tensor(gd.losses)
    assert (losses[1:] <= losses[:-1] + 1e-12).all()
    optimum = mean_squared_error(closed.predict(x), y) / 2
    assert losses[-1] == pytest.approx(optimum, rel=1e-10)
    assert 2_000 < len(gd.losses) < 20_000  # stopped on the tolerance, after real work


def test_ridge_matches_scikit_learn(diabetes):
    # Our loss is 1/(2N)||r||² + λ/2||w||²; scikit-learn's ||r||² + α||w||², so α = Nλ.
    x, y = diabetes
    lam = 0.3
    ours = fit_linear_closed_form(x, y, l2=lam)
    theirs = Ridge(alpha=len(x) * lam).fit(x.numpy(), y.numpy())
    torch.testing.assert_close(ours.weight, torch.from_numpy(theirs.coef_), rtol=0, atol=1e-8)
    assert float(ours.bias) == pytest.approx(theirs.intercept_, abs=1e-8)
    gd = fit_linear_gd(x, y, l2=lam, steps=20_000, tol=1e-10)
    torch.testing.assert_close(gd.weight, ours.weight, rtol=0, atol=1e-6)


def test_several_targets_at_once(diabetes):
    x, y = diabetes
    targets = torch.stack([y, 2 * y - 5], dim=1)  # (N, 2)
    model = fit_linear_closed_form(x, targets)
    assert model.weight.shape == (10, 2) and model.bias.shape == (2,)
    torch.testing.assert_close(model.weight[:, 1], 2 * model.weight[:, 0])
    assert float(model.bias[1]) == pytest.approx(2 * float(model.bias[0]) - 5)


def test_hand_gradients_equal_autograd():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(17, 5, generator=g, dtype=torch.float64)
    y = torch.randn(17, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (17,), generator=g)
    lam = 0.05

    w = torch.randn(5, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn((), generator=g, dtype=torch.float64, requires_grad=True)
    loss = ((x @ w + b - y) ** 2).mean() / 2 + lam / 2 * (w**2).sum()
    loss.backward()
    dw, db = linear_gradients(x, y, w.detach(), b.detach(), lam)
    torch.testing.assert_close(dw, w.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(db, b.grad, rtol=1e-10, atol=1e-12)

    W = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    c = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(x @ W + c, labels) + lam / 2 * (W**2).sum()
    loss.backward()
    value, dW, dc = softmax_regression_gradients(x, labels, W.detach(), c.detach(), lam)
    assert value == pytest.approx(float(loss.detach()), rel=1e-12)
    torch.testing.assert_close(dW, W.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(dc, c.grad, rtol=1e-10, atol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = torch.tensor([[1000.0, 0.0], [0.0, -1000.0]], dtype=torch.float64)
    assert cross_entropy(logits, torch.tensor([0, 1])) == pytest.approx(500.0)


def _torch_softmax_regression(x, labels, *, epochs, lr, batch_size, seed, l2):
    """The same model trained by autograd and torch.optim.SGD, replaying the same draws."""
    generator = torch.Generator().manual_seed(seed)
    n, f = x.shape
    W = (0.01 * torch.randn(f, 10, generator=generator, dtype=x.dtype)).requires_grad_(True)
    b = torch.zeros(10, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.SGD([{"params": [W], "weight_decay": l2}, {"params": [b]}], lr=lr)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            opt.zero_grad()
            F.cross_entropy(x[batch] @ W + b, labels[batch]).backward()
            opt.step()
    return W.detach(), b.detach()


@pytest.mark.parametrize("epochs, l2", [(30, 0.0), (5, 1e-3)])
def test_softmax_regression_on_digits_matches_torch(digits, epochs, l2):
    x_train, y_train, x_test, y_test = digits
    settings = {"epochs": epochs, "lr": 0.5, "batch_size": 32, "seed": 0, "l2": l2}
    ours = fit_softmax_regression(x_train, y_train, x_test, y_test, **settings)
    W, b = _torch_softmax_regression(x_train, y_train, **settings)
    torch.testing.assert_close(ours.weight, W, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(ours.bias, b, rtol=1e-9, atol=1e-10)
    assert torch.equal(ours.predict(x_test), (x_test @ W + b).argmax(1))
    assert len(ours.val_accuracy) == epochs
    assert ours.val_accuracy[-1] == accuracy(x_test @ W + b, y_test)
    if epochs == 30:
        assert ours.val_accuracy[-1] > 0.93
        assert ours.train_loss[-1] < ours.train_loss[0]
        probs = ours.predict_proba(x_test)
        torch.testing.assert_close(probs.sum(1), torch.ones(len(x_test), dtype=torch.float64))


def test_accuracy_takes_scores_or_predictions():
    labels = torch.tensor([0, 1, 2, 1])
    scores = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 0.5], [0.0, 1.0, 0.0]])
    assert accuracy(scores, labels) == 0.75
    assert accuracy(torch.tensor([0, 1, 2, 2]), labels) == 0.75
    with pytest.raises(ShapeError, match=r"\(3,\) predictions for \(4,\) labels"):
        accuracy(torch.tensor([0, 1, 2]), labels)


X = torch.zeros(6, 3, dtype=torch.float64)
Y = torch.tensor([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize(
    "build, error, expected",
    [
        (
            lambda: fit_linear_closed_form(torch.zeros(5), torch.zeros(5)),
            ShapeError,
            r"x must be a float tensor \(N, F\).*got \(5,\)",
        ),
        (lambda: fit_linear_gd(X, torch.zeros(4)), ShapeError, r"x has 6 examples but y has 4"),
        (
            lambda: fit_linear_closed_form(torch.ones(6, 2, dtype=torch.float64), torch.zeros(6)),
            ClassicnetsError,
            r"normal equations are singular",
        ),
        (
            lambda: fit_linear_closed_form(X, torch.zeros(6), l2=-1.0),
            ClassicnetsError,
            r"l2 must be >= 0, got -1.0",
        ),
        (lambda: fit_linear_gd(X, torch.zeros(6), lr=0.0), ClassicnetsError, r"lr must be > 0"),
        (
            lambda: fit_softmax_regression(X, Y, epochs=0),
            ClassicnetsError,
            r"epochs must be an integer >= 1, got 0",
        ),
        (
            lambda: fit_softmax_regression(X, Y, batch_size=0),
            ClassicnetsError,
            r"batch_size must be an integer >= 1, got 0",
        ),
        (
            lambda: fit_softmax_regression(X, Y, lr=-0.1),
            ClassicnetsError,
            r"lr must be > 0, got -0.1",
        ),
        (
            lambda: fit_softmax_regression(X, Y, num_classes=2),
            ClassicnetsError,
            r"y_train holds classes 0..2 but there are 2 classes",
        ),
        (lambda: fit_softmax_regression(X, Y.double()), ShapeError, r"y_train must be int64"),
        (
            lambda: fit_softmax_regression(
                X, Y, torch.zeros(2, 4, dtype=torch.float64), torch.tensor([0, 1])
            ),
            ShapeError,
            r"x_val has 4 features but x_train has 3",
        ),
        (lambda: fit_softmax_regression(X, Y, X), ClassicnetsError, r"both x_val and y_val"),
    ],
)
def test_bad_input_raises_one_sentence(build, error, expected):
    with pytest.raises(error, match=expected) as info:
        build()
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message
