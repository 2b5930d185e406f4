"""A numerical gradient checker: TensorFlow's gradients against central differences.

For a layer or model `g` with inputs `x` and trainable weights `θ`, the checker builds the
scalar

    s(x, θ) = Σ r ⊙ g(x; θ) + Σ losses(g)        (r: fixed random numbers; losses: `add_loss`)

and compares `∂s/∂x` and `∂s/∂θ` from `tf.GradientTape` with the central differences

    ∂s/∂u_i ≈ (s(u + h e_i) − s(u − h e_i)) / 2h,

element by element, in float64 (error O(h²) plus rounding O(ε_mach/h)). The random projection
`r` makes every output element count with a different weight, so a wrong gradient of any single
output cannot cancel out. A custom layer's test calls it to check a hand-derived rule (a
closed-form penalty, a `stop_gradient` trick, a custom gradient) against the definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from keras_dl import compat

DEFAULT_EPSILON = 1e-5
DEFAULT_TOLERANCE = 1e-6
# Central differences carry a rounding error of about ε_mach·|s|/h ≈ 1e-10·|s| whatever the
# element, so an element whose gradient is tiny next to the rest of its variable is judged
# against a share of the variable's largest gradient (and never against less than 1e-8).
_RELATIVE_FLOOR = 1e-3
_ABSOLUTE_FLOOR = 1e-8


@dataclass
class GradientReport:
    """The outcome of `check_gradients`: the worst relative error of each checked variable.

    `errors` maps a name (`"input_0"`, a weight's path) to `relative_error(a, n)`, the worst
    element's relative error (`a`: TensorFlow, `n`: central differences).
    """

    errors: dict = field(default_factory=dict)
    tolerance: float = DEFAULT_TOLERANCE
    value: float = 0.0

    @property
    def failures(self):
        """The variables whose error exceeds the tolerance (or is not finite)."""
        return {name: error for name, error in self.errors.items()
                if not error <= self.tolerance}

    @property
    def passed(self):
        return not self.failures

    def __bool__(self):
        return self.passed

    def __str__(self):
        lines = [f"{'variable':<40} max relative error (tolerance {self.tolerance:g})"]
        for name, error in self.errors.items():
            mark = "" if error <= self.tolerance else "   <-- FAILS"
            lines.append(f"{name:<40} {error:.3e}{mark}")
        return "\n".join(lines)

    def assert_ok(self):
        """Raise an AssertionError naming every failing variable and its error."""
        if self.failures:
            worst = ", ".join(f"{name}: {error:.3e}" for name, error in self.failures.items())
            raise AssertionError(f"gradient check failed (tolerance {self.tolerance:g}): {worst}"
                                 f"\n{self}")
        return self


def relative_error(analytic, numeric):
    """`max_i |a_i − n_i| / max(|a_i|, |n_i|, 1e-3·max_j |a_j|, 1e-8)` (0 for empty arrays);
    inf when an element is not finite."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if analytic.size == 0:
        return 0.0
    magnitude = np.maximum(np.abs(analytic), np.abs(numeric))
    largest = float(np.max(np.where(np.isfinite(magnitude), magnitude, 0.0)))
    scale = np.maximum(magnitude, max(_RELATIVE_FLOOR * largest, _ABSOLUTE_FLOOR))
    errors = np.abs(analytic - numeric) / scale
    return float(np.max(np.where(np.isfinite(errors), errors, np.inf)))


def check_gradients(layer_or_model, inputs, *, epsilon=DEFAULT_EPSILON,
                    tolerance=DEFAULT_TOLERANCE, include_losses=True, training=False,
                    check_inputs=True, seed=0):
    """Compare TensorFlow's gradients of a layer or model with central differences.

    Args:
        layer_or_model: a float64 Keras layer or model (built or not); called as
            `layer_or_model(inputs, training=training)`.
        inputs: one array or a list of arrays (converted to float64 constants).
        epsilon: the step h of the central differences.
        tolerance: the largest relative error that passes.
        include_losses: add the layer's `add_loss` losses to the checked scalar.
        training: the `training` flag passed to the call. A random layer is made
            deterministic: the state of every `SeedGenerator` of the layer (and of a model's
            layers) is put back before each call, so every evaluation draws the same noise.
        check_inputs: check the gradients w.r.t. the inputs (else only the weights).
        seed: seed of the random projection r.

    Returns:
        A `GradientReport` (falsy when a variable fails; `.assert_ok()` raises with the list).
    """
    for name, number in (("epsilon", epsilon), ("tolerance", tolerance)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not number > 0:
            raise ValueError(f"check_gradients {name} must be a positive number, got {number!r}")
    tensors = _as_float64_list(inputs)
    scalar = _ScalarFunction(layer_or_model, tensors, include_losses, training, seed)
    weights = list(layer_or_model.trainable_weights)
    for weight in weights:
        if weight.dtype != "float64":
            raise ValueError(f"check_gradients needs float64 weights (build the layer with "
                             f"dtype='float64'), got {weight.path} of dtype {weight.dtype}")

    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value = scalar(tensors)
    sources = (tensors if check_inputs else []) + [w.value for w in weights]
    analytic = tape.gradient(value, sources, unconnected_gradients="zero")

    report = GradientReport(tolerance=tolerance, value=float(value))
    names = ([f"input_{i}" for i in range(len(tensors))] if check_inputs else []) + \
        [weight.path for weight in weights]
    numeric = ([_input_differences(scalar, tensors, i, epsilon) for i in range(len(tensors))]
               if check_inputs else [])
    numeric += [_weight_differences(scalar, tensors, weight, epsilon) for weight in weights]
    for name, a, n in zip(names, analytic, numeric):
        report.errors[name] = relative_error(a.numpy(), n)
    return report


def _as_float64_list(inputs):
    arrays = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    return [tf.constant(np.asarray(array, dtype=np.float64)) for array in arrays]


class _ScalarFunction:
    """`s(x, θ) = Σ r ⊙ output + Σ losses`, with r drawn once from `seed`."""

    def __init__(self, layer_or_model, tensors, include_losses, training, seed):
        self.layer = layer_or_model
        self.include_losses = include_losses
        self.training = training
        self.seed = seed
        self._call(tensors)  # builds the layer (and its seed generators)
        self.generators = [(generator, np.array(generator.state.numpy()))
                           for layer in _all_layers(layer_or_model)
                           for generator in compat.seed_generators(layer)]
        self.projections = None
        self(tensors)  # fixes the projections

    def _call(self, tensors):
        arguments = tensors if len(tensors) > 1 else tensors[0]
        outputs = self.layer(arguments, training=self.training)
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def __call__(self, tensors):
        for generator, state in self.generators:  # the same noise at every evaluation
            generator.state.assign(state)
        outputs = self._call(tensors)
        if self.projections is None:
            for output in outputs:
                if output.dtype != tf.float64:
                    raise ValueError(f"check_gradients needs float64 outputs (build the layer "
                                     f"with dtype='float64'), got {output.dtype.name}")
            rng = np.random.default_rng(self.seed)
            self.projections = [tf.constant(rng.normal(size=output.shape)) for output in outputs]
        total = tf.add_n([tf.reduce_sum(r * tf.cast(output, tf.float64))
                          for r, output in zip(self.projections, outputs)])
        if self.include_losses:
            for loss in self.layer.losses:
                total = total + tf.reduce_sum(tf.cast(loss, tf.float64))
        return total


def _all_layers(layer):
    """The layer and, for a model or a layer holding layers, every layer inside it."""
    found, stack = [], [layer]
    while stack:
        current = stack.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        stack.extend(getattr(current, "layers", None) or [])
    return found


def _input_differences(scalar, tensors, index, epsilon):
    base = tensors[index].numpy()

    def evaluate(shifted):
        changed = list(tensors)
        changed[index] = tf.constant(shifted)
        return float(scalar(changed))

    return _central_differences(base, evaluate, epsilon)


def _weight_differences(scalar, tensors, weight, epsilon):
    base = np.array(weight.numpy())

    def evaluate(shifted):
        weight.assign(shifted)
        return float(scalar(tensors))

    try:
        return _central_differences(base, evaluate, epsilon)
    finally:
        weight.assign(base)


def _central_differences(base, evaluate, epsilon):
    """`(s(u + h e_i) − s(u − h e_i)) / 2h` for every element i of `u = base`."""
    gradient = np.zeros_like(base, dtype=np.float64)
    for index in np.ndindex(base.shape):
        shifted = base.copy()
        shifted[index] = base[index] + epsilon
        plus = evaluate(shifted)
        shifted[index] = base[index] - epsilon
        minus = evaluate(shifted)
        gradient[index] = (plus - minus) / (2.0 * epsilon)
    return gradient


def numerical_jacobian(function, x, epsilon=DEFAULT_EPSILON):
    """Per-example Jacobians `∂function(x)_n/∂x_n`, shape (batch, outputs, inputs), by
    central differences in float64.

    `function` maps a (batch, inputs) array to (batch, outputs) row by row (examples do not
    interact), so shifting input i of every example at once gives column i of every
    example's Jacobian. Used to check a closed-form Jacobian penalty against its definition.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"numerical_jacobian needs a (batch, inputs) array, got shape {x.shape}")
    columns = []
    for i in range(x.shape[1]):
        shift = np.zeros_like(x)
        shift[:, i] = epsilon
        plus = np.asarray(function(x + shift), dtype=np.float64)
        minus = np.asarray(function(x - shift), dtype=np.float64)
        columns.append((plus - minus) / (2.0 * epsilon))
    return np.stack(columns, axis=-1)
