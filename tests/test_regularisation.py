"""keras_dl.training.regularisation: weight penalties, input noise, first-layer-only training,
clean error curves and ensembles; and the regularisation app's refusals."""

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl.tasks.base import uses_logits
from keras_dl.training import regularisation

from _scripts import load_app

X = np.random.default_rng(0).random((16, 6)).astype("float32")
Y = np.arange(16) % 3


def tiny_mlp(seed=1, **knobs):
    return keras_dl.create_model("mlp", input_shape=(6,), num_classes=3, hidden_units=(5, 4),
                                 seed=seed, **knobs)


def known_weights(model):
    """Set every weight to a distinct known value (biases non-zero: a bias must not count)."""
    values = []
    for index, weight in enumerate(model.weights):
        value = np.linspace(-1, 1, int(np.prod(weight.shape))).reshape(weight.shape)
        weight.assign((value * (index + 1) + 0.1).astype("float32"))
        values.append(weight.numpy() if hasattr(weight, "numpy") else np.asarray(weight))
    return values


def kernels(model):
    return [np.asarray(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]


# === Weight penalties ===


@pytest.mark.parametrize("kind, penalty", [
    ("l1", lambda w: np.abs(w).sum()),
    ("l2", lambda w: np.square(w).sum()),
])
def test_the_penalty_is_lambda_times_the_kernels_norm_and_enters_the_loss(kind, penalty):
    """Catches a penalty not attached (the clone keeps the old config), l1 and l2 swapped, a
    penalty on the biases too, or one kernel missed; and a penalty that does not reach the
    loss that training minimises."""
    model = tiny_mlp()
    known_weights(model)
    penalised = regularisation.with_weight_penalty(model, **{kind: 0.01})
    expected = 0.01 * sum(penalty(kernel) for kernel in kernels(model))
    assert len(penalised.losses) == 3  # hidden1, hidden2, predictions: one per kernel
    np.testing.assert_allclose(float(sum(penalised.losses)), expected, rtol=1e-5)
    # The loss Keras reports (and minimises) is the data loss plus the penalty.
    for candidate in (model, penalised):
        candidate.compile(loss="sparse_categorical_crossentropy")
    data_loss = model.evaluate(X, Y, verbose=0)
    np.testing.assert_allclose(penalised.evaluate(X, Y, verbose=0), data_loss + expected,
                               rtol=1e-5)


def test_the_penalised_copy_keeps_the_weights_and_leaves_the_model_alone():
    """Catches a copy with fresh random weights (regimes would no longer share their start),
    or a penalty put onto the original model. The weights are moved off their (seeded)
    initial values first: a copy re-initialised from the same seeds would otherwise match."""
    model = tiny_mlp()
    known_weights(model)
    penalised = regularisation.with_weight_penalty(model, l2=0.5)
    np.testing.assert_allclose(penalised(X), model(X), rtol=1e-6)
    assert model.losses == []


@pytest.mark.parametrize("kwargs, message", [
    ({"l2": -0.1}, "l2 must be a finite number >= 0, got -0.1"),
    ({"l1": float("nan")}, "l1 must be a finite number >= 0, got nan"),
    ({"l1": "0.1"}, "l1 must be a number >= 0, got '0.1'"),
    ({}, "give l1 > 0 or l2 > 0"),
])
def test_a_bad_strength_is_one_line_naming_it(kwargs, message):
    with pytest.raises(ValueError) as error:
        regularisation.with_weight_penalty(tiny_mlp(), **kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_model_without_a_kernel_is_refused():
    model = keras.Sequential([keras.Input((6,)), keras.layers.BatchNormalization()])
    with pytest.raises(ValueError, match="no layer with a kernel to penalise"):
        regularisation.with_weight_penalty(model, l2=0.1)


# === Input noise ===


@pytest.mark.parametrize("sequential", [False, True], ids=["functional", "sequential"])
def test_input_noise_has_the_asked_deviation_in_training_only(sequential):
    """Catches noise of the wrong size (variance for deviation), noise in inference, or noise
    that is not on the input. The model is the identity, so its output minus its input is
    the noise itself."""
    if sequential:
        model = keras.Sequential([keras.Input((50,)), keras.layers.Dense(50, name="identity")])
    else:
        inputs = keras.Input((50,))
        model = keras.Model(inputs, keras.layers.Dense(50, name="identity")(inputs))
    model.get_layer("identity").set_weights([np.eye(50, dtype="float32"),
                                             np.zeros(50, "float32")])
    noisy = regularisation.with_input_noise(model, 0.3, seed=3)
    x = np.random.default_rng(1).random((400, 50)).astype("float32")
    np.testing.assert_allclose(noisy(x, training=False), x, atol=1e-6)
    noise = keras.ops.convert_to_numpy(noisy(x, training=True)) - x
    assert abs(noise.std() - 0.3) < 0.01 and abs(noise.mean()) < 0.01


def test_the_noisy_copy_still_ends_in_the_models_softmax():
    """Catches the noise put in front of a nested copy: its task would then see a model whose
    output layer has no softmax and compile it as if it gave logits (a wrong loss)."""
    model = tiny_mlp()
    known_weights(model)  # off the seeded initial values: a re-initialised copy differs
    noisy = regularisation.with_input_noise(model, 0.1)
    assert not uses_logits(noisy)
    np.testing.assert_allclose(noisy(X), model(X), rtol=1e-6)


def test_zero_or_negative_noise_is_refused():
    for stddev, message in ((0, "stddev must be > 0"), (-1, "got -1")):
        with pytest.raises(ValueError, match=message):
            regularisation.with_input_noise(tiny_mlp(), stddev)


# === First layer only ===


def test_only_the_first_layer_moves_in_a_training_step():
    """Catches freezing the wrong layer (the last, say), freezing nothing, or a first layer
    that stays frozen; the noise layer in front (no weights) must not count as the first."""
    model = regularisation.with_input_noise(tiny_mlp(), 0.1)
    first = regularisation.train_first_layer_only(model)
    assert first.name == "hidden1_dense"
    before = [np.array(weight) for weight in model.weights]
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    moved = {weight.path for weight, value in zip(model.weights, before)
             if not np.array_equal(value, np.array(weight))}
    assert moved == {"hidden1_dense/kernel", "hidden1_dense/bias"}


def test_a_model_without_weights_has_no_first_layer():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Activation("relu")])
    model.build((None, 6))
    with pytest.raises(ValueError, match="has no weights"):
        regularisation.train_first_layer_only(model)


# === Curves and ensembles ===


def test_error_and_cross_entropy_on_hand_values():
    """Catches an argmax over the wrong axis or a loss of the wrong sign or base."""
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]])
    labels = np.array([0, 2, 1])
    assert regularisation.error_rate(probabilities, labels) == pytest.approx(1 / 3)
    assert regularisation.cross_entropy(probabilities, labels) == pytest.approx(
        -(np.log(0.7) + np.log(0.6) + np.log(0.4)) / 3)


def test_epoch_errors_are_measured_in_inference_mode_after_each_epoch():
    """Catches curves measured with dropout on (the loss would not match a clean prediction),
    one record short, or the probabilities kept from another split."""
    model = tiny_mlp(dropout=0.5)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    curves = regularisation.EpochErrors({"train": (X, Y), "other": (X[:8], Y[:8])},
                                        keep_probabilities=("other",))
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[curves])
    assert len(curves.history["train_loss"]) == len(curves.history["other_error"]) == 2
    clean = keras.ops.convert_to_numpy(model(X, training=False))
    assert curves.history["train_loss"][-1] == pytest.approx(
        regularisation.cross_entropy(clean, Y), rel=1e-5)
    np.testing.assert_allclose(curves.probabilities["other"][-1], clean[:8], rtol=1e-5)
    with pytest.raises(ValueError, match="keep_probabilities names"):
        regularisation.EpochErrors({"train": (X, Y)}, keep_probabilities=("test",))


@pytest.mark.parametrize("from_logits", [False, True])
def test_the_ensemble_is_the_mean_of_its_members_probabilities(from_logits):
    """Catches a sum for a mean, one member ignored, or logits averaged before the softmax;
    and an ensemble whose evaluated accuracy is not that of its averaged prediction."""
    activation = None if from_logits else "softmax"
    members = [tiny_mlp(seed, classifier_activation=activation) for seed in (1, 2, 3)]
    ensemble = regularisation.Ensemble(members, from_logits=from_logits)
    outputs = [keras.ops.convert_to_numpy(member(X)) for member in members]
    if from_logits:
        outputs = [keras.ops.convert_to_numpy(keras.ops.softmax(o)) for o in outputs]
    expected = np.mean(outputs, axis=0)
    np.testing.assert_allclose(ensemble(X), expected, rtol=1e-5)
    np.testing.assert_allclose(regularisation.mean_probabilities(outputs), expected, rtol=1e-6)
    ensemble.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, accuracy = ensemble.evaluate(X, Y, verbose=0)
    assert accuracy == pytest.approx(1 - regularisation.error_rate(expected, Y))


def test_ensemble_curves_measure_the_mean_of_the_members_probabilities_at_each_epoch():
    """Catches an ensemble curve taken from one member, epochs paired out of order, or the
    error of the mean of errors instead of that of the mean of probabilities."""
    labels = np.array([0, 1])
    members = []
    for epochs in (
        [[[0.6, 0.4], [0.6, 0.4]], [[0.9, 0.1], [0.6, 0.4]]],  # member 1, epochs 1 and 2
        [[[0.3, 0.7], [0.3, 0.7]], [[0.4, 0.6], [0.1, 0.9]]],  # member 2
    ):
        curves = regularisation.EpochErrors({"validation": (None, labels)},
                                            keep_probabilities=("validation",))
        curves.probabilities["validation"] = [np.array(epoch) for epoch in epochs]
        members.append(curves)
    result = regularisation.ensemble_curves(members, {"validation": (None, labels)})
    # epoch 1: mean [[.45, .55], [.45, .55]] -> one of two wrong; epoch 2: [[.65, .35],
    # [.35, .65]] -> both right, though each member alone is wrong on one example
    assert result["validation_error"] == [0.5, 0.0]
    assert result["validation_loss"][1] == pytest.approx(-np.log(0.65))
    with pytest.raises(ValueError, match="kept no 'train' probabilities"):
        regularisation.ensemble_curves(members, {"train": (None, labels)})


def test_an_ensemble_of_one_or_of_mixed_shapes_is_refused():
    with pytest.raises(ValueError, match="at least 2 members, got 1"):
        regularisation.Ensemble([tiny_mlp()])
    other = keras_dl.create_model("mlp", input_shape=(6,), num_classes=4, hidden_units=(5,))
    with pytest.raises(ValueError, match="differ in"):
        regularisation.Ensemble([tiny_mlp(), other])


# === The app's refusals ===


@pytest.mark.parametrize("argv, message", [
    (["--regimes", "none,weight_noise"], "unknown regime 'weight_noise'; allowed: none, l2"),
    (["--l2", "-0.001"], "--l2 must be a finite number > 0, got -0.001"),
    (["--dropout", "1"], "--dropout must be a rate in (0, 1), got 1.0"),
    (["--members", "1"], "--members must be an integer >= 2"),
    (["--augment", "twirl"], "unknown augmentation 'twirl'"),
])
def test_the_app_answers_a_bad_option_in_one_line(argv, message, capsys):
    """Catches a bad option let through (the app would then train, or drop the regime
    silently) or answered with argparse's usage block. `main` parses its options before it
    makes the output folder, so a refused run leaves nothing on disk."""
    app = load_app("regularisation")
    with pytest.raises(SystemExit) as exit_:
        app.parse_args(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
