"""The MLP and LeNet-5 builders: the architecture each paper or lecture describes."""

import keras
import numpy as np
import pytest

import keras_dl


def test_default_mlp_is_the_lecture_network():
    model = keras_dl.create_model("mlp")
    assert model.get_layer("hidden1_dense").kernel.shape == (784, 225)  # W1 is 225×784
    assert model.output.shape == (None, 10)
    assert model.get_layer("hidden1_act").get_config()["activation"] == "relu"
    assert model.layers[-1].activation is keras.activations.softmax


def test_mlp_batch_norm_sits_between_linear_map_and_nonlinearity():
    model = keras_dl.create_model("mlp", hidden_units=(8,), batch_norm=True, input_shape=(4,))
    names = [layer.name for layer in model.layers]
    assert names.index("hidden1_dense") < names.index("hidden1_bn") < names.index("hidden1_act")
    assert not model.get_layer("hidden1_dense").use_bias  # BN's beta replaces the bias


def test_mlp_maxout_has_pieces_times_units_linear_outputs():
    model = keras_dl.create_model("mlp", hidden_units=(8,), activation="maxout",
                                  maxout_pieces=3, input_shape=(4,))
    assert model.get_layer("hidden1_dense").kernel.shape == (4, 24)
    assert model.get_layer("hidden1_maxout").output.shape == (None, 8)


def test_mlp_small_uniform_draws_weights_and_biases_in_range():
    model = keras_dl.create_model("mlp", initializer="small_uniform", small_uniform_range=0.01,
                                  input_shape=(50,), hidden_units=(40,))
    dense = model.get_layer("hidden1_dense")
    for weights in (np.asarray(dense.kernel), np.asarray(dense.bias)):
        assert np.abs(weights).max() <= 0.01
        assert np.abs(weights).max() > 0.005  # really drawn, not zeros


def test_mlp_he_and_glorot_scales_differ_as_their_papers_say():
    fan_in, fan_out = 400, 100
    he = keras_dl.create_model("mlp", initializer="he", input_shape=(fan_in,),
                               hidden_units=(fan_out,), seed=1)
    glorot = keras_dl.create_model("mlp", initializer="glorot", input_shape=(fan_in,),
                                   hidden_units=(fan_out,), seed=1)
    he_var = np.var(np.asarray(he.get_layer("hidden1_dense").kernel))
    glorot_var = np.var(np.asarray(glorot.get_layer("hidden1_dense").kernel))
    assert he_var == pytest.approx(2 / fan_in, rel=0.1)
    assert glorot_var == pytest.approx(2 / (fan_in + fan_out), rel=0.1)


def test_mlp_orthogonal_kernel_has_orthonormal_columns():
    model = keras_dl.create_model("mlp", initializer="orthogonal", input_shape=(30,),
                                  hidden_units=(10,))
    w = np.asarray(model.get_layer("hidden1_dense").kernel)
    np.testing.assert_allclose(w.T @ w, np.eye(10), atol=1e-5)


def test_mlp_regularisers_noise_and_dropout_are_wired():
    model = keras_dl.create_model("mlp", l1=1e-3, l2=1e-2, input_noise=0.3, dropout=0.5,
                                  input_shape=(6,), hidden_units=(5,))
    assert len(model.losses) == 2  # hidden + output kernels carry the L1/L2 penalty
    assert model.get_layer("input_noise").stddev == 0.3
    assert model.get_layer("hidden1_dropout").rate == 0.5
    x = np.ones((2, 6), "float32")
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))


def test_mlp_sigmoid_slope_and_leaky_slope_reach_the_layers():
    model = keras_dl.create_model("mlp", activation="sigmoid", sigmoid_slope=3.0, input_shape=(2,),
                                  hidden_units=(2,))
    assert model.get_layer("hidden1_act").beta == 3.0
    leaky = keras_dl.create_model("mlp", activation="leaky_relu", input_shape=(2,),
                                  hidden_units=(2,))
    assert leaky.get_layer("hidden1_act").negative_slope == pytest.approx(0.1)  # max(0.1x, x)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"activation": "swish"}, "activation must be one of"),
        ({"initializer": "zeros"}, "initializer must be one of"),
        ({"hidden_units": (10, 0)}, "positive integer"),
        ({"hidden_units": "225"}, "sequence of positive integers"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"l2": -1.0}, "l2 must be a non-negative"),
        ({"sigmoid_slope": 0}, "sigmoid_slope must be a positive"),
        ({"input_shape": (28, 0)}, "input_shape must be"),
        ({"num_classes": 0}, "num_classes must be a positive integer"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_dl.create_model("mlp", **kwargs)


def test_lenet5_as_published_has_the_papers_parameter_counts():
    model = keras_dl.create_model("lenet5")
    counts = {layer.name: layer.count_params() for layer in model.layers}
    assert counts["c1"] == 156
    assert counts["s2"] == 12
    assert counts["c3"] == 1516
    assert counts["s4"] == 32
    assert counts["c5"] == 48120
    assert counts["f6"] == 10164
    assert model.get_layer("c5").output.shape == (None, 1, 1, 120)
    assert isinstance(model.get_layer("c1_tanh"), keras_dl.layers.ScaledTanh)


def test_lenet5_pads_28_to_32_and_modern_swaps_units():
    model = keras_dl.create_model("lenet5", input_shape=(28, 28, 1), modern=True)
    assert model.get_layer("pad").output.shape == (None, 32, 32, 1)
    assert isinstance(model.get_layer("s2"), keras.layers.MaxPooling2D)
    assert model.get_layer("c3").count_params() == 2416  # a full convolution
    assert model.count_params() == 61706


@pytest.mark.parametrize("batch_norm, normalised", [
    (True, ["c1", "c3", "c5", "f6"]), (["c5", "f6"], ["c5", "f6"]), ("c3", ["c3"]),
    (False, []), (None, []),
])
def test_lenet5_batch_norm_sits_between_a_layer_and_its_activation(batch_norm, normalised):
    model = keras_dl.create_model("lenet5", input_shape=(28, 28, 1), modern=True,
                                  batch_norm=batch_norm)
    bn = [layer.name for layer in model.layers
          if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn == [f"{name}_bn" for name in normalised]
    for name in ("c1", "c3", "c5", "f6"):
        layer = model.get_layer(name)
        # a normalised layer drops its bias (the shift replaces it) and its fused ReLU
        assert layer.use_bias is (name not in normalised), name
        expected = keras.activations.linear if name in normalised else keras.activations.relu
        assert layer.activation is expected, name
        if name in normalised:
            assert isinstance(model.get_layer(f"{name}_relu"), keras.layers.ReLU)
    # each normalised layer: bias gone (-filters), gamma, beta and two moving statistics added
    widths = {"c1": 6, "c3": 16, "c5": 120, "f6": 84}
    assert model.count_params() == 61706 + sum(3 * widths[name] for name in normalised)
    published = keras_dl.create_model("lenet5", batch_norm=True)  # before each scaled tanh
    assert isinstance(published.get_layer("c1_tanh"), keras_dl.layers.ScaledTanh)
    assert published.get_layer("c1_tanh").input is published.get_layer("c1_bn").output


@pytest.mark.parametrize("bad", [["c2"], [], "yes", 1])
def test_lenet5_refuses_a_batch_norm_that_names_no_layer(bad):
    with pytest.raises(ValueError, match="batch_norm must be true, false or a list of the "
                                         "layers c1, c3, c5, f6, got"):
        keras_dl.create_model("lenet5", batch_norm=bad)


def test_lenet5_without_top_outputs_c5_features():
    model = keras_dl.create_model("lenet5", include_top=False, pooling="avg")
    assert model.output.shape == (None, 120)
    with pytest.raises(ValueError, match="pooling must be one of"):
        keras_dl.create_model("lenet5", include_top=False, pooling="median")
    with pytest.raises(ValueError, match="input_shape must be 3 positive integers"):
        keras_dl.create_model("lenet5", input_shape=(784,))


def test_lenet5_logits_option():
    model = keras_dl.create_model("lenet5", classifier_activation=None)
    assert model.layers[-1].activation is keras.activations.linear
