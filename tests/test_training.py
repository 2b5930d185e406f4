"""The training recipe: run dir contents, schedules, seeds, resuming a killed run."""

import json
import math
import re
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
    assert metrics["batch_norm_recalibrated"] is False  # no batch norm behind noise here
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


def _noisy_bn_model():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(12, activation="relu", name="dense1")(inputs)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    x = keras.layers.Dense(8, name="dense2")(x)
    x = keras.layers.BatchNormalization(momentum=0.9, name="bn")(x)
    x = keras.layers.Dense(8, name="dense3")(x)
    x = keras.layers.BatchNormalization(name="frozen_bn")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="out")(x))


def test_recalibrate_batch_norm_uses_the_inference_time_signal():
    keras.utils.set_random_seed(0)
    model = _noisy_bn_model()
    model.get_layer("frozen_bn").trainable = False
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.full(8, 5.0))  # stale statistics of a noisier signal
    bn.moving_variance.assign(np.full(8, 50.0))
    frozen = [np.array(w) for w in model.get_layer("frozen_bn").non_trainable_weights]
    x = np.random.default_rng(1).normal(size=(100, 6)).astype("float32")
    assert training.needs_batch_norm_recalibration(model)
    used = training.recalibrate_batch_norm(model, x, batch_size=32, max_batches=10, seed=3)
    assert used == 96  # three full batches; the short last one is left out
    # the expected statistics: the BN input in inference mode (no dropout), per batch, averaged
    bn_input = keras.Model(model.inputs, model.get_layer("dense2").output)
    order = np.random.default_rng(3).permutation(100)
    batches = [np.asarray(bn_input(x[order[i:i + 32]], training=False)) for i in (0, 32, 64)]
    np.testing.assert_allclose(bn.moving_mean, np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance, np.mean([b.var(0) for b in batches], 0),
                               rtol=1e-4, atol=1e-6)
    for before, after in zip(frozen, model.get_layer("frozen_bn").non_trainable_weights):
        np.testing.assert_array_equal(before, after)  # trainable=False: left alone
    assert bn.momentum == 0.9 and "call" not in vars(bn)  # the layer is restored
    out = np.asarray(bn(np.asarray(bn_input(x[:4])), training=False))
    expected = (np.asarray(bn_input(x[:4])) - bn.moving_mean) / np.sqrt(
        np.asarray(bn.moving_variance) + bn.epsilon) * bn.gamma + bn.beta
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        training.recalibrate_batch_norm(model, x, batch_size=0)


def test_models_that_need_recalibration_and_the_trainer_applies_it(tmp_path):
    assert training.needs_batch_norm_recalibration(
        keras_dl.create_model("fractalnet", **keras_dl.model_info("fractalnet").smoke_kwargs))
    assert not training.needs_batch_norm_recalibration(keras_dl.create_model("lenet5"))
    plain = keras_dl.create_model("mlp", hidden_units=[8], batch_norm=True)
    assert not training.needs_batch_norm_recalibration(plain)  # batch norm, but no noise
    noisy = _train(tmp_path / "noisy", epochs=1,
                   builder_kwargs={"hidden_units": [16], "batch_norm": True, "dropout": 0.3})
    assert noisy.metrics["batch_norm_recalibrated"] is True  # (False: test_run_dir_holds...)


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


class WeightsAtStart(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()


def test_init_from_starts_from_the_saved_weights(tmp_path):
    source = _train(tmp_path / "source", epochs=2)
    warm, cold = WeightsAtStart(), WeightsAtStart()
    _train(tmp_path / "warm", epochs=1, init_from=tmp_path / "source", extra_callbacks=[warm])
    _train(tmp_path / "cold", epochs=1, extra_callbacks=[cold])
    saved = source.model.get_weights()
    assert len(warm.weights) == len(saved)
    for held, wanted in zip(warm.weights, saved):
        np.testing.assert_array_equal(held, wanted)
    assert not np.array_equal(cold.weights[0], saved[0])  # the builder's own initialisation
    config = json.loads((tmp_path / "warm" / "config.json").read_text())
    assert config["init_from"] == str((tmp_path / "source" / "model.keras").resolve())
    assert "init_from" not in json.loads((tmp_path / "cold" / "config.json").read_text())
    # a .keras file works as well as a run dir, from any working directory
    again = _train(tmp_path / "file", epochs=1, learning_rate=1e-9, lr_schedule="constant",
                   init_from=tmp_path / "source" / "model.keras")
    x = keras_dl.data.load_numpy("digits", "test", limit=8)[0]
    np.testing.assert_allclose(again.model(x), source.model(x), atol=1e-4)


def test_init_from_warns_when_the_validation_split_differs(tmp_path, capsys):
    _train(tmp_path / "source", epochs=1)
    capsys.readouterr()
    _train(tmp_path / "same", epochs=1, init_from=tmp_path / "source")
    assert "warning" not in capsys.readouterr().err
    _train(tmp_path / "other", epochs=1, seed=3, init_from=tmp_path / "source")
    err = capsys.readouterr().err
    assert "trained with seed=0, this run has seed=3" in err and "validation split" in err
    (tmp_path / "source" / "config.json").write_text("not json")  # nothing to compare with
    _train(tmp_path / "unreadable", epochs=1, seed=3, init_from=tmp_path / "source")
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "make, overrides, message",
    [(None, {}, "no such file or run dir"),
     ("unfinished", {}, "a run dir without model.keras"),
     ("text", {}, "not a .keras model file"),
     ("source", {"builder_kwargs": {"hidden_units": [16, 8]}},
      "holds 4 weights, model 'mlp' has 6"),
     ("source", {"builder_kwargs": {"hidden_units": [12]}},
      "has shape (64, 16) there but (64, 12)")],
)
def test_init_from_a_bad_source_fails_before_the_run_dir_is_made(tmp_path, capsys, make,
                                                                   overrides, message):
    """Catches: a bad source accepted, or refused after the run dir is made; and the
    validation-split warning printed before the refusal (the source was trained with seed 0,
    this run asks seed 3: a refused run prints its one line and no warning)."""
    source = tmp_path / "source"
    if make == "source":
        _train(source, epochs=1)
        overrides = {**overrides, "seed": 3}
        capsys.readouterr()
    elif make == "unfinished":
        source.mkdir()
        (source / "config.json").write_text("{}")
    elif make == "text":
        source = tmp_path / "notes.txt"
        source.write_text("weights")
    with pytest.raises(ValueError, match=re.escape(message)):
        _train(tmp_path / "run", init_from=source, **overrides)
    assert not (tmp_path / "run").exists()
    assert "warning" not in capsys.readouterr().err


def test_init_from_refuses_greedy_pretraining_that_would_overwrite_it(tmp_path):
    _train(tmp_path / "source", epochs=1)
    with pytest.raises(ValueError, match="greedy pre-training of model 'mlp' would overwrite"):
        _train(tmp_path / "run", init_from=tmp_path / "source", pretrain_epochs=1,
               pretraining="supervised")
