"""The training recipe: run dir contents, schedules, seeds, resuming a killed run."""

import json
import math
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl import training
from keras_dl.training import annealed_learning_rate

TINY = {"hidden_units": [16]}


def _train(run_dir, **overrides):
    settings = dict(dataset="digits", run_dir=run_dir, epochs=3, batch_size=64,
                    builder_kwargs=dict(TINY), verbose=0, limit=400)
    settings.update(overrides)
    return training.train("mlp", **settings)


def test_run_dir_holds_everything(tmp_path):
    result = _train(tmp_path / "run")
    run = tmp_path / "run"
    for name in ("model.keras", "config.json", "history.csv", "metrics.json", "tensorboard",
                 "checkpoints/best.keras"):
        assert (run / name).exists(), name
    assert not (run / "backup").exists()  # removed once the run finished
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"test_accuracy", "test_loss", "epochs_run", "train_seconds"} <= set(metrics)
    assert metrics["epochs_run"] == 3 and 0 <= metrics["test_accuracy"] <= 1
    config = json.loads((run / "config.json").read_text())
    assert config["builder_kwargs"]["input_shape"] == [8, 8, 1]
    assert config["builder_kwargs"]["activation"] == "relu"  # defaults are resolved
    assert len(training.read_history(run / "history.csv")) == 3
    assert any((run / "tensorboard").rglob("events.out.tfevents.*"))
    loaded = keras.saving.load_model(run / "model.keras")
    x = keras_dl.data.load_numpy("digits", "test", limit=5)[0]
    np.testing.assert_allclose(loaded(x), result.model(x), atol=1e-6)


def test_same_seed_same_weights_and_history(tmp_path):
    a = _train(tmp_path / "a", seed=7)
    b = _train(tmp_path / "b", seed=7)
    c = _train(tmp_path / "c", seed=8)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    assert [r["loss"] for r in a.history] != [r["loss"] for r in c.history]


def test_finished_and_mismatched_run_dirs_are_refused(tmp_path):
    _train(tmp_path / "run", epochs=1)
    with pytest.raises(training.RunDirError, match="already holds a finished run"):
        _train(tmp_path / "run", epochs=1)
    assert _train(tmp_path / "run", epochs=1, overwrite=True).metrics["epochs_run"] == 1
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(training.RunDirError, match="not empty and holds no keras_dl run"):
        _train(tmp_path / "other")


@pytest.mark.parametrize(
    "overrides, message",
    [({"epochs": 0}, "epochs must be a positive integer"),
     ({"learning_rate": -1.0}, "learning rate must be a positive number"),
     ({"lr_schedule": "linear"}, "unknown learning-rate schedule 'linear'; allowed: constant"),
     ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'; allowed: adam"),
     ({"validation_fraction": 1.0}, r"validation fraction must be in \(0, 1\)"),
     ({"builder_kwargs": {"depth": 2}}, "takes no argument 'depth'")],
)
def test_bad_settings_fail_before_the_run_dir_is_made(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        _train(tmp_path / "run", **overrides)
    assert not (tmp_path / "run").exists()


def test_schedules_anneal_towards_the_end():
    epochs = 9
    for schedule in ("step", "exponential", "cosine"):
        rates = [annealed_learning_rate(schedule, 0.1, e, epochs) for e in range(epochs)]
        assert rates[0] == pytest.approx(0.1)
        assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))
        assert rates[-1] < 0.1 / 2
    assert annealed_learning_rate("exponential", 0.1, 8, 9) == pytest.approx(0.001)
    assert annealed_learning_rate("step", 0.1, 3, 9) == pytest.approx(0.05)
    assert annealed_learning_rate("cosine", 0.1, 0, 10) == pytest.approx(0.1)
    assert annealed_learning_rate("constant", 0.1, 5, 9) == 0.1


def test_early_stopping_stops_and_restores(tmp_path):
    # 54 training images and a large constant step: validation loss soon stops improving.
    result = _train(tmp_path / "run", epochs=40, patience=2, learning_rate=0.02, limit=60,
                    batch_size=16, lr_schedule="constant", builder_kwargs={"hidden_units": [64]})
    assert result.metrics["epochs_run"] < 40
    assert result.metrics["best_epoch"] == result.metrics["epochs_run"] - 2  # patience 2
    best = min(result.history, key=lambda row: row["val_loss"])
    val_loss = result.model.evaluate(*_validation_part(60), verbose=0)[0]
    assert val_loss == pytest.approx(best["val_loss"], rel=1e-4)  # best weights restored
    assert math.isfinite(result.metrics["test_loss"])


def _validation_part(limit):
    x, y = keras_dl.data.load_numpy("digits", "train", limit=limit)
    _, _, x_val, y_val = keras_dl.data.train_validation_split(x, y, 0.1, seed=0)
    return x_val, y_val


def test_weight_snapshots_collect_the_lecture_epochs():
    model = keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(3,), num_classes=2)
    training.compile_classifier(model)
    snapshots = training.WeightSnapshots("hidden1_dense", epochs=(1, 2, 5))
    x = np.random.default_rng(0).random((32, 4), dtype="float32")
    model.fit(x, (x[:, 0] > 0.5).astype("int32"), epochs=6, verbose=0, callbacks=[snapshots])
    assert sorted(snapshots.snapshots) == [1, 2, 5, 6]
    assert not np.array_equal(snapshots.snapshots[1], snapshots.snapshots[6])
    np.testing.assert_array_equal(snapshots.snapshots[6], model.get_layer("hidden1_dense").kernel)


def test_final_snapshot_is_the_last_epoch_even_when_best_weights_are_restored():
    model = keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(3,), num_classes=2)
    training.compile_classifier(model, learning_rate=0.05)
    x = np.random.default_rng(0).random((32, 4), dtype="float32")
    y = (x[:, 0] > 0.5).astype("int32")
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=100,
                                            restore_best_weights=True)
    stopper.best = -np.inf  # never "improves" after epoch 1: epoch-1 weights get restored
    stopper.monitor_op = np.greater
    snapshots = training.WeightSnapshots("hidden1_dense", epochs=(1,))
    model.fit(x, y, epochs=4, verbose=0, callbacks=[stopper, snapshots])
    assert sorted(snapshots.snapshots) == [1, 4]
    restored = np.asarray(model.get_layer("hidden1_dense").kernel)
    np.testing.assert_array_equal(restored, snapshots.snapshots[1])  # the restore happened
    assert not np.array_equal(snapshots.snapshots[4], snapshots.snapshots[1])


KILL_AFTER_EPOCH_2 = textwrap.dedent("""
    import os, sys, keras
    from keras_dl import training

    class Die(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                os._exit(9)  # killed: no clean-up, no on_train_end

    training.train("mlp", dataset="digits", run_dir=sys.argv[1], epochs=5, batch_size=64,
                   builder_kwargs={"hidden_units": [16]}, verbose=0, limit=400,
                   lr_schedule="constant", patience=10, extra_callbacks=[Die()])
""")


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_a_killed_run_resumes_without_redoing_finished_epochs(tmp_path):
    run = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_EPOCH_2, str(run)],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr[-2000:]
    assert (run / "backup").exists() and not (run / "metrics.json").exists()
    assert len(training.read_history(run / "history.csv")) == 2

    counter = EpochCounter()
    result = training.train("mlp", dataset="digits", run_dir=run, epochs=5, batch_size=64,
                            builder_kwargs={"hidden_units": [16]}, verbose=0, limit=400,
                            lr_schedule="constant", patience=10, extra_callbacks=[counter])
    assert counter.epochs == [2, 3, 4]  # epochs 0 and 1 were not trained again
    assert result.metrics["resumed"] is True
    assert result.metrics["epochs_run"] == 5
    assert [row["epoch"] for row in result.history] == [0, 1, 2, 3, 4]
    assert json.loads((run / "elapsed.json").read_text())["epochs"] == 5
    assert result.metrics["train_seconds"] > 0


def test_resuming_with_other_settings_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    config = training.resolve_config("mlp", dataset="digits", epochs=3, batch_size=64,
                                     limit=400, builder_kwargs=dict(TINY))
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(training.RunDirError, match="unfinished run with epochs=3, not 4"):
        _train(run, epochs=4)
