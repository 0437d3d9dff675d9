"""Default training recipes: the optimizer and learning rate each model trains with when the
user names neither (``classicnets train MODEL`` without ``--optimizer``/``--lr``).

The table is data, one row per registered image model. A recipe is a starting point that makes
the model learn within a few epochs at the default batch size of 32 on every image dataset of
the zoo (digits, MNIST, Fashion-MNIST, CIFAR-10), not the paper's full schedule. The user's flags
always win: ``--optimizer`` alone keeps the recipe's rate only when it names the recipe's
optimizer, else that optimizer's general default applies.

Where the numbers come from:

- Dive into Deep Learning (d2l, Zhang et al., chapters 7-8) trains AlexNet and VGG with plain SGD at
  0.01-0.05 and NiN and GoogLeNet at 0.1, but after Xavier initialisation and at batch 128-256;
  our networks keep the papers' (or PyTorch's) initialisation and train at batch 32, where
  momentum SGD at 0.01 (AlexNet's and VGG's papers: momentum 0.9, lr 0.01) is what learns.
- Deep nets without batch norm whose last layers start small (NiN, GoogLeNet, Inception-v4's
  stem-heavy trunk) barely move under SGD in a few epochs; Adam at 1e-3 starts them reliably.
- Batch-norm nets (ResNet, DenseNet, VGG-BN, Inception-BN/v3) take momentum SGD at 0.05, the
  ResNet paper's 0.1 scaled to the smaller batch (0.1 at 256 is ~0.0125 at 32 by the linear
  rule; BN nets tolerate several times more, and 0.05 learns fastest in a few epochs).
- LeNet-5 with sigmoids and average pooling needs a large step (d2l: SGD 0.9); Adam at 1e-2
  gets there in a few epochs, as in ``benchmarks/fashion_lenet.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._registry import model_info


@dataclass(frozen=True)
class Recipe:
    """How a model trains by default.

    Attributes:
        optimizer: a name from :data:`classicnets.train.optim.OPTIMIZERS`.
        lr: the base learning rate.
    """

    optimizer: str
    lr: float


ADAM = Recipe("adam", 1e-3)
ADAM_FAST = Recipe("adam", 3e-3)  # small, shallow nets
SGD_PAPER = Recipe("momentum", 0.01)  # AlexNet's and VGG's papers: momentum 0.9, lr 0.01
SGD_BN = Recipe("momentum", 0.05)  # batch norm: a larger step, see the module docstring

RECIPES: dict[str, Recipe] = {
    "mlp": ADAM_FAST,
    "lenet5": Recipe("adam", 1e-2),  # sigmoids and average pooling need a large step
    "lenet5_relu": ADAM_FAST,
    "alexnet": SGD_PAPER,
    "alexnet_original": SGD_PAPER,
    "zfnet": SGD_PAPER,
    "vgg11": SGD_PAPER,
    "vgg11_lrn": SGD_PAPER,
    "vgg13": SGD_PAPER,
    "vgg16_c": SGD_PAPER,
    "vgg16": SGD_PAPER,
    "vgg19": SGD_PAPER,
    "vgg11_bn": SGD_BN,
    "vgg13_bn": SGD_BN,
    "vgg16_bn": SGD_BN,
    "vgg19_bn": SGD_BN,
    "nin": ADAM,
    "googlenet": ADAM,
    "inception_bn": SGD_BN,
    "inception_v3": SGD_BN,
    "inception_v4": SGD_BN,
    "resnet18": SGD_BN,
    "resnet34": SGD_BN,
    "resnet50": SGD_BN,
    "resnet101": SGD_BN,
    "resnet152": SGD_BN,
    "densenet121": SGD_BN,
    "densenet161": SGD_BN,
    "densenet169": SGD_BN,
    "densenet201": SGD_BN,
}
# A model registered without a row (a user's own) trains with Adam at its usual rate.
FALLBACK = ADAM


def recipe_for(name: str) -> Recipe:
    """The default recipe of a registered model (unknown names raise with suggestions)."""
    model_info(name)
    return RECIPES.get(name, FALLBACK)
