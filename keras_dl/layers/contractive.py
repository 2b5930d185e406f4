"""The contractive penalty λ‖∂h/∂x‖²_F of a dense encoder, exactly: in closed form for one
layer, by propagating the per-example Jacobian through a deeper chain of Dense layers."""

from __future__ import annotations

import keras
from keras import ops

from keras_dl import compat
from keras_dl.layers.tied_dense import find_upstream_layer

# f'(a) from the pre-activation a and the activation h = f(a)
_DERIVATIVES = {
    "sigmoid": lambda a, h: h * (1.0 - h),
    "tanh": lambda a, h: 1.0 - ops.square(h),
    "relu": lambda a, h: ops.cast(a > 0, a.dtype),
    "linear": lambda a, h: ops.ones_like(a),
    "softplus": lambda a, h: ops.sigmoid(a),
}
# f'(a) from the activation h = f(a) alone (a hidden Dense layer's output): softplus
# h = log(1 + eᵃ) gives σ(a) = 1 − e⁻ʰ; relu a > 0 ⇔ h > 0
_OUTPUT_DERIVATIVES = {
    "sigmoid": lambda h: h * (1.0 - h),
    "tanh": lambda h: 1.0 - ops.square(h),
    "relu": lambda h: ops.cast(h > 0, h.dtype),
    "linear": lambda h: ops.ones_like(h),
    "softplus": lambda h: -ops.expm1(-h),
}
ACTIVATIONS = tuple(_DERIVATIVES)


def _producer(tensor):
    """The layer that produced a symbolic tensor, and that layer's input tensor (or Nones)."""
    operation, inputs = compat.producer(tensor)
    return operation, (inputs[0] if len(inputs) == 1 else None)


@keras.saving.register_keras_serializable(package="keras_dl")
class ContractiveActivation(keras.layers.Layer):
    """The code activation `h = f(a)` of a dense encoder, adding `λ‖∂h/∂x‖²_F` as a loss.

    Placed right after the encoder's last `Dense` (linear, `a = h_{L−1} W_L + b_L`).

    One-layer encoder (`hidden=()`, called on `a`): the Jacobian is `J = diag(f'(a)) Wᵀ`, so
    its squared Frobenius norm is, exactly,

        ‖J‖²_F = Σ_j f'(a_j)² Σ_i W_ij²

    (Rifai et al. 2011, equation 3 for the sigmoid, where `f'(a) = h(1 − h)`): one pass over
    W per batch instead of a per-example Jacobian.

    Deep encoder (`hidden` = the Dense layers before `dense`, each with its elementwise
    activation built in; called on `[h_1, …, h_{L−1}, a]`, the hidden layers' outputs and the
    code pre-activation): the Jacobian is exactly `J = D_L W_Lᵀ ⋯ D_1 W_1ᵀ` with
    `D_l = diag(f_l'(a_l))`, read off the outputs (`f'` of sigmoid, tanh, relu, linear and
    softplus is a function of `h = f(a)`). The layer propagates the per-example matrix
    `M_l = D_l W_lᵀ M_{l−1}` (`M_1 = D_1 W_1ᵀ`, shape `(batch, d_l, d_0)`) up the chain and
    sums the squares of `M_L = J`: `O(batch · d_0 · Σ_l d_l d_{l−1})` time and
    `O(batch · d_0 · max_l d_l)` memory, with `d_0` the encoder's input size.

    The added loss is λ times the batch mean of `‖J‖²_F`.
    `keras_dl.evaluation.jacobian_frobenius_norm` computes the same norm by
    automatic differentiation for any encoder (used to check this one).

    Args:
        dense: the encoder's last `keras.layers.Dense` (linear) feeding this layer, or its
            name (resolved upstream of the input when the model is rebuilt).
        activation: the code's f, one of `ACTIVATIONS`.
        weight: λ ≥ 0.
        hidden: the encoder's hidden `Dense` layers (or their names), input side first, each
            applied to the previous one's output and with an activation in `ACTIVATIONS`.

    Example:
    ```python
    dense = keras.layers.Dense(64, name="encoder_dense")
    h = keras_dl.layers.ContractiveActivation(dense, "sigmoid", 0.1)(dense(x))

    hidden = keras.layers.Dense(256, activation="relu", name="hidden")
    h1 = hidden(x)
    h = keras_dl.layers.ContractiveActivation(dense, "sigmoid", 0.1, hidden=[hidden])(
        [h1, dense(h1)])
    ```

    Reference:
        Rifai, Vincent, Muller, Glorot, Bengio. "Contractive Auto-Encoders: Explicit
        Invariance During Feature Extraction", ICML 2011.
    """

    def __init__(self, dense, activation="sigmoid", weight=0.1, hidden=(), **kwargs):
        super().__init__(**kwargs)
        if activation not in _DERIVATIVES:
            raise ValueError(f"ContractiveActivation activation must be one of "
                             f"{', '.join(ACTIVATIONS)}; got {activation!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f"ContractiveActivation weight must be a non-negative number, "
                             f"got {weight!r}")
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise ValueError(f"ContractiveActivation hidden must be a sequence of Dense layers "
                             f"or their names, got {hidden!r}")
        self.activation = activation
        self.weight = float(weight)
        layers = [dense, *hidden]
        for layer in layers:
            if not isinstance(layer, str):
                self._check_dense(layer, hidden=layer is not dense)
        names = [layer if isinstance(layer, str) else layer.name for layer in layers]
        self.dense, self.hidden = names[0], names[1:]
        resolved = None if any(isinstance(layer, str) for layer in layers) else layers
        self._set_layers(resolved)

    def _set_layers(self, layers):
        # not tracked: the kernels belong to the Dense layers (see TiedDense)
        self._encoder_layers = lambda: layers

    @staticmethod
    def _check_dense(layer, hidden=False):
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(f"ContractiveActivation needs a keras.layers.Dense encoder, "
                             f"got {type(layer).__name__} {getattr(layer, 'name', layer)!r}")
        activation = keras.activations.serialize(layer.activation)
        if hidden and activation not in _OUTPUT_DERIVATIVES:
            raise ValueError(f"ContractiveActivation hidden Dense {layer.name!r} activation "
                             f"must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
        if not hidden and activation != "linear":
            raise ValueError(f"ContractiveActivation applies the activation itself: give "
                             f"Dense {layer.name!r} activation=None")

    def __call__(self, inputs, *args, **kwargs):
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(tensors) != len(self.hidden) + 1:
            raise ValueError(
                f"ContractiveActivation {self.name!r} takes "
                + ("the pre-activation of its Dense" if not self.hidden else
                   f"[{len(self.hidden)} hidden outputs, the pre-activation of its Dense]")
                + f", got {len(tensors)} inputs")
        if self._encoder_layers() is None:
            layers = []
            for name in [self.dense, *self.hidden]:
                layer = find_upstream_layer(tensors, name)
                if layer is None:
                    raise ValueError(f"ContractiveActivation {self.name!r} needs the Dense "
                                     f"layer {name!r} upstream of its input")
                self._check_dense(layer, hidden=name != self.dense)
                layers.append(layer)
            self._set_layers(layers)
        self._check_chain(tensors)
        return super().__call__(inputs, *args, **kwargs)

    def _check_chain(self, tensors):
        """Symbolic inputs: `[h_1, …, a]` must be the outputs of `[*hidden, dense]`, a chain."""
        dense, *hidden = self._encoder_layers()
        if compat.producer(tensors[0])[0] is None:  # concrete inputs: no graph to check
            return
        expected = [*hidden, dense]
        for index, (tensor, layer) in enumerate(zip(tensors, expected)):
            producer, layer_input = _producer(tensor)
            previous = expected[index - 1] if index else None
            if producer is not layer or (previous is not None and
                                         _producer(layer_input)[0] is not previous):
                chain = " → ".join(layer.name for layer in expected)
                raise ValueError(f"ContractiveActivation {self.name!r} needs its inputs to be "
                                 f"the outputs of the Dense chain {chain}, each layer applied "
                                 f"to the previous one's output")

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            *hidden_outputs, inputs = inputs
        else:
            hidden_outputs = []
        h = keras.activations.get(self.activation)(inputs)
        if self.weight:
            dense, *hidden = self._encoder_layers()
            derivative = _DERIVATIVES[self.activation](inputs, h)
            if not hidden:
                column_norms = ops.sum(ops.square(dense.kernel), axis=0)
                penalty = ops.sum(ops.square(derivative) * column_norms, axis=-1)
            else:
                penalty = self._chain_penalty(hidden, hidden_outputs, dense, derivative)
            self.add_loss(self.weight * ops.mean(penalty))
        return h

    @staticmethod
    def _chain_penalty(hidden, hidden_outputs, dense, code_derivative):
        """‖D_L W_Lᵀ ⋯ D_1 W_1ᵀ‖²_F per example, by propagating M_l = D_l W_lᵀ M_{l−1}."""
        derivatives = [_OUTPUT_DERIVATIVES[keras.activations.serialize(layer.activation)](h)
                       for layer, h in zip(hidden, hidden_outputs)] + [code_derivative]
        kernels = [layer.kernel for layer in hidden] + [dense.kernel]
        # M_1 = D_1 W_1ᵀ: (batch, d_1, d_0)
        jacobian = derivatives[0][:, :, None] * ops.transpose(kernels[0])[None, :, :]
        for kernel, derivative in zip(kernels[1:], derivatives[1:]):
            jacobian = derivative[:, :, None] * ops.einsum("ji,bjk->bik", kernel, jacobian)
        return ops.sum(ops.square(jacobian), axis=(1, 2))

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and \
                isinstance(input_shape[0], (list, tuple)):
            return tuple(input_shape[-1])
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"dense": self.dense, "activation": self.activation,
                       "weight": self.weight, "hidden": list(self.hidden)})
        return config
