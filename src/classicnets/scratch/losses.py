"""The two losses a hand-written network ends in, each with the gradient it hands to the last
layer: softmax cross-entropy (the simplified ŷ − y) and mean squared error."""

from __future__ import annotations

import torch

from ..errors import ClassicnetsError, ShapeError

Tensor = torch.Tensor


def _targets(labels: Tensor, outputs: Tensor, loss: str) -> Tensor:
    """Integer labels (N,) as one-hot rows shaped like ``outputs``; float targets as given."""
    labels = torch.as_tensor(labels)
    if labels.shape == outputs.shape and labels.is_floating_point():
        return labels.to(outputs.dtype)
    n, classes = outputs.shape
    if labels.shape != (n,) or labels.is_floating_point():
        raise ShapeError(
            f"{loss} takes integer labels ({n},) or targets {tuple(outputs.shape)}, got "
            f"{labels.dtype} {tuple(labels.shape)}."
        )
    if n and (int(labels.min()) < 0 or int(labels.max()) >= classes):
        raise ClassicnetsError(
            f"{loss}: labels must lie in 0..{classes - 1}, got {int(labels.min())}.."
            f"{int(labels.max())}."
        )
    onehot = torch.zeros_like(outputs)
    onehot[torch.arange(n), labels.long()] = 1.0
    return onehot


class SoftmaxCrossEntropy:
    """Softmax over the logits, then cross-entropy: L = −(1/N) Σ_n Σ_c y_nc log ŷ_nc.

    Its gradient with respect to the logits simplifies to (ŷ − y)/N: the softmax's Jacobian and
    the logarithm's 1/ŷ cancel, which is why the pair is one object here.
    """

    def forward(self, logits: Tensor, labels: Tensor) -> float:
        """The mean loss of the batch; ``labels`` are class indices (N,) or targets (N, C)."""
        if logits.dim() != 2:
            raise ShapeError(
                f"Softmax cross-entropy takes logits (N, C), got {tuple(logits.shape)}."
            )
        self.targets = _targets(labels, logits, "Softmax cross-entropy")  # (N, C)
        shifted = logits - logits.max(dim=1, keepdim=True).values  # e^z would overflow
        log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
        self.probs = torch.exp(log_probs)  # ŷ (N, C)
        return float(-(self.targets * log_probs).sum() / len(logits))

    def backward(self) -> Tensor:
        """∂L/∂logits = (ŷ − y)/N, shape (N, C)."""
        return (self.probs - self.targets) / len(self.probs)


class MeanSquaredError:
    """The mean of (ŷ − y)² over every element, as ``torch.nn.MSELoss()``: gradient 2(ŷ − y)/M
    with M = N·D the number of elements. Integer labels become one-hot targets."""

    def forward(self, outputs: Tensor, targets: Tensor) -> float:
        """The mean squared error of the batch."""
        self.shape = outputs.shape  # the gradient goes back in this shape
        if outputs.dim() == 1:  # one output per example (regression)
            outputs = outputs[:, None]
            targets = torch.as_tensor(targets).reshape(-1, 1).to(outputs.dtype)
        self.diff = outputs - _targets(targets, outputs, "Mean squared error")  # ŷ − y
        return float((self.diff**2).mean())

    def backward(self) -> Tensor:
        """∂L/∂ŷ = 2(ŷ − y)/M."""
        return (2.0 * self.diff / self.diff.numel()).reshape(self.shape)
