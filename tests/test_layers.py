"""Custom layers: behaviour against hand computations, serialisation, bad arguments."""

import keras
import numpy as np
import pytest

from keras_dl.layers import (
    LENET5_C3_TABLE,
    ConnectionTableConv2D,
    Maxout,
    ScaledTanh,
    SlopedSigmoid,
    Subsampling2D,
)


def _round_trip(layer):
    return layer.__class__.from_config(layer.get_config())


def test_maxout_takes_the_max_of_consecutive_pieces():
    x = np.array([[1.0, -2.0, 3.0, 0.5, -1.0, -4.0]], dtype="float32")
    y = np.asarray(Maxout(3)(x))
    np.testing.assert_array_equal(y, [[1.0, 3.0, -1.0]])


def test_maxout_config_keeps_its_axis():
    # saving and loading in a model: tests/test_layer_contract.py
    assert _round_trip(Maxout(4, axis=1)).get_config()["axis"] == 1


@pytest.mark.parametrize("units", [0, -1, 2.5, "3"])
def test_maxout_rejects_bad_units(units):
    with pytest.raises(ValueError, match="positive integer"):
        Maxout(units)


def test_maxout_rejects_indivisible_input():
    with pytest.raises(ValueError, match="multiple of 3"):
        Maxout(3)(np.zeros((1, 7), "float32"))


def test_sloped_sigmoid_matches_the_formula():
    x = np.linspace(-3, 3, 13).astype("float32")
    for beta in (0.5, 1.0, 4.0):
        expected = 1.0 / (1.0 + np.exp(-beta * x))
        np.testing.assert_allclose(SlopedSigmoid(beta)(x), expected, rtol=1e-6)
    assert _round_trip(SlopedSigmoid(2.5)).beta == 2.5
    with pytest.raises(ValueError, match="positive"):
        SlopedSigmoid(0)


def test_scaled_tanh_maps_one_to_one():
    y = np.asarray(ScaledTanh()(np.array([-1.0, 0.0, 1.0], "float32")))
    np.testing.assert_allclose(y, [-1.0, 0.0, 1.0], atol=2e-4)  # f(±1) = ±1 by design


def test_subsampling_sums_windows_times_coefficient_plus_bias():
    layer = Subsampling2D(2)
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    layer.build(x.shape)
    layer.coefficient.assign([0.5])
    layer.bias.assign([1.0])
    y = np.asarray(layer(x))[0, :, :, 0]
    expected = np.array([[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]])
    np.testing.assert_allclose(y, 0.5 * expected + 1.0)
    assert layer.count_params() == 2  # one coefficient and one bias per map


def test_c3_table_is_lecun_table_one():
    per_output = [sum(row[j] == "X" for row in LENET5_C3_TABLE) for j in range(16)]
    assert per_output == [3] * 6 + [4] * 9 + [6]
    assert [i for i in range(6) if LENET5_C3_TABLE[i][15] == "X"] == list(range(6))
    assert [i for i in range(6) if LENET5_C3_TABLE[i][12] == "X"] == [0, 1, 3, 4]


def test_connection_table_conv_ignores_unconnected_maps():
    layer = ConnectionTableConv2D(5)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 14, 14, 6)).astype("float32")
    y = np.asarray(layer(x))
    assert y.shape == (2, 10, 10, 16)
    assert layer.count_params() == 1516  # 60 kernels of 5×5 + 16 biases (LeCun et al. 1998)
    # Changing input map 5 must leave output map 0 (fed by maps 0, 1, 2) untouched...
    x2 = x.copy()
    x2[..., 5] += 10.0
    y2 = np.asarray(layer(x2))
    np.testing.assert_allclose(y2[..., 0], y[..., 0], atol=1e-5)
    # ...and change output map 3 (fed by maps 3, 4, 5).
    assert np.abs(y2[..., 3] - y[..., 3]).max() > 1e-2


def test_connection_table_conv_equals_masked_dense_convolution():
    layer = ConnectionTableConv2D(3, table=("X.", "XX"))
    x = np.random.default_rng(1).normal(size=(1, 5, 5, 2)).astype("float32")
    y = np.asarray(layer(x))
    kernel = np.asarray(layer.dense_kernel())
    assert np.all(kernel[:, :, 0, 1] == 0)  # no connection from map 0 to output 1
    dense = keras.layers.Conv2D(2, 3)
    dense.build(x.shape)
    dense.set_weights([kernel, np.asarray(layer.bias)])
    np.testing.assert_allclose(y, dense(x), atol=1e-5)
    assert _round_trip(layer).table == ("X.", "XX")


def test_connection_table_conv_rejects_a_bad_table():
    with pytest.raises(ValueError, match="equal-length strings"):
        ConnectionTableConv2D(5, table=("X.", "X"))
    with pytest.raises(ValueError, match="6 rows but the input has 3 channels"):
        ConnectionTableConv2D(5)(np.zeros((1, 14, 14, 3), "float32"))
