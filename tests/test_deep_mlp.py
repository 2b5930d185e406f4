"""The deep MLP builder, the linear-network variance argument and the gradient-flow helpers
(lecture 004's initialisation experiment, lectures 000/002's vanishing gradients)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_dl
from keras_dl.evaluation import gradient_flow, variance


def _build(**kwargs):
    options = {"input_shape": (8, 8, 1), "num_classes": 3, "depth": 3, "width": 5, "seed": 0}
    return keras_dl.create_model("deep_mlp", **{**options, **kwargs})


def _names(model):
    return [layer.name for layer in model.layers]


def test_plain_network_has_depth_dense_act_pairs_in_order():
    """Catches a hidden layer too many or too few, a layer out of order (activation before
    its dense layer), or names that drift from `hidden{i}_dense` / `hidden{i}_act`."""
    model = _build(depth=4)
    assert _names(model) == ["inputs", "flatten",
                             *[f"hidden{i}_{kind}" for i in range(1, 5)
                               for kind in ("dense", "act")], "predictions"]
    assert [model.get_layer(f"hidden{i}_dense").units for i in range(1, 5)] == [5] * 4
    assert model.get_layer("hidden1_act").get_config()["activation"] == "tanh"
    assert model.get_layer("hidden1_dense").use_bias


def test_batch_norm_sits_between_the_linear_map_and_the_nonlinearity():
    """Catches batch norm missing, placed after the activation, or a dense layer that keeps a
    bias BN's β makes redundant."""
    model = _build(batch_norm=True, activation="relu")
    for i in range(1, 4):
        bn = model.get_layer(f"hidden{i}_bn")
        assert isinstance(bn, keras.layers.BatchNormalization)
        assert bn.input is model.get_layer(f"hidden{i}_dense").output
        assert model.get_layer(f"hidden{i}_act").input is bn.output
        assert not model.get_layer(f"hidden{i}_dense").use_bias
    assert not any(name.endswith("_bn") for name in _names(_build(batch_norm=False)))


def test_residual_adds_the_layer_input_to_its_output_where_widths_match():
    """Catches a skip that is not added (or adds the pre-activation, or the wrong layer's
    output), and a skip attempted around the first layer, whose input is 64 wide, not 5."""
    model = _build(residual=True, depth=3)
    adds = [name for name in _names(model) if name.endswith("_add")]
    assert adds == ["hidden2_add", "hidden3_add"]
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype("float32")
    probe = keras.Model(model.inputs[0], [model.get_layer(n).output for n in
                                       ("hidden1_act", "hidden2_act", "hidden2_add",
                                        "hidden3_act", "hidden3_add")])
    h1, a2, s2, a3, s3 = (np.asarray(v) for v in probe(x))
    np.testing.assert_allclose(s2, h1 + a2, atol=1e-6)
    np.testing.assert_allclose(s3, s2 + a3, atol=1e-6)
    # a flattened input of the hidden width gets its skip too
    square = keras_dl.create_model("deep_mlp", input_shape=(5,), num_classes=2, depth=2,
                                   width=5, residual=True, seed=0)
    assert "hidden1_add" in _names(square)
    assert not any(name.endswith("_add") for name in _names(_build(residual=False)))


@pytest.mark.parametrize("initializer, limit, want_variance", [
    ("small_uniform", 0.01, 0.01 ** 2 / 3),
    ("glorot_uniform", np.sqrt(6 / 400), 2 / 400),
    ("glorot_normal", None, 2 / 400),
    ("he_normal", None, 2 / 200),
])
def test_initializers_draw_the_variance_and_range_they_are_named_for(initializer, limit,
                                                                      want_variance):
    """Catches a wrong small-uniform range (the lecture's ±0.01, not mlp's ±0.05), He and
    Glorot swapped, Glorot's fan average replaced by fan-in, or random biases."""
    model = keras_dl.create_model("deep_mlp", input_shape=(200,), num_classes=2, depth=2,
                                  width=200, initializer=initializer, seed=3)
    kernel = np.asarray(model.get_layer("hidden2_dense").kernel)
    assert kernel.var() == pytest.approx(want_variance, rel=0.05)
    if limit is not None:
        assert np.abs(kernel).max() <= limit
        assert np.abs(kernel).max() > 0.95 * limit  # the whole interval, not a narrower one
    assert not np.any(np.asarray(model.get_layer("hidden2_dense").bias))


def test_the_seed_fixes_the_weights():
    """Catches a seed that is ignored (or shared by every layer, making them all equal)."""
    first, again, other = _build(seed=5), _build(seed=5), _build(seed=6)
    np.testing.assert_array_equal(first.get_layer("hidden2_dense").kernel,
                                  again.get_layer("hidden2_dense").kernel)
    assert not np.array_equal(first.get_layer("hidden2_dense").kernel,
                              other.get_layer("hidden2_dense").kernel)
    assert not np.array_equal(first.get_layer("hidden2_dense").kernel,
                              first.get_layer("hidden3_dense").kernel)


@pytest.mark.parametrize("kwargs, message", [
    ({"activation": "elu"}, "activation must be one of 'tanh', 'sigmoid', 'relu'; got 'elu'"),
    ({"initializer": "he_uniform"}, ("initializer must be one of 'glorot_uniform', "
                                     "'glorot_normal', 'he_normal', 'small_uniform'; got "
                                     "'he_uniform'")),
    ({"depth": 0}, "depth must be a positive integer, got 0"),
    ({"width": 2.5}, "width must be a positive integer, got 2.5"),
    ({"residual": "yes"}, "residual must be True or False, got 'yes'"),
    ({"seed": -1}, "seed must be None or a non-negative integer, got -1"),
])
def test_bad_arguments_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError) as raised:
        keras_dl.models.deep_mlp.deep_mlp(**{"depth": 2, "width": 3, **kwargs})
    assert str(raised.value) == message


# === the linear-network variance argument ====================================================


def test_the_formula_multiplies_n_in_times_var_w_layer_by_layer():
    """Catches a product over the wrong factors (n_out, or without Var(x)), or a sum."""
    got = variance.linear_network_variances(2.0, [4, 10, 3], [0.5, 0.05, 1.0])
    np.testing.assert_allclose(got, [2 * 4 * 0.5, 2 * 4 * 0.5 * 10 * 0.05,
                                     2 * 4 * 0.5 * 10 * 0.05 * 3 * 1.0])
    assert variance.glorot_variance(784, 500) == pytest.approx(2 / 1284)
    assert variance.he_variance(500) == pytest.approx(0.004)
    assert variance.uniform_variance(0.01) == pytest.approx(1e-4 / 3)
    with pytest.raises(ValueError, match="give one fan-in per weight variance, got 2 fan-ins "
                                         "and 1 variances"):
        variance.linear_network_variances(1.0, [3, 4], [0.1])


@pytest.mark.parametrize("initializer", ["small_uniform", "glorot_uniform", "he_normal"])
def test_sampled_linear_network_matches_the_formula(initializer):
    """The lecture's argument checked on weights drawn by Keras: catches a formula using
    n_out for n_in (the 300 → 100 → 100 → 50 widths differ), and an initializer whose drawn
    variance is not the one the formula assumes."""
    check = variance.sample_linear_network([300, 100, 100, 50], initializer, examples=400,
                                           input_variance=2.0, seed=1)
    np.testing.assert_allclose(check.sampled_weight_variance, check.weight_variance, rtol=0.1)
    np.testing.assert_allclose(check.measured, check.predicted, rtol=0.15)
    if initializer == "small_uniform":  # the collapse: a factor 300·(0.01²/3) = 0.01 first
        assert check.predicted[-1] == pytest.approx(2.0 * 0.01 * (1 / 300) ** 2)
    assert len(check.as_dict()["relative_error"]) == 3


def test_unknown_initializer_in_the_variance_check_is_refused():
    with pytest.raises(ValueError, match="initializer must be one of 'glorot_uniform', "
                                         "'glorot_normal', 'he_normal', 'small_uniform'; "
                                         "got 'zeros'"):
        variance.sample_linear_network([3, 3], "zeros")


# === gradient flow ============================================================================


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_derivative_from_the_output_is_the_activations_derivative(activation):
    """Catches σ' written as a(1 + a), tanh' as 1 − a, or ReLU' of the input sign wrong;
    checked against TensorFlow's autodiff at the same points."""
    z = tf.constant(np.linspace(-4, 4, 41) + 0.05)
    with tf.GradientTape() as tape:
        tape.watch(z)
        a = keras.activations.get(activation)(z)
    want = tape.gradient(a, z).numpy()
    got = gradient_flow.activation_derivatives(activation, a.numpy())
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert got.max() <= gradient_flow.derivative_bound(activation) + 1e-12


def test_shrink_factor_is_the_lower_layer_over_the_upper_one():
    """Catches the ratio taken upside down (growth read as shrinkage)."""
    np.testing.assert_allclose(gradient_flow.shrink_factors([0.01, 0.04, 0.16]), [0.25, 0.25])
    np.testing.assert_allclose(gradient_flow.shrink_factors({"a": 2.0, "b": 1.0}), [2.0])
    with pytest.raises(ValueError, match="at least two layers, got 1"):
        gradient_flow.shrink_factors([1.0])
    with pytest.raises(ValueError, match="no derivative bound for activation 'elu'"):
        gradient_flow.derivative_bound("elu")


def test_training_mode_probe_uses_batch_statistics_and_leaves_the_model_unchanged():
    """Catches a probe of a batch-norm network in inference mode (at initialisation its
    running statistics are 0 and 1, so it sees un-normalised activations), and a probe that
    moves the running statistics it should leave alone."""
    model = _build(batch_norm=True, activation="relu", width=6)
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(32, 8, 8, 1)).astype("float32")
    before = [np.array(v) for v in model.non_trainable_variables]
    bn = gradient_flow.probe_outputs(model, x, ["hidden1_bn"])["hidden1_bn"]
    np.testing.assert_allclose(bn.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(bn.std(axis=0), 1.0, atol=1e-2)
    inference = gradient_flow.probe_outputs(model, x, ["hidden1_bn"], training=False)
    assert np.abs(inference["hidden1_bn"].mean(axis=0)).max() > 0.1
    gradient_flow.probe_gradient_norms(model, x, np.zeros(32, "int32"))
    for old, new in zip(before, model.non_trainable_variables):
        np.testing.assert_array_equal(old, np.array(new))
