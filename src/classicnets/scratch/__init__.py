"""The course's first lessons computed by hand: activations and their derivatives, layers with
a hand-written backward pass, a network whose ``backward`` computes the δ of every layer
(Algorithm 4.1), the optimizers as their update equations, learning-rate schedules, linear and
softmax regression, and a mini-batch training loop. Torch tensors, no autograd, no
``torch.optim``; the tests hold every piece to torch's answer."""

from .activations import ACTIVATIONS, Activation, get_activation, maxout, maxout_mask
from .conv_layers import Conv2d, Pool2d
from .fit import FitResult, fit
from .gradcheck import check_gradients, numerical_gradients
from .layers import Act, BatchNorm, Dropout, Flatten, Layer, Linear, Maxout
from .losses import MeanSquaredError, SoftmaxCrossEntropy
from .network import Network, mlp, small_cnn
from .optimizers import OPTIMIZERS, make_optimizer
from .regression import fit_linear_closed_form, fit_linear_gd, fit_softmax_regression
from .schedules import SCHEDULES, make_schedule

__all__ = [
    "ACTIVATIONS",
    "OPTIMIZERS",
    "SCHEDULES",
    "Act",
    "Activation",
    "BatchNorm",
    "Conv2d",
    "Dropout",
    "FitResult",
    "Flatten",
    "Layer",
    "Linear",
    "Maxout",
    "MeanSquaredError",
    "Network",
    "Pool2d",
    "SoftmaxCrossEntropy",
    "check_gradients",
    "fit",
    "fit_linear_closed_form",
    "fit_linear_gd",
    "fit_softmax_regression",
    "get_activation",
    "make_optimizer",
    "make_schedule",
    "maxout",
    "maxout_mask",
    "mlp",
    "numerical_gradients",
    "small_cnn",
]
