"""The RBM layer: its conditionals, the CD / PCD update against lecture 003's procedure in numpy,
monitoring, likelihoods (exact, AIS, pseudo-likelihood) and the "rbm" pre-training unit."""

import itertools
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dl import evaluation
from keras_dl.layers import RBM
from keras_dl.training import pretraining


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def built(layer, visible_units, kernel=None, visible_bias=None, hidden_bias=None, seed=0):
    if not layer.built:
        layer.build((None, visible_units))
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.5, (visible_units, layer.units)) if kernel is None else kernel
    visible_bias = rng.normal(0, 0.5, visible_units) if visible_bias is None else visible_bias
    hidden_bias = rng.normal(0, 0.5, layer.units) if hidden_bias is None else hidden_bias
    layer.kernel.assign(np.asarray(kernel, "float32"))
    layer.visible_bias.assign(np.asarray(visible_bias, "float32"))
    layer.hidden_bias.assign(np.asarray(hidden_bias, "float32"))
    return layer


def lecture_cd1(x1, kernel, b, c, u_hidden, u_visible, positive="samples"):
    """Lecture 003's CD-1 procedure, step by step, with given uniform random numbers.

    Returns the updates (ΔW, Δb, Δc) before the learning rate, averaged over the batch.
    """
    q1 = sigmoid(c + x1 @ kernel)                 # Q(h1 = 1 | x1)
    h1 = (u_hidden < q1).astype("float64")        # sample h1
    p2 = sigmoid(b + h1 @ kernel.T)               # P(x2 = 1 | h1)
    x2 = (u_visible < p2).astype("float64")       # sample x2
    q2 = sigmoid(c + x2 @ kernel)                 # Q(h2 = 1 | x2)
    positive_hidden = h1 if positive == "samples" else q1
    n = len(x1)
    delta_w = (x1.T @ positive_hidden - x2.T @ q2) / n   # h1 x1' − Q(h2.=1|x2) x2'
    delta_b = (x1 - x2).mean(axis=0)
    delta_c = (positive_hidden - q2).mean(axis=0)
    return (delta_w, delta_b, delta_c), (h1, x2)


@pytest.mark.parametrize("positive", ["samples", "probabilities"])
def test_cd1_gradient_is_the_lecture_update(positive):
    rng = np.random.default_rng(0)
    visible, hidden, batch = 7, 5, 6
    layer = built(RBM(hidden, positive_phase=positive), visible)
    x1 = (rng.random((batch, visible)) < 0.4).astype("float64")
    u_hidden, u_visible = rng.random((batch, hidden)), rng.random((batch, visible))
    kernel, b, c = (np.asarray(w, "float64") for w in
                    (layer.kernel, layer.visible_bias, layer.hidden_bias))
    (delta_w, delta_b, delta_c), (h1, x2) = lecture_cd1(x1, kernel, b, c, u_hidden, u_visible,
                                                        positive)
    assert 0 < h1.mean() < 1 and 0 < x2.mean() < 1  # the samples are not degenerate

    v0 = tf.constant(x1, "float32")
    vk = tf.constant(x2, "float32")
    with tf.GradientTape() as tape:
        phase = {"positive_preactivation": layer._hidden_preactivation(v0),
                 "hidden_sample": tf.constant(h1, "float32"),
                 "negative_visible": vk,
                 "negative_preactivation": layer._hidden_preactivation(vk)}
        loss = layer.contrastive_divergence_loss(v0, phase)
    grads = tape.gradient(loss, [layer.kernel, layer.visible_bias, layer.hidden_bias])
    # gradient descent on the loss moves the weights by +ε × the lecture's update
    np.testing.assert_allclose(-np.asarray(grads[0]), delta_w, atol=1e-5)
    np.testing.assert_allclose(-np.asarray(grads[1]), delta_b, atol=1e-5)
    np.testing.assert_allclose(-np.asarray(grads[2]), delta_c, atol=1e-5)


class Draws:
    """The layer's random numbers, drawn again: a seed generator set to the state the layer's
    had, so the n-th draw here (same kind and shape) is the n-th number the layer drew."""

    def __init__(self, state):
        self.generator = keras.random.SeedGenerator(0)
        self.generator.state.assign(np.asarray(state))

    def uniform(self, shape):
        return np.asarray(keras.random.uniform(shape, seed=self.generator), "float64")

    def normal(self, shape):
        return np.asarray(keras.random.normal(shape, seed=self.generator), "float64")

    def randint(self, shape, high):
        return np.asarray(keras.random.randint(shape, 0, high, seed=self.generator))


def numpy_cd(v0, weights, draws, *, k=1, visible="bernoulli", sample_chain_visible=True,
             positive_phase="probabilities", chain=None):
    """CD-k (PCD-k when `chain` is given) in numpy, with uniforms / normals from `draws`.

    Sample h⁰ ~ Q(h | v⁰); then k Gibbs steps h → v → h, the first from h⁰ (CD) or from a
    hidden sample of the persistent chain (PCD), visible units sampled (or their means used);
    the chain ends at vᵏ and Q(hᵏ | vᵏ). Returns the update (ΔW, Δb, Δc) before the learning
    rate, and the chain's states.
    """
    kernel, b, c = weights

    def hidden_probabilities(v):
        return sigmoid(c + v @ kernel)

    def bernoulli(p):
        return (draws.uniform(p.shape) < p).astype("float64")

    def visible_mean(h):
        activation = b + h @ kernel.T
        return sigmoid(activation) if visible == "bernoulli" else activation

    q0 = hidden_probabilities(v0)
    h0 = bernoulli(q0)
    reconstruction = visible_mean(h0)
    h = h0 if chain is None else bernoulli(hidden_probabilities(chain))
    for step in range(k):
        if step:
            h = bernoulli(qk)
        mean = visible_mean(h)
        if not sample_chain_visible:
            vk = mean
        elif visible == "bernoulli":
            vk = bernoulli(mean)
        else:
            vk = mean + draws.normal(mean.shape)  # N(b + Wh, I)
        qk = hidden_probabilities(vk)
    positive = h0 if positive_phase == "samples" else q0
    update = (v0.T @ positive / len(v0) - vk.T @ qk / len(vk),
              v0.mean(0) - vk.mean(0),
              positive.mean(0) - qk.mean(0))
    return update, {"h0": h0, "reconstruction": reconstruction, "vk": vk, "qk": qk}


def numpy_pseudo_log_likelihood(v, weights, index):
    """`D · log σ(F(ṽ) − F(v))` per example, `ṽ` being `v` with unit `index[n]` flipped."""
    kernel, b, c = weights

    def free_energy(v):
        return -v @ b - np.logaddexp(0, c + v @ kernel).sum(-1)

    flipped = v.copy()
    rows = np.arange(len(v))
    flipped[rows, index] = 1 - flipped[rows, index]
    return v.shape[1] * np.log(sigmoid(free_energy(flipped) - free_energy(v)))


FIT_CASES = {
    "cd1": {"k": 1},
    "cd3": {"k": 3},
    "cd2-sampled-positive": {"k": 2, "positive_phase": "samples"},
    "cd2-visible-probabilities": {"k": 2, "sample_chain_visible": False},
    "gaussian-cd2": {"visible": "gaussian", "k": 2},
    "gaussian-cd2-visible-means": {"visible": "gaussian", "k": 2, "sample_chain_visible": False},
    "pcd2": {"k": 2, "persistent": True, "chains": 5},
}


@pytest.mark.parametrize("options", list(FIT_CASES.values()), ids=list(FIT_CASES))
def test_fit_moves_weights_by_the_cd_update_computed_in_numpy(options):
    """Catches a wrong CD-k / PCD chain (length, sampled vs mean visible units, Gaussian noise,
    chain not carried between batches) and a wrong update: two `fit()` steps with SGD(ε),
    W ← W + ε(⟨v h⟩⁰ − ⟨v h⟩ᵏ), replayed entirely in numpy from the layer's random numbers."""
    rng = np.random.default_rng(1)
    visible, hidden, batch, lr, steps = 6, 4, 8, 0.5, 2
    gaussian = options.get("visible") == "gaussian"
    persistent = options.get("persistent", False)
    x = (rng.normal(size=(steps * batch, visible)) if gaussian
         else rng.random((steps * batch, visible)) < 0.5).astype("float32")
    inputs = keras.Input((visible,))
    layer = RBM(hidden, seed=3, name="rbm", **options)
    model = keras.Model(inputs, layer(inputs))
    built(layer, visible)
    weights = [np.array(w, "float64") for w in (layer.kernel, layer.visible_bias,
                                                  layer.hidden_bias)]
    states = []

    class RecordRandomState(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            states.append(np.array(layer.seed_generator.state))

    model.compile(keras.optimizers.SGD(lr))
    history = model.fit(x, batch_size=batch, epochs=1, shuffle=False, verbose=0,
                        callbacks=[RecordRandomState()]).history
    assert len(states) == steps

    cd_options = {key: options[key] for key in ("k", "visible", "sample_chain_visible",
                                                "positive_phase") if key in options}
    chain = np.zeros((options.get("chains", 0), visible)) if persistent else None
    errors, pseudo_likelihoods = [], []
    for step, state in enumerate(states):
        v0 = x[step * batch:(step + 1) * batch].astype("float64")
        draws = Draws(state)
        update, phase = numpy_cd(v0, weights, draws, chain=chain, **cd_options)
        if step == 0 and cd_options.get("k", 1) > 1:  # a chain one step short is visible here
            shorter, _ = numpy_cd(v0, weights, Draws(state), chain=chain,
                                  **{**cd_options, "k": cd_options["k"] - 1})
            assert not np.allclose(shorter[0], update[0], atol=1e-3)
        errors.append(np.mean((v0 - phase["reconstruction"]) ** 2))
        if not gaussian:  # then the layer draws the unit to flip
            index = draws.randint((batch, 1), visible)[:, 0]
            pseudo_likelihoods.append(numpy_pseudo_log_likelihood(v0, weights, index).mean())
        weights = [w + lr * u for w, u in zip(weights, update)]
        if persistent:
            chain = phase["vk"]

    after = [np.array(w, "float64") for w in (layer.kernel, layer.visible_bias,
                                               layer.hidden_bias)]
    for ours, expected in zip(after, weights):
        np.testing.assert_allclose(ours, expected, atol=5e-5)
    if persistent:
        np.testing.assert_allclose(np.asarray(layer.persistent_chains), chain, atol=1e-6)
    if options.get("sample_chain_visible", True) and not gaussian:
        assert set(np.unique(phase["vk"])) <= {0.0, 1.0}  # the lecture samples the visible units
    np.testing.assert_allclose(history["loss"], [np.mean(errors)], rtol=1e-4)
    if not gaussian:
        np.testing.assert_allclose(history["pseudo_log_likelihood"],
                                   [np.mean(pseudo_likelihoods)], rtol=1e-4)


def ladder(layer, units=6):
    """Weights under which a Gibbs step v → h → v is (to ~1e-6) deterministic and switches on
    the next visible unit: h_j = v_j ∨ v_{j+1}, v_i = h_i ∨ h_{i-1}; so k steps from unit 0
    alone end with units 0..k on."""
    kernel = 30.0 * (np.eye(units) + np.eye(units, k=-1))  # W[i, i] = W[i + 1, i] = 30
    return built(layer, units, kernel=kernel, visible_bias=np.full(units, -15.0),
                 hidden_bias=np.full(units, -15.0))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_cd_k_chain_runs_exactly_k_gibbs_steps(k):
    """Catches a CD-k / PCD-k / gibbs(steps=k) chain of the wrong length (one step, k ± 1), or
    Q(hᵏ | ·) taken from another state than the chain's end."""
    start = np.zeros((4, 6), "float32")
    start[:, 0] = 1
    expected = np.zeros((4, 6))
    expected[:, :k + 1] = 1
    for options in ({}, {"sample_chain_visible": False}):
        phase = ladder(RBM(6, k=k, seed=0, **options)).contrastive_divergence(start)
        np.testing.assert_allclose(phase["hidden_sample"], start, atol=1e-6)
        np.testing.assert_allclose(phase["reconstruction"][:, :3], [[1, 1, 0]] * 4, atol=1e-5)
        np.testing.assert_allclose(phase["negative_visible"], expected, atol=1e-5)
        np.testing.assert_allclose(phase["negative_hidden"], expected, atol=1e-5)
    # PCD-k: k steps on from the stored chains (the data, all zeros, stay where they are)
    pcd = ladder(RBM(6, k=k, persistent=True, chains=4, seed=0))
    pcd.persistent_chains.assign(start)
    phase = pcd.contrastive_divergence(np.zeros((3, 6), "float32"))
    np.testing.assert_allclose(phase["reconstruction"], 0.0, atol=1e-5)
    np.testing.assert_allclose(phase["negative_visible"], expected, atol=1e-5)
    np.testing.assert_allclose(ladder(RBM(6, seed=0)).gibbs(start, steps=k), expected, atol=1e-5)


def test_persistent_chain_continues_across_batches():
    """PCD: the negative phase starts from the stored chains (not the data) and stores its end."""
    visible = hidden = 4
    sharp = 20.0 * np.eye(visible)  # h ≈ v and v ≈ h: the chain (almost) stays where it is
    x = np.zeros((8, visible), "float32")
    for persistent, expected in ((False, 0.0), (True, 1.0)):
        layer = built(RBM(hidden, persistent=persistent, chains=8, seed=0), visible,
                      kernel=sharp, visible_bias=-10 * np.ones(visible),
                      hidden_bias=-10 * np.ones(hidden))
        if persistent:
            assert layer.persistent_chains.trainable is False
            assert all(w is not layer.persistent_chains for w in layer.trainable_weights)
            layer.persistent_chains.assign(np.ones((8, visible), "float32"))
        negative = np.asarray(layer.contrastive_divergence(x)["negative_visible"])
        np.testing.assert_allclose(negative, expected, atol=1e-3)

    # and fit() writes the chain's end back after every batch
    rng = np.random.default_rng(0)
    inputs = keras.Input((10,))
    layer = RBM(3, persistent=True, chains=5, seed=1, name="rbm")
    model = keras.Model(inputs, layer(inputs))
    model.compile(keras.optimizers.SGD(0.1))
    data = (rng.random((40, 10)) < 0.5).astype("float32")
    snapshots = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            snapshots.append(np.array(layer.persistent_chains))

    model.fit(data, batch_size=10, epochs=1, shuffle=False, verbose=0, callbacks=[Record()])
    assert len(snapshots) == 4 and snapshots[0].shape == (5, 10)
    assert snapshots[0].any(), "the chains never left their all-zero start"
    assert any(not np.array_equal(a, b) for a, b in zip(snapshots, snapshots[1:]))
    assert set(np.unique(snapshots[-1])) <= {0.0, 1.0}


def test_conditionals_free_energy_and_sampling_statistics():
    layer = built(RBM(3, seed=5), 4)
    kernel, b, c = (np.asarray(w, "float64") for w in
                    (layer.kernel, layer.visible_bias, layer.hidden_bias))
    v = np.array([[0, 1, 1, 0], [1, 1, 0, 1]], "float32")
    np.testing.assert_allclose(layer.hidden_probabilities(v), sigmoid(v @ kernel + c), rtol=1e-5)
    h = np.array([[1, 0, 1]], "float32")
    np.testing.assert_allclose(layer.visible_probabilities(h), sigmoid(h @ kernel.T + b),
                               rtol=1e-5)
    # F(v) = -log Σ_h exp(-E(v, h)), by enumerating h
    states = np.array(list(itertools.product((0, 1), repeat=3)), "float32")
    for row in v:
        energies = np.array([layer.energy(row[None], s[None])[0] for s in states])
        np.testing.assert_allclose(layer.free_energy(row[None])[0],
                                   -np.log(np.exp(-energies).sum()), rtol=1e-5)
    many = np.repeat(v[:1], 4000, axis=0)
    np.testing.assert_allclose(np.asarray(layer.sample_hidden(many)).mean(0),
                               sigmoid(v[:1] @ kernel + c)[0], atol=0.03)
    samples = np.asarray(layer.gibbs(many, steps=2))
    assert samples.shape == many.shape and set(np.unique(samples)) <= {0.0, 1.0}
    np.testing.assert_allclose(layer.reconstruct(v),
                               sigmoid(sigmoid(v @ kernel + c) @ kernel.T + b), rtol=1e-5)


def test_gaussian_visible_units():
    layer = built(RBM(2, visible="gaussian", seed=0), 3)
    kernel, b, c = (np.asarray(w, "float64") for w in
                    (layer.kernel, layer.visible_bias, layer.hidden_bias))
    h = np.array([[1, 0]] * 20000, "float32")
    samples = np.asarray(layer.sample_visible(h))
    np.testing.assert_allclose(samples.mean(0), b + kernel[:, 0], atol=0.03)
    np.testing.assert_allclose(samples.std(0), 1.0, atol=0.03)  # unit variance
    v = np.array([[-1.5, 0.3, 2.0]], "float32")  # real values are fine here
    expected = 0.5 * ((v - b) ** 2).sum() - np.logaddexp(0, v @ kernel + c).sum()
    np.testing.assert_allclose(layer.free_energy(v)[0], expected, rtol=1e-5)
    # exact log Z of a Gaussian-Bernoulli RBM with one visible unit, against quadrature
    one = built(RBM(2, visible="gaussian"), 1, seed=2)
    grid = np.linspace(-30, 30, 200001)
    free = np.asarray(evaluation.free_energy(one, grid[:, None]))
    log_z = np.log(np.trapezoid(np.exp(-free), grid))
    assert abs(evaluation.exact_log_partition(one) - log_z) < 1e-4


def test_fit_reports_reconstruction_error_and_pseudo_likelihood_and_learns():
    rng = np.random.default_rng(0)
    prototypes = (rng.random((3, 16)) < 0.5).astype("float32")
    x = prototypes[rng.integers(0, 3, 600)]
    x = np.where(rng.random(x.shape) < 0.05, 1 - x, x).astype("float32")
    inputs = keras.Input((16,))
    model = keras.Model(inputs, RBM(8, seed=0, name="rbm")(inputs))
    model.compile(keras.optimizers.SGD(0.2))
    history = model.fit(x, epochs=8, batch_size=20, verbose=0).history
    assert set(history) == {"loss", "reconstruction_error", "pseudo_log_likelihood"}
    # the loss shown is the reconstruction error (never the free-energy gap)
    np.testing.assert_allclose(history["loss"], history["reconstruction_error"], rtol=1e-4)
    assert history["reconstruction_error"][-1] < 0.6 * history["reconstruction_error"][0]
    assert history["pseudo_log_likelihood"][-1] > history["pseudo_log_likelihood"][0]
    evaluated = model.evaluate(x, verbose=0, return_dict=True)
    rbm = model.get_layer("rbm")
    mean_field = float(np.mean((x - np.asarray(rbm.reconstruct(x))) ** 2))
    assert evaluated["loss"] == pytest.approx(mean_field, rel=1e-4)
    assert np.isnan(evaluated["pseudo_log_likelihood"])  # not measured in evaluate()
    # the numpy pseudo-likelihood agrees in scale with the one logged while training
    pll = evaluation.pseudo_log_likelihood(model, x, seed=0).mean()
    assert abs(pll - history["pseudo_log_likelihood"][-1]) < 0.25 * abs(pll)


def test_pseudo_likelihood_in_the_layer_matches_numpy():
    """Catches the layer flipping another visible unit than the one it drew for an example (or
    using another unit's weight row or bias), against numpy flipping the drawn unit."""
    rng = np.random.default_rng(2)
    visible, batch = 5, 12
    layer = built(RBM(3, seed=0), visible)
    weights = [np.asarray(w, "float64") for w in
               (layer.kernel, layer.visible_bias, layer.hidden_bias)]
    v = (rng.random((batch, visible)) < 0.5).astype("float32")
    state = np.array(layer.seed_generator.state)
    ours = np.asarray(layer._pseudo_log_likelihood(v, layer._hidden_preactivation(v)))
    index = Draws(state).randint((batch, 1), visible)[:, 0]  # the unit the layer drew
    assert len(set(index)) >= 3
    expected = numpy_pseudo_log_likelihood(v.astype("float64"), weights, index)
    np.testing.assert_allclose(ours, expected, rtol=1e-5)
    for other in (index + 1) % visible, np.zeros_like(index):  # flipping another unit shows
        assert np.abs(numpy_pseudo_log_likelihood(v.astype("float64"), weights, other)
                      - expected).max() > 1e-2
    # with one unit, the pseudo-likelihood is the likelihood itself: p(0) + p(1) = 1
    one = built(RBM(3, seed=0), 1)
    v = np.array([[0.0], [1.0], [1.0]], "float32")
    ours = np.asarray(one._pseudo_log_likelihood(v, one._hidden_preactivation(v)))
    np.testing.assert_allclose(ours, evaluation.pseudo_log_likelihood(one, v), rtol=1e-5)
    np.testing.assert_allclose(np.exp(ours[0]) + np.exp(ours[1]), 1.0, rtol=1e-5)
    np.testing.assert_allclose(ours[1], ours[2])


def test_exact_log_likelihood_normalises():
    layer = built(RBM(3), 5, seed=4)
    states = np.array(list(itertools.product((0, 1), repeat=5)), "float32")
    log_z = evaluation.exact_log_partition(layer)
    log_p = -np.asarray(evaluation.free_energy(layer, states)) - log_z
    np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, rtol=1e-9)
    assert evaluation.exact_log_likelihood(layer, states[:4]) == pytest.approx(
        log_p[:4].mean())


def test_ais_estimate_is_close_to_the_exact_log_partition():
    rng = np.random.default_rng(0)
    layer = built(RBM(12), 30, kernel=rng.normal(0, 0.6, (30, 12)), seed=6)
    data = (rng.random((200, 30)) < 0.3).astype("float32")
    exact = evaluation.exact_log_partition(layer)
    result = evaluation.ais_log_partition(layer, data=data, runs=100, betas=2000, seed=0)
    assert abs(result.log_z - exact) < 0.5, (result.log_z, exact)
    assert result.log_z_low <= result.log_z <= result.log_z_high
    estimate = evaluation.estimated_log_likelihood(layer, data, runs=50, betas=1000)
    assert abs(estimate["log_likelihood"] - evaluation.exact_log_likelihood(layer, data)) < 0.5


def test_config_round_trip_and_serialisation():
    layer = RBM(7, visible="gaussian", k=3, persistent=True, chains=9,
                positive_phase="samples", sample_chain_visible=False, seed=11, name="r")
    clone = RBM.from_config(layer.get_config())
    for key in ("units", "visible", "k", "persistent", "chains", "positive_phase",
                "sample_chain_visible", "seed"):
        assert getattr(clone, key) == getattr(layer, key)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layer(inputs))
    assert [w.name for w in layer.weights] == ["kernel", "visible_bias", "hidden_bias",
                                                "persistent_chains"]
    assert layer.kernel.shape == (4, 7)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    restored.set_weights(model.get_weights())
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 0}, "units (hidden layer size) must be a positive integer, got 0"),
    ({"units": 3, "k": 0}, "k (Gibbs steps of CD-k) must be a positive integer, got 0"),
    ({"units": 3, "visible": "poisson"}, "visible must be one of bernoulli, gaussian"),
    ({"units": 3, "chains": 0}, "chains (persistent chains) must be a positive integer"),
    ({"units": 3, "positive_phase": "means"}, "positive_phase must be one of"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RBM(**kwargs)


def test_bad_visible_values_and_sizes():
    layer = built(RBM(3), 4)
    with pytest.raises(ValueError, match=r"visible values must lie in \[0, 1\]; got values in "
                                         r"\[-0.5, 2\]"):
        layer.free_energy(np.array([[-0.5, 0, 1, 2]], "float32"))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        evaluation.exact_log_likelihood(layer, np.full((1, 4), 3.0))
    with pytest.raises(ValueError, match="gibbs steps must be a positive integer"):
        layer.gibbs(np.zeros((1, 4), "float32"), steps=0)
    big = built(RBM(21), 2)
    with pytest.raises(ValueError, match="at most 20 hidden units; this RBM has 21"):
        evaluation.exact_log_likelihood(big, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="flatten images first"):
        RBM(3).build((None, 4, 4))
    with pytest.raises(ValueError, match="4 visible units; got data with 5"):
        evaluation.free_energy(layer, np.zeros((1, 5)))


def test_rbm_pretraining_unit():
    assert "rbm" in pretraining.list_units()
    rng = np.random.default_rng(0)
    x = (rng.random((64, 10)) < 0.3).astype("float32")
    unit = pretraining.make_unit("rbm", 10, 4, seed=0, steps_per_execution=1)
    history = unit.fit(x, epochs=2, batch_size=16, learning_rate=0.1)
    assert len(history["reconstruction_error"]) == 2
    kernel, bias = unit.dense_weights()
    assert kernel.shape == (10, 4) and bias.shape == (4,)
    np.testing.assert_allclose(unit.transform(x), sigmoid(x @ kernel + bias), rtol=1e-4)
    samples = unit.transform(x, sample=True)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="pre-trains sigmoid layers only; got activation 'relu'"):
        pretraining.make_unit("rbm", 10, 4, activation="relu")
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        unit.fit(x * 3, epochs=1, batch_size=16, learning_rate=0.1)


def test_auto_visible_units_give_a_gaussian_bottom_under_bernoulli_layers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")  # standardised, real-valued
    result = pretraining.greedy_pretrain(x, (5, 3), "rbm", epochs=1, batch_size=16,
                                         learning_rate=0.01,
                                         unit_options={"visible": "auto",
                                                       "steps_per_execution": 1})
    assert [unit.layer.visible for unit in result.units] == ["gaussian", "bernoulli"]
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        pretraining.greedy_pretrain(x, (5,), "rbm", epochs=1, batch_size=16, learning_rate=0.01)


# --- construction: the refusals, the defaults a user relies on, the weights it makes

@pytest.mark.parametrize("argument, name", [("units", "units (hidden layer size)"),
                                            ("k", "k (Gibbs steps of CD-k)"),
                                            ("chains", "chains (persistent chains)")])
def test_counts_must_be_positive_integers(argument, name):
    """Catches a count of 0, a bool, a float or a string accepted (or 1 refused)."""
    base = {"units": 3}
    for bad in (0, -2, True, 2.5, "4"):
        with pytest.raises(ValueError, match=rf"^RBM {re.escape(name)} must be a positive "
                                             rf"integer, got {re.escape(repr(bad))}$"):
            RBM(**{**base, argument: bad})
    assert getattr(RBM(**{**base, argument: 1}), argument) == 1


def test_choices_are_refused_naming_the_allowed_values():
    """Catches an unknown visible type or positive phase accepted, or a message that hides
    what is allowed."""
    with pytest.raises(ValueError, match=r"^RBM visible must be one of bernoulli, gaussian; "
                                         r"got 'poisson'$"):
        RBM(3, visible="poisson")
    with pytest.raises(ValueError, match=r"^RBM positive_phase must be one of probabilities, "
                                         r"samples; got 'sample'$"):
        RBM(3, positive_phase="sample")


def test_defaults_are_cd1_with_64_chains_and_a_small_seeded_normal_init():
    """Catches changed defaults (CD-1, 64 persistent chains, W ~ N(0, 0.01²), zero biases,
    Hinton's guide) and a seed that does not make the weights and the samples repeat."""
    layer = RBM(400, seed=7)
    assert (layer.k, layer.chains, layer.persistent, layer.visible) == (1, 64, False,
                                                                         "bernoulli")
    assert layer.positive_phase == "probabilities" and layer.sample_chain_visible is True
    layer.build((None, 300))
    kernel = np.asarray(layer.kernel)
    assert abs(kernel.mean()) < 5e-4 and abs(kernel.std() - 0.01) < 5e-4
    assert not np.asarray(layer.visible_bias).any() and not np.asarray(layer.hidden_bias).any()
    again = RBM(400, seed=7)
    again.build((None, 300))
    np.testing.assert_array_equal(np.asarray(again.kernel), kernel)
    other = RBM(400, seed=8)
    other.build((None, 300))
    assert not np.array_equal(np.asarray(other.kernel), kernel)
    v = np.random.default_rng(0).random((4, 300)).astype("float32")
    np.testing.assert_array_equal(np.asarray(layer.sample_hidden(v)),
                                  np.asarray(again.sample_hidden(v)))
    assert RBM(3, seed=7).get_config()["seed"] == 7


def test_a_given_kernel_initializer_is_used():
    """Catches the user's kernel_initializer replaced by the default."""
    layer = RBM(3, kernel_initializer="ones")
    layer.build((None, 2))
    np.testing.assert_array_equal(np.asarray(layer.kernel), np.ones((2, 3)))


def test_build_makes_the_weights_and_refuses_images():
    """Catches weights of the wrong shape, persistent chains that train or start non-zero, and
    an image batch accepted without flattening."""
    layer = RBM(3, persistent=True, chains=5)
    layer.build((None, 4))
    assert tuple(layer.kernel.shape) == (4, 3)
    assert tuple(layer.visible_bias.shape) == (4,) and tuple(layer.hidden_bias.shape) == (3,)
    assert tuple(layer.persistent_chains.shape) == (5, 4)
    assert not np.asarray(layer.persistent_chains).any()
    assert layer.persistent_chains in layer.non_trainable_weights
    assert len(layer.trainable_weights) == 3
    assert layer.compute_output_shape((None, 4)) == (None, 3)
    with pytest.raises(ValueError, match=r"^RBM takes vectors of shape \(batch, visible units\); "
                                         r"got \(None, 4, 4\) \(flatten images first\)$"):
        RBM(3).build((None, 4, 4))
    with pytest.raises(ValueError, match=r"got \(None, None\)"):
        RBM(3).build((None, None))


def test_gaussian_visible_units_log_no_pseudo_likelihood():
    """Catches the flip-one-unit pseudo-likelihood (binary units only) logged for a Gaussian
    RBM, and the reconstruction error not logged for a binary one."""
    x = np.random.default_rng(0).random((16, 5)).astype("float32")
    logged = {}
    for visible in ("bernoulli", "gaussian"):
        inputs = keras.Input((5,))
        model = keras.Model(inputs, RBM(3, visible=visible, seed=1)(inputs))
        model.compile(keras.optimizers.SGD(0.01))
        logged[visible] = set(model.fit(x, batch_size=8, epochs=1, verbose=0).history)
    assert "pseudo_log_likelihood" in logged["bernoulli"]
    assert "pseudo_log_likelihood" not in logged["gaussian"]
    assert "reconstruction_error" in logged["bernoulli"] & logged["gaussian"]


def _layer_with_weights(visible="bernoulli", seed=0):
    rng = np.random.default_rng(seed)
    layer = RBM(3, visible=visible, seed=seed)
    layer.build((None, 4))
    weights = [rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=3)]
    layer.set_weights([w.astype("float32") for w in weights])
    return layer, weights


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_energies_match_numpy_per_example(visible):
    """Catches a visible term of the wrong unit type, energies summed over the batch instead of
    per example, and float64 / integer inputs refused (numpy's defaults)."""
    layer, (kernel, b, c) = _layer_with_weights(visible)
    v = np.array([[0, 1, 1, 0], [1, 1, 0, 1], [0, 0, 0, 1]], dtype="float64")
    h = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1]], dtype="float64")
    visible_term = (-(v @ b) if visible == "bernoulli" else 0.5 * ((v - b) ** 2).sum(-1))
    free = visible_term - np.logaddexp(0, c + v @ kernel).sum(-1)
    energy = visible_term - ((c + v @ kernel) * h).sum(-1)
    np.testing.assert_allclose(np.asarray(layer.free_energy(v)), free, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer.energy(v, h)), energy, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer.hidden_probabilities(v.astype("int64"))),
                               sigmoid(c + v @ kernel), rtol=1e-5)
    assert np.asarray(layer.gibbs(v)).dtype == np.float32


def test_gibbs_runs_one_step_by_default_and_refuses_bad_steps():
    """Catches a default of more than one Gibbs step, and a bool or float step count run."""
    v = (np.random.default_rng(1).random((6, 4)) < 0.5).astype("float32")
    chains = {}
    for steps in (None, 1, 2):
        layer, _ = _layer_with_weights(seed=5)
        chains[steps] = np.asarray(layer.gibbs(v) if steps is None else layer.gibbs(v, steps))
    np.testing.assert_array_equal(chains[None], chains[1])
    assert not np.array_equal(chains[1], chains[2])
    layer, _ = _layer_with_weights()
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match=rf"^gibbs steps must be a positive integer, got "
                                             rf"{re.escape(repr(bad))}$"):
            layer.gibbs(v, bad)


def test_bernoulli_inputs_outside_0_1_are_refused_in_one_line():
    """Catches values above 1 (1.5) or below 0 fed to binary units, and a message that does
    not give the range found and the way out."""
    layer, _ = _layer_with_weights()
    for bad, low, high in ((1.5, 0, 1.5), (-0.25, -0.25, 1)):
        v = np.array([[0, 1, bad, 0]], "float32")
        with pytest.raises(ValueError, match=re.escape(
                f"a Bernoulli RBM's visible values must lie in [0, 1]; got values in "
                f"[{low:.4g}, {high:.4g}] (scale the data to [0, 1], or use visible='gaussian' "
                "on standardised data)")):
            layer.free_energy(v)
    gaussian, _ = _layer_with_weights("gaussian")
    gaussian.free_energy(np.array([[0, 1, 1.5, -3]], "float32"))  # real-valued: accepted


def test_config_round_trip_keeps_the_kernel_initializer():
    """Catches get_config dropping the user's kernel_initializer (a rebuilt layer would draw
    the default small normal weights instead)."""
    layer = RBM(3, kernel_initializer="ones", k=2, persistent=True, chains=4, seed=9)
    again = RBM.from_config(layer.get_config())
    again.build((None, 2))
    np.testing.assert_array_equal(np.asarray(again.kernel), np.ones((2, 3)))
    assert (again.k, again.persistent, again.chains, again.seed) == (2, True, 4, 9)
