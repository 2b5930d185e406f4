"""Domain-adversarial training (Ganin et al. 2016): the gradient reversal, the λ and learning-rate
schedules against their formulas, the domain-shift datasets, and the task's batches and run."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dl import data, layers, tasks
from keras_dl.data import domain_shift
from keras_dl.training.schedules import annealed_learning_rate


def test_reversal_is_the_identity_forward_and_minus_lambda_backward():
    layer = layers.GradientReversal(0.7)
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 3)), "float32")
    upstream = tf.constant(np.random.default_rng(1).normal(size=(4, 3)), "float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        total = tf.reduce_sum(y * upstream)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_allclose(tape.gradient(total, x).numpy(), -0.7 * upstream.numpy(),
                               rtol=1e-6)
    layer.strength.assign(0.0)  # what the schedule does: no recompiling
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(layer(x) * upstream)
    assert np.all(tape.gradient(total, x).numpy() == 0)


@pytest.mark.parametrize("strength", [-1, float("nan"), "1", True])
def test_bad_strength_is_refused_in_one_line(strength):
    with pytest.raises(ValueError, match="strength must be a finite number ≥ 0"):
        layers.GradientReversal(strength)


def test_lambda_and_learning_rate_schedules_follow_the_papers_formulas():
    for p in (0.0, 0.1, 0.5, 1.0):
        assert layers.dann_lambda(p) == pytest.approx(2 / (1 + math.exp(-10 * p)) - 1)
        assert annealed_learning_rate("annealing", 0.01, round(p * 20), 20) == pytest.approx(
            0.01 / (1 + 10 * round(p * 20) / 20) ** 0.75)
    assert layers.dann_lambda(0.0) == 0 and layers.dann_lambda(1.0) > 0.9999
    with pytest.raises(ValueError, match="training progress must be in"):
        layers.dann_lambda(1.5)


def test_moons_shift_alternates_labelled_source_and_hidden_target():
    x, y = data.load_numpy("moons_shift", "train")
    assert x.shape == (600, 2) and np.all(y[1::2] == domain_shift.UNLABELLED)
    assert set(np.unique(y[0::2])) == {0, 1}
    x_test, y_test = data.load_numpy("moons_shift", "test")
    assert len(x_test) == 1000 and set(np.unique(y_test)) == {0, 1}
    (source, _), (target, _) = domain_shift.source_and_target("moons_shift")
    np.testing.assert_array_equal(x[0::2], source)
    # the target is the source's distribution turned by 35° about the moons' centre
    angle = math.radians(35)
    turn = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    unturned = (target - [0.5, 0.25]) @ turn.T + [0.5, 0.25]
    fresh, _ = domain_shift._moons(300, domain_shift.MOONS_SEEDS["target"], rotate=False)
    np.testing.assert_allclose(unturned, fresh, atol=1e-5)


def test_textures_and_blend():
    textures = domain_shift.colour_textures(5, 28, 28, seed=3)
    low, high = domain_shift.TEXTURE_WINDOW
    assert textures.shape == (5, 28, 28, 3)
    assert textures.min() >= low and textures.max() <= high + 1e-6  # inside the window
    spans = textures.max(axis=(1, 2, 3)) - textures.min(axis=(1, 2, 3))
    assert len(set(np.round(spans, 4))) == 5  # each image its own window
    np.testing.assert_array_equal(textures, domain_shift.colour_textures(5, 28, 28, seed=3))
    assert not np.array_equal(textures, domain_shift.colour_textures(5, 28, 28, seed=4))
    images = np.random.default_rng(0).random((5, 28, 28, 1), dtype="float32")
    np.testing.assert_allclose(domain_shift.blend(images, textures), np.abs(textures - images))


def test_batches_hide_the_target_labels_from_the_label_loss():
    """Catches a target label counted, or a label loss diluted by the hidden labels: it is the
    mean over the batch's source examples (weights n / n_source), as in Ganin et al."""
    task = tasks.get("domain_adaptation")
    classifier = keras_dl_dann()
    fit_model = task.training_model(classifier, None, lambda: keras.optimizers.SGD(0.01))
    batch = tf.data.Dataset.from_tensor_slices(
        (np.zeros((4, 2), "float32"), np.array([1, -1, 0, -1], "int32"))).batch(4)
    _x, y, weights = next(iter(task.adapt_dataset(batch, fit_model)))
    np.testing.assert_array_equal(y["label"].numpy(), [1, 0, 0, 0])
    np.testing.assert_array_equal(y["domain"].numpy()[:, 0], [0, 1, 0, 1])
    np.testing.assert_array_equal(weights["label"].numpy(), [2, 0, 2, 0])
    np.testing.assert_array_equal(weights["domain"].numpy(), [1, 1, 1, 1])
    assert task.monitor_key("val_accuracy", fit_model) == "val_label_accuracy"
    # one source among four: its loss alone, not a quarter of it
    batch = tf.data.Dataset.from_tensor_slices(
        (np.zeros((4, 2), "float32"), np.array([-1, -1, 1, -1], "int32"))).batch(4)
    _x, y, weights = next(iter(task.adapt_dataset(batch, fit_model)))
    np.testing.assert_array_equal(weights["label"].numpy(), [0, 0, 4, 0])
    loss = keras.losses.SparseCategoricalCrossentropy()
    probabilities = np.array([[0.5, 0.5], [0.5, 0.5], [0.2, 0.8], [0.5, 0.5]], "float32")
    np.testing.assert_allclose(float(loss(y["label"], probabilities, weights["label"])),
                               -np.log(0.8), rtol=1e-6)
    # an all-target batch: no label loss, and no division by zero
    batch = tf.data.Dataset.from_tensor_slices(
        (np.zeros((2, 2), "float32"), np.array([-1, -1], "int32"))).batch(2)
    np.testing.assert_array_equal(next(iter(task.adapt_dataset(batch, fit_model)))[2]["label"],
                                  [0, 0])


def test_the_domain_classifier_is_the_papers_one_hidden_layer():
    """Ganin et al.'s MNIST network: the domain classifier reads the features through the
    reversal, one hidden layer of 100 (the label predictor's first width), then one logit."""
    import keras_dl

    classifier = keras_dl.create_model("dann", input_shape=(28, 28, 3), num_classes=10)
    fit_model = tasks.get("domain_adaptation").training_model(
        classifier, None, lambda: keras.optimizers.SGD(0.01))
    dense = [layer for layer in fit_model.layers if layer.name.startswith("domain_")
             and isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [100, 1]
    assert dense[0].input.shape[-1] == 7 * 7 * 48


def keras_dl_dann():
    import keras_dl

    return keras_dl.create_model("dann", input_shape=(2,), num_classes=2, features="mlp",
                                 feature_units=(8,), label_units=(8,))


def test_a_run_on_the_moons_serves_the_classifier_alone(tmp_path):
    from keras_dl.training import train

    result = train("dann", dataset="moons_shift", run_dir=tmp_path / "run", epochs=1, limit=128,
                   batch_size=64, verbose=0, builder_kwargs={"features": "mlp",
                                                             "feature_units": [8],
                                                             "label_units": [8]})
    assert {"domain_loss", "label_accuracy", "val_label_accuracy"} <= set(result.history[-1])
    assert 0 <= result.metrics["test_accuracy"] <= 1 and result.metrics["test_examples"] == 128
    saved = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert len(saved.outputs) == 1 and saved.output.shape[-1] == 2
