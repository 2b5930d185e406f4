"""Lecture 004's units: what one unit cannot do (XOR), what one hidden layer can (Cybenko 1989),
and the activation functions with their derivatives.

- "A single unit partitions the input space into two half-spaces": no line separates XOR's
  {(0,1), (1,0)} from {(0,0), (1,1)}, so one threshold or sigmoid unit gets at most 3 of the 4
  points right; "two layers of units can carve out an arbitrary convex polyhedron", and a hidden
  layer of two units solves XOR.
- Cybenko's theorem: `F(x) = Σᵢ vᵢ φ(wᵢᵀx + bᵢ)` with a sigmoidal φ approximates any continuous
  f on [0, 1]ᵐ to any ε, given enough units N; `fit_width` measures the error per N.
- The lecture's activations: sig(x) = 1/(1 + exp(−βx)) with slope β, tanh, ReLU max(x, 0),
  leaky ReLU max(0.1x, x) and maxout max(w₁x + b₁, w₂x + b₂).
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
import tensorflow as tf

from keras_dl.layers import Maxout, SlopedSigmoid

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
XOR_TARGETS = np.array([0, 1, 1, 0], dtype="float32")
LEAKY_SLOPE = 0.1  # the lecture's leaky ReLU max(0.1x, x)
# The maxout unit drawn: max(1·x + 0, −0.5·x − 0.5), two linear pieces of a 1-D input.
MAXOUT_PIECES = ((1.0, 0.0), (-0.5, -0.5))


def threshold_unit_accuracy(weights, bias, inputs=XOR_INPUTS, targets=XOR_TARGETS):
    """Accuracy of the threshold unit `[wᵀx + b > 0]` on `inputs` (one row per unit if 2-D)."""
    weights = np.atleast_2d(weights)
    outputs = (inputs @ weights.T + np.reshape(bias, (1, -1)) > 0).astype("float32")
    return np.mean(outputs == targets[:, None], axis=0)


def best_threshold_unit_accuracy(steps=41, limit=2.0):
    """The best XOR accuracy over a grid of threshold units (w₁, w₂, b) ∈ [−limit, limit]³.

    Every labelling a line can make of the four corners is reached on a coarse grid, so this is
    the best any single unit can do: 0.75 (the proof: w₂ + b > 0, w₁ + b > 0 and b ≤ 0 force
    w₁ + w₂ + b > 0, so (1, 1) is wrong whenever the other three are right).
    """
    axis = np.linspace(-limit, limit, steps)
    grid = np.array(list(itertools.product(axis, axis, axis)))
    return float(np.max(threshold_unit_accuracy(grid[:, :2], grid[:, 2])))


def xor_model(hidden_units=0, seed=0):
    """One sigmoid unit (`hidden_units=0`) or a tanh hidden layer then a sigmoid unit."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((2,))
    hidden = inputs
    if hidden_units:
        hidden = keras.layers.Dense(hidden_units, activation="tanh", name="hidden")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="unit")(hidden)
    return keras.Model(inputs, outputs, name=f"xor_{hidden_units}_hidden")


def train_xor(hidden_units=0, steps=600, learning_rate=0.1, seed=0):
    """Train `xor_model` with Adam, full batch (the 4 points) for `steps` steps.

    Returns (model, accuracy on the 4 points, final cross-entropy).
    """
    model = xor_model(hidden_units, seed)
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy")
    repeats = np.tile(XOR_INPUTS, (steps, 1)), np.tile(XOR_TARGETS, steps)
    history = model.fit(*repeats, batch_size=4, epochs=1, shuffle=False, verbose=0)
    predicted = np.asarray(model(XOR_INPUTS))[:, 0] > 0.5
    accuracy = float(np.mean(predicted == XOR_TARGETS.astype(bool)))
    return model, accuracy, float(history.history["loss"][-1])


def decision_grid(model, limits=(-0.5, 1.5), size=101):
    """(x₁, x₂, p) on a grid: the model's output probability, for decision-region plots."""
    axis = np.linspace(limits[0], limits[1], size, dtype="float32")
    x1, x2 = np.meshgrid(axis, axis)
    points = np.stack([x1.ravel(), x2.ravel()], axis=1)
    return x1, x2, np.asarray(model(points)).reshape(x1.shape)


def target_function(x):
    """The 1-D function approximated: sin(2πx) + 0.5x on [0, 1] (continuous, as Cybenko asks)."""
    return np.sin(2 * np.pi * x) + 0.5 * x


def one_hidden_layer(width, seed=0):
    """`F(x) = Σᵢ vᵢ sig(wᵢx + bᵢ) + c`: a sigmoid hidden layer of `width` units, linear output."""
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ValueError(f"hidden width must be a positive integer, got {width!r}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((1,))
    hidden = keras.layers.Dense(width, activation="sigmoid", name="hidden",
                                kernel_initializer=keras.initializers.RandomNormal(stddev=10.0),
                                bias_initializer=keras.initializers.RandomUniform(-10.0, 10.0))(inputs)
    outputs = keras.layers.Dense(1, name="output")(hidden)
    return keras.Model(inputs, outputs, name=f"sigmoid_{width}")


def fit_width(width, steps=3000, points=128, learning_rate=0.02, seed=0):
    """Fit `one_hidden_layer(width)` to `target_function` on `points` grid points of [0, 1].

    Full-batch Adam for `steps` steps (the grid repeated `steps` times, one batch a step: one
    `fit` epoch, far cheaper than `steps` epochs). Input weights start wide (σ = 10, biases in
    ±10) so the sigmoids' steps spread over [0, 1].
    Returns (model, max |F − f| on a 4×-finer grid, RMS error there).
    """
    x = np.linspace(0, 1, points, dtype="float32")[:, None]
    model = one_hidden_layer(width, seed)
    model.compile(keras.optimizers.Adam(learning_rate), "mse")
    repeated = np.tile(x, (steps, 1))
    model.fit(repeated, target_function(repeated), batch_size=points, epochs=1, shuffle=False,
              verbose=0)
    fine = np.linspace(0, 1, 4 * points, dtype="float32")[:, None]
    error = np.asarray(model(fine)) - target_function(fine)
    return model, float(np.max(np.abs(error))), float(np.sqrt(np.mean(error**2)))


def _maxout(x):
    pieces = tf.stack([w * x + b for w, b in MAXOUT_PIECES], axis=-1)
    return Maxout(1)(pieces)[..., 0]


def activation_functions(betas=(0.5, 1.0, 4.0)):
    """name → function of a float32 tensor: the lecture's activations (one sigmoid per β)."""
    functions = {f"sigmoid β={beta:g}": SlopedSigmoid(beta) for beta in betas}
    functions.update({
        "tanh": keras.activations.tanh,
        "ReLU": keras.activations.relu,
        f"leaky ReLU max({LEAKY_SLOPE:g}x, x)": lambda x: keras.activations.leaky_relu(
            x, negative_slope=LEAKY_SLOPE),
        "maxout max(x, −0.5x − 0.5)": _maxout,
    })
    return functions


def activation_curves(x, functions=None):
    """name → (values, derivatives) at the points `x`, the derivatives by automatic differentiation."""
    functions = functions or activation_functions()
    x = tf.constant(np.asarray(x, dtype="float32"))
    curves = {}
    for name, function in functions.items():
        with tf.GradientTape() as tape:
            tape.watch(x)
            values = function(x)
        curves[name] = (np.asarray(values), np.asarray(tape.gradient(values, x)))
    return curves
