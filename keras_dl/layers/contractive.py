"""The contractive penalty λ‖∂h/∂x‖²_F of a dense encoder, in closed form."""

from __future__ import annotations

import keras
from keras import ops

from keras_dl.layers.tied_dense import find_upstream_layer

# f'(a) from the pre-activation a and the activation h = f(a)
_DERIVATIVES = {
    "sigmoid": lambda a, h: h * (1.0 - h),
    "tanh": lambda a, h: 1.0 - ops.square(h),
    "relu": lambda a, h: ops.cast(a > 0, a.dtype),
    "linear": lambda a, h: ops.ones_like(a),
    "softplus": lambda a, h: ops.sigmoid(a),
}
ACTIVATIONS = tuple(_DERIVATIVES)


@keras.saving.register_keras_serializable(package="keras_dl")
class ContractiveActivation(keras.layers.Layer):
    """The activation `h = f(a)` of a dense encoder, adding `λ‖J‖²_F` as a loss.

    Placed right after the encoder's `Dense` (linear, `a = xW + b`). The encoder Jacobian is
    `J = ∂h/∂x = diag(f'(a)) Wᵀ`, so its squared Frobenius norm is, exactly,

        ‖J‖²_F = Σ_j f'(a_j)² Σ_i W_ij²

    (Rifai et al. 2011, equation 3 for the sigmoid, where `f'(a) = h(1 − h)`). It costs one
    pass over W per batch instead of a per-example Jacobian. The added loss is λ times its
    batch mean. The derivative is known in closed form for "sigmoid", "tanh", "relu",
    "linear" and "softplus"; `keras_dl.training.autoencoders.jacobian_frobenius_norm` computes
    the same norm by automatic differentiation for any encoder (used to check this one).

    Args:
        dense: the encoder `keras.layers.Dense` (linear) feeding this layer, or its name
            (resolved upstream of the input when the model is rebuilt).
        activation: f, one of `ACTIVATIONS`.
        weight: λ ≥ 0.

    Example:
    ```python
    dense = keras.layers.Dense(64, name="encoder_dense")
    h = keras_dl.layers.ContractiveActivation(dense, "sigmoid", 0.1)(dense(x))
    ```

    Reference:
        Rifai, Vincent, Muller, Glorot, Bengio. "Contractive Auto-Encoders: Explicit
        Invariance During Feature Extraction", ICML 2011.
    """

    def __init__(self, dense, activation="sigmoid", weight=0.1, **kwargs):
        super().__init__(**kwargs)
        if activation not in _DERIVATIVES:
            raise ValueError(f"ContractiveActivation activation must be one of "
                             f"{', '.join(ACTIVATIONS)}; got {activation!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f"ContractiveActivation weight must be a non-negative number, "
                             f"got {weight!r}")
        self.activation = activation
        self.weight = float(weight)
        if isinstance(dense, str):
            self.dense = dense
            self._set_dense(None)
        else:
            self._check_dense(dense)
            self.dense = dense.name
            self._set_dense(dense)

    def _set_dense(self, layer):
        # not tracked: the kernel belongs to the Dense layer (see TiedDense)
        object.__setattr__(self, "_dense_layer", lambda: layer)

    @staticmethod
    def _check_dense(layer):
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(f"ContractiveActivation needs a keras.layers.Dense encoder, got "
                             f"{type(layer).__name__} {getattr(layer, 'name', layer)!r}")
        if keras.activations.serialize(layer.activation) not in ("linear", None) and \
                layer.activation is not keras.activations.linear:
            raise ValueError(f"ContractiveActivation applies the activation itself: give "
                             f"Dense {layer.name!r} activation=None")

    def __call__(self, inputs, *args, **kwargs):
        if self._dense_layer() is None:
            layer = find_upstream_layer(inputs, self.dense)
            if layer is None:
                raise ValueError(f"ContractiveActivation {self.name!r} needs the Dense layer "
                                 f"{self.dense!r} upstream of its input")
            self._check_dense(layer)
            self._set_dense(layer)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs):
        h = keras.activations.get(self.activation)(inputs)
        if self.weight:
            derivative = _DERIVATIVES[self.activation](inputs, h)
            column_norms = ops.sum(ops.square(self._dense_layer().kernel), axis=0)
            penalty = ops.sum(ops.square(derivative) * column_norms, axis=-1)
            self.add_loss(self.weight * ops.mean(penalty))
        return h

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"dense": self.dense, "activation": self.activation,
                       "weight": self.weight})
        return config
