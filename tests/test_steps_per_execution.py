"""`keras-dl train --steps-per-execution N`: more batches per compiled call of `fit`, recorded
when given, the task's own choice otherwise, refused in one line when not a positive integer."""

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
    assert default.steps_per_execution == 1  # a classifier's own: one batch a call
    assert given.steps_per_execution == 4
    # the same 9 batches trained, reported to callbacks once per call of 4
    assert given.steps == default.steps == len(default.batches) == 9
    assert len(given.batches) == 3
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
