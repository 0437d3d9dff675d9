"""The recipe table: one row per (model or family, data family), each with the command that
measured it (see :mod:`.recipes` for how a row is looked up).

Rows for a data family were measured by ``benchmarks/recipes.py``: every candidate of a grid
trained through the run pipeline, the fastest one within one standard error of the best
validation accuracy kept (its JSON, with every candidate and their test accuracies, never
looked at to choose, is in ``benchmarks/results/recipes/``), on the machine its JSON names.
Measured on a 2-core AMD EPYC with AVX512-BF16, precision auto (bfloat16), 2026-12-01.

The big CNNs' rows for MNIST and Fashion-MNIST are one candidate each, measured by the zoo's
seven-minute runs on Fashion-MNIST (``benchmarks/results/zoo_fashion_mnist.json``): one-cycle,
the first zoo's optimizer and rate, and the batch that trained most images per second on this
CPU at 28 px (AlexNet 96, VGG 32): 128 where it ran 2-2.5x faster than 32 (AlexNet, VGG,
GoogLeNet), else 32 (NiN, DenseNet) or 64 (ResNet), for more updates in the same time.

Rows for ``any`` data are the first zoo's: short runs on digits (5 epochs of the 1,347
training images, or 3 epochs of 320), each model at a few candidates at batch 32, keeping the
one that learned fastest. Dive into Deep Learning (d2l, chapters 7-8) trains these networks
with plain SGD (0.01 to 0.1), but after Xavier initialisation and at batch 128-256 on a GPU for
10 epochs of 60,000 images; our networks keep their papers' (or PyTorch's) initialisation, and
there SGD barely moved the deep nets without batch norm in a few hundred updates, while Adam at
1e-3 started every one:

- AlexNet on digits after 5 epochs: Adam 1e-3 0.95, momentum SGD 0.01 0.60 (test accuracy);
  VGG-11 0.87 against 0.17; GoogLeNet 0.46 against 0.10; Inception-BN 0.76 against 0.49.
- ResNet-18 and VGG-11-BN learned fastest with momentum SGD at 0.01 (0.86 and 0.72 after 30
  updates, against 0.79 and 0.23 with Adam): the ResNet paper's 0.1 at batch 256 scaled to
  batch 32 by the linear rule (0.0125). 0.05 was worse for both (0.18 and 0.51).
- DenseNet-121 took Adam better than SGD (0.92 against 0.80 after 30 updates).
- LeNet-5 with sigmoids and average pooling needs a large step (d2l: SGD 0.9).

Not tried one by one: deeper members of a family (VGG-16/19, ResNet-50+, DenseNet-169+,
Inception-v3/v4) take the row of the family member that was.

Rows for ``any`` data of the second zoo's families (LeNet-1998, ResNet-CIFAR, PreAct-ResNet,
SqueezeNet, MobileNet, ShuffleNet, GhostNet, EfficientNet, Darknet, Xception, Inception-ResNet)
were measured by ``benchmarks/recipes.py`` on digits: the family's first member, three
candidates (Adam 1e-3 and 3e-3, momentum SGD 0.05), one cycle over 5 epochs at batch 32, the
fastest within one standard error of the best validation accuracy kept (on 136 validation
images a standard error is about 2 points), on a 2-core Intel Xeon with AMX, 2026-12-01. Their
epochs are the table's usual 10: five epochs of 1,347 images say nothing of how long a larger
dataset wants.

Rows for ``seq2seq`` (an encoder-decoder's tasks) and ``tagging`` (a tagger's corpora) are the
settings of ``benchmarks/seq2seq.py`` and ``benchmarks/tagger.py``, one candidate each, chosen
by the short probes their docstrings describe; what a recipe does not hold (the model's widths,
warm-up) is in the row's found text.
"""

from __future__ import annotations

from .recipes import Recipe

DIGITS = "short runs on digits at batch 32 (runs/recipe_table.py's docstring)"
ZOO = "python benchmarks/zoo_fashion_mnist.py --seconds 420 --onecycle --fresh"
GRID = "python benchmarks/recipes.py --model {} --data {} --optimizers adam --lrs {} " + (
    "--batch-sizes {} --epochs {} --schedules onecycle"
)

FAMILY = (
    "python benchmarks/recipes.py --model {} --data digits --pairs adam:1e-3,adam:3e-3,"
    "momentum:0.05 --batch-sizes 32 --epochs 5 --schedules onecycle"
)


def _family(model: str, optimizer: str, lr: float, found: str) -> Recipe:
    """A second-zoo family's row for any data: FAMILY's winner on ``model``, the family's first
    member, at FAMILY's batch and schedule, for the table's usual 10 epochs."""
    return Recipe(
        optimizer, lr, 32, "onecycle", 10, measured=FAMILY.format(model), found=f"{model}: {found}"
    )


ADAM = Recipe("adam", 1e-3, measured=DIGITS)  # deep nets without batch norm, Inception, DenseNet
ADAM_FAST = Recipe("adam", 3e-3, measured=DIGITS)  # small, shallow nets
SGD = Recipe("momentum", 0.01, measured=DIGITS)  # ResNet's paper rate scaled to batch 32

RECIPES: dict[tuple[str, str], Recipe] = {
    # ---- any data: the first zoo's rows
    ("MLP", "any"): ADAM_FAST,
    ("lenet5", "any"): Recipe("adam", 1e-2, measured=DIGITS),  # sigmoids need a large step
    ("lenet5_relu", "any"): ADAM_FAST,
    ("AlexNet", "any"): ADAM,
    ("VGG", "any"): ADAM,
    ("vgg11_bn", "any"): SGD,
    ("vgg13_bn", "any"): SGD,
    ("vgg16_bn", "any"): SGD,
    ("vgg19_bn", "any"): SGD,
    ("NiN", "any"): ADAM,
    ("GoogLeNet", "any"): ADAM,
    ("ResNet", "any"): SGD,
    ("DenseNet", "any"): ADAM,
    ("cifar_fast", "any"): Recipe("momentum", 0.01, measured=DIGITS, found="0.97 on digits"),
    ("ViT", "any"): Recipe(  # DeiT's from-scratch settings
        "adamw", 1e-3, 128, "onecycle", 3, weight_decay=0.05, label_smoothing=0.1,
        measured="python benchmarks/vit.py --epochs 3 --augment none",
        found="vit_tiny on MNIST: test 96.88 % after 3 epochs, 97.71 % after 6 (1,241 s)",
    ),
    # ---- any data: the second zoo's families (FAMILY: three candidates on digits each)
    ("lenet5_1998", "any"): _family(
        "lenet5_1998", "adam", 3e-3, "validation 0.949 after 5 epochs of digits in 3 s "
        "(adam 1e-3 0.897, momentum 0.05 0.103)",
    ),
    ("ResNet-CIFAR", "any"): _family(
        "resnet20", "momentum", 0.05, "validation 0.985 after 5 epochs of digits in 5 s "
        "(adam 1e-3 0.971, adam 3e-3 0.985)",
    ),
    ("PreAct-ResNet", "any"): _family(
        "preact_resnet18", "momentum", 0.05, "validation 0.985 after 5 epochs of digits in 30 s "
        "(adam 1e-3 0.978, adam 3e-3 0.993)",
    ),
    ("SqueezeNet", "any"): _family(
        "squeezenet1_1", "adam", 1e-3, "validation 0.691 after 5 epochs of digits in 11 s "
        "(adam 3e-3 0.103, momentum 0.05 0.096)",
    ),
    ("MobileNet", "any"): _family(
        "mobilenet_v2", "adam", 3e-3, "validation 0.956 after 5 epochs of digits in 36 s "
        "(adam 1e-3 0.897, momentum 0.05 0.926)",
    ),
    ("ShuffleNet", "any"): _family(
        "shufflenet_v2_x1_0", "momentum", 0.05, "validation 0.956 after 5 epochs of digits in 25 s "
        "(adam 1e-3 0.846, adam 3e-3 0.963)",
    ),
    ("GhostNet", "any"): _family(
        "ghostnet", "momentum", 0.05, "validation 0.985 after 5 epochs of digits in 45 s "
        "(adam 1e-3 0.971, adam 3e-3 0.971)",
    ),
    ("EfficientNet", "any"): _family(
        "efficientnet_b0", "adam", 3e-3, "validation 0.971 after 5 epochs of digits "
        "(adam 1e-3 0.919, momentum 0.05 0.154)",
    ),
    ("Darknet", "any"): _family(
        "darknet19", "adam", 3e-3, "validation 0.963 after 5 epochs of digits in 68 s "
        "(adam 1e-3 0.956, momentum 0.05 0.390)",
    ),
    ("Xception", "any"): _family(
        "xception", "momentum", 0.05, "validation 0.971 after 5 epochs of digits in 100 s "
        "(adam 1e-3 0.978, adam 3e-3 0.978)",
    ),
    ("Inception-ResNet", "any"): _family(
        "inception_resnet_v1", "adam", 3e-3, "validation 0.993 after 5 epochs of digits in 113 s "
        "(adam 1e-3 0.978, momentum 0.05 0.963)",
    ),
    # ---- the courses' Keras listings: their own recipes, as printed
    ("lenet5_keras", "any"): Recipe(
        "sgd", 0.01, 64, "constant", 50,
        measured="the seed course's Keras listing: SGD 0.01, batch 64, 50 epochs, float32",
        found="course: train 0.9939 / test 0.9852 on MNIST (reproduce --full: 0.9926 / 0.9861)",
    ),
    ("keras_cnn", "any"): Recipe(
        "adam", 1e-3, 100, "constant", 20,
        measured="Hung-yi Lee's 'CNN in Keras 2.0' run: Adam, batch 100, 20 epochs",
        found="course: train 1.0 / test 0.98 on the first 10,000 MNIST images "
        "(reproduce --full: 1.0 / 0.9828)",
    ),
    # ---- MNIST and Fashion-MNIST (measured on MNIST: 27 or 12 candidates each)
    ("lenet5_relu", "mnist"): Recipe(
        "adam", 1e-2, 256, "onecycle", 4,
        measured=GRID.format("lenet5_relu", "mnist", "1e-3,3e-3,1e-2", "64,128,256", "2,3,4"),
        found="validation 98.82 % in 5.9 s, within a standard error of the best, 98.92 %",
    ),
    ("lenet5", "mnist"): Recipe(
        "adam", 3e-2, 128, "onecycle", 5,
        measured=GRID.format("lenet5", "mnist", "3e-3,1e-2,3e-2", "64,128,256", "3,5,8"),
        found="validation 98.60 % in 10.3 s, within a standard error of the best, 98.73 %",
    ),
    ("MLP", "mnist"): Recipe(
        "adam", 1e-2, 256, "onecycle", 5,
        measured=GRID.format("mlp", "mnist", "1e-3,3e-3,1e-2", "128,256", "3,5"),
        found="validation 97.83 % in 2.0 s, the best of 12 candidates",
    ),
    ("ViT", "mnist"): Recipe(  # DeiT's settings, and shifts: without them it overfits
        "adamw", 1e-3, 128, "onecycle", 10, weight_decay=0.05, label_smoothing=0.1,
        augment="crop:2", measured="python benchmarks/vit.py",
        found="vit_tiny on MNIST: validation 98.73 %, test 99.21 % after 10 epochs",
    ),
    # ---- the big CNNs on Fashion-MNIST: one candidate each, batch by measured images/s
    ("AlexNet", "mnist"): Recipe(
        "adam", 1e-3, 128, "onecycle", 10, measured=ZOO,
        found="alexnet: validation 0.915, test 0.911 after 4.2 epochs in 7 min",
    ),
    ("VGG", "mnist"): Recipe(
        "adam", 1e-3, 128, "onecycle", 10, measured=ZOO,
        found="vgg11: validation 0.920, test 0.921 after 3.1 epochs in 7 min",
    ),
    ("NiN", "mnist"): Recipe(
        "adam", 1e-3, 32, "onecycle", 10, measured=ZOO,
        found="nin: validation 0.912, test 0.912 after 4.5 epochs in 7 min",
    ),
    ("GoogLeNet", "mnist"): Recipe(
        "adam", 1e-3, 128, "onecycle", 10, measured=ZOO,
        found="googlenet: validation 0.904, test 0.899 after 6.5 epochs in 7 min",
    ),
    ("ResNet", "mnist"): Recipe(
        "momentum", 0.025, 64, "onecycle", 10, measured=ZOO,
        found="resnet18: validation 0.924, test 0.924 after 2.0 epochs in 7 min",
    ),
    ("DenseNet", "mnist"): Recipe(
        "adam", 1e-3, 32, "onecycle", 10, measured=ZOO,
        found="densenet121: validation 0.918, test 0.918 after 0.8 epochs in 7 min",
    ),
    # ---- CIFAR-10 and CIFAR-100
    ("cifar_fast", "cifar"): Recipe(
        "nesterov", 0.2, 256, "onecycle", 14, weight_decay=5e-4, label_smoothing=0.2,
        augment="crop,altflip", measured="python benchmarks/cifar10.py --epochs 14",
        found="89.7 % test with flip TTA in 302 s",
    ),
    ("ResNet", "cifar"): Recipe(
        "momentum", 0.05, 128, "onecycle", 4, weight_decay=5e-4, augment="crop,flip",
        measured="python benchmarks/cifar10.py --course",
        found="ResNet-18: validation 0.825, test 0.824 after 4 epochs",
    ),
    ("VGG", "cifar"): Recipe(
        "momentum", 0.05, 128, "onecycle", 4, weight_decay=5e-4, augment="crop,flip",
        measured="python benchmarks/cifar10.py --course",
        found="VGG-11: validation 0.696, test 0.688 after 4 epochs",
    ),
    ("ResNet-CIFAR", "cifar"): Recipe(
        "momentum", 0.1, 128, "onecycle", 3, weight_decay=1e-4, augment="crop,flip",
        measured="python benchmarks/degradation.py",
        found="resnet20: validation 0.744, test 0.7395 after 3 epochs (the paper's SGD)",
    ),
    # ---- text
    ("RNN", "text"): Recipe(
        "adam", 3e-3, 32, "constant", 10,
        measured="python benchmarks/char_lstm.py --threads 2",
        found="char_lstm 2 x 256: validation 1.52 nats/char after 30 s",
    ),
    ("Transformer", "text"): Recipe(
        "adam", 2e-3, 32, "cosine", 5,
        measured="python benchmarks/char_lstm.py --threads 2",
        found="char_transformer 4 x 192: validation 1.60 nats/char after 75 s",
    ),
    # ---- sequence to sequence: the digit tasks and dates (the rows of benchmarks/seq2seq.py)
    ("transformer_seq2seq", "seq2seq"): Recipe(
        "adam", 2e-3, 32, "cosine", 12, label_smoothing=0.1,
        measured="python benchmarks/seq2seq.py --only transformer_reverse lstm_reverse",
        found="d_model 64, no dropout, 500 warm-up updates: reverse, 100 % validation and test "
        "exact match after 9 epochs (169 s)",
    ),
    ("lstm_seq2seq", "seq2seq"): Recipe(  # 3 epochs: room for tasks harder than reversal
        "adam", 3e-3, 64, "constant", 3, label_smoothing=0.1,
        measured="python benchmarks/seq2seq.py --only transformer_reverse lstm_reverse",
        found="Bahdanau attention: reverse, 99.5 % test exact match after 1 epoch (89 s)",
    ),
    # ---- tagging: the Turkish Web Treebank's parts of speech, the models' own sizes
    ("bilstm_tagger", "tagging"): Recipe(
        "adam", 0.01, 32, "constant", 8, measured="python benchmarks/tagger.py",
        found="twt: 92.4 % test accuracy, macro F1 0.739 after 8 epochs (201 s)",
    ),
    ("bilstm_crf_tagger", "tagging"): Recipe(
        "adam", 0.01, 32, "constant", 8, measured="python benchmarks/tagger.py",
        found="twt: 92.5 % test accuracy, macro F1 0.740 after 8 epochs (181 s)",
    ),
    # ---- masked language models: pre-training on tinyshakespeare and Alice by character
    ("BERT", "mlm"): Recipe(
        "adamw", 1e-3, 16, "constant", 1, weight_decay=0.01,
        measured="python benchmarks/bert_mini.py",
        found="bert_mini: 22.9 % held-out MLM accuracy after 418 steps (240 CPU s); which "
        "book 88.6 % fine-tuned vs 89.1 % from scratch (60 CPU s each)",
    ),
}  # fmt: skip

# A model of a family without any row (a user's own) trains with the table's most common row.
FALLBACK = ADAM
