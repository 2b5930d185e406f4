"""The RBM's training step: the CD update computed once (`keras_dl.layers.rbm_update`), handed to
the compiled optimizer as the gradient (its learning rate, momentum and weight decay apply), and
the pseudo-likelihood measured on the first batches of each epoch only."""

import keras
import numpy as np
import tensorflow as tf

from keras_dl.layers import RBM
from keras_dl.layers.rbm_update import attach_gradients, cd_statistics
from tests.test_rbm import Draws, built, numpy_cd, numpy_pseudo_log_likelihood


def test_cd_statistics_are_the_two_phase_correlations():
    """Catches a wrong sign, a phase averaged over the other phase's rows (PCD: 5 chains
    against 3 examples) or the stacked product mixing the phases' rows."""
    rng = np.random.default_rng(0)
    v0, h0 = rng.random((3, 4)), rng.random((3, 2))
    vk, hk = rng.random((5, 4)), rng.random((5, 2))
    kernel, visible, hidden = (np.asarray(t, "float64") for t in cd_statistics(
        *(tf.constant(a, "float32") for a in (v0, h0, vk, hk))))
    np.testing.assert_allclose(kernel, v0.T @ h0 / 3 - vk.T @ hk / 5, atol=1e-6)
    np.testing.assert_allclose(visible, v0.mean(0) - vk.mean(0), atol=1e-6)
    np.testing.assert_allclose(hidden, h0.mean(0) - hk.mean(0), atol=1e-6)


def test_attach_gradients_keeps_the_value_and_gives_the_gradients():
    """Catches the value changed, a gradient not scaled by the upstream gradient (a loss
    scale), or a gradient leaking into the given tensors."""
    weight = keras.Variable(np.ones((2, 3), "float32"))
    given = tf.constant(np.arange(6, dtype="float32").reshape(2, 3))
    value = tf.constant(1.25)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([value, given])
        out = 4.0 * attach_gradients(value, [weight], [given])
    assert float(out) == 5.0
    np.testing.assert_allclose(tape.gradient(out, weight.value), 4.0 * given.numpy())
    assert float(tape.gradient(out, value)) == 4.0
    gradient_of_given = tape.gradient(out, given)
    assert gradient_of_given is None or not np.asarray(gradient_of_given).any()


def test_the_compiled_optimizer_applies_the_update_with_momentum_and_weight_decay():
    """Catches the layer applying the update itself (so the user's momentum, weight decay or
    learning rate would be ignored): two `fit` steps with SGD(ε, momentum μ, weight decay λ)
    against Keras' SGD rule replayed in numpy on the CD update, m ← μm + εΔ, w ← w − ελw + m."""
    rng = np.random.default_rng(3)
    visible, hidden, batch, lr, momentum, decay = 6, 4, 8, 0.5, 0.9, 0.1
    x = (rng.random((2 * batch, visible)) < 0.5).astype("float32")
    inputs = keras.Input((visible,))
    layer = RBM(hidden, seed=2)
    model = keras.Model(inputs, layer(inputs))
    built(layer, visible)
    weights = [np.array(w, "float64") for w in (layer.kernel, layer.visible_bias,
                                                  layer.hidden_bias)]
    states = []

    class RecordRandomState(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            states.append(np.array(layer.seed_generator.state))

    model.compile(keras.optimizers.SGD(lr, momentum=momentum, weight_decay=decay))
    model.fit(x, batch_size=batch, epochs=1, shuffle=False, verbose=0,
              callbacks=[RecordRandomState()])
    velocities = [np.zeros_like(w) for w in weights]
    for step, state in enumerate(states):
        update, _ = numpy_cd(x[step * batch:(step + 1) * batch].astype("float64"), weights,
                             Draws(state))
        velocities = [momentum * m + lr * u for m, u in zip(velocities, update)]
        weights = [w - lr * decay * w + m for w, m in zip(weights, velocities)]
    after = [np.asarray(w, "float64") for w in (layer.kernel, layer.visible_bias,
                                                 layer.hidden_bias)]
    for ours, expected in zip(after, weights):
        np.testing.assert_allclose(ours, expected, atol=5e-5)


def test_pseudo_likelihood_is_measured_on_the_first_batches_of_each_epoch():
    """Catches the pseudo-likelihood computed every step (three random draws a step instead of
    two after the first batches), never again after the first epoch (the count not reset), or
    logged as anything else than the mean over those first batches."""
    monitored = RBM.MONITORED_BATCHES
    rng = np.random.default_rng(4)
    visible, batch, steps = 5, 4, monitored + 3
    x = (rng.random((steps * batch, visible)) < 0.5).astype("float32")
    inputs = keras.Input((visible,))
    layer = RBM(3, seed=1)
    model = keras.Model(inputs, layer(inputs))
    states = []

    class RecordRandomState(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            states.append(np.array(layer.seed_generator.state))

    model.compile(keras.optimizers.SGD(0.0))  # the weights stay where they start
    history = model.fit(x, batch_size=batch, epochs=2, shuffle=False, verbose=0,
                        callbacks=[RecordRandomState()]).history
    weights = [np.asarray(w, "float64") for w in (layer.kernel, layer.visible_bias,
                                                  layer.hidden_bias)]
    states.append(np.array(layer.seed_generator.state))
    draws = np.diff(np.stack(states)[:, 1])  # the generator's counter moves once a draw
    per_epoch = [3] * monitored + [2] * (steps - monitored)
    assert draws.tolist() == per_epoch + per_epoch
    for epoch in range(2):
        expected = []
        for step in range(monitored):
            v = x[step * batch:(step + 1) * batch].astype("float64")
            source = Draws(states[epoch * steps + step])
            source.uniform((batch, 3)), source.uniform((batch, visible))  # the CD draws
            index = source.randint((batch, 1), visible)[:, 0]
            expected.append(numpy_pseudo_log_likelihood(v, weights, index).mean())
        np.testing.assert_allclose(history["pseudo_log_likelihood"][epoch], np.mean(expected),
                                   rtol=1e-4)
