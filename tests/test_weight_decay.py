"""Decoupled weight decay: the optimizers, the trainer's `weight_decay`, `--weight-decay`."""

import json

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl import cli, training
from keras_dl.training import make_optimizer

from _scripts import load_script

TINY = {"hidden_units": [16]}


@pytest.mark.parametrize("name", training.OPTIMIZERS)
def test_a_zero_gradient_step_shrinks_each_weight_by_rate_times_decay(name):
    optimizer = make_optimizer(name, 0.1, weight_decay=0.05)
    weight = keras.Variable(np.full((3,), 2.0, "float32"))
    optimizer.apply_gradients([(keras.ops.zeros((3,)), weight)])
    # decoupled: the decay does not go through the gradient, so no optimizer rescales it
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weight), 2.0 * (1 - 0.1 * 0.05),
                               rtol=1e-6)
    assert make_optimizer(name, 0.1).weight_decay is None


def test_the_decay_follows_the_scheduled_rate():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([0], [0.1, 0.01])
    optimizer = make_optimizer("momentum", schedule, weight_decay=0.5)
    weight = keras.Variable(np.ones((2,), "float32"))
    for _ in range(2):
        optimizer.apply_gradients([(keras.ops.zeros((2,)), weight)])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weight), (1 - 0.05) * (1 - 0.005),
                               rtol=1e-6)


def _train(run_dir, **overrides):
    settings = dict(dataset="digits", run_dir=run_dir, epochs=2, batch_size=64,
                    builder_kwargs=dict(TINY), verbose=0, limit=400, optimizer="momentum",
                    learning_rate=0.1)
    settings.update(overrides)
    return training.train("mlp", **settings)


def _kernel_norm(model):
    return sum(float(np.sum(np.square(keras.ops.convert_to_numpy(w))))
               for w in model.trainable_weights if len(w.shape) == 2)


def test_train_applies_and_records_the_decay(tmp_path):
    plain = _train(tmp_path / "plain")
    decayed = _train(tmp_path / "decayed", weight_decay=0.2)
    assert "weight_decay" not in json.loads((tmp_path / "plain" / "config.json").read_text())
    assert json.loads((tmp_path / "decayed" / "config.json").read_text())["weight_decay"] == 0.2
    assert decayed.config["weight_decay"] == 0.2
    # same seed, same data: only the decay differs, and it pulls the kernels towards zero
    assert _kernel_norm(decayed.model) < 0.9 * _kernel_norm(plain.model)


def test_a_run_is_not_resumed_with_another_decay(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    config = training.resolve_config("mlp", dataset="digits", epochs=2, batch_size=64,
                                     limit=400, builder_kwargs=dict(TINY), optimizer="momentum",
                                     learning_rate=0.1)
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(training.RunDirError, match="weight_decay=0.0, not 0.01"):
        _train(run, weight_decay=0.01)


def test_a_model_with_auxiliary_classifiers_decays_in_its_training_model():
    model = keras_dl.create_model("googlenet", input_shape=(16, 16, 1), num_classes=4,
                                  width_multiplier=0.125)
    task = keras_dl.tasks.for_model("googlenet")
    fit_model = task.training_model(model, keras_dl.model_info("googlenet"),
                                    lambda: make_optimizer("adam", 1e-3, weight_decay=0.01))
    assert len(fit_model.outputs) == 3 and fit_model is not model
    assert fit_model.optimizer.weight_decay == pytest.approx(0.01)


@pytest.mark.parametrize("value", [-0.1, 1.0, float("nan"), True, "0.1"])
def test_bad_decays_fail_before_the_run_dir_is_made(tmp_path, value):
    with pytest.raises(ValueError, match=r"weight decay must be a number in \[0, 1\), got "):
        _train(tmp_path / "run", weight_decay=value)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value, message", [
    ("-1", "weight decay must be a number in [0, 1), got -1.0"),
    ("nan", "weight decay must be a number in [0, 1), got nan"),
])
def test_cli_rejects_a_bad_decay_with_one_line(tmp_path, capsys, value, message):
    code = cli.main(["train", "mlp", "--dataset", "digits", "--weight-decay", value,
                     "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_cli_passes_the_decay_to_the_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "mlp", "--dataset", "digits", "--limit", "300", "--epochs", "1",
                     "--set", "hidden_units=[8]", "--optimizer", "momentum",
                     "--weight-decay", "0.001", "--run-dir", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["weight_decay"] == 0.001


def test_cnn_zoo_passes_optimizer_and_decay_to_every_run(capsys):
    zoo = load_script("apps", "cnn_zoo")
    args = zoo.parse_args(["--models", "resnet20,nin", "--optimizer", "momentum",
                           "--learning-rate", "0.1", "--weight-decay", "5e-3"])
    runs = zoo.plan(args)
    assert [name for name, _, _ in runs] == ["resnet20", "nin"]
    for _, _, settings in runs:
        assert (settings["optimizer"], settings["learning_rate"], settings["weight_decay"]) \
            == ("momentum", 0.1, 5e-3)
    with pytest.raises(SystemExit) as exit_:
        zoo.parse_args(["--weight-decay", "-0.5"])
    assert exit_.value.code == 2
    assert "--weight-decay must be a number in [0, 1), got -0.5" in capsys.readouterr().err
