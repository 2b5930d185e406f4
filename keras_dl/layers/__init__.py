"""Custom layers, one concept per file, written with `keras.ops` only (they run on any backend)."""

from keras_dl.layers.activations import ScaledTanh, SlopedSigmoid
from keras_dl.layers.connection_table_conv import LENET5_C3_TABLE, ConnectionTableConv2D
from keras_dl.layers.maxout import Maxout
from keras_dl.layers.rbm import RBM
from keras_dl.layers.subsampling import Subsampling2D

__all__ = [
    "ConnectionTableConv2D",
    "LENET5_C3_TABLE",
    "Maxout",
    "RBM",
    "ScaledTanh",
    "SlopedSigmoid",
    "Subsampling2D",
]
