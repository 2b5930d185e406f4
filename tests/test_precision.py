"""Mixed-precision training (`keras-dl train --precision`): what computes in 16 bits, what stays
float32, what the run dir records and saves, and the settings that are refused."""

import json

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl import cli, training


class PolicySeenInFit(keras.callbacks.Callback):
    """Records, once training starts, the optimizer's class and each layer's compute dtype."""

    def on_train_begin(self, logs=None):
        self.optimizer = type(self.model.optimizer).__name__
        self.dtypes = {type(layer).__name__: set() for layer in self.model.layers}
        for layer in self.model.layers:
            self.dtypes[type(layer).__name__].add(layer.compute_dtype)
        self.output_dtype = self.model.layers[-1].compute_dtype


def _train(run_dir, model="lenet5", **overrides):
    settings = dict(dataset="digits", run_dir=run_dir, epochs=1, batch_size=64, limit=300,
                    verbose=0, builder_kwargs={"modern": True} if model == "lenet5" else
                    {"hidden_units": [16]})
    settings.update(overrides)
    return training.train(model, **settings)


def test_mixed_bfloat16_trains_in_16_bits_and_saves_a_float32_model(tmp_path):
    seen = PolicySeenInFit()
    result = _train(tmp_path / "run", precision="mixed_bfloat16", extra_callbacks=[seen])
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert seen.dtypes["Conv2D"] == {"bfloat16"}  # c1, c3, c5
    assert seen.dtypes["Dense"] == {"bfloat16", "float32"}  # f6; the softmax layer
    assert seen.output_dtype == "float32"  # the softmax
    assert seen.optimizer != "LossScaleOptimizer"  # bfloat16 has float32's exponent range
    assert np.isfinite(result.metrics["test_loss"])
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["precision"] == "mixed_bfloat16"

    # model.keras (and the returned model) is the float32 network with the trained weights
    loaded = keras_dl.load_model(tmp_path / "run" / "model.keras")
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    x = keras_dl.data.load_numpy("digits", "test", limit=8)[0]
    np.testing.assert_allclose(loaded(x), result.model(x), atol=1e-6)
    for trained, saved in zip(result.model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(trained, saved)
    # against the network as trained (16-bit compute): the same predictions to bfloat16's
    # precision (8 significant bits)
    trained = keras.saving.load_model(tmp_path / "run" / "checkpoints" / "best.keras")
    assert trained.layers[1].compute_dtype == "bfloat16"
    assert np.max(np.abs(np.asarray(trained(x)) - np.asarray(loaded(x)))) < 0.05


def test_mixed_float16_scales_the_loss(tmp_path):
    seen = PolicySeenInFit()
    result = _train(tmp_path / "run", model="mlp", precision="mixed_float16",
                    extra_callbacks=[seen])
    assert seen.optimizer == "LossScaleOptimizer"
    assert seen.dtypes["Dense"] == {"float16", "float32"} and seen.output_dtype == "float32"
    assert np.isfinite(result.metrics["test_loss"])


def test_resuming_with_another_precision_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for held, wanted in (("mixed_bfloat16", "float32"), ("float32", "mixed_bfloat16")):
        config = training.resolve_config("mlp", dataset="digits", epochs=1, batch_size=64,
                                         limit=300, builder_kwargs={"hidden_units": [16]},
                                         precision=held)
        assert ("precision" in config) is (held != "float32")  # old float32 runs still resume
        (run / "config.json").write_text(json.dumps(config))
        with pytest.raises(training.RunDirError,
                           match=f"unfinished run with precision='{held}', not '{wanted}'"):
            _train(run, model="mlp", precision=wanted)


@pytest.mark.parametrize("model, overrides, message", [
    ("mlp", {"precision": "float16"},
     "unknown precision 'float16'; allowed: float32, mixed_float16, mixed_bfloat16"),
    ("autoencoder", {"precision": "mixed_bfloat16"},
     "precision mixed_bfloat16 is for classifiers trained without pre-training; model "
     "'autoencoder' is reconstruction"),
    ("dbn", {"precision": "mixed_float16"}, "model 'dbn' is pretrained_classification with pre-training"),
])
def test_bad_precisions_fail_before_the_run_dir_is_made(tmp_path, model, overrides, message):
    with pytest.raises(ValueError, match=message):
        training.train(model, dataset="digits", run_dir=tmp_path / "run", **overrides)
    assert not (tmp_path / "run").exists()


def test_cli_precision_option(tmp_path, capsys):
    # the CLI lists the choices itself (building the parser imports no Keras): the same ones
    train_parser = cli.build_parser()._subparsers._group_actions[0].choices["train"]
    option = next(a for a in train_parser._actions if "--precision" in a.option_strings)
    assert tuple(option.choices) == training.PRECISIONS
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "mlp", "--dataset", "digits", "--precision", "half"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--precision: invalid choice: 'half'" in err and "mixed_bfloat16" in err
    assert cli.main(["train", "autoencoder", "--dataset", "digits", "--precision",
                     "mixed_bfloat16", "--run-dir", str(tmp_path / "run")]) == 2
    assert "is for classifiers" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
