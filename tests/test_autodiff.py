"""keras_dl.autodiff: dual numbers (forward mode), the explicit computational graph (reverse
mode), both against TensorFlow in float64, and the NumPy backpropagation against
tf.GradientTape."""

import math
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dl.autodiff import backprop, dual, reverse
from keras_dl.autodiff.dual import Dual

POINTS = [(1.5, -0.5), (0.3, 2.0), (-2.2, 0.7)]


# --- the lecture's functions, written once for every kind of number --------------------------


def lecture_002(m, x1, x2):
    """Lecture 002: f(x1, x2) = sin x1 + x1·x2."""
    return m.sin(x1) + x1 * x2


def lecture_004(m, x1, x2):
    """Lecture 004's f(x) = x² (in x1), times the other input."""
    return x1 ** 2 * x2


def every_operation(m, x1, x2):
    """Every operation the Dual supports, on both sides of a plain number, nested."""
    y = x2 * x2 + 1.0  # positive, for log and the dual exponent
    return (m.exp(x1) / y - m.log(y) * m.tanh(x1) + m.sigmoid(x1 * x2) ** 3
            + 2.0 / (3.0 - m.cos(x1)) - (-x2) + 1.5 ** x1 - y ** (x1 * 0.5) + (4.0 - x1) * 0.5)


FUNCTIONS = [lecture_002, lecture_004, every_operation]
DUAL = types.SimpleNamespace(sin=dual.sin, cos=dual.cos, exp=dual.exp, log=dual.log,
                             tanh=dual.tanh, sigmoid=dual.sigmoid)
GRAPH = types.SimpleNamespace(sin=reverse.sin, cos=reverse.cos, exp=reverse.exp,
                              log=reverse.log, tanh=reverse.tanh, sigmoid=reverse.sigmoid)
TF = types.SimpleNamespace(sin=tf.sin, cos=tf.cos, exp=tf.exp, log=tf.math.log, tanh=tf.tanh,
                           sigmoid=tf.sigmoid)


def tape_gradient(function, point):
    xs = [tf.constant(x, tf.float64) for x in point]
    with tf.GradientTape() as tape:
        tape.watch(xs)
        y = function(TF, *xs)
    return [float(g) for g in tape.gradient(y, xs)]


def forward_accumulator_gradient(function, point):
    """One ForwardAccumulator pass per input (tangent e_i), as dual.gradient does."""
    xs = [tf.constant(x, tf.float64) for x in point]
    partials = []
    for i in range(len(xs)):
        tangents = [tf.constant(1.0 if j == i else 0.0, tf.float64) for j in range(len(xs))]
        with tf.autodiff.ForwardAccumulator(xs, tangents) as accumulator:
            y = function(TF, *xs)
        partials.append(float(accumulator.jvp(y)))
    return partials


# --- dual numbers: each rule against its closed form -------------------------------------------

X = 0.7
RULES = [  # (function of a Dual or float, closed-form derivative at X)
    (dual.sin, math.cos(X)),
    (dual.cos, -math.sin(X)),
    (dual.exp, math.exp(X)),
    (dual.log, 1 / X),
    (dual.tanh, 1 - math.tanh(X) ** 2),
    (dual.sigmoid, math.exp(-X) / (1 + math.exp(-X)) ** 2),
    (lambda x: x + 3.0, 1.0),
    (lambda x: 3.0 + x, 1.0),
    (lambda x: x - 3.0, 1.0),
    (lambda x: 3.0 - x, -1.0),
    (lambda x: x * x, 2 * X),
    (lambda x: 3.0 * x, 3.0),
    (lambda x: x / 3.0, 1 / 3),
    (lambda x: 3.0 / x, -3 / X ** 2),
    (lambda x: (x * x) / (x + 1.0), (X ** 2 + 2 * X) / (X + 1) ** 2),
    (lambda x: -x, -1.0),
    (lambda x: x ** 3, 3 * X ** 2),
    (lambda x: x ** -0.5, -0.5 * X ** -1.5),
    (lambda x: 2.0 ** x, 2.0 ** X * math.log(2.0)),
    (lambda x: x ** x, X ** X * (math.log(X) + 1)),
]


@pytest.mark.parametrize("rule", range(len(RULES)))
def test_each_dual_rule_gives_the_closed_form_derivative_and_value(rule):
    """Bug: a wrong rule (cos' = +sin, a quotient rule with the sign flipped, the power rule's
    n − 1 dropped, a right-hand operator that swaps its operands)."""
    function, expected = RULES[rule]
    result = function(Dual(X, 1.0))
    assert result.derivative == pytest.approx(expected, rel=1e-12)
    plain = function(X)  # the same function on a float: the value part agrees
    assert result.value == pytest.approx(plain, rel=1e-12)
    assert dual.derivative(function, X) == pytest.approx(expected, rel=1e-12)


def test_the_lecture_example_x_squared_is_a2_plus_2ab_epsilon():
    """Lecture 004: (a + bε)² = a² + 2ab ε. Bug: ε² not dropped or b not carried."""
    result = Dual(3.0, 0.5) ** 2
    assert (result.value, result.derivative) == (9.0, 3.0)
    assert (Dual(3.0, 0.5) * Dual(3.0, 0.5)).derivative == 3.0


def test_dual_gradient_seeds_one_input_per_pass():
    """Bug: seeding every input at once (the sum of the partials, not each one)."""
    assert dual.gradient(lambda a, b: lecture_002(DUAL, a, b), [1.5, -0.5]) == \
        pytest.approx([math.cos(1.5) - 0.5, 1.5], rel=1e-14)
    assert dual.gradient(lambda a, b: 3.0, [1.0, 2.0]) == [0.0, 0.0]


@pytest.mark.parametrize("bad", ["2", [1.0], None, True, 1j])
def test_a_dual_refuses_an_unsupported_operand_in_one_line_naming_its_type(bad):
    """Bug: a silent wrong result (bool as 1, a string concatenated) or a Python traceback."""
    for operation in (lambda: Dual(1.0, 1.0) + bad, lambda: bad * Dual(1.0, 1.0),
                      lambda: Dual(1.0, 1.0) / bad, lambda: dual.sin(bad),
                      lambda: Dual(bad, 1.0)):
        with pytest.raises(TypeError) as error:
            operation()
        message = str(error.value)
        assert "\n" not in message and type(bad).__name__ in message
    with pytest.raises(TypeError, match="allowed: a Dual or a real number"):
        Dual(1.0, 1.0) - bad


def test_dual_domain_errors_name_the_value():
    with pytest.raises(ValueError, match="positive argument, got -1.0"):
        dual.log(Dual(-1.0, 1.0))
    with pytest.raises(ZeroDivisionError):
        Dual(1.0, 1.0) / Dual(0.0, 1.0)


# --- reverse mode on the explicit graph -------------------------------------------------------


def test_reverse_mode_on_the_lecture_graph_gives_both_partials_in_one_pass():
    """Lecture 002: ∂f/∂x1 = cos x1 + x2, ∂f/∂x2 = x1. Bug: x1's two paths not summed
    (an adjoint assigned instead of accumulated), or a node visited before its children."""
    x1, x2 = reverse.Variable(1.5, "x1"), reverse.Variable(-0.5, "x2")
    f = reverse.sin(x1) + x1 * x2
    f.backward()
    assert f.value == pytest.approx(math.sin(1.5) - 0.75, rel=1e-15)
    assert x1.adjoint == pytest.approx(math.cos(1.5) - 0.5, rel=1e-15)
    assert x2.adjoint == pytest.approx(1.5, rel=1e-15)
    order = reverse.topological_order(f)
    assert len(order) == 5  # x1, x2, sin, *, + : x1 once although two paths lead to it
    for position, node in enumerate(order):
        assert all(order.index(parent) < position for parent in node.parents)
    assert "sin(" in reverse.describe(f) and "adjoint=" in reverse.describe(f)


def test_backward_twice_gives_the_same_adjoints():
    """Bug: adjoints not reset, so a second backward pass doubles them."""
    _, first = reverse.gradient(lambda a, b: every_operation(GRAPH, a, b), [0.3, 2.0])
    x = reverse.Variable(0.3)
    f = x * x
    f.backward()
    f.backward()
    assert x.adjoint == pytest.approx(0.6)
    assert reverse.gradient(lambda a, b: every_operation(GRAPH, a, b), [0.3, 2.0])[1] == first


def test_a_graph_node_refuses_an_unsupported_operand():
    with pytest.raises(TypeError, match=r"Node \*: unsupported operand of type str"):
        reverse.Variable(1.0) * "x"
    with pytest.raises(TypeError, match="sin\\(\\): unsupported operand of type list"):
        reverse.sin([1.0])


# --- both modes against TensorFlow, float64, to 1e-6 -------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("point", POINTS)
def test_forward_and_reverse_mode_match_tensorflow(function, point):
    """The quality bar: dual and graph derivatives equal GradientTape's and
    ForwardAccumulator's to 1e-6 (float64). Bug: any wrong local derivative."""
    tape = tape_gradient(function, point)
    accumulator = forward_accumulator_gradient(function, point)
    forward = dual.gradient(lambda a, b: function(DUAL, a, b), point)
    value, backward = reverse.gradient(lambda a, b: function(GRAPH, a, b), point)
    np.testing.assert_allclose(accumulator, tape, rtol=1e-12)
    np.testing.assert_allclose(forward, tape, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(backward, tape, rtol=1e-6, atol=1e-12)
    assert value == pytest.approx(float(function(TF, *[tf.constant(x, tf.float64)
                                                        for x in point])), rel=1e-12)


# --- backpropagation by hand against tf.GradientTape ------------------------------------------


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_numpy_backprop_equals_gradient_tape_on_one_step(activation):
    """Bug: a wrong delta (f' of the wrong layer, W not transposed, the batch mean dropped,
    softmax's δ = y − t off by the one-hot), or an SGD step of the wrong sign."""
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(7, 5)), rng.integers(0, 4, size=7)
    model = backprop.keras_mlp(5, (6, 3), 4, activation, seed=1)
    mlp = backprop.NumpyMLP(backprop.dense_weights(model), activation)
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy(dtype="float64")(labels, model(x))
    tape_grads = tape.gradient(loss, model.trainable_variables)
    our_loss, grads = mlp.gradients(x, labels)
    assert our_loss == pytest.approx(float(loss), rel=1e-12)
    for ours, theirs in zip([g for pair in grads for g in pair], tape_grads):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-14)
    before = [w.copy() for pair in mlp.weights for w in pair]
    mlp.sgd_step(x, labels, 0.5)
    for old, new, g in zip(before, [w for pair in mlp.weights for w in pair], tape_grads):
        np.testing.assert_allclose(new, old - 0.5 * g.numpy(), rtol=1e-12, atol=1e-15)


def test_side_by_side_training_stays_equal_to_float64_precision():
    """Item 9: NumPy and Keras, same weights and batches, agree after several steps.
    Bug: the NumPy step taken with 0.3 while Keras stores 0.3 in float32 (a ~1e-9 drift),
    different minibatches, or Keras silently training in float32."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 6))
    labels = np.argmax(x[:, :3], axis=1)  # learnable, so the loss falls
    result = backprop.train_side_by_side(x, labels, hidden_units=(5,), steps=12, batch_size=10,
                                         learning_rate=0.3, activation="tanh", seed=2)
    assert max(result.max_abs_difference.values()) < 1e-13
    np.testing.assert_allclose(result.numpy_losses, result.keras_losses, rtol=1e-6)
    assert np.mean(result.numpy_losses[-4:]) < np.mean(result.numpy_losses[:4])  # it trained
    assert set(result.max_abs_difference) == {"hidden1/kernel", "hidden1/bias",
                                              "output/kernel", "output/bias"}


def test_minibatch_order_covers_each_epoch_once():
    """Bug: repeated or skipped examples within an epoch."""
    batches = backprop.minibatch_order(10, 3, 6, seed=0)
    assert [len(b) for b in batches] == [3] * 6
    first_epoch = np.concatenate(batches[:3])
    assert len(set(first_epoch.tolist())) == 9
    full = backprop.minibatch_order(5, 8, 2, seed=0)  # a batch above the set: the whole set
    assert [sorted(b.tolist()) for b in full] == [list(range(5))] * 2


def test_numpy_mlp_refuses_an_unknown_activation_and_mismatched_layers():
    with pytest.raises(ValueError, match="one of sigmoid, tanh, relu; got 'elu'"):
        backprop.NumpyMLP([(np.ones((2, 2)), np.ones(2))], "elu")
    with pytest.raises(ValueError, match="layer 2 takes 3 inputs but layer 1 has 2 units"):
        backprop.NumpyMLP([(np.ones((2, 2)), np.ones(2)), (np.ones((3, 1)), np.ones(1))])
