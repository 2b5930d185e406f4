"""Activation functions with a parameter, as layers (so they serialise with the model)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class SlopedSigmoid(keras.layers.Layer):
    """The logistic sigmoid with slope β: `sig(x) = 1 / (1 + exp(-β x))`.

    Lecture 004 ("units and activations"): "β controls the steepness of the slope". β = 1 is
    the standard sigmoid; large β approaches the step function of the perceptron.

    Args:
        beta: the slope β, a positive number.
    """

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(beta, (int, float)) or isinstance(beta, bool) or beta <= 0:
            raise ValueError(f"sigmoid slope beta must be a positive number, got {beta!r}")
        self.beta = float(beta)

    def call(self, inputs):
        return ops.sigmoid(self.beta * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"beta": self.beta})
        return config


@keras.saving.register_keras_serializable(package="keras_dl")
class ScaledTanh(keras.layers.Layer):
    """LeCun's squashing function `f(a) = A tanh(S a)`, with A = 1.7159 and S = 2/3.

    With these constants f(±1) = ±1, the second derivative is largest at ±1, and the gain is
    close to 1 over the normal operating range (LeCun et al. 1998, Appendix A; "Efficient
    BackProp", 1998).

    Args:
        amplitude: A.
        slope: S.

    Reference:
        LeCun, Bottou, Bengio, Haffner. "Gradient-Based Learning Applied to Document
        Recognition", Proc. IEEE 86(11), 1998.
    """

    def __init__(self, amplitude=1.7159, slope=2.0 / 3.0, **kwargs):
        super().__init__(**kwargs)
        self.amplitude = float(amplitude)
        self.slope = float(slope)

    def call(self, inputs):
        return self.amplitude * ops.tanh(self.slope * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"amplitude": self.amplitude, "slope": self.slope})
        return config
