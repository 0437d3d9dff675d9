"""scikit-learn's 8x8 handwritten digits (UCI "Optical Recognition of Handwritten Digits", 1,797
images of 43 writers): the embedded default dataset, always available offline."""

from __future__ import annotations

import numpy as np
import torch

from ._registry import register_dataset
from .dataset import ImageDataset

TEST_FRACTION = 0.25
SPLIT_SEED = 0


def _split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stratified split with a fixed seed: the same 25 % of each class is the test set."""
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * TEST_FRACTION))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@register_dataset(
    "digits",
    description="scikit-learn's 8x8 handwritten digits, 1,797 real images (embedded, offline)",
    image_shape=(1, 8, 8),
    num_classes=10,
    files=(),
    mirror_safe=False,
)
def load_digits(split: str, root=None) -> ImageDataset:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    # Pixel values are 0..16 counts of set bits in 4x4 blocks; scale to the usual 0..255.
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    train_idx, test_idx = _split_indices(labels)
    scaled = images[train_idx].astype(np.float64) / 255.0
    idx = train_idx if split == "train" else test_idx
    return ImageDataset(
        name="digits",
        split=split,
        images=torch.from_numpy(images[idx]).unsqueeze(1).contiguous(),
        labels=torch.from_numpy(labels[idx]),
        classes=tuple(str(d) for d in range(10)),
        mean=(float(scaled.mean()),),
        std=(float(scaled.std()),),
    )
