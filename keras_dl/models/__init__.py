"""Functional-API builders, one family per file; importing this registers them all."""

from keras_dl.models import (  # noqa: F401  (registration side effect)
    alexnet,
    fractalnet,
    googlenet,
    lenet,
    mlp,
    nin,
    resnet,
    squeezenet,
    vgg,
)
from keras_dl.models.googlenet import aux_loss_weights, googlenet_training_model
from keras_dl.models.lenet import lenet5
from keras_dl.models.mlp import mlp as mlp_builder
from keras_dl.models.resnet import cifar_resnet, wide_resnet

__all__ = [
    "aux_loss_weights",
    "cifar_resnet",
    "googlenet_training_model",
    "lenet5",
    "mlp_builder",
    "wide_resnet",
]
