"""The autoencoder layers: tied weights, corruption, sampling, the VAE and contractive losses,
binary codes, sparsity."""

import keras
import numpy as np
import pytest

from keras_dl.evaluation import encoder_jacobian, jacobian_frobenius_norm
from keras_dl.layers import (
    BinaryCode,
    ContractiveActivation,
    GaussianCorruption,
    MaskingCorruption,
    ReconstructionLoss,
    SaltAndPepperCorruption,
    Sampling,
    SparsityPenalty,
    TiedDense,
    corruption_layer,
)

RNG = np.random.default_rng(0)


def _tied_model(input_dim=6, code=3):
    inputs = keras.Input((input_dim,), name="inputs")
    encoder = keras.layers.Dense(code, activation="sigmoid", name="encoder")
    outputs = TiedDense(encoder, activation="sigmoid", name="decoder")(encoder(inputs))
    return keras.Model(inputs, outputs), encoder


# --- TiedDense --------------------------------------------------------------------------------


def test_tied_dense_uses_the_transposed_encoder_kernel_and_its_own_bias():
    model, encoder = _tied_model()
    decoder = model.get_layer("decoder")
    decoder.bias.assign(RNG.normal(size=6).astype("float32"))
    assert sorted(w.path for w in model.weights) == ["decoder/bias", "encoder/bias",
                                                     "encoder/kernel"]
    x = RNG.random((4, 6), dtype="float32")
    kernel, bias = encoder.get_weights()
    h = 1 / (1 + np.exp(-(x @ kernel + bias)))
    expected = 1 / (1 + np.exp(-(h @ kernel.T + np.asarray(decoder.bias))))
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-6)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _tied_forward_by_hand(x, kernel, bias, decoder_bias):
    h = _sigmoid(x @ kernel + bias)
    return h, _sigmoid(h @ kernel.T + decoder_bias)


def _tied_mse_gradients_by_hand(x, kernel, bias, decoder_bias):
    """The gradients of the tied sigmoid autoencoder's MSE by the chain rule, in float64: the
    kernel's is the SUM of its encoder use's xᵀδ₁ and its decoder use's (hᵀδ₂)ᵀ."""
    x, kernel, bias, decoder_bias = (np.asarray(a, "float64") for a in
                                     (x, kernel, bias, decoder_bias))
    h, y = _tied_forward_by_hand(x, kernel, bias, decoder_bias)
    delta2 = 2 * (y - x) / x.size * y * (1 - y)  # ∂L/∂(decoder pre-activation)
    delta1 = delta2 @ kernel * h * (1 - h)  # ∂L/∂(encoder pre-activation)
    return {"encoder use": x.T @ delta1, "decoder use": delta2.T @ h,
            "bias": delta1.sum(axis=0), "decoder bias": delta2.sum(axis=0)}


def test_tied_kernel_gets_gradients_from_both_uses():
    """Catches a decoder that stops the gradient through Wᵀ (or an encoder use that does): one
    SGD step of fit moves the kernel by exactly lr · (encoder use's + decoder use's gradient)."""
    model, encoder = _tied_model()
    decoder = model.get_layer("decoder")
    rng = np.random.default_rng(5)
    decoder.bias.assign(rng.normal(size=6).astype("float32"))
    encoder.bias.assign(rng.normal(size=3).astype("float32"))
    encoder.kernel.assign(rng.normal(scale=0.7, size=(6, 3)).astype("float32"))
    x = rng.random((16, 6), dtype="float32")
    kernel, bias = encoder.get_weights()
    decoder_bias = np.array(decoder.bias)
    expected = _tied_mse_gradients_by_hand(x, kernel, bias, decoder_bias)
    # both uses matter: dropping either is far outside the tolerance below
    assert np.abs(expected["decoder use"]).max() > 100 * 1e-6
    assert np.abs(expected["encoder use"]).max() > 100 * 1e-6
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(x, x, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert len(model.trainable_weights) == 3  # the kernel is one variable, trained once
    np.testing.assert_allclose((kernel - np.array(encoder.kernel)) / 0.5,
                               expected["encoder use"] + expected["decoder use"],
                               rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose((bias - np.array(encoder.bias)) / 0.5, expected["bias"],
                               rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose((decoder_bias - np.array(decoder.bias)) / 0.5,
                               expected["decoder bias"], rtol=1e-3, atol=1e-6)


def test_tied_dense_stays_tied_after_a_keras_round_trip(tmp_path):
    """Catches a loaded decoder that owns a copy of the kernel (or resolves no encoder), and a
    loaded one whose Wᵀ no longer passes gradients to the encoder's kernel."""
    import tensorflow as tf

    model, _ = _tied_model()
    rng = np.random.default_rng(6)
    model.get_layer("decoder").bias.assign(rng.normal(size=6).astype("float32"))
    model.save(tmp_path / "tied.keras")
    loaded = keras.saving.load_model(tmp_path / "tied.keras")
    encoder, decoder = loaded.get_layer("encoder"), loaded.get_layer("decoder")
    assert decoder.tied_layer is encoder
    assert sorted(w.path for w in loaded.trainable_weights) == ["decoder/bias", "encoder/bias",
                                                                "encoder/kernel"]
    x = rng.random((4, 6), dtype="float32")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    encoder.kernel.assign(rng.normal(size=(6, 3)).astype("float32"))  # the decoder follows
    _, expected = _tied_forward_by_hand(x, *encoder.get_weights(), np.array(decoder.bias))
    np.testing.assert_allclose(loaded(x), expected, rtol=1e-5, atol=1e-6)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(loaded(x) - x))
    kernel_gradient, = tape.gradient(loss, [encoder.kernel])
    by_hand = _tied_mse_gradients_by_hand(x, *encoder.get_weights(), np.array(decoder.bias))
    assert np.abs(by_hand["decoder use"]).max() > 100 * 1e-6
    np.testing.assert_allclose(kernel_gradient, by_hand["encoder use"] + by_hand["decoder use"],
                               rtol=1e-4, atol=1e-6)


def test_tied_dense_bad_inputs():
    with pytest.raises(ValueError, match="tied to a keras.layers.Dense layer, got Conv2D"):
        TiedDense(keras.layers.Conv2D(2, 3))
    inputs = keras.Input((5,))
    with pytest.raises(ValueError, match="no layer of that name feeds its input"):
        TiedDense("encoder")(keras.layers.Dense(3, name="other")(inputs))
    encoder = keras.layers.Dense(3, name="encoder")
    encoder(inputs)
    with pytest.raises(ValueError, match="takes the 3 outputs of 'encoder', got an input of"):
        TiedDense(encoder)(keras.Input((4,)))
    with pytest.raises(ValueError, match="units must be a positive integer"):
        TiedDense(encoder, units=0)


# --- corruption -------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", [GaussianCorruption(0.3), MaskingCorruption(0.25),
                                   SaltAndPepperCorruption(0.2)])
def test_corruption_changes_its_input_in_training(layer):
    # the identity at inference, and the config round trip: tests/test_layer_contract.py
    x = RNG.random((8, 50), dtype="float32")
    assert not np.allclose(layer(x, training=True), x)


def test_corruption_statistics():
    x = RNG.random((200, 500), dtype="float32") * 0.8 + 0.1  # no exact 0 or 1 in the data
    masked = np.asarray(MaskingCorruption(0.25, seed=1)(x, training=True))
    assert abs((masked == 0).mean() - 0.25) < 0.01
    kept = masked != 0
    np.testing.assert_array_equal(masked[kept], x[kept])  # no dropout-style rescaling
    noisy = np.asarray(GaussianCorruption(0.3, seed=1)(x, training=True))
    assert abs((noisy - x).std() - 0.3) < 0.01 and abs((noisy - x).mean()) < 0.01
    salted = np.asarray(SaltAndPepperCorruption(0.2, seed=1)(x, training=True))
    changed = salted != x
    assert abs(changed.mean() - 0.2) < 0.01
    assert set(np.unique(salted[changed])) == {0.0, 1.0}
    assert abs((salted[changed] == 1.0).mean() - 0.5) < 0.02


def test_corruption_bad_levels():
    with pytest.raises(ValueError, match=r"MaskingCorruption rate must be a number in \[0, 1\)"):
        MaskingCorruption(1.5)
    with pytest.raises(ValueError, match="stddev must be a non-negative number, got -0.1"):
        GaussianCorruption(-0.1)
    with pytest.raises(ValueError, match="unknown corruption 'blur'; allowed: gaussian"):
        corruption_layer("blur", 0.1)


# --- Sampling and the VAE losses --------------------------------------------------------------


def test_sampling_reparameterises_and_returns_the_mean_at_inference():
    mean = np.full((20000, 2), [1.0, -2.0], dtype="float32")
    log_var = np.full((20000, 2), np.log([0.25, 4.0]), dtype="float32")
    layer = Sampling(seed=3)
    np.testing.assert_array_equal(layer([mean, log_var], training=False), mean)
    z = np.asarray(layer([mean, log_var], training=True))
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(axis=0), [0.5, 2.0], rtol=0.03)
    assert not np.allclose(layer.sample(mean, log_var), layer.sample(mean, log_var))


def test_sampling_adds_beta_times_the_kl_divergence():
    inputs = [keras.Input((3,)), keras.Input((3,))]
    model = keras.Model(inputs, Sampling(beta=2.5)(inputs))
    mean = RNG.normal(size=(5, 3)).astype("float32")
    log_var = RNG.normal(size=(5, 3)).astype("float32")
    model([mean, log_var])
    kl = -0.5 * np.sum(1 + log_var - mean ** 2 - np.exp(log_var), axis=1).mean()
    (loss,) = model.losses
    np.testing.assert_allclose(float(loss), 2.5 * kl, rtol=1e-5)
    with pytest.raises(ValueError, match="beta must be a non-negative number, got -1"):
        Sampling(beta=-1)


@pytest.mark.parametrize("distribution", ["bernoulli", "gaussian"])
def test_reconstruction_loss_is_the_summed_negative_log_likelihood(distribution):
    x = RNG.random((4, 3, 3, 1), dtype="float32")
    x_hat = RNG.random((4, 3, 3, 1), dtype="float32") * 0.9 + 0.05
    inputs = [keras.Input((3, 3, 1)), keras.Input((3, 3, 1))]
    model = keras.Model(inputs, ReconstructionLoss(distribution, weight=0.5)(inputs))
    np.testing.assert_array_equal(model([x, x_hat]), x_hat)
    if distribution == "bernoulli":
        nll = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat)).sum(axis=(1, 2, 3))
    else:
        nll = 0.5 * ((x - x_hat) ** 2).sum(axis=(1, 2, 3)) + 0.5 * 9 * np.log(2 * np.pi)
    np.testing.assert_allclose(float(model.losses[0]), 0.5 * nll.mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="weight must be a non-negative number"):
        ReconstructionLoss(weight=-0.1)


# --- binary codes, sparsity, contractive ------------------------------------------------------


def test_binary_code_thresholds_at_inference_and_is_noisy_in_training():
    # its own generator: the module's RNG would make the draw depend on which tests ran first
    logits = np.random.default_rng(3).normal(scale=3, size=(64, 16)).astype("float32")
    layer = BinaryCode(4.0, seed=0)
    np.testing.assert_array_equal(layer(logits, training=False), (logits > 0).astype("float32"))
    a, b = np.asarray(layer(logits, training=True)), np.asarray(layer(logits, training=True))
    assert not np.allclose(a, b) and np.all((a >= 0) & (a <= 1))
    # soft sigmoid outputs, not thresholds (a float32 sigmoid of a logit beyond ±17 rounds to 0/1)
    assert np.mean((a > 0) & (a < 1)) > 0.95
    # noise before the sigmoid: only codes of large |logit| are reliably read back
    big = np.full((2000, 1), 12.0, dtype="float32")
    small = np.full((2000, 1), 0.5, dtype="float32")
    assert np.asarray(layer(big, training=True)).mean() > 0.97
    assert abs(np.asarray(layer(small, training=True)).mean() - 0.5) < 0.1
    with pytest.raises(ValueError, match="noise_stddev must be a non-negative number"):
        BinaryCode(-1.0)


def test_sparsity_penalty_is_lambda_times_the_mean_l1_norm():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, SparsityPenalty(0.1)(inputs))
    h = RNG.normal(size=(5, 4)).astype("float32")
    np.testing.assert_array_equal(model(h), h)
    np.testing.assert_allclose(float(model.losses[0]), 0.1 * np.abs(h).sum(axis=1).mean(),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="weight must be a non-negative number, got -1"):
        SparsityPenalty(-1)


def test_sparsity_penalty_gradient_is_lambda_sign_h_over_the_batch():
    """Catches a penalty computed on a stop_gradient'ed h (or a wrong derivative of |h|), and a
    pass-through that blocks the reconstruction's gradient."""
    import tensorflow as tf

    rng = np.random.default_rng(7)
    h = tf.constant(rng.normal(size=(5, 2, 3)).astype("float32"))  # flattened per example
    layer = SparsityPenalty(0.1)
    upstream = rng.normal(size=(5, 2, 3)).astype("float32")
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(h)
        out = layer(h)
        (penalty,) = layer.losses
        through = tf.reduce_sum(out * upstream)
    np.testing.assert_allclose(tape.gradient(penalty, h), 0.1 * np.sign(h) / 5, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(through, h), upstream)  # the identity's gradient
    # and down to the weights of the layer that makes h: (λ / B) xᵀ sign(x W + b)
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3, bias_initializer=keras.initializers.RandomNormal(seed=2))
    model = keras.Model(inputs, SparsityPenalty(0.1)(dense(inputs)))
    x = rng.normal(size=(5, 4)).astype("float32")
    with tf.GradientTape() as tape:
        model(x)
        (penalty,) = model.losses
    kernel_gradient, bias_gradient = tape.gradient(penalty, [dense.kernel, dense.bias])
    kernel, bias = dense.get_weights()
    signs = np.sign(x @ kernel + bias)
    np.testing.assert_allclose(kernel_gradient, 0.1 / 5 * x.T @ signs, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bias_gradient, 0.1 / 5 * signs.sum(axis=0), rtol=1e-5, atol=1e-7)


def test_contractive_penalty_gradient_matches_its_closed_form():
    """Catches a stop_gradient on either factor of the sigmoid penalty λ mean Σ_j (h_j(1 − h_j))²
    Σ_i W_ij², or a wrong derivative of it, by its gradient worked out by hand."""
    import tensorflow as tf

    inputs = keras.Input((7,))
    dense = keras.layers.Dense(5, name="encoder_dense",
                               bias_initializer=keras.initializers.RandomNormal(seed=1))
    encoder = keras.Model(inputs, ContractiveActivation(dense, "sigmoid", weight=0.3)(
        dense(inputs)))
    x = np.random.default_rng(8).normal(size=(6, 7)).astype("float32")
    with tf.GradientTape() as tape:
        encoder(x)
        (penalty,) = encoder.losses
    kernel_gradient, bias_gradient = tape.gradient(penalty, [dense.kernel, dense.bias])
    kernel, bias = (w.astype("float64") for w in dense.get_weights())
    h = _sigmoid(x @ kernel + bias)
    squared = (h * (1 - h)) ** 2  # f'(a)², (batch, code)
    column_norms = np.sum(kernel ** 2, axis=0)  # Σ_i W_ij²
    # ∂/∂a of f'(a)² is 2 f'(a)² (1 − 2h); ∂/∂W_ij of Σ_i W_ij² is 2 W_ij
    by_pre_activation = 0.3 / 6 * 2 * squared * (1 - 2 * h) * column_norms
    expected_kernel = 0.3 / 6 * 2 * kernel * squared.sum(axis=0) + x.T @ by_pre_activation
    assert np.abs(0.3 / 6 * 2 * kernel * squared.sum(axis=0)).max() > 1e-4  # both terms count
    assert np.abs(x.T @ by_pre_activation).max() > 1e-4
    np.testing.assert_allclose(kernel_gradient, expected_kernel, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(bias_gradient, by_pre_activation.sum(axis=0), rtol=1e-4,
                               atol=1e-7)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus", "linear"])
def test_contractive_closed_form_matches_the_autodiff_jacobian(activation):
    inputs = keras.Input((7,))
    dense = keras.layers.Dense(5, name="encoder_dense",
                               bias_initializer=keras.initializers.RandomNormal(seed=1))
    h = ContractiveActivation(dense, activation, weight=0.3, name="code")(dense(inputs))
    encoder = keras.Model(inputs, h)
    x = RNG.normal(size=(6, 7)).astype("float32")
    encoder(x)
    jacobian = encoder_jacobian(encoder, x)  # (6, 5, 7), by tf.GradientTape
    expected = 0.3 * np.sum(jacobian ** 2, axis=(1, 2)).mean()
    np.testing.assert_allclose(float(encoder.losses[0]), expected, rtol=1e-4)


def _deep_contractive_encoder(activations, widths=(9, 6), code=4, input_dim=7):
    inputs = keras.Input((input_dim,), name="inputs")
    x, hidden, outputs = inputs, [], []
    for index, (units, activation) in enumerate(zip(widths, activations[:-1]), start=1):
        layer = keras.layers.Dense(units, activation=activation, name=f"hidden{index}",
                                   bias_initializer=keras.initializers.RandomNormal(seed=index))
        x = layer(x)
        hidden.append(layer)
        outputs.append(x)
    dense = keras.layers.Dense(code, name="code_dense",
                               bias_initializer=keras.initializers.RandomNormal(seed=0))
    h = ContractiveActivation(dense, activations[-1], weight=0.3, hidden=hidden,
                              name="code")([*outputs, dense(x)])
    return keras.Model(inputs, h)


@pytest.mark.parametrize("activations", [
    ("sigmoid", "sigmoid"), ("tanh", "sigmoid", "tanh"), ("relu", "relu", "sigmoid"),
    ("softplus", "linear", "tanh"), ("sigmoid", "tanh", "relu"),
])
def test_contractive_deep_encoder_matches_the_autodiff_jacobian(activations):
    encoder = _deep_contractive_encoder(activations)
    x = RNG.normal(size=(6, 7)).astype("float32")
    encoder(x)
    norms = jacobian_frobenius_norm(encoder, x)  # ‖∂h/∂x‖_F by tf.GradientTape
    np.testing.assert_allclose(float(encoder.losses[0]), 0.3 * np.mean(norms ** 2), rtol=1e-4)


@pytest.mark.parametrize("activations", [
    ("tanh", "sigmoid", "tanh"), ("softplus", "relu", "sigmoid"), ("sigmoid", "linear", "relu"),
])
def test_contractive_deep_encoder_gradient_matches_autodiff_of_the_autodiff_jacobian(
        activations):
    """Catches a stop_gradient on any kernel or derivative of the propagated Jacobian: the
    penalty's gradient w.r.t. every weight equals the gradient of λ mean ‖∂h/∂x‖²_F taken by
    differentiating tf.GradientTape's own Jacobian."""
    import tensorflow as tf

    encoder = _deep_contractive_encoder(activations)
    x = tf.constant(np.random.default_rng(9).normal(size=(6, 7)).astype("float32"))
    weights = encoder.trainable_weights
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape() as inner:
            inner.watch(x)
            h = encoder(x)
        (penalty,) = encoder.losses
        jacobian = inner.batch_jacobian(h, x)
        reference = 0.3 * tf.reduce_mean(tf.reduce_sum(tf.square(jacobian), axis=(1, 2)))
    np.testing.assert_allclose(float(penalty), float(reference), rtol=1e-4)
    assert len(weights) == 6
    # (a linear layer's bias, and anything feeding a relu's step, leave J alone: zero there)
    variables, zero = [w.value for w in weights], tf.UnconnectedGradients.ZERO
    for weight, got, expected in zip(weights,
                                     outer.gradient(penalty, variables, unconnected_gradients=zero),
                                     outer.gradient(reference, variables,
                                                    unconnected_gradients=zero)):
        if weight.path.endswith("kernel"):  # every kernel is a factor of J
            assert np.abs(np.asarray(expected)).max() > 1e-5, weight.path
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6, err_msg=weight.path)


def test_contractive_deep_encoder_config_round_trip():
    encoder = _deep_contractive_encoder(("tanh", "relu", "sigmoid"))
    config = encoder.get_layer("code").get_config()
    assert config["hidden"] == ["hidden1", "hidden2"] and config["dense"] == "code_dense"
    x = RNG.normal(size=(5, 7)).astype("float32")
    rebuilt = keras.Model.from_config(encoder.get_config())
    rebuilt.set_weights(encoder.get_weights())
    np.testing.assert_allclose(rebuilt(x), encoder(x), rtol=1e-6)
    np.testing.assert_allclose(float(rebuilt.losses[0]), float(encoder.losses[0]), rtol=1e-6)


def test_contractive_deep_encoder_bad_wiring():
    inputs = keras.Input((7,))
    hidden = keras.layers.Dense(5, activation="tanh", name="hidden")
    other = keras.layers.Dense(5, activation="tanh", name="other")
    dense = keras.layers.Dense(3, name="code_dense")
    h1 = hidden(inputs)
    with pytest.raises(ValueError, match=r"takes \[1 hidden outputs, the pre-activation"):
        ContractiveActivation(dense, hidden=[hidden])(dense(h1))
    skipped = other(h1)
    with pytest.raises(ValueError, match="outputs of the Dense chain hidden → code_dense"):
        ContractiveActivation(dense, hidden=[hidden])([h1, dense(skipped)])
    with pytest.raises(ValueError, match="needs the Dense layer 'missing' upstream"):
        ContractiveActivation("code_dense", hidden=["missing"])([h1, dense(h1)])
    with pytest.raises(ValueError, match="hidden Dense 's' activation must be one of .*'gelu'"):
        ContractiveActivation(dense, hidden=[keras.layers.Dense(2, activation="gelu", name="s")])


def test_contractive_bad_inputs():
    with pytest.raises(ValueError, match="activation must be one of sigmoid, tanh"):
        ContractiveActivation("d", "swish")
    with pytest.raises(ValueError, match="weight must be a non-negative number, got -0.5"):
        ContractiveActivation("d", "sigmoid", -0.5)
    with pytest.raises(ValueError, match="needs a keras.layers.Dense encoder, got Conv1D"):
        ContractiveActivation(keras.layers.Conv1D(2, 2))
    with pytest.raises(ValueError, match="give Dense 'd' activation=None"):
        ContractiveActivation(keras.layers.Dense(2, activation="relu", name="d"))
