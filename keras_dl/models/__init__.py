"""Functional-API builders, one family per file; importing this registers them all."""

from keras_dl.models import (  # noqa: F401  (registration side effect)
    alexnet,
    autoencoders,
    cnn1d,
    conv_autoencoders,
    dann,
    dbn,
    deep_mlp,
    dense_autoencoders,
    fractalnet,
    gan,
    googlenet,
    image_translation,
    lenet,
    mlp,
    multitask,
    nin,
    prototypical,
    resnet,
    rnn,
    seq2seq,
    squeezenet,
    transfer,
    stacked_autoencoders,
    text,
    vae,
    vgg,
    wide_resnets,
    word2vec,
)
from keras_dl.models.dbn import dbn as dbn_builder
from keras_dl.models.dbn import rbm as rbm_builder
from keras_dl.models.googlenet import aux_loss_weights, googlenet_training_model
from keras_dl.models.lenet import lenet5
from keras_dl.models.mlp import mlp as mlp_builder
from keras_dl.models.resnet import cifar_resnet
from keras_dl.models.wide_resnets import wide_resnet


__all__ = [
    "aux_loss_weights",
    "cifar_resnet",
    "dbn_builder",
    "googlenet_training_model",
    "lenet5",
    "mlp_builder",
    "rbm_builder",
    "wide_resnet",
]
