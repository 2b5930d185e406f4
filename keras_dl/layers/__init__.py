"""Custom layers, one concept per file, written with `keras.ops` only (they run on any backend)."""

from keras_dl.layers.activations import ScaledTanh, SlopedSigmoid
from keras_dl.layers.binarize import BinaryCode
from keras_dl.layers.channel_padding import ChannelPadding
from keras_dl.layers.connection_table_conv import LENET5_C3_TABLE, ConnectionTableConv2D
from keras_dl.layers.contractive import ContractiveActivation
from keras_dl.layers.corruption import (
    GaussianCorruption,
    MaskingCorruption,
    SaltAndPepperCorruption,
    corruption_layer,
)
from keras_dl.layers.fractal import FractalJoin, FractalPathSampler
from keras_dl.layers.gradient_reversal import GradientReversal, dann_lambda
from keras_dl.layers.lrn import LocalResponseNormalization
from keras_dl.layers.masked_pooling import MaskedGlobalMaxPooling1D
from keras_dl.layers.maxout import Maxout
from keras_dl.layers.pca_color_jitter import PCAColorJitter, rgb_principal_components
from keras_dl.layers.prototypes import PrototypicalLogits
from keras_dl.layers.random_erasing import RandomErasing
from keras_dl.layers.random_padded_crop import RandomPaddedCrop
from keras_dl.layers.random_perspective import RandomPerspective
from keras_dl.layers.rbm import RBM
from keras_dl.layers.rbm_conv import rbm_to_conv2d
from keras_dl.layers.reconstruction_loss import ReconstructionLoss
from keras_dl.layers.sampling import Sampling
from keras_dl.layers.sparsity import SparsityPenalty
from keras_dl.layers.stochastic_depth import StochasticDepth, linear_survival_probability
from keras_dl.layers.subsampling import Subsampling2D
from keras_dl.layers.tied_dense import TiedDense

__all__ = [
    "BinaryCode",
    "ChannelPadding",
    "ConnectionTableConv2D",
    "ContractiveActivation",
    "FractalJoin",
    "FractalPathSampler",
    "GaussianCorruption",
    "GradientReversal",
    "LENET5_C3_TABLE",
    "LocalResponseNormalization",
    "MaskedGlobalMaxPooling1D",
    "MaskingCorruption",
    "Maxout",
    "PCAColorJitter",
    "PrototypicalLogits",
    "RBM",
    "RandomErasing",
    "RandomPaddedCrop",
    "RandomPerspective",
    "ReconstructionLoss",
    "SaltAndPepperCorruption",
    "Sampling",
    "ScaledTanh",
    "SlopedSigmoid",
    "SparsityPenalty",
    "StochasticDepth",
    "Subsampling2D",
    "TiedDense",
    "corruption_layer",
    "dann_lambda",
    "linear_survival_probability",
    "rbm_to_conv2d",
    "rgb_principal_components",
]
