"""Default training recipes: the optimizer and learning rate each model trains with when the
user names neither (``classicnets train MODEL`` without ``--optimizer``/``--lr``).

The table is data, one row per registered image model. A recipe is a starting point that makes
the model learn within a few epochs at the default batch size of 32 on every image dataset of
the zoo (digits, MNIST, Fashion-MNIST, CIFAR-10), not a paper's full schedule. The user's flags
always win: ``--optimizer`` alone keeps the recipe's rate only when it names the recipe's
optimizer, else that optimizer's general default applies.

How the rows were chosen: short runs on digits (5 epochs of the 1,347 training images, or 3
epochs of 320), each model at the recipe's candidates, keeping the one that learned fastest.
Dive into Deep Learning (d2l, chapters 7-8) trains these networks with plain SGD (0.01 to 0.1),
but after Xavier initialisation and at batch 128-256 on a GPU for 10 epochs of 60,000 images;
our networks keep their papers' (or PyTorch's) initialisation, and there SGD barely moved the
deep nets without batch norm in a few hundred updates, while Adam at 1e-3 started every one:

- AlexNet on digits after 5 epochs: Adam 1e-3 0.95, momentum SGD 0.01 0.60 (test accuracy);
  VGG-11 0.87 against 0.17; GoogLeNet 0.46 against 0.10; Inception-BN 0.76 against 0.49.
- ResNet-18 and VGG-11-BN learned fastest with momentum SGD at 0.01 (0.86 and 0.72 after 30
  updates, against 0.79 and 0.23 with Adam): the ResNet paper's 0.1 at batch 256 scaled to
  batch 32 by the linear rule (0.0125). 0.05 was worse for both (0.18 and 0.51).
- DenseNet-121 took Adam better than SGD (0.92 against 0.80 after 30 updates).
- LeNet-5 with sigmoids and average pooling needs a large step (d2l: SGD 0.9); Adam at 1e-2
  reaches 0.91 in 5 epochs, as in ``benchmarks/fashion_lenet.py``.

Not tried one by one: deeper members of a family (VGG-16/19, ResNet-50+, DenseNet-169+,
Inception-v3/v4) take the row of the family member that was.
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


@dataclass(frozen=True)
class Recipe:
    """How a model trains by default.

    Attributes:
        optimizer: a name from :data:`classicnets.train.optim.OPTIMIZERS`.
        lr: the base learning rate.
    """

    optimizer: str
    lr: float


ADAM = Recipe("adam", 1e-3)  # deep nets without batch norm, and Inception/DenseNet
ADAM_FAST = Recipe("adam", 3e-3)  # small, shallow nets (the trainer's general Adam rate)
SGD = Recipe("momentum", 0.01)  # ResNet's paper rate scaled to batch 32; momentum 0.9

RECIPES: dict[str, Recipe] = {
    "mlp": ADAM_FAST,
    "lenet5": Recipe("adam", 1e-2),  # sigmoids and average pooling need a large step
    "lenet5_relu": ADAM_FAST,
    "alexnet": ADAM,
    "alexnet_original": ADAM,
    "zfnet": ADAM,
    "vgg11": ADAM,
    "vgg11_lrn": ADAM,
    "vgg13": ADAM,
    "vgg16_c": ADAM,
    "vgg16": ADAM,
    "vgg19": ADAM,
    "vgg11_bn": SGD,
    "vgg13_bn": SGD,
    "vgg16_bn": SGD,
    "vgg19_bn": SGD,
    "nin": ADAM,
    "googlenet": ADAM,
    "inception_bn": ADAM,
    "inception_v3": ADAM,
    "inception_v4": ADAM,
    "resnet18": SGD,
    "resnet34": SGD,
    "resnet50": SGD,
    "resnet101": SGD,
    "resnet152": SGD,
    "densenet121": ADAM,
    "densenet161": ADAM,
    "densenet169": ADAM,
    "densenet201": ADAM,
    "cifar_fast": SGD,  # 0.97 on digits after 5 epochs (Adam 1e-3: 0.98)
}
# A model registered without a row (a user's own) trains with the table's most common recipe.
FALLBACK = ADAM


def recipe_for(name: str) -> Recipe:
    """The default recipe of a registered model (unknown names raise with suggestions)."""
    model_info(name)
    return RECIPES.get(name, FALLBACK)
