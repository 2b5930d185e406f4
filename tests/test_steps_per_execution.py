"""`keras-dl train --steps-per-execution N`: batches per compiled call of `fit`, recorded
when given, the task's own choice otherwise (32 for a classifier, 1 for DANN), refused in one
line when not a positive integer."""

import json

import keras
import numpy as np
import pytest

from keras_dl import cli, training


class SeenInFit(keras.callbacks.Callback):
    """The fit model's `steps_per_execution` and the batches Keras reports."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_begin(self, logs=None):
        self.steps_per_execution = self.model.steps_per_execution

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)

    def on_train_end(self, logs=None):
        self.steps = int(self.model.optimizer.iterations)


def _train(run_dir, **overrides):
    return training.train("mlp", dataset="digits", run_dir=run_dir, epochs=1, batch_size=32,
                          limit=320, verbose=0, builder_kwargs={"hidden_units": [8]},
                          **overrides)


def test_the_setting_reaches_fit_and_is_recorded(tmp_path):
    default, given = SeenInFit(), SeenInFit()
    _train(tmp_path / "default", extra_callbacks=[default])
    result = _train(tmp_path / "given", steps_per_execution=4, extra_callbacks=[given])
    assert default.steps_per_execution == 32  # a classifier's own (`Classification`)
    assert given.steps_per_execution == 4
    # the same 9 batches trained, reported to callbacks once per call: 4, 4 and 1, or all 9
    assert given.steps == default.steps == 9
    assert len(given.batches) == 3 and len(default.batches) == 1
    assert np.isfinite(result.metrics["test_loss"])
    held = json.loads((tmp_path / "given" / "config.json").read_text())
    assert held["steps_per_execution"] == 4
    assert "steps_per_execution" not in json.loads(
        (tmp_path / "default" / "config.json").read_text())


@pytest.mark.parametrize("value", ["0", "-3", "two", "1.5"])
def test_the_cli_refuses_what_is_not_a_positive_integer(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "mlp", "--dataset", "digits", "--steps-per-execution", value,
                  "--run-dir", str(tmp_path / "run")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--steps-per-execution" in err[0] and value in err[0], err
    assert not (tmp_path / "run").exists()


def test_the_library_refuses_it_before_the_run_dir_is_made(tmp_path):
    with pytest.raises(ValueError, match="steps_per_execution must be a positive integer, got 0"):
        _train(tmp_path / "run", steps_per_execution=0)
    assert not (tmp_path / "run").exists()


def test_32_batches_a_call_train_as_one_a_call_does(tmp_path):
    # the classifier's default changes how often fit returns to Python, not what it learns
    batched = _train(tmp_path / "default")
    one = _train(tmp_path / "one", steps_per_execution=1)
    assert one.model is not batched.model
    for a, b in zip(batched.model.get_weights(), one.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert one.metrics["test_loss"] == pytest.approx(batched.metrics["test_loss"], rel=1e-5)


def test_dann_keeps_one_batch_a_call_for_its_reversal_schedule(tmp_path):
    # its λ is set before every batch: at 32 a call it would move once in 32 batches
    from keras_dl import tasks

    assert tasks.get("domain_adaptation").steps_per_execution == 1
    assert tasks.get("classification").steps_per_execution == 32
    seen = SeenInFit()
    training.train("dann", dataset="moons_shift", run_dir=tmp_path / "run", epochs=1,
                   batch_size=32, verbose=0, extra_callbacks=[seen],
                   builder_kwargs={"features": "mlp", "feature_units": [4],
                                   "label_units": [4]})
    assert seen.steps_per_execution == 1
    assert len(seen.batches) == seen.steps > 1  # every batch seen


class _TwoReplicas:  # what `distribute.is_distributed` reads of a strategy
    num_replicas_in_sync = 2


def test_a_distributed_run_takes_one_batch_a_call_and_refuses_more():
    # Keras 3.15's multi-batch call fails on distributed datasets (test_distribute's
    # mirrored run caught it), so the task's 32 falls back to 1 and a given 4 is refused
    from keras_dl import tasks
    from keras_dl.training.preparation import _steps_per_execution

    classification = tasks.get("classification")
    assert _steps_per_execution({}, classification, None) == 32
    assert _steps_per_execution({}, classification, _TwoReplicas()) == 1
    assert _steps_per_execution({"steps_per_execution": 1}, classification, _TwoReplicas()) == 1
    with pytest.raises(ValueError, match=r"^steps_per_execution 4 cannot train under a "
                                         r"distribution strategy .*allowed there: 1$"):
        _steps_per_execution({"steps_per_execution": 4}, classification, _TwoReplicas())


def test_a_pretrained_classifier_keeps_32_a_call_after_compiling_again(tmp_path):
    # bug: pre-training compiles the DBN again for fine-tuning, which reset it to 1
    seen = SeenInFit()
    training.train("dbn", dataset="digits", run_dir=tmp_path / "run", epochs=1, limit=200,
                   builder_kwargs={"hidden_units": (8,)}, pretrain_epochs=1, verbose=0,
                   extra_callbacks=[seen])
    assert seen.steps_per_execution == 32
