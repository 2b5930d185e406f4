"""Custom layers, one concept per file, written with `keras.ops` only (they run on any backend)."""

from keras_dl.layers.activations import ScaledTanh, SlopedSigmoid
from keras_dl.layers.binarize import BinaryCode
from keras_dl.layers.contractive import ContractiveActivation
from keras_dl.layers.corruption import (
    GaussianCorruption,
    MaskingCorruption,
    SaltAndPepperCorruption,
    corruption_layer,
)
from keras_dl.layers.reconstruction_loss import ReconstructionLoss
from keras_dl.layers.sampling import Sampling
from keras_dl.layers.tied_dense import TiedDense
from keras_dl.layers.connection_table_conv import LENET5_C3_TABLE, ConnectionTableConv2D
from keras_dl.layers.maxout import Maxout
from keras_dl.layers.sparsity import SparsityPenalty
from keras_dl.layers.subsampling import Subsampling2D

__all__ = [
    "BinaryCode",
    "ConnectionTableConv2D",
    "ContractiveActivation",
    "GaussianCorruption",
    "LENET5_C3_TABLE",
    "MaskingCorruption",
    "Maxout",
    "ReconstructionLoss",
    "SaltAndPepperCorruption",
    "Sampling",
    "ScaledTanh",
    "SlopedSigmoid",
    "SparsityPenalty",
    "Subsampling2D",
    "TiedDense",
    "corruption_layer",
]
