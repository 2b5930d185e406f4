"""Custom layers, one concept per file, written with `keras.ops` only (they run on any backend)."""

from keras_dl.layers.activations import ScaledTanh, SlopedSigmoid
from keras_dl.layers.channel_padding import ChannelPadding
from keras_dl.layers.connection_table_conv import LENET5_C3_TABLE, ConnectionTableConv2D
from keras_dl.layers.fractal import FractalJoin, FractalPathSampler
from keras_dl.layers.lrn import LocalResponseNormalization
from keras_dl.layers.maxout import Maxout
from keras_dl.layers.pca_color_jitter import PCAColorJitter, rgb_principal_components
from keras_dl.layers.stochastic_depth import StochasticDepth, linear_survival_probability
from keras_dl.layers.subsampling import Subsampling2D

__all__ = [
    "ChannelPadding",
    "FractalJoin",
    "FractalPathSampler",
    "LocalResponseNormalization",
    "PCAColorJitter",
    "StochasticDepth",
    "linear_survival_probability",
    "rgb_principal_components",
    "ConnectionTableConv2D",
    "LENET5_C3_TABLE",
    "Maxout",
    "ScaledTanh",
    "SlopedSigmoid",
    "Subsampling2D",
]
