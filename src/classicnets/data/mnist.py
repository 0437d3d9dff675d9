"""MNIST (LeCun, Cortes & Burges, 1998) and Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017), read
from the official IDX gz files."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import CorruptFileError
from ._registry import register_dataset
from .dataset import ImageDataset
from .download import RemoteFile, find_files
from .idx import read_idx

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

# md5 sums published with the official files.
_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_FASHION_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
_FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _load_idx_pair(
    name: str,
    split: str,
    root,
    md5: dict[str, str],
    urls: tuple[str, ...],
    classes: tuple[str, ...],
    mean: float,
    std: float,
    extra_dirs: tuple[str, ...] = (),
) -> ImageDataset:
    prefix = "train" if split == "train" else "t10k"
    wanted = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
    remote = [RemoteFile(f, md5[f], tuple(u + f for u in urls)) for f in wanted]
    paths = find_files(name, remote, root=root, extra=extra_dirs)
    images = read_idx(paths[wanted[0]], md5[wanted[0]])
    labels = read_idx(paths[wanted[1]], md5[wanted[1]])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise CorruptFileError(
            f"{paths[wanted[0]]} and {paths[wanted[1]]} do not fit together: images "
            f"{images.shape}, labels {labels.shape}; expected (N, 28, 28) and (N,)."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise CorruptFileError(
            f"{paths[wanted[1]]} holds labels outside 0..{len(classes) - 1}; the file is damaged."
        )
    return ImageDataset(
        name=name,
        split=split,
        images=torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        classes=classes,
        mean=(mean,),
        std=(std,),
    )


@register_dataset(
    "mnist",
    description="MNIST handwritten digits, 60,000 + 10,000 grey 28x28 (LeCun et al. 1998)",
    image_shape=(1, 28, 28),
    num_classes=10,
    files=tuple(_MNIST_MD5),
    mirror_safe=False,
)
def load_mnist(split: str, root=None) -> ImageDataset:
    # Mean and std over the 60,000 training images (the well-known 0.1307 / 0.3081).
    return _load_idx_pair(
        "mnist",
        split,
        root,
        _MNIST_MD5,
        _MNIST_MIRRORS,
        tuple(str(d) for d in range(10)),
        0.1307,
        0.3081,
    )


@register_dataset(
    "fashion-mnist",
    description="Fashion-MNIST, Zalando's article images, 60,000 + 10,000 grey 28x28 "
    "(Xiao et al. 2017)",
    image_shape=(1, 28, 28),
    num_classes=10,
    files=tuple(_FASHION_MD5),
    extra_dirs=("/usr/share/datasets/fashion-mnist",),
)
def load_fashion_mnist(split: str, root=None) -> ImageDataset:
    return _load_idx_pair(
        "fashion-mnist",
        split,
        root,
        _FASHION_MD5,
        (_FASHION_URL,),
        _FASHION_CLASSES,
        0.2860,
        0.3530,
        extra_dirs=("/usr/share/datasets/fashion-mnist",),
    )
