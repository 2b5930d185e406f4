"""Adversarial training as a task (`keras_dl.tasks.adversarial`): the spec, the mixed objective
of Goodfellow et al. 2015, PGD training, the run record, resuming and tuning."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from keras_dl import tasks
from keras_dl.evaluation import attacks
from keras_dl.tasks import adversarial_spec
from keras_dl.tasks.adversarial import AdversarialTrainer

DIGITS = {"dataset": "digits", "limit": 200, "builder_kwargs": {"hidden_units": [16]},
          "batch_size": 32, "verbose": 0}


# === the spec ==================================================================================


@pytest.mark.parametrize("spec, record", [
    ("fgsm:eps=0.1", {"attack": "fgsm", "eps": 0.1, "alpha": 0.5, "range": [0.0, 1.0]}),
    ("pgd:eps=0.3,steps=40,step_size=0.01",
     {"attack": "pgd", "eps": 0.3, "alpha": 0.0, "steps": 40, "step_size": 0.01,
      "range": [0.0, 1.0]}),
    ("iterative_fgsm:eps=0.2,alpha=0.25,range=-1:1",
     {"attack": "iterative_fgsm", "eps": 0.2, "alpha": 0.25, "steps": 7,
      "range": [-1.0, 1.0]}),
    ("fgsm:eps=0.05|0.1,alpha=0.3|0.5",
     {"attack": "fgsm", "eps": [0.05, 0.1], "alpha": [0.3, 0.5], "range": [0.0, 1.0]}),
])
def test_spec_parses_and_formats_back(spec, record):
    assert adversarial_spec.parse(spec) == record
    assert adversarial_spec.parse(adversarial_spec.format_spec(record)) == record


@pytest.mark.parametrize("spec, fragment", [
    ("fgsm", "gives no eps"),
    ("fgsm:eps=0.1,steps=3", "unknown key 'steps' in adversarial spec 'fgsm:eps=0.1,steps=3'; "
     "allowed for fgsm: eps, alpha, range"),
    ("pgd:eps=0.1,steps=0", "bad adversarial steps '0'"),
    ("pgd:eps=0.1,step_size=-1", "bad adversarial step_size '-1'"),
    ("fgsm:eps=3,range=-1:1", "bad adversarial eps 3 in 'fgsm:eps=3,range=-1:1'; allowed: a "
     "number in [0, 2]"),
    ("fgsm:eps=0.1,range=1:0", "allowed: low:high with low < high"),
    ("fgsm:eps=abc", "bad adversarial eps 'abc'"),
    ("fgsm:eps=0.1,eps=0.2", "adversarial eps is given twice"),
    ("fgsm:eps=nan", "allowed: a finite number"),
])
def test_bad_spec_is_refused_in_one_line(spec, fragment):
    with pytest.raises(ValueError, match=None) as error:
        adversarial_spec.parse(spec)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_only_classifiers_are_trained_adversarially():
    assert tasks.for_config({"model": "mlp", "adversarial": "fgsm:eps=0.1"}).attackable
    with pytest.raises(ValueError, match="adversarial training is for classifiers; this model "
                                         "is reconstruction"):
        tasks.for_config({"model": "autoencoder", "adversarial": "fgsm:eps=0.1"})


# === the training step =========================================================================


def _classifier(seed=0, logits=False):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    outputs = keras.layers.Dense(3, activation=None if logits else "softmax")(hidden)
    model = keras.Model(inputs, outputs, name="tiny")
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=logits),
                  metrics=["accuracy"])
    return model


def _batch(count=16, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((count, 6), dtype="float32"), rng.integers(0, 3, count)


def _trainer(model, spec):
    task = tasks.adversarial(tasks.get("classification"), spec)
    return task.training_model(model, None, lambda: keras.optimizers.SGD(0.1))


@pytest.mark.parametrize("logits", [False, True])
def test_fgsm_examples_are_the_attack_modules(logits):
    model = _classifier(logits=logits)
    trainer = _trainer(model, "fgsm:eps=0.1")
    x, y = _batch()
    made = trainer.adversarial_examples(x, y).numpy()
    expected = attacks.fgsm(model, x, y, eps=0.1)
    np.testing.assert_allclose(made, expected, atol=1e-6)
    assert np.abs(made - x).max() <= 0.1 + 1e-6 and made.min() >= 0 and made.max() <= 1


def test_pgd_examples_stay_in_the_ball_and_start_at_random():
    model = _classifier()
    trainer = _trainer(model, "pgd:eps=0.05,steps=5")
    x, y = _batch()
    first = trainer.adversarial_examples(x, y).numpy()
    second = trainer.adversarial_examples(x, y).numpy()
    assert np.abs(first - x).max() <= 0.05 + 1e-6 and first.min() >= 0 and first.max() <= 1
    assert not np.allclose(first, second)  # a fresh random start each batch


def test_step_minimises_the_mixed_objective_and_shares_the_weights():
    """The logged loss is α·L(x) + (1 − α)·L(x_adv) with x_adv from the weights before the
    step, and the step moves the inference network's own weights."""
    alpha, eps = 0.3, 0.1
    model = _classifier()
    trainer = _trainer(model, f"fgsm:eps={eps},alpha={alpha}")
    x, y = _batch()
    x_adv = attacks.fgsm(model, x, y, eps=eps)
    loss = keras.losses.sparse_categorical_crossentropy
    expected = alpha * np.mean(loss(y, model.predict(x, verbose=0))) + (1 - alpha) * np.mean(
        loss(y, model.predict(x_adv, verbose=0)))
    before = [w.copy() for w in model.get_weights()]
    logs = trainer.train_on_batch(x, y, return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    assert "adversarial_accuracy" not in logs
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_alpha_zero_trains_on_adversarial_examples_alone():
    model = _classifier()
    trainer = _trainer(model, "fgsm:eps=0.1,alpha=0")
    x, y = _batch()
    x_adv = attacks.fgsm(model, x, y, eps=0.1)
    expected = np.mean(keras.losses.sparse_categorical_crossentropy(
        y, model.predict(x_adv, verbose=0)))
    assert trainer.train_on_batch(x, y, return_dict=True)["loss"] == pytest.approx(expected,
                                                                                   rel=1e-5)


def test_validation_reports_adversarial_accuracy():
    model = _classifier()
    trainer = _trainer(model, "fgsm:eps=0.2")
    x, y = _batch(64)
    result = trainer.evaluate(x, y, verbose=0, return_dict=True)
    x_adv = attacks.fgsm(model, x, y, eps=0.2)
    expected = np.mean(model.predict(x_adv, verbose=0).argmax(axis=1) == y)
    assert result["adversarial_accuracy"] == pytest.approx(expected, abs=1e-6)
    assert result["accuracy"] == pytest.approx(
        np.mean(model.predict(x, verbose=0).argmax(axis=1) == y), abs=1e-6)


def test_trainer_saves_and_loads_with_its_attack(tmp_path):
    model = _classifier()
    trainer = _trainer(model, "pgd:eps=0.1,steps=3")
    trainer.save(tmp_path / "t.keras")
    loaded = keras.models.load_model(tmp_path / "t.keras")
    assert isinstance(loaded, AdversarialTrainer)
    assert loaded.adversarial == trainer.adversarial
    x, _ = _batch()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


# === a run: recorded, resumed, tuned ===========================================================


def test_run_records_the_attack_and_measures_under_it(tmp_path):
    from keras_dl.training import train

    result = train("mlp", run_dir=tmp_path / "run", epochs=2,
                   adversarial="fgsm:eps=0.1,alpha=0.5", **DIGITS)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["adversarial"] == {"attack": "fgsm", "eps": 0.1, "alpha": 0.5,
                                     "range": [0.0, 1.0]}
    assert "val_adversarial_accuracy" in result.history[-1]
    assert 0 <= result.metrics["test_adversarial_accuracy"] <= result.metrics["test_accuracy"]
    saved = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert not isinstance(saved, AdversarialTrainer)  # the inference network alone

    from keras_dl.training.run_dir import RunDirError

    (tmp_path / "run" / "metrics.json").unlink()  # as if killed before it finished
    with pytest.raises(RunDirError, match="holds an unfinished run with adversarial="):
        train("mlp", run_dir=tmp_path / "run", epochs=2, adversarial="fgsm:eps=0.2", **DIGITS)


@pytest.mark.apps  # seconds of training: kept out of the default suite's budget; CI runs it
def test_killed_run_resumes_with_its_attack(tmp_path):
    """A run stopped after its first epoch continues from its backup with the same attack."""
    from keras_dl.training import train

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt  # a kill between epochs, after the backup

    spec = "pgd:eps=0.1,steps=2"
    with pytest.raises(KeyboardInterrupt):
        train("mlp", run_dir=tmp_path / "run", epochs=2, adversarial=spec,
              extra_callbacks=[StopAfterFirstEpoch()], **DIGITS)
    result = train("mlp", run_dir=tmp_path / "run", epochs=2, adversarial=spec, **DIGITS)
    assert result.metrics["resumed"] and result.metrics["epochs_run"] == 2


@pytest.mark.apps  # a search of two trials: kept out of the default suite's budget
def test_search_draws_eps_and_alpha(tmp_path):
    from keras_dl.tuning import tune

    result = tune("mlp", directory=tmp_path / "search", max_trials=2, epochs=1,
                  adversarial="fgsm:eps=0.05|0.2,alpha=0.3|0.7", verbose=0,
                  dataset="digits", limit=120, seed=3)
    drawn = [trial["hyperparameters"] for trial in result.trials]
    assert all(h["adversarial_eps"] in (0.05, 0.2) and h["adversarial_alpha"] in (0.3, 0.7)
               for h in drawn)
    best = json.loads((tmp_path / "search" / "best" / "config.json").read_text())
    assert best["adversarial"]["eps"] == result.best_hyperparameters["adversarial_eps"]
    assert best["adversarial"]["alpha"] == result.best_hyperparameters["adversarial_alpha"]
