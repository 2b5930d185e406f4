"""Tied weights: a decoder that reuses the transpose of its encoder's kernel (W' = Wᵀ)."""

from __future__ import annotations

import keras
from keras import ops

from keras_dl import compat


def _upstream_layers(tensors):
    """The layers that produced `tensors`, and every layer before them, nearest first."""
    seen, order = set(), []
    frontier = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    while frontier:
        operation, inputs = compat.producer(frontier.pop(0))
        if operation is None or id(operation) in seen:
            continue
        seen.add(id(operation))
        order.append(operation)
        frontier.extend(inputs)
    return order


def find_upstream_layer(tensors, name):
    """The layer called `name` that `tensors` depend on in a functional graph, or None."""
    for operation in _upstream_layers(tensors):
        if getattr(operation, "name", None) == name:
            return operation
    return None


@keras.saving.register_keras_serializable(package="keras_dl")
class TiedDense(keras.layers.Layer):
    """A dense decoder tied to an encoder `Dense`: `x̂ = activation(h Wᵀ + b')`.

    Lectures 000 and 002 (autoencoders with tied weights): the encoder computes
    `h = f(W x + b)` and the decoder `x̂ = g(W' h + b')` with `W' = Wᵀ`, so the pair has one
    weight matrix; the decoder keeps its own bias `b'`. The kernel stays a variable of the
    encoder layer only: gradients from both uses add up on it, and it is saved once.

    `tied_to` is the encoder `Dense` layer itself or its name. In a saved model only the name
    is stored; when the layer is rebuilt (`from_config`, `.keras` loading) it finds the layer
    of that name upstream of its input in the functional graph, so a tied autoencoder loads
    tied. (A stand-alone decoder without its encoder upstream cannot be rebuilt from its
    config: save or export the whole autoencoder.)

    Args:
        tied_to: the encoder `keras.layers.Dense` (or its name, resolved upstream at call).
        units: the output size, which must be the encoder's input size; None to take it
            from the encoder (it is recorded in the config, so a saved layer rebuilds before
            it finds its encoder).
        activation: the decoder's activation (e.g. "sigmoid" for inputs in [0, 1]).
        use_bias: add the decoder's own bias `b'`.
        bias_initializer: initializer of `b'`.

    Example:
    ```python
    inputs = keras.Input((784,))
    encoder = keras.layers.Dense(64, activation="sigmoid", name="encoder")
    outputs = keras_dl.layers.TiedDense(encoder, activation="sigmoid")(encoder(inputs))
    ```

    Reference:
        Vincent, Larochelle, Lajoie, Bengio, Manzagol. "Stacked Denoising Autoencoders",
        JMLR 2010 (tied weights, section 2.3); Bengio et al. "Greedy layer-wise training of
        deep networks", NIPS 2007.
    """

    def __init__(self, tied_to, units=None, activation=None, use_bias=True,
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if units is not None and (isinstance(units, bool) or not isinstance(units, int)
                                  or units < 1):
            raise ValueError(f"TiedDense units must be a positive integer or None, got {units!r}")
        self.units = units
        if isinstance(tied_to, str):
            if not tied_to:
                raise ValueError("TiedDense tied_to must be a Dense layer or its name, got ''")
            self.tied_to = tied_to
            self._set_tied(None)
        else:
            self._check_dense(tied_to)
            self.tied_to = tied_to.name
            self._set_tied(tied_to)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _set_tied(self, layer):
        # a plain closure, not an attribute: the encoder's kernel must stay the encoder's
        # variable (tracked, trained and saved once), not become this layer's too
        self._tied_layer = lambda: layer

    @staticmethod
    def _check_dense(layer):
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(
                f"TiedDense must be tied to a keras.layers.Dense layer, got "
                f"{type(layer).__name__} {getattr(layer, 'name', layer)!r}"
            )

    @property
    def tied_layer(self):
        """The encoder `Dense` whose kernel this layer transposes (None until resolved)."""
        return self._tied_layer()

    def __call__(self, inputs, *args, **kwargs):
        if self.tied_layer is None:
            layer = find_upstream_layer(inputs, self.tied_to)
            if layer is None:
                raise ValueError(
                    f"TiedDense {self.name!r} is tied to {self.tied_to!r}, but no layer of "
                    "that name feeds its input; build (or save) the decoder together with its "
                    "encoder"
                )
            self._check_dense(layer)
            self._set_tied(layer)
        self._check_encoder(getattr(inputs, "shape", (None,))[-1])
        return super().__call__(inputs, *args, **kwargs)

    def _check_encoder(self, code_size):
        encoder = self.tied_layer
        if not encoder.built:
            raise ValueError(f"TiedDense needs its encoder {encoder.name!r} built (called) first")
        input_size, encoder_units = encoder.kernel.shape
        if code_size is not None and code_size != encoder_units:
            raise ValueError(
                f"TiedDense {self.name!r} takes the {encoder_units} outputs of "
                f"{encoder.name!r}, got an input of size {code_size}"
            )
        if self.units is None:
            self.units = int(input_size)
        elif self.units != input_size:
            raise ValueError(
                f"TiedDense {self.name!r} has units={self.units}, but its encoder "
                f"{encoder.name!r} takes inputs of size {input_size}"
            )

    def build(self, input_shape):
        if self.units is None:
            self._check_encoder(input_shape[-1])
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,),
                                        initializer=self.bias_initializer)

    def call(self, inputs):
        outputs = ops.matmul(inputs, ops.transpose(self.tied_layer.kernel))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({
            "tied_to": self.tied_to,
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
