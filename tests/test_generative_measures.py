"""keras_dl.evaluation.generative: the Fréchet distance on known distributions and against
SciPy's matrix square root, mode coverage and label accuracy on a constructed classifier."""

import keras
import numpy as np
import pytest
import scipy.linalg

from keras_dl.evaluation import generative


def gaussian(count, mean, cov, seed):
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=count)


def scipy_frechet(a, b):
    """The textbook formula with SciPy's general matrix square root (an independent route)."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root))


def test_identical_sets_are_at_distance_zero():
    a = gaussian(500, np.zeros(5), np.eye(5), seed=0)
    assert generative.frechet_distance(a, a) == pytest.approx(0, abs=1e-9)


def test_a_shifted_copy_is_at_the_squared_shift():
    """Same covariance exactly, means apart by `shift`: d² = ‖shift‖²."""
    a = gaussian(400, np.zeros(4), np.diag([1.0, 2.0, 0.5, 3.0]), seed=1)
    shift = np.array([0.3, -1.0, 0.0, 2.0])
    assert generative.frechet_distance(a, a + shift) == pytest.approx(np.sum(shift ** 2),
                                                                      rel=1e-9)


def test_diagonal_gaussians_match_the_closed_form():
    """For diagonal covariances d² = ‖μ₁ − μ₂‖² + Σ(σ₁ − σ₂)²; sampled, so within sampling
    error. Catches a missing factor 2 on the cross term or a trace of Σ₁Σ₂ without the root."""
    sd_a, sd_b = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 0.5])
    mean_a, mean_b = np.zeros(3), np.array([1.0, 0.0, -1.0])
    a = gaussian(200_000, mean_a, np.diag(sd_a ** 2), seed=2)
    b = gaussian(200_000, mean_b, np.diag(sd_b ** 2), seed=3)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((sd_a - sd_b) ** 2)  # 2 + 2 = 4
    assert generative.frechet_distance(a, b) == pytest.approx(expected, rel=0.01)


def test_full_covariances_agree_with_scipys_matrix_square_root():
    rng = np.random.default_rng(4)
    for trial in range(3):
        mix_a, mix_b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
        a = rng.normal(size=(300, 6)) @ mix_a
        b = rng.normal(size=(300, 6)) @ mix_b + rng.normal(size=6)
        ours = generative.frechet_distance(a, b)
        assert ours == pytest.approx(scipy_frechet(a, b), rel=1e-6), trial
        assert ours == pytest.approx(generative.frechet_distance(b, a), rel=1e-9)


def small_classifier():
    """Three inputs, three classes: the class is the index of the largest input."""
    inputs = keras.Input(shape=(3,))
    hidden = keras.layers.Dense(3, use_bias=False, kernel_initializer="identity",
                                name="features")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", use_bias=False,
                                 kernel_initializer=keras.initializers.Identity(10.0),
                                 name="predictions")(hidden)
    return keras.Model(inputs, outputs, name="argmax_net")


def test_class_shares_and_label_accuracy_on_a_known_classifier():
    model = small_classifier()
    images = np.eye(3, dtype="float32")[[0, 0, 1, 2, 2, 2, 2, 0]]
    np.testing.assert_allclose(generative.class_shares(model, images), [3 / 8, 1 / 8, 4 / 8])
    labels = np.array([0, 0, 1, 2, 2, 2, 1, 1])
    assert generative.label_accuracy(model, images, labels) == pytest.approx(6 / 8)


def test_classifier_features_are_the_last_layers_input_or_a_named_layer():
    model = small_classifier()
    x = np.array([[0.2, 0.5, -1.0]], dtype="float32")
    np.testing.assert_allclose(generative.classifier_features(model).predict(x, verbose=0), x,
                               rtol=1e-6)
    named = generative.classifier_features(model, "features")
    assert named.output.shape == (None, 3)
    with pytest.raises(ValueError, match="no layer 'nope' in model 'argmax_net'; layers: "):
        generative.classifier_features(model, "nope")


@pytest.mark.parametrize("call, message", [
    (lambda m: generative.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4))),
     "the feature sets differ in size: 3 and 4"),
    (lambda m: generative.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3))),
     "features_a must be a 2-D array of at least 2 feature vectors"),
    (lambda m: generative.frechet_distance(np.zeros((5, 3)), np.full((5, 3), np.nan)),
     "features_b holds NaN or infinite values"),
    (lambda m: generative.label_accuracy(m, np.eye(3), [0, 1, 5]),
     "label 5 is outside the classifier's classes 0..2"),
    (lambda m: generative.label_accuracy(m, np.eye(3), [0.0, 1.0, 2.0]),
     "expected 3 integer labels"),
    (lambda m: generative.class_shares(generative.classifier_features(
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(1), keras.layers.Dense(1)])),
        np.eye(3)), "is not a classifier"),
])
def test_bad_inputs_are_refused_in_one_line(call, message):
    with pytest.raises(ValueError) as raised:
        call(small_classifier())
    assert message in str(raised.value) and "\n" not in str(raised.value)


# === Sampling a generator and scoring its samples (keras_dl.evaluation.sample_scores) =========

def tiny_generator(conditional=False, classes=3):
    """Noise (2) [+ an integer label] → a 3-vector "image", for the argmax classifier above."""
    noise = keras.Input((2,), name="noise")
    inputs, h = noise, noise
    if conditional:
        label = keras.Input((), dtype="int32", name="label")
        embedded = keras.layers.Embedding(classes, 2, name="generator_label")(label)
        h = keras.layers.Concatenate()([noise, embedded])
        inputs = [noise, label]
    images = keras.layers.Dense(3, name="images")(h)
    return keras.Model(inputs, images, name="tiny_generator")


def test_sample_images_from_fixed_noise_for_gans_and_a_vaes_prior():
    """Catches noise that changes with the count or between calls, labels ignored, and a VAE
    sampled through its encoder instead of its decoder from z ~ N(0, I)."""
    from keras_dl import create_model
    from keras_dl.evaluation.sample_scores import sample_images

    generator = tiny_generator()
    images = sample_images(generator, 7, seed=3, batch_size=4)
    assert images.shape == (7, 3)
    np.testing.assert_allclose(sample_images(generator, 2, seed=3), images[:2], rtol=1e-6)
    assert not np.allclose(sample_images(generator, 2, seed=4), images[:2])
    conditional = tiny_generator(conditional=True)
    a = sample_images(conditional, 3, [0, 1, 2], seed=0)
    b = sample_images(conditional, 3, [2, 2, 2], seed=0)
    assert a.shape == (3, 3) and not np.allclose(a[:2], b[:2]) and np.allclose(a[2], b[2])
    vae = create_model("vae", input_shape=(4, 4, 1), latent_dim=2, hidden_units=(5,))
    assert sample_images(vae, 5).shape == (5, 4, 4, 1)


@pytest.mark.parametrize("call, message", [
    (lambda g, c: sample_images_(g, 0), "count must be a positive integer, got 0"),
    (lambda g, c: sample_images_(c, 3), "is conditional: give a label per noise row, in 0..2"),
    (lambda g, c: sample_images_(c, 2, [0, 3]), "label 3 is outside the generator's classes"),
    (lambda g, c: sample_images_(g, 2, [0, 1]), "is unconditional: it takes no labels"),
])
def test_sampling_refuses_bad_requests_in_one_line(call, message):
    with pytest.raises(ValueError) as raised:
        call(tiny_generator(), tiny_generator(conditional=True))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def sample_images_(*args, **kwargs):
    from keras_dl.evaluation.sample_scores import sample_images

    return sample_images(*args, **kwargs)


def test_sample_scorer_agrees_with_the_separate_measures():
    """Catches the scorer's one pass giving other features or classes than
    `classifier_features`, `class_shares` and `label_accuracy` do."""
    from keras_dl.evaluation.sample_scores import SampleScorer

    model = small_classifier()
    rng = np.random.default_rng(0)
    reference, images = rng.normal(size=(50, 3)), rng.normal(size=(40, 3)) + [1.0, 0, 0]
    labels = rng.integers(0, 3, size=40)
    scorer = SampleScorer(model, reference)
    scores = scorer(images, labels)
    features = keras.ops.convert_to_numpy(generative.classifier_features(model)(
        [np.concatenate([images, reference]).astype("float32")]))
    assert scores["frechet_distance"] == pytest.approx(generative.frechet_distance(
        features[:40], features[40:]), rel=1e-5)
    shares = generative.class_shares(model, images)
    np.testing.assert_allclose(scores["class_shares"], shares, atol=1e-6)
    assert scores["classes_covered"] == np.count_nonzero(shares)
    assert scores["largest_class_share"] == pytest.approx(shares.max())
    assert scores["label_accuracy"] == pytest.approx(
        generative.label_accuracy(model, images, labels))
    with pytest.raises(ValueError, match=r"images of shape \(4, 2\) do not fit classifier "
                                         r"'argmax_net', which takes \(batch, 3\)"):
        scorer(np.zeros((4, 2)))


def test_generative_scores_records_every_epoch_from_the_same_noise(tmp_path):
    """Catches rows not written to the JSON file, a conditional generator scored without its
    labels, the generator of a trainer not found, and noise that changes between epochs."""
    import json
    from types import SimpleNamespace

    from keras_dl.evaluation.sample_scores import SampleScorer
    from keras_dl.training.generative_scores import GenerativeScores

    scorer = SampleScorer(small_classifier(), np.random.default_rng(0).normal(size=(30, 3)))
    callback = GenerativeScores(scorer, tmp_path / "run" / "scores.json", count=20,
                                per_class=4, keep=3)
    callback.set_model(SimpleNamespace(generator=tiny_generator()))  # as a GANTrainer
    callback.on_epoch_end(0)
    callback.on_epoch_end(1)
    rows = json.loads((tmp_path / "run" / "scores.json").read_text())["rows"]
    assert [row["epoch"] for row in rows] == [1, 2] and rows[0]["samples"] == 20
    assert rows[0]["frechet_distance"] == pytest.approx(rows[1]["frechet_distance"])
    np.testing.assert_allclose(callback.samples[1], callback.samples[2])
    assert callback.samples[1].shape == (3, 3) and "label_accuracy" not in rows[0]
    conditional = GenerativeScores(scorer, tmp_path / "c.json",
                                   generator=tiny_generator(conditional=True), per_class=4)
    row = conditional.score(0)
    assert row["samples"] == 12 and 0 <= row["label_accuracy"] <= 1
    with pytest.raises(ValueError, match="count must be a positive integer, got 0"):
        GenerativeScores(scorer, tmp_path / "x.json", count=0)
