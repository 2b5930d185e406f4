"""The generative DBN of Hinton, Osindero & Teh (2006): label-clamped sampling, classification
by the top RBM's free energy, up-down fine-tuning and its refusals (tiny, on the 8×8 digits)."""

import keras
import numpy as np
import pytest

from keras_dl import data
from keras_dl.training.generative_dbn import GenerativeDBN

CLASSES = 10


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture(scope="module")
def digits():
    x_train, y_train = data.load_numpy("digits", "train")
    x_test, y_test = data.load_numpy("digits", "test")
    return x_train, y_train, x_test, y_test


@pytest.fixture(scope="module")
def trained(digits):
    """A 64-24-[24 + 10]-48 DBN after a short greedy training (a few seconds)."""
    x_train, y_train, _, _ = digits
    keras.utils.set_random_seed(0)  # fit's shuffling
    dbn = GenerativeDBN(input_shape=(8, 8, 1), num_classes=CLASSES, hidden_units=(24, 48),
                        seed=0)
    dbn.fit(x_train, y_train, epochs=15, batch_size=20, learning_rate=0.1)
    return dbn


def numpy_free_energies(dbn, x):
    """F([f, e_l]) per label, from the weights alone: f by the recognition up-pass, then
    F(v) = -bᵀv - Σ softplus(c + vW) in the top RBM."""
    state = x.reshape(len(x), -1).astype("float64")
    for kernel, bias in dbn.recognition:
        state = sigmoid(state @ kernel + bias)
    kernel = np.asarray(dbn.top.kernel, "float64")
    visible_bias = np.asarray(dbn.top.visible_bias, "float64")
    hidden_bias = np.asarray(dbn.top.hidden_bias, "float64")
    energies = np.empty((len(x), CLASSES))
    for label in range(CLASSES):
        labels = np.zeros((len(x), CLASSES))
        labels[:, label] = 1
        visible = np.concatenate([state, labels], axis=1)
        energies[:, label] = (-visible @ visible_bias
                              - np.logaddexp(0, visible @ kernel + hidden_bias).sum(axis=1))
    return energies


def test_label_units_stay_clamped_at_every_gibbs_step(trained):
    """Bug caught: the chain resamples the label units (or starts from another label), so the
    top RBM wanders to other classes while the caller believes it draws one class."""
    seen = []
    trained.sample(7, gibbs_steps=25, n=5, callback=lambda step, v: seen.append((step, v)))
    assert [step for step, _ in seen] == list(range(1, 26))
    expected = np.zeros((5, CLASSES), "float32")
    expected[:, 7] = 1
    for _, visible in seen:
        assert visible.shape == (5, trained.feature_dim + CLASSES)
        np.testing.assert_array_equal(visible[:, trained.feature_dim:], expected)
    # the features do move: a chain stuck at its start would also "keep" the label
    assert not np.array_equal(seen[0][1], seen[-1][1])


def test_samples_are_images_in_unit_interval_and_snapshots_follow_one_chain(trained):
    """Bugs caught: flat vectors instead of images, values outside [0, 1] (a missing sigmoid
    in the top-down pass), snapshots of a different length than asked."""
    images = trained.sample(2, gibbs_steps=10, n=6)
    assert images.shape == (6, 8, 8, 1)
    assert images.min() >= 0 and images.max() <= 1
    frames = trained.sample(2, gibbs_steps=10, n=3, snapshots=(1, 5, 10))
    assert len(frames) == 3 and all(f.shape == (3, 8, 8, 1) for f in frames)
    # same seed, same chain: the last snapshot is the 10-step sample
    np.testing.assert_allclose(frames[-1], trained.sample(2, gibbs_steps=10, n=3), rtol=1e-6)


def test_samples_of_a_class_are_classified_as_that_class(trained):
    """Bug caught: sampling ignores the clamped label (every class draws the same images)."""
    hits = [np.mean(trained.classify(trained.sample(label, gibbs_steps=50, n=20)) == label)
            for label in range(CLASSES)]
    assert np.mean(hits) > 0.25  # chance is 0.1; measured about 0.45


def test_classify_is_argmin_of_the_top_rbms_free_energy_per_label(trained, digits):
    """Bugs caught: argmax instead of argmin, the label block wrongly placed or scaled, the
    up-pass using the wrong weights (checked after up-down untied them)."""
    _, _, x_test, _ = digits
    x = x_test[:50]
    expected = numpy_free_energies(trained, x)
    np.testing.assert_allclose(trained.free_energies(x), expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(trained.classify(x), np.argmin(expected, axis=1))


def test_classification_beats_chance_after_short_training(trained, digits):
    """Bug caught: the labels play no part in the top RBM (all classes' free energies equal,
    error 0.9 on ten balanced classes)."""
    _, _, x_test, y_test = digits
    error = np.mean(trained.classify(x_test) != y_test)
    assert error < 0.65, error  # measured about 0.4


def test_up_down_unties_generative_from_recognition_weights(digits):
    """Bugs caught: up-down that updates nothing, one set of weights shared by both passes
    (still tied after fine-tuning), or a top-down pass that reads the recognition weights."""
    x_train, y_train, x_test, _ = digits
    dbn = GenerativeDBN(input_shape=(8, 8, 1), hidden_units=(12, 16), seed=1)
    dbn.fit(x_train[:300], y_train[:300], epochs=2, batch_size=20)
    (recognition, _), = dbn.recognition
    (generative, _), = dbn.generative
    np.testing.assert_array_equal(recognition, generative)  # tied after the greedy phase
    top_before = np.array(dbn.top.kernel)
    errors = dbn.up_down(x_train[:300], y_train[:300], epochs=2, batch_size=20,
                         learning_rate=0.05)
    assert len(errors) == 2 and all(0 < e < 1 for e in errors)
    (recognition_after, _), = dbn.recognition
    (generative_after, _), = dbn.generative
    assert not np.allclose(recognition_after, recognition)
    assert not np.allclose(generative_after, generative)
    assert not np.allclose(recognition_after, generative_after)
    assert not np.allclose(np.array(dbn.top.kernel), top_before)
    # the top-down pass reads the generative weights: with G = 0 every pixel is σ(b)
    bias = np.linspace(-2, 2, 64).astype("float32")
    dbn.generative = [(np.zeros_like(generative_after), bias)]
    np.testing.assert_allclose(dbn.sample(0, gibbs_steps=2, n=2).reshape(2, 64),
                               np.tile(sigmoid(bias), (2, 1)), rtol=1e-5)
    # and the up-pass reads the recognition weights only
    np.testing.assert_allclose(dbn.free_energies(x_test[:5]),
                               numpy_free_energies(dbn, x_test[:5]), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("call, message", [
    (lambda d: d.sample(10, gibbs_steps=5),
     r"label 10 is outside the classes; allowed: integers 0 to 9"),
    (lambda d: d.sample(-1, gibbs_steps=5), r"label -1 is outside"),
    (lambda d: d.sample(True, gibbs_steps=5), r"label True is outside"),
    (lambda d: d.sample(2.0, gibbs_steps=5), r"label 2.0 is outside"),
    (lambda d: d.sample(3, gibbs_steps=0), r"gibbs_steps must be a positive integer .*got 0"),
    (lambda d: d.sample(3, gibbs_steps=-4), r"gibbs_steps .* got -4"),
    (lambda d: d.sample(3, gibbs_steps=5, n=0), r"n must be a positive integer"),
    (lambda d: d.sample(3, gibbs_steps=5, snapshots=(3, 9)), r"snapshots .* got \(3, 9\)"),
    (lambda d: d.classify(np.zeros((2, 65), "float32")),
     r"65 values per example; this DBN takes 64 \(images of shape \(8, 8, 1\)\)"),
    (lambda d: d.classify(np.full((2, 64), 3.0, "float32")), r"values in \[3, 3\]"),
], ids=["label_too_big", "label_negative", "label_bool", "label_float", "steps_zero",
        "steps_negative", "n_zero", "snapshot_past_end", "wrong_width", "not_probabilities"])
def test_bad_inputs_get_one_line_naming_the_value(trained, call, message):
    """Bug caught: a bad label silently samples from a zero (or wrong) label vector, a
    non-positive step count returns an empty list, a wrong width fails deep in a matmul."""
    with pytest.raises(ValueError, match=message) as error:
        call(trained)
    assert "\n" not in str(error.value)


def test_fit_refuses_labels_outside_the_classes_and_untrained_use(digits):
    x_train, y_train, _, _ = digits
    dbn = GenerativeDBN(input_shape=(8, 8, 1), num_classes=5, hidden_units=(8,))
    with pytest.raises(ValueError, match="label 9 is outside the classes; allowed: 0 to 4"):
        dbn.fit(x_train[:40], y_train[:40], epochs=1)
    with pytest.raises(ValueError, match=r"not trained yet: call fit\(x, y\) first"):
        dbn.sample(0, gibbs_steps=3)
    with pytest.raises(ValueError, match="up_down_epochs must be an integer >= 0; got -1"):
        dbn.fit(x_train[:40], y_train[:40] % 5, epochs=1, up_down_epochs=-1)
