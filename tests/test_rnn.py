"""The recurrent sequence classifiers (`rnn_classifier`), the MNIST-1D CNN (`cnn1d_classifier`)
and the mask-aware max over time: tiny shapes (the model contract checks the rest)."""

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl.layers import MaskedGlobalMaxPooling1D


def _rnn(**kwargs):
    keras.utils.set_random_seed(0)
    arguments = {"input_shape": (None, 3), "num_classes": 4, "units": (5,)}
    return keras_dl.create_model("rnn_classifier", **{**arguments, **kwargs})


def _sequences(length, padded_to, seed=0):
    """A batch of two sequences of `length` steps, and the same zero-padded to `padded_to`."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=(2, length, 3)).astype("float32")
    padded = np.zeros((2, padded_to, 3), "float32")
    padded[:, :length] = x
    return x, padded


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_each_cell_builds_and_gives_one_probability_per_class(cell):
    model = _rnn(cell=cell, units=(5, 4))
    assert [layer.name for layer in model.layers][1:3] == [f"rnn1_{cell}", f"rnn2_{cell}"]
    y = np.asarray(model(np.ones((3, 6, 3), "float32")))
    assert y.shape == (3, 4)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("readout, bidirectional", [("last", False), ("mean", False),
                                                    ("max", False), ("last", True)])
def test_masking_classifies_a_zero_padded_sequence_as_the_unpadded_one(readout, bidirectional):
    """Catches padding read as data: the last state taken after the zeros, a mean or max over
    time that counts the padded steps, the backward half starting on the padding."""
    model = _rnn(cell="gru", masking=True, readout=readout, bidirectional=bidirectional)
    x, padded = _sequences(4, 7)
    np.testing.assert_allclose(model(padded), model(x), atol=1e-6)
    unmasked = _rnn(cell="gru", masking=False, readout=readout, bidirectional=bidirectional)
    assert not np.allclose(unmasked(padded), unmasked(x), atol=1e-4)  # the test can fail


def test_mean_readout_honours_the_mask_of_each_sequence():
    model = _rnn(cell="lstm", masking=True, readout="mean", include_top=False)
    x, padded = _sequences(3, 6, seed=1)
    features = model(padded)
    assert features.shape == (2, 5)
    states = keras.Model(model.input, model.get_layer("rnn1_lstm").output)(x)
    np.testing.assert_allclose(features, np.mean(states, axis=1), atol=1e-6)


def test_masked_max_over_time_skips_masked_steps():
    x = np.array([[[1.0, -5.0], [9.0, 9.0], [-2.0, -1.0]]], "float32")
    mask = np.array([[True, False, True]])
    pooled = MaskedGlobalMaxPooling1D()(x, mask=mask)
    np.testing.assert_allclose(pooled, [[1.0, -1.0]])
    np.testing.assert_allclose(MaskedGlobalMaxPooling1D()(x), [[9.0, 9.0]])
    np.testing.assert_allclose(MaskedGlobalMaxPooling1D()(x, mask=np.zeros((1, 3), bool)),
                               [[0.0, 0.0]])


def test_bidirectional_doubles_the_recurrent_features():
    one_way = _rnn(units=(4,), include_top=False)
    both_ways = _rnn(units=(4,), include_top=False, bidirectional=True)
    x = np.ones((2, 5, 3), "float32")
    assert one_way(x).shape == (2, 4)
    assert both_ways(x).shape == (2, 8)
    assert both_ways.get_layer("rnn1_lstm").forward_layer.name == "forward_rnn1_lstm"


def test_a_one_dimensional_signal_is_read_as_one_feature_per_step():
    model = keras_dl.create_model("rnn_classifier", input_shape=(6,), num_classes=2, units=3)
    assert model(np.ones((1, 6), "float32")).shape == (1, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"cell": "transformer"}, "cell must be one of 'simple', 'lstm', 'gru'; got 'transformer'"),
    ({"readout": "first"}, "readout must be one of 'last', 'mean', 'max'; got 'first'"),
    ({"units": ()}, "units must name at least one recurrent layer, got ()"),
    ({"units": (4, 0)}, "units entries must be a positive integer, got 0"),
    ({"dropout": 1.5}, "dropout must be in [0, 1), got 1.5"),
    ({"recurrent_dropout": -0.1}, "recurrent_dropout must be a non-negative number, got -0.1"),
    ({"masking": "yes"}, "masking must be True or False, got 'yes'"),
    ({"input_shape": (4, 3, 2)}, "input_shape must be (steps (or None), features) or (steps,), "
                                 "got (4, 3, 2)"),
])
def test_bad_arguments_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError) as raised:
        keras_dl.create_model("rnn_classifier", **{"input_shape": (5, 3), **kwargs})
    assert str(raised.value) == message


def test_cnn1d_is_the_mnist1d_benchmark_network():
    model = keras_dl.create_model("cnn1d_classifier", input_shape=(40, 1), num_classes=10)
    assert model.count_params() == 5210  # ConvBase of the MNIST-1D reference code
    assert [model.get_layer(f"conv{i}").output.shape[1] for i in (1, 2, 3)] == [19, 10, 5]
    with pytest.raises(ValueError, match="kernel_sizes must give one width per entry"):
        keras_dl.create_model("cnn1d_classifier", kernel_sizes=(5, 3))
    with pytest.raises(ValueError, match="too short for 3 stride-2 convolutions"):
        keras_dl.create_model("cnn1d_classifier", input_shape=(2, 1))


def test_rnn_classifier_trains_through_the_library_trainer(tmp_path):
    result = keras_dl.training.train(
        "rnn_classifier", dataset="mnist1d_sequence", limit=64, epochs=1, batch_size=32,
        builder_kwargs={"cell": "gru", "units": (4,)}, run_dir=tmp_path / "run", verbose=0)
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0
    assert result.model.input_shape == (None, 40, 1)
