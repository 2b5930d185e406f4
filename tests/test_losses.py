"""Lecture 004's losses, lecture 001's optimizers and the 1/t schedule, by name
(`--loss`, `--optimizer`, `--lr-schedule`)."""

import json

import keras
import numpy as np
import pytest

from keras_dl import training
from keras_dl.tasks.losses import (AbsoluteError, SquaredError, ZeroOneError,
                                   classification_loss)
from keras_dl.training import annealed_learning_rate, make_optimizer

LABELS = np.array([0, 2, 1])
PROBABILITIES = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.25, 0.25]], "float32")
ONE_HOT = np.eye(3, dtype="float32")[LABELS]


def _value(loss, outputs):
    return float(loss(LABELS, outputs))


def test_the_squared_and_absolute_losses_are_the_norms_against_the_one_hot_label():
    # wrong: a loss against the label index, or a mean over classes instead of the norm
    np.testing.assert_allclose(_value(SquaredError(), PROBABILITIES),
                               np.mean(np.sum((PROBABILITIES - ONE_HOT) ** 2, axis=1)),
                               rtol=1e-6)
    np.testing.assert_allclose(_value(AbsoluteError(), PROBABILITIES),
                               np.mean(np.sum(np.abs(PROBABILITIES - ONE_HOT), axis=1)),
                               rtol=1e-6)


def test_from_logits_takes_the_softmax_first():
    logits = np.log(PROBABILITIES) + 3.0  # the same softmax
    for loss in (SquaredError, AbsoluteError):
        np.testing.assert_allclose(_value(loss(from_logits=True), logits),
                                   _value(loss(), PROBABILITIES), rtol=1e-5)


def test_the_zero_one_error_is_the_share_misclassified():
    metric = ZeroOneError()
    metric.update_state(LABELS, PROBABILITIES)  # the third example is misclassified
    expected = np.mean(np.argmax(PROBABILITIES, axis=1) != LABELS)
    assert float(metric.result()) == pytest.approx(expected)
    assert ZeroOneError.from_config(metric.get_config()).name == "zero_one_error"


@pytest.mark.parametrize("name, fragment", [
    ("zero_one", "cannot be trained on"), ("hinge", "unknown loss 'hinge'")])
def test_a_loss_that_cannot_train_a_classifier_is_refused_in_one_line(name, fragment):
    with pytest.raises(ValueError, match=fragment) as error:
        classification_loss(name, from_logits=False)
    assert "\n" not in str(error.value) and "cross_entropy, l2, l1" in str(error.value)


def _train(tmp_path, model, **settings):
    base = dict(dataset="digits", epochs=1, batch_size=32, limit=120, verbose=0,
                run_dir=tmp_path / model)
    return training.train(model, **{**base, **settings})


def test_train_compiles_with_the_chosen_loss_records_it_and_reloads(tmp_path):
    result = _train(tmp_path, "mlp", loss="l2", builder_kwargs={"hidden_units": [8]})
    assert isinstance(result.model.loss, SquaredError)  # not cross-entropy
    config = json.loads((tmp_path / "mlp" / "config.json").read_text())
    assert config["loss"] == "l2"
    reloaded = keras.models.load_model(tmp_path / "mlp" / "model.keras")
    assert isinstance(reloaded.loss, SquaredError)
    plain = _train(tmp_path / "plain", "mlp", builder_kwargs={"hidden_units": [8]})
    assert "loss" not in json.loads((tmp_path / "plain" / "mlp" / "config.json").read_text())
    assert isinstance(plain.model.loss, keras.losses.SparseCategoricalCrossentropy)


def test_an_autoencoder_takes_the_l1_loss_as_mean_absolute_error(tmp_path):
    model = training.resolve_config("autoencoder", dataset="digits", loss="l1")
    assert model["loss"] == "l1"
    from keras_dl.training import preparation

    built, _ = preparation.build_model(model)
    assert built.loss == "mae"


def test_a_model_with_its_own_rule_refuses_a_loss():
    with pytest.raises(ValueError, match="loss l2 is not for model 'rbm'"):
        training.resolve_config("rbm", dataset="digits", loss="l2")


# === optimizers =================================================================================


def _first_steps(name, learning_rate, gradients):
    optimizer = make_optimizer(name, learning_rate)
    weight = keras.Variable(np.zeros((1,), "float32"))
    path = []
    for gradient in gradients:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor([gradient]), weight)])
        path.append(float(keras.ops.convert_to_numpy(weight)[0]))
    return path


def test_nesterov_differs_from_heavy_ball_momentum_by_the_look_ahead():
    # two steps with gradient 1 at rate 0.1, momentum 0.9:
    # heavy ball: v1 = -0.1, w1 = -0.1; v2 = -0.19, w2 = -0.29
    # Nesterov (Keras' form): w1 = -0.1 - 0.09 = -0.19; w2 = w1 + 0.9 v2 - 0.1 = -0.19 - 0.271
    np.testing.assert_allclose(_first_steps("momentum", 0.1, [1.0, 1.0]), [-0.1, -0.29],
                               rtol=1e-6)
    np.testing.assert_allclose(_first_steps("nesterov", 0.1, [1.0, 1.0]), [-0.19, -0.461],
                               rtol=1e-6)


def test_adagrad_divides_by_the_root_of_the_summed_squared_gradients():
    # Keras' Adagrad starts its accumulator at 0.1: w1 = -η g / √(0.1 + g²)
    path = _first_steps("adagrad", 0.5, [2.0, 2.0])
    np.testing.assert_allclose(path[0], -0.5 * 2 / np.sqrt(0.1 + 4 + 1e-7), rtol=1e-5)
    np.testing.assert_allclose(path[1] - path[0], -0.5 * 2 / np.sqrt(0.1 + 8 + 1e-7),
                               rtol=1e-5)


def test_adadelta_scales_by_the_ratio_of_running_rms_values():
    # ρ = 0.95, ε = 1e-7: E[g²] = 0.05 g², Δ = -√ε / √(E[g²] + ε) g, times the learning rate
    gradient, epsilon = 3.0, 1e-7
    expected = -1.0 * np.sqrt(epsilon) / np.sqrt(0.05 * gradient ** 2 + epsilon) * gradient
    np.testing.assert_allclose(_first_steps("adadelta", 1.0, [gradient])[0], expected,
                               rtol=1e-4)


def test_every_named_optimizer_is_made():
    for name in training.OPTIMIZERS:
        assert make_optimizer(name, 0.01) is not None
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'; allowed: adam, sgd"):
        make_optimizer("adamw", 0.01)


def test_the_inverse_time_schedule_is_one_over_t_ending_at_a_tenth():
    rates = [annealed_learning_rate("inverse_time", 0.5, epoch, 10) for epoch in range(10)]
    tau = 1.0  # (10 - 1) / 9
    np.testing.assert_allclose(rates, [0.5 / (1 + epoch / tau) for epoch in range(10)])
    assert rates[-1] == pytest.approx(0.05)
    assert annealed_learning_rate("inverse_time", 0.5, 0, 1) == 0.5


@pytest.mark.apps
def test_the_losses_app_trains_one_mlp_per_loss_and_reports_the_zero_one_error(tmp_path):
    from _scripts import load_app

    app = load_app("losses")
    assert app.main(["--epochs", "2", "--limit", "400", "--dataset", "digits",
                     "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["losses"]) == {"cross_entropy", "l2", "l1"}
    for row in results["losses"].values():
        assert 0 <= row["test_zero_one_error"] <= 1 and len(row["validation_error_per_epoch"]) == 2
    # the lecture's point: through a softmax, a confidently wrong output leaves the quadratic
    # and absolute losses almost no gradient, and the cross-entropy nearly its largest
    gradient = results["gradient_at_correct_probability_0.005"]
    assert gradient["cross_entropy"] > 0.99 and gradient["l2"] < 0.05 and gradient["l1"] < 0.05
    for name in ("loss_curves.png", "loss_vs_probability.png"):
        assert (tmp_path / name).stat().st_size > 10_000
