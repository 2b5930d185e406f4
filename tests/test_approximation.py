"""Lecture 004's units (`keras_dl.dynamics.approximation`): XOR needs two layers, one sigmoid
hidden layer approximates a function better as it widens, and the activations' derivatives."""

import numpy as np
import pytest

from keras_dl.dynamics import approximation as ap


def test_threshold_unit_accuracy_counts_xor_corners():
    """Catches a flipped comparison or the wrong targets: the OR unit [x₁ + x₂ − 0.5 > 0] gets
    XOR's three corners other than (1, 1); AND only (0, 0); the constant-0 unit two."""
    accuracy = ap.threshold_unit_accuracy([[1, 1], [1, 1], [0, 0]], [-0.5, -1.5, -1.0])
    np.testing.assert_allclose(accuracy, [0.75, 0.25, 0.5])


def test_no_threshold_unit_separates_xor():
    """A single unit makes a half-plane: the best over a grid that holds every linear labelling
    of the corners is 3 of 4. Catches the search finding 100 % (XOR targets wrong, a grid
    evaluated on other points) or missing the 75 % units (a grid of positive values only, where
    every bias is > 0 and the best unit is constant: 50 %)."""
    assert ap.best_threshold_unit_accuracy() == 0.75


def test_one_sigmoid_unit_plateaus_and_two_layers_solve_xor():
    """The lecture's claim, by training: one unit stays at ≤ 75 % (its cross-entropy cannot
    fall near 0); a tanh hidden layer reaches 100 %. Catches the hidden layer not being used
    (or the single-unit model quietly getting one)."""
    _, single_accuracy, single_loss = ap.train_xor(0, steps=400)
    _, double_accuracy, double_loss = ap.train_xor(4, steps=600)
    assert single_accuracy <= 0.75 and single_loss > 0.45
    assert double_accuracy == 1.0 and double_loss < 0.1


def test_a_wider_hidden_layer_approximates_better():
    """Cybenko's point measured: 8 sigmoids fit sin 2πx + x/2 far better than 1. Catches an
    error computed against the wrong function or the output layer squashed (sigmoid output
    cannot reach the negative half of the sine)."""
    _, one_max, one_rms = ap.fit_width(1, steps=800)
    _, eight_max, eight_rms = ap.fit_width(8, steps=800)
    assert one_rms > 0.2  # one step-shaped sigmoid cannot follow a full sine period
    assert eight_rms < one_rms / 4 and eight_max < one_max / 2


def test_target_function_is_the_documented_one():
    np.testing.assert_allclose(ap.target_function(np.array([0.0, 0.25, 0.5])),
                               [0.0, 1.125, 0.25], atol=1e-12)


@pytest.mark.parametrize("width", [0, -3, 2.0, True])
def test_a_bad_width_is_one_clear_error(width):
    with pytest.raises(ValueError, match="hidden width must be a positive integer"):
        ap.one_hidden_layer(width)


def test_activation_curves_match_the_closed_forms():
    """Values and autodiff derivatives against the formulas: β σ(βx)(1 − σ(βx)) for the sloped
    sigmoid, 1 − tanh², the step for ReLU, 0.1 / 1 for leaky ReLU, and the active piece's slope
    for maxout max(x, −0.5x − 0.5) (the pieces cross at x = −1/3). Catches a slope β ignored, the
    leaky slope 0.01 (Keras' default) in place of the lecture's 0.1, or maxout taking the min."""
    x = np.array([-3.0, -1.0, -0.2, 0.5, 2.0])
    curves = ap.activation_curves(x, ap.activation_functions(betas=(4.0,)))
    s = 1 / (1 + np.exp(-4 * x))
    expected = {
        "sigmoid β=4": (s, 4 * s * (1 - s)),
        "tanh": (np.tanh(x), 1 - np.tanh(x) ** 2),
        "ReLU": (np.maximum(x, 0), (x > 0).astype(float)),
        "leaky ReLU max(0.1x, x)": (np.maximum(0.1 * x, x), np.where(x > 0, 1.0, 0.1)),
        "maxout max(x, −0.5x − 0.5)": (np.maximum(x, -0.5 * x - 0.5),
                                       np.where(x > -1 / 3, 1.0, -0.5)),
    }
    assert set(curves) == set(expected)
    for name, (values, derivatives) in expected.items():
        np.testing.assert_allclose(curves[name][0], values, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(curves[name][1], derivatives, rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_decision_grid_is_the_models_output_on_the_grid():
    """Catches the grid's axes swapped (x₁ must vary along columns, as meshgrid and contour
    expect): a model that outputs sigmoid(10·x₁) must vary along the columns only."""
    import keras

    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=keras.initializers.Constant(
        [[10.0], [0.0]]), bias_initializer="zeros")(inputs)
    x1, x2, p = ap.decision_grid(keras.Model(inputs, outputs), size=5)
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-10 * x1)), rtol=1e-5)
    assert np.all(x1[0] == np.linspace(-0.5, 1.5, 5)) and np.all(x2[:, 0] == x1[0])
