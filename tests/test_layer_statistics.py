"""keras_dl.evaluation.layer_statistics: every statistic checked against NumPy or an independent
computation, on tiny hand-built models."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dl.evaluation import layer_statistics as ls


def _stack_model(dropout=0.5):
    """tanh → dropout → sigmoid → relu → softmax, with weights large enough to saturate."""
    inputs = keras.Input((4,))
    h = keras.layers.Dense(6, activation="tanh", name="tanh_dense")(inputs)
    h = keras.layers.Dropout(dropout, name="drop")(h)
    h = keras.layers.Dense(5, activation="sigmoid", name="sigmoid_dense")(h)
    h = keras.layers.Dense(4, name="linear_dense")(h)
    h = keras.layers.Activation("relu", name="relu_act")(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 2.0, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def _numpy_forward(model, x):
    """The layers' outputs recomputed in NumPy from the weights (dropout is off at inference)."""
    w = {layer.name: [np.asarray(v, np.float64) for v in layer.get_weights()]
         for layer in model.layers}
    tanh = np.tanh(x @ w["tanh_dense"][0] + w["tanh_dense"][1])
    sigmoid = 1 / (1 + np.exp(-(tanh @ w["sigmoid_dense"][0] + w["sigmoid_dense"][1])))
    linear = sigmoid @ w["linear_dense"][0] + w["linear_dense"][1]
    relu = np.maximum(linear, 0)
    logits = relu @ w["out"][0] + w["out"][1]
    soft = np.exp(logits - logits.max(1, keepdims=True))
    return {"tanh_dense": tanh, "sigmoid_dense": sigmoid, "linear_dense": linear,
            "relu_act": relu, "out": soft / soft.sum(1, keepdims=True)}


def test_default_layers_are_the_weighted_ones_and_activation_layers_in_order():
    """Bug caught: the input or dropout layer probed, an Activation layer left out, order lost."""
    model = _stack_model()
    assert ls.default_layer_names(model) == [
        "tanh_dense", "sigmoid_dense", "linear_dense", "relu_act", "out"]


def test_activation_statistics_match_numpy():
    """Bugs caught: statistics taken in training mode (dropout changes the layers after it), a
    wrong saturation bound or margin, saturation reported for non-squashing layers, dead units
    reported for non-ReLU layers, std computed per unit instead of over all values."""
    model = _stack_model()
    x = np.random.default_rng(1).normal(0, 1, (32, 4)).astype("float32")
    expected = _numpy_forward(model, x.astype(np.float64))
    stats = ls.activation_statistics(model, x)
    assert list(stats) == list(expected)
    for name, values in expected.items():
        assert stats[name]["mean"] == pytest.approx(values.mean(), abs=1e-5), name
        assert stats[name]["std"] == pytest.approx(values.std(), abs=1e-5), name
    tanh, sigmoid = expected["tanh_dense"], expected["sigmoid_dense"]
    assert stats["tanh_dense"]["saturated"] == pytest.approx(np.mean(np.abs(tanh) >= 0.98))
    assert stats["sigmoid_dense"]["saturated"] == pytest.approx(
        np.mean((sigmoid <= 0.02) | (sigmoid >= 0.98)))
    # the weights were drawn large so that the comparison above is not 0 == 0
    assert 0.1 < stats["tanh_dense"]["saturated"] < 0.95
    assert 0.05 < stats["sigmoid_dense"]["saturated"] < 0.95
    for name in ("linear_dense", "relu_act", "out"):
        assert stats[name]["saturated"] is None, name
    for name in ("tanh_dense", "sigmoid_dense", "linear_dense", "out"):
        assert stats[name]["dead"] is None and stats[name]["dead_units"] is None, name
    relu_dead = np.all(expected["relu_act"] == 0, axis=0)
    assert stats["relu_act"]["dead_units"] == relu_dead.sum()


def test_saturation_margin_is_an_argument():
    """Bug caught: the margin argument ignored (a fixed 0.02 used whatever is asked)."""
    model = _stack_model()
    x = np.random.default_rng(1).normal(0, 1, (32, 4)).astype("float32")
    tanh = _numpy_forward(model, x.astype(np.float64))["tanh_dense"]
    stats = ls.activation_statistics(model, x, layers=["tanh_dense"], saturation_margin=0.2)
    assert stats["tanh_dense"]["saturated"] == pytest.approx(np.mean(np.abs(tanh) >= 0.8))


def test_dead_units_on_a_constructed_network():
    """Units 1 and 4 get a bias of −100 (dead for any input in [0, 1]); unit 2 is zero for half
    of the batch only, so it is alive. Bugs caught: "zero for any example" counted instead of
    "for every example", the share taken over values instead of units, the count off by one."""
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(6, activation="relu", name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))
    kernel = np.full((3, 6), 0.5, np.float32)
    kernel[:, 2] = [1.0, 0.0, 0.0]
    bias = np.zeros(6, np.float32)
    bias[[1, 4]] = -100.0
    bias[2] = -0.5
    model.get_layer("hidden").set_weights([kernel, bias])
    x = np.zeros((10, 3), np.float32) + 0.1
    x[:5, 0] = 0.9  # unit 2 fires on these five examples only
    stats = ls.activation_statistics(model, x, layers=["hidden"])["hidden"]
    assert stats["dead_units"] == 2
    assert stats["dead"] == pytest.approx(2 / 6)
    assert stats["saturated"] is None


def test_dead_channels_of_a_convolution_and_a_relu_layer():
    """A convolution's unit is its channel: dead when zero at every position of every example.
    Bugs caught: units taken along the wrong axis; a keras `ReLU` layer not recognised as ReLU,
    or a leaky one counted as ReLU."""
    inputs = keras.Input((5, 5, 1))
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    plain = keras.layers.ReLU(name="plain_relu")(conv)
    leaky = keras.layers.ReLU(negative_slope=0.1, name="leaky_relu")(plain)
    model = keras.Model(inputs, leaky)
    kernel = np.full((3, 3, 1, 4), 0.1, np.float32)
    model.get_layer("conv").set_weights([kernel, np.array([0.0, -50.0, 0.0, -50.0], np.float32)])
    x = np.random.default_rng(0).uniform(0, 1, (3, 5, 5, 1)).astype("float32")
    stats = ls.activation_statistics(model, x, layers=["conv", "plain_relu", "leaky_relu"])
    assert stats["conv"]["dead_units"] == 2 and stats["conv"]["dead"] == 0.5
    assert stats["plain_relu"]["dead_units"] == 2
    assert stats["leaky_relu"]["dead"] is None


def test_layer_outputs_match_the_layers_and_refuse_unknown_names():
    """Bugs caught: outputs keyed to the wrong layer; an unknown layer silently skipped or
    reported without naming it and what is allowed."""
    model = _stack_model()
    x = np.random.default_rng(2).normal(0, 1, (8, 4)).astype("float32")
    outputs = ls.layer_outputs(model, x, ["out", "tanh_dense"])
    expected = _numpy_forward(model, x.astype(np.float64))
    assert list(outputs) == ["out", "tanh_dense"]
    np.testing.assert_allclose(outputs["out"], expected["out"], atol=1e-5)
    np.testing.assert_allclose(outputs["tanh_dense"], expected["tanh_dense"], atol=1e-5)
    with pytest.raises(ValueError) as error:
        ls.layer_outputs(model, x, ["tanh_dnese"])
    message = str(error.value)
    assert "'tanh_dnese'" in message and "tanh_dense" in message and "\n" not in message


def test_gradient_norm_of_softmax_regression_matches_the_closed_form():
    """For p = softmax(xW + b) and the mean cross-entropy, ∂L/∂W = xᵀ(p − Y)/n. Bugs caught:
    the gradient taken of the wrong loss (summed, or of another layer), the norm not L2."""
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="dense")(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (16, 4)).astype("float32")
    y = rng.integers(0, 3, 16)
    kernel, bias = (np.asarray(v, np.float64) for v in model.get_layer("dense").get_weights())
    logits = x @ kernel + bias
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = np.linalg.norm(x.T @ (p - np.eye(3)[y]) / len(x))
    norms = ls.gradient_norms(model, x, y)
    assert list(norms) == ["dense"]
    assert norms["dense"] == pytest.approx(expected, rel=1e-4)


def test_gradient_norms_match_an_independent_tape_per_layer():
    """Against a GradientTape over all trainable variables with a hand-written loss. Bugs
    caught: norms keyed to the wrong layer, biases mixed in, layers without a kernel (the
    Activation layer) reported, an explicit `loss_fn` ignored."""
    model = _stack_model()
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (12, 4)).astype("float32")
    y = rng.integers(0, 3, 12)
    with tf.GradientTape() as tape:
        probabilities = model(x, training=False)
        picked = tf.gather(probabilities, y, axis=1, batch_dims=1)
        loss = -tf.reduce_mean(tf.math.log(picked))
    kernels = {layer.name: layer.kernel for layer in model.layers if hasattr(layer, "kernel")}
    grads = tape.gradient(loss, [k.value for k in kernels.values()])
    expected = {name: float(tf.norm(g)) for name, g in zip(kernels, grads)}
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    norms = ls.gradient_norms(model, x, y, loss_fn=loss_fn)
    assert list(norms) == ["tanh_dense", "sigmoid_dense", "linear_dense", "out"]
    for name, value in expected.items():
        assert norms[name] == pytest.approx(value, rel=1e-4), name
    assert len(set(np.round(list(norms.values()), 6))) == 4  # the layers differ
    # without loss_fn and uncompiled: sparse cross-entropy on the softmax output, same values
    assert ls.gradient_norms(model, x, y) == pytest.approx(norms, rel=1e-5)
    # a loss that ignores the labels' class gives different norms: loss_fn is used
    mse = ls.gradient_norms(model, x, y, loss_fn=lambda t, p: tf.reduce_mean(p ** 2))
    assert mse["out"] != pytest.approx(norms["out"], rel=1e-3)


def test_gradient_norms_use_the_compiled_loss_with_added_losses():
    """Bug caught: the compiled loss ignored (its L2 penalty changes the kernel's gradient by
    2·λ·W, here computed by hand)."""
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3, activation="softmax", name="dense",
                               kernel_regularizer=keras.regularizers.L2(0.5))
    model = keras.Model(inputs, dense(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (8, 4)).astype("float32")
    y = rng.integers(0, 3, 8)
    kernel, bias = (np.asarray(v, np.float64) for v in dense.get_weights())
    logits = x @ kernel + bias
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = np.linalg.norm(x.T @ (p - np.eye(3)[y]) / len(x) + 2 * 0.5 * kernel)
    assert ls.gradient_norms(model, x, y)["dense"] == pytest.approx(expected, rel=1e-4)


def test_weight_norms_and_update_ratio_of_one_sgd_step():
    """After one SGD step of rate η, ΔW = −η·∇W, so ‖ΔW‖/‖W‖ = η‖∇W‖/‖W‖. Bugs caught: the
    ratio divided by the new weights' norm or not normed, snapshots that alias the live
    weights (ratio 0)."""
    model = _stack_model(dropout=0.0)  # the training step must see the probe's forward pass
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(6)
    x = rng.normal(0, 1, (16, 4)).astype("float32")
    y = rng.integers(0, 3, 16)
    norms = ls.weight_norms(model)
    for layer in ("tanh_dense", "out"):
        assert norms[layer] == pytest.approx(
            np.linalg.norm(model.get_layer(layer).get_weights()[0]), rel=1e-6)
    before = ls.kernel_snapshot(model)
    gradients = ls.gradient_norms(model, x, y)
    model.train_on_batch(x, y)
    ratios = ls.update_ratios(before, ls.kernel_snapshot(model))
    assert list(ratios) == list(before)
    for name in before:
        expected = 0.1 * gradients[name] / np.linalg.norm(before[name])
        assert ratios[name] == pytest.approx(expected, rel=1e-3), name


def test_update_ratios_edge_cases_and_refusal():
    """Bugs caught: a zero kernel dividing by zero; a layer missing from the second snapshot
    silently dropped."""
    zero = {"a": np.zeros((2, 2))}
    assert ls.update_ratios(zero, zero) == {"a": 0.0}
    assert ls.update_ratios(zero, {"a": np.ones((2, 2))}) == {"a": float("inf")}
    assert ls.update_ratios({"a": np.full((2, 2), 2.0)},
                            {"a": np.full((2, 2), 3.0)}) == {"a": pytest.approx(0.5)}
    with pytest.raises(ValueError, match=r"'b'.*layers in the second: a"):
        ls.update_ratios({"a": np.ones(2), "b": np.ones(2)}, {"a": np.ones(2)})


def test_kernel_statistics_refuse_a_layer_without_kernel():
    """Bug caught: asking gradients of an Activation layer silently gives nothing."""
    model = _stack_model()
    with pytest.raises(ValueError, match=r"'relu_act'.*allowed: tanh_dense, sigmoid_dense"):
        ls.weight_norms(model, layers=["relu_act"])


def test_keras_dl_activation_layers_are_probed_and_recognised():
    """keras_dl's MLP puts its sigmoid in a SlopedSigmoid layer (no weights, no `activation`
    attribute). Bugs caught: such layers left out of the default layers, their saturation not
    measured, ScaledTanh's bounds taken as ±1 instead of ±A (A = 1.7159), a LeakyReLU layer
    counted as ReLU for dead units."""
    from keras_dl.layers import ScaledTanh, SlopedSigmoid

    inputs = keras.Input((3,))
    h = keras.layers.Dense(8, name="dense")(inputs)
    negative = keras.layers.Dense(8, name="negative")(inputs)
    sig = SlopedSigmoid(beta=3.0, name="sig")(h)
    tanh = ScaledTanh(name="scaled")(h)
    leaky = keras.layers.LeakyReLU(name="leaky")(negative)
    model = keras.Model(inputs, [sig, tanh, leaky])
    rng = np.random.default_rng(7)
    kernel = rng.normal(0, 1.5, (3, 8))
    model.get_layer("dense").set_weights([kernel.astype("float32"), np.zeros(8, "float32")])
    model.get_layer("negative").set_weights([np.zeros((3, 8), "float32"),
                                             np.full(8, -30.0, "float32")])  # leaky < 0
    x = rng.normal(0, 1, (40, 3)).astype("float32")
    assert ls.default_layer_names(model) == ["dense", "negative", "sig", "scaled", "leaky"]
    z = x.astype(np.float64) @ kernel.astype("float32").astype(np.float64)
    stats = ls.activation_statistics(model, x, saturation_margin=0.02)
    sigmoid = 1 / (1 + np.exp(-3.0 * z))
    scaled = 1.7159 * np.tanh(2 / 3 * z)
    assert stats["sig"]["saturated"] == pytest.approx(
        np.mean((sigmoid <= 0.02) | (sigmoid >= 0.98)))
    assert stats["scaled"]["saturated"] == pytest.approx(
        np.mean(np.abs(scaled) >= 1.7159 * 0.98))
    assert 0 < stats["scaled"]["saturated"] < np.mean(np.abs(scaled) >= 0.98)  # ±A, not ±1
    assert stats["leaky"]["dead"] is None and stats["leaky"]["saturated"] is None
