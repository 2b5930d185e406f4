"""Per-layer statistics of a network: activations, gradient norms, weight norms and update ratios.

Lecture 004 (initialisation, units) and lecture 001 (optimisation) diagnose training by looking
inside the network: activations that collapse towards zero or saturate at a sigmoid's or a tanh's
bounds (Glorot & Bengio 2010), ReLU units that never fire for any input ("dead" units), gradients
that shrink layer after layer, and updates whose size relative to the weights is far from the
rule of thumb ‖ΔW‖/‖W‖ ≈ 1e-3 (CS231n). These are plain functions of a model and a batch; the
callbacks in `keras_dl.training.probes` record them over training.

Conventions:
- a layer's *output* is what the layer returns in inference mode (`training=False`), so a Dense
  layer with `activation="tanh"` is measured after its tanh;
- *saturated*: the share of output values (units × examples × positions) within
  `saturation_margin` (0.02: 2 %) times the bound's magnitude of a bound: 0 or 1 for a
  sigmoid (keras_dl's SlopedSigmoid included), −1 or +1 for a tanh, ±A for LeCun's
  ScaledTanh; `None` for any other activation;
- *dead*: the share of units (the last axis: a Dense unit or a convolution's channel) whose output
  is exactly zero for every example (and every position) of the batch; `None` unless the
  activation is ReLU (or ReLU6, or a `ReLU` layer with no negative slope);
- norms are Frobenius (L2 over every entry) norms of a layer's `kernel`.

Layering: uses Keras and TensorFlow only (evaluation never imports `training`).
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl.layers.activations import ScaledTanh, SlopedSigmoid

SATURATING = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
RELU_NAMES = ("relu", "relu6")
# weightless layers that are an activation function, probed by default like Activation layers
ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU,
                     keras.layers.ELU, keras.layers.Softmax, SlopedSigmoid, ScaledTanh)
# activation layers without an `activation` attribute: the function each one computes
_LAYER_ACTIVATIONS = ((keras.layers.LeakyReLU, "leaky_relu"), (keras.layers.ELU, "elu"),
                      (keras.layers.Softmax, "softmax"), (SlopedSigmoid, "sigmoid"),
                      (ScaledTanh, "scaled_tanh"))


def default_layer_names(model) -> list[str]:
    """The layers probed by default: every layer with weights, in model order, plus every
    activation layer (`ACTIVATION_LAYERS`: Keras' Activation, ReLU, ..., keras_dl's
    SlopedSigmoid and ScaledTanh); the input layer excluded."""
    return [layer.name for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)
            and (layer.weights or isinstance(layer, ACTIVATION_LAYERS))]


def kernel_layer_names(model) -> list[str]:
    """The layers that have a `kernel` (Dense, convolutions, ...), in model order."""
    return [layer.name for layer in model.layers if _kernel(layer) is not None]


def check_layer_names(model, names, allowed=None) -> list[str]:
    """`names` as a list, or ValueError (one line) naming the first unknown layer and the
    layers allowed (`allowed`, default: every layer of the model)."""
    if allowed is None:
        allowed = [layer.name for layer in model.layers
                   if not isinstance(layer, keras.layers.InputLayer)]
    allowed = list(allowed)
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in allowed:
            raise ValueError(f"no layer {name!r} to probe in model {model.name!r}; "
                             f"layers allowed: {', '.join(allowed) or '(none)'}")
    return names


def layer_outputs(model, x, layers=None) -> dict[str, np.ndarray]:
    """The outputs of the named layers (default: `default_layer_names`) for the batch `x`, in
    inference mode, as NumPy arrays keyed by layer name (in the order asked)."""
    names = default_layer_names(model) if layers is None else check_layer_names(model, layers)
    if not names:
        return {}
    extractor = output_extractor(model, names)
    outputs = extractor(x, training=False)
    if len(names) == 1 and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return {name: np.asarray(keras.ops.convert_to_numpy(out))
            for name, out in zip(names, outputs)}


def output_extractor(model, names) -> keras.Model:
    """A functional model from `model`'s inputs to the outputs of the layers `names`; build it
    once and call it often (the probes do)."""
    if not getattr(model, "inputs", None):
        raise ValueError(f"model {model.name!r} has no symbolic inputs; layer statistics need "
                         "a functional or Sequential model built on an Input")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, [model.get_layer(name).output for name in names],
                       name=f"{model.name}_probe")


def activation_name(layer) -> str | None:
    """The name of `layer`'s activation ("relu", "tanh", ...), from its `activation` attribute
    (Dense, Conv, Activation layers) or its class (a `ReLU` layer without negative slope or
    threshold is "relu"; keras_dl's SlopedSigmoid is a "sigmoid" whatever its slope, and
    ScaledTanh a "scaled_tanh"); None when the layer has none."""
    if isinstance(layer, keras.layers.ReLU):
        plain = (not layer.negative_slope and not layer.threshold)
        return "relu" if plain else "leaky_relu"
    for kind, name in _LAYER_ACTIVATIONS:
        if isinstance(layer, kind):
            return name
    function = getattr(layer, "activation", None)
    if function is None:
        return None
    if isinstance(function, str):
        return function
    return getattr(function, "__name__", type(function).__name__).lower()


def saturation_bounds(layer) -> tuple[float, float] | None:
    """The bounds a saturating layer's output approaches: (0, 1) for a sigmoid, (−1, 1) for a
    tanh, (−A, A) for a ScaledTanh of amplitude A; None for any other layer."""
    if isinstance(layer, ScaledTanh):
        return (-layer.amplitude, layer.amplitude)
    return SATURATING.get(activation_name(layer))


def output_statistics(values, activation=None, saturation_margin=0.02, bounds=None) -> dict:
    """`mean`, `std`, `saturated`, `dead` and `dead_units` of one layer's output `values`
    (examples on the first axis, units on the last) for a layer whose activation is named
    `activation`; `bounds`, the saturation bounds (default: those of a sigmoid or tanh
    `activation`); see the module docstring for the definitions."""
    values = np.asarray(values, dtype=np.float64)
    stats = {"mean": float(values.mean()), "std": float(values.std()),
             "saturated": None, "dead": None, "dead_units": None}
    bounds = SATURATING.get(activation) if bounds is None else bounds
    if bounds is not None:
        low, high = bounds
        margin = saturation_margin * max(abs(low), abs(high))
        near = (values <= low + margin) | (values >= high - margin)
        stats["saturated"] = float(near.mean())
    if activation in RELU_NAMES:
        per_unit = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values[:, None]
        dead = np.all(per_unit == 0.0, axis=0)
        stats["dead_units"] = int(dead.sum())
        stats["dead"] = float(dead.mean())
    return stats


def activation_statistics(model, x, layers=None, saturation_margin=0.02) -> dict[str, dict]:
    """Per layer (default: `default_layer_names`): the statistics of its output on the batch
    `x` (`output_statistics`), keyed by layer name."""
    outputs = layer_outputs(model, x, layers)
    return {name: layer_output_statistics(model.get_layer(name), values, saturation_margin)
            for name, values in outputs.items()}


def layer_output_statistics(layer, values, saturation_margin=0.02) -> dict:
    """`output_statistics` of `values`, the output of `layer`, with the layer's activation."""
    return output_statistics(values, activation_name(layer), saturation_margin,
                             saturation_bounds(layer))


def _kernel(layer):
    kernel = getattr(layer, "kernel", None)
    return kernel if isinstance(kernel, keras.Variable) else None


def _kernel_layers(model, layers=None):
    allowed = kernel_layer_names(model)
    names = allowed if layers is None else check_layer_names(model, layers, allowed)
    return [(name, model.get_layer(name)) for name in names]


def default_loss(model):
    """The loss `gradient_norms` uses: the compiled one (with the model's added losses) when
    the model is compiled, otherwise sparse categorical cross-entropy (from logits when the
    output layer's activation is linear)."""
    if getattr(model, "_compile_loss", None) is not None:
        return lambda x, y, y_pred: model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
    output_activation = activation_name(model.layers[-1]) if model.layers else None
    loss = keras.losses.SparseCategoricalCrossentropy(
        from_logits=output_activation in (None, "linear"))
    return lambda x, y, y_pred: loss(y, y_pred)


def gradient_norms(model, x, y, loss_fn=None, layers=None, training=False) -> dict[str, float]:
    """The L2 norm of the gradient of the loss on `(x, y)` with respect to each layer's kernel
    (layers without a kernel skipped), from one `tf.GradientTape` pass.

    `loss_fn(y_true, y_pred)` defaults to `default_loss(model)` (the compiled loss; sparse
    labels). The forward pass runs with `training=False` by default, so that the probe changes
    nothing (batch normalisation's moving statistics) and draws no dropout noise.
    """
    import tensorflow as tf

    chosen = _kernel_layers(model, layers)
    loss = default_loss(model) if loss_fn is None else (lambda _x, t, p: loss_fn(t, p))
    kernels = [_kernel(layer) for _, layer in chosen]
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for kernel in kernels:
            tape.watch(kernel.value)
        value = loss(x, y, model(x, training=training))
    gradients = tape.gradient(value, [kernel.value for kernel in kernels])
    return {name: 0.0 if grad is None else float(tf.norm(tf.cast(grad, tf.float64)))
            for (name, _), grad in zip(chosen, gradients)}


def kernel_snapshot(model, layers=None) -> dict[str, np.ndarray]:
    """Copies of the kernels of the layers that have one, keyed by layer name."""
    return {name: np.array(keras.ops.convert_to_numpy(_kernel(layer)), dtype=np.float64)
            for name, layer in _kernel_layers(model, layers)}


def weight_norms(model, layers=None) -> dict[str, float]:
    """The Frobenius norm ‖W‖ of each layer's kernel, keyed by layer name."""
    return {name: float(np.linalg.norm(kernel))
            for name, kernel in kernel_snapshot(model, layers).items()}


def update_ratios(before: dict, after: dict) -> dict[str, float]:
    """‖W_after − W_before‖ / ‖W_before‖ per layer, from two `kernel_snapshot`s (the layers of
    `before`); inf when a zero kernel moved, 0 when it did not."""
    missing = [name for name in before if name not in after]
    if missing:
        raise ValueError(f"layer {missing[0]!r} is in the first snapshot but not the second; "
                         f"layers in the second: {', '.join(after) or '(none)'}")
    ratios = {}
    for name, old in before.items():
        change = float(np.linalg.norm(np.asarray(after[name], np.float64) - old))
        scale = float(np.linalg.norm(old))
        ratios[name] = change / scale if scale > 0 else (0.0 if change == 0 else float("inf"))
    return ratios
