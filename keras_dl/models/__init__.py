"""Functional-API builders, one family per file; importing this registers them all."""

from keras_dl.models import (  # noqa: F401  (registration side effect)
    alexnet,
    autoencoders,
    dbn,
    fractalnet,
    googlenet,
    lenet,
    mlp,
    nin,
    resnet,
    squeezenet,
    vgg,
)
from keras_dl.models.dbn import dbn as dbn_builder
from keras_dl.models.dbn import rbm as rbm_builder
from keras_dl.models.googlenet import aux_loss_weights, googlenet_training_model
from keras_dl.models.lenet import lenet5
from keras_dl.models.mlp import mlp as mlp_builder
from keras_dl.models.resnet import cifar_resnet, wide_resnet



def training_model_for(model_name, model):
    """`(training_model, loss_weights)` for a model trained with extra heads, else None.

    GoogLeNet trains with its two auxiliary classifiers weighted 0.3 (Szegedy et al. 2015);
    the returned model shares every weight of `model`, which stays the inference network.
    """
    if model_name == "googlenet":
        return googlenet_training_model(model), aux_loss_weights()
    return None


__all__ = [
    "aux_loss_weights",
    "cifar_resnet",
    "dbn_builder",
    "googlenet_training_model",
    "lenet5",
    "mlp_builder",
    "rbm_builder",
    "training_model_for",
    "wide_resnet",
]
