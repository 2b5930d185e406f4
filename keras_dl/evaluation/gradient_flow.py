"""How the backpropagated gradient changes from layer to layer: the vanishing-gradient argument.

Lecture 000 (after Nielsen 2015) writes the gradient of a deep sigmoid chain as
`∂C/∂b₁ = σ'(z₁) · w₂σ'(z₂) · w₃σ'(z₃) · w₄σ'(z₄) · ∂C/∂a₄`: every layer below the top
multiplies the error by one factor `w σ'(z)`, and σ'(z) = σ(z)(1 − σ(z)) ≤ ¼. With weights of
moderate size each factor is below ¼, so the gradient reaching the first layers shrinks
geometrically with depth. tanh' ≤ 1 and ReLU' ∈ {0, 1} lift that bound to 1.

`shrink_factors` measures the factor as the ratio of successive layers' gradient norms;
`activation_derivatives` gives σ'(z) from a layer's output (σ' = a(1 − a), tanh' = 1 − a²,
ReLU' = [a > 0]), so the measured factor can be set beside the mean derivative and the bound.
`probe_outputs` and `probe_gradient_norms` measure a model with batch normalisation as training
sees it (the batch's statistics, not running averages still near their initial values), and
`unchanged_state` makes sure such a probe moves none of its running statistics.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from keras_dl.evaluation.layer_statistics import check_layer_names, gradient_norms, output_extractor

# sup_z f'(z) of each activation: ¼ for the logistic sigmoid (at z = 0), 1 for tanh and ReLU.
DERIVATIVE_BOUNDS = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0}


def derivative_bound(activation: str) -> float:
    """sup f'(z) of `activation`; ValueError naming the activations known otherwise."""
    try:
        return DERIVATIVE_BOUNDS[activation]
    except KeyError:
        raise ValueError(f"no derivative bound for activation {activation!r}; known: "
                         f"{', '.join(DERIVATIVE_BOUNDS)}") from None


def activation_derivatives(activation: str, outputs) -> np.ndarray:
    """f'(z) at each unit, computed from the activation's output a = f(z)."""
    derivative_bound(activation)  # the one-line refusal of an unknown activation
    a = np.asarray(outputs, dtype=np.float64)
    if activation == "sigmoid":
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a ** 2
    return (a > 0).astype(np.float64)


def shrink_factors(norms) -> np.ndarray:
    """`norms[l] / norms[l + 1]` for the gradient norms of layers l = 1..L (listed from the
    input to the output): the factor by which the gradient shrinks (< 1) or grows (> 1) as it
    passes one layer down. A zero norm above gives inf (or nan when both are zero)."""
    norms = np.asarray(list(norms.values()) if isinstance(norms, dict) else list(norms),
                       dtype=np.float64)
    if norms.ndim != 1 or norms.size < 2:
        raise ValueError(f"shrink factors need the gradient norms of at least two layers, "
                         f"got {norms.size}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return norms[:-1] / norms[1:]


@contextlib.contextmanager
def unchanged_state(model):
    """Restore `model`'s non-trainable variables (batch normalisation's moving mean and
    variance, seed generators' states) on exit, so that a probe may call it with
    `training=True` without changing what it will compute next."""
    saved = [np.array(keras.ops.convert_to_numpy(v)) for v in model.non_trainable_variables]
    try:
        yield model
    finally:
        for variable, value in zip(model.non_trainable_variables, saved):
            variable.assign(value)


def has_batch_statistics(model) -> bool:
    """Whether `model` normalises with batch statistics in training (a BatchNormalization
    layer), so that a probe in inference mode would see other activations than training does."""
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)


def probe_outputs(model, x, layers, training=None) -> dict[str, np.ndarray]:
    """The outputs of `layers` on the batch `x`, as `layer_statistics.layer_outputs` gives them,
    but in training mode when `training` (default: when the model has batch normalisation,
    whose running statistics are still near their initial values early in training), with the
    model's state left unchanged."""
    names = check_layer_names(model, layers)
    training = has_batch_statistics(model) if training is None else bool(training)
    with unchanged_state(model):
        outputs = output_extractor(model, names)(x, training=training)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {name: np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)
            for name, value in zip(names, outputs)}


def probe_gradient_norms(model, x, y, layers=None, training=None) -> dict[str, float]:
    """`layer_statistics.gradient_norms` in training mode when `training` (default: when the
    model has batch normalisation), with the model's state left unchanged."""
    training = has_batch_statistics(model) if training is None else bool(training)
    with unchanged_state(model):
        return gradient_norms(model, x, y, layers=layers, training=training)
