"""Maxout (Goodfellow et al., 2013)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class Maxout(keras.layers.Layer):
    """Maxout: the maximum over groups of linear pieces.

    A maxout unit computes `max(w_1ᵀx + b_1, ..., w_kᵀx + b_k)` (lecture 004: "Maxout
    max(w₁ᵀx + b₁, w₂ᵀx + b₂)"). This layer is the max half of that: it takes the `units × k`
    linear pieces produced by the layer before it (a `Dense(units * k)`, optionally followed by
    batch normalisation) and returns, for each of the `units` outputs, the largest of its `k`
    consecutive pieces. Splitting the linear map from the max lets batch normalisation sit
    between the two, as it does for every other activation.

    Args:
        units: number of maxout units; the size of `axis` in the input must be a multiple of it.
        axis: the feature axis to reduce.

    Example:
    ```python
    x = keras.layers.Dense(64 * 2)(inputs)  # two pieces per unit
    h = keras_dl.layers.Maxout(64)(x)       # shape (batch, 64)
    ```

    Reference:
        Goodfellow, Warde-Farley, Mirza, Courville, Bengio. "Maxout Networks", ICML 2013.
    """

    def __init__(self, units, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Maxout units must be a positive integer, got {units!r}")
        self.units = units
        self.axis = axis

    def build(self, input_shape):
        features = input_shape[self.axis]
        if features is not None and features % self.units:
            raise ValueError(
                f"Maxout({self.units}) needs an input size along axis {self.axis} that is a "
                f"multiple of {self.units}, got {features}"
            )

    def call(self, inputs):
        axis = self.axis % len(inputs.shape)
        pieces = inputs.shape[axis] // self.units
        shape = list(ops.shape(inputs))
        grouped = ops.reshape(inputs, shape[:axis] + [self.units, pieces] + shape[axis + 1 :])
        return ops.max(grouped, axis=axis + 1)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[self.axis] = self.units
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "axis": self.axis})
        return config
