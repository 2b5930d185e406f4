"""The `rbm` and `dbn` builders: what they serve, greedy RBM pre-training of a DBN, and both run
end to end through `keras-dl train` (tiny limits on the bundled digits)."""

import json

import keras
import numpy as np
import pytest

import keras_dl
from _cli import run_cli
from keras_dl import evaluation
from keras_dl.training import preparation, pretraining, train


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_rbm_model_serves_hidden_probabilities_and_trains_on_x_alone():
    info = keras_dl.model_info("rbm")
    assert info.task == "unsupervised" and info.family == "dbn"
    model = keras_dl.create_model("rbm", input_shape=(4, 4, 1), units=6, seed=0)
    rbm = model.get_layer("rbm")
    x = (np.random.default_rng(0).random((32, 4, 4, 1)) < 0.5).astype("float32")
    flat = x.reshape(32, -1)
    kernel, hidden_bias = np.asarray(rbm.kernel), np.asarray(rbm.hidden_bias)
    np.testing.assert_allclose(model.predict(x, verbose=0), sigmoid(flat @ kernel + hidden_bias),
                               rtol=1e-5)
    model.compile(keras.optimizers.SGD(0.1))
    history = model.fit(x, epochs=2, batch_size=8, verbose=0).history
    assert {"loss", "reconstruction_error", "pseudo_log_likelihood"} <= set(history)
    assert not np.allclose(np.asarray(rbm.kernel), kernel)


def test_served_outputs_are_named_probabilities(tmp_path):
    from keras_dl.export import export_saved_model, output_name

    rbm = keras_dl.create_model("rbm", input_shape=(4, 4, 1), units=3)
    dbn = keras_dl.create_model("dbn", input_shape=(4, 4, 1), num_classes=2, hidden_units=(3,))
    assert output_name(rbm) == output_name(dbn) == "probabilities"
    x = np.random.default_rng(0).random((5, 4, 4, 1)).astype("float32")
    result = export_saved_model(rbm, tmp_path, "rbm", verify_inputs=x)
    assert result.output_names == ("probabilities",) and result.max_abs_diff <= 1e-5


def test_dbn_is_a_sigmoid_stack_with_a_softmax_classifier():
    info = keras_dl.model_info("dbn")
    assert info.task == "pretrained_classification" and info.pretraining == "rbm"
    model = keras_dl.create_model("dbn", input_shape=(8, 8, 1), num_classes=4,
                                  hidden_units=(12, 6))
    assert [layer.name for layer in model.layers] == [
        "inputs", "flatten", "hidden1_dense", "hidden2_dense", "predictions"]
    assert [layer.name for layer in pretraining.stack_layers(model)] == [
        "hidden1_dense", "hidden2_dense"]
    assert model.get_layer("hidden1_dense").activation is keras.activations.sigmoid
    default = keras_dl.create_model("dbn")
    assert [default.get_layer(f"hidden{i}_dense").units for i in (1, 2, 3)] == [500, 500, 2000]


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_units": ()}, "a deep belief network needs at least one hidden layer"),
    ({"hidden_units": (4, 0)}, "hidden_units entries must be a positive integer, got 0"),
    ({"hidden_units": 5}, "hidden_units must be a sequence of positive integers"),
])
def test_dbn_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_dl.create_model("dbn", input_shape=(8, 8, 1), **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 0}, "units must be a positive integer, got 0"),
    ({"visible": "binary"}, "visible must be one of 'bernoulli', 'gaussian'"),
    ({"k": 0}, r"k \(Gibbs steps of CD-k\) must be a positive integer, got 0"),
])
def test_rbm_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_dl.create_model("rbm", input_shape=(8, 8, 1), **kwargs)


def test_pretrain_model_fills_the_dbn_from_stacked_rbms():
    model = keras_dl.create_model("dbn", input_shape=(8, 8, 1), num_classes=3,
                                  hidden_units=(10, 5))
    x = np.random.default_rng(0).random((64, 8, 8, 1)).astype("float32")
    result = pretraining.pretrain_model(model, x, "rbm", epochs=2, batch_size=16,
                                        learning_rate=0.1)
    assert result.layers == ["hidden1_dense", "hidden2_dense"]
    first, second = result.units
    np.testing.assert_array_equal(model.get_layer("hidden1_dense").get_weights()[0],
                                  np.asarray(first.layer.kernel))
    np.testing.assert_array_equal(model.get_layer("hidden2_dense").get_weights()[1],
                                  np.asarray(second.layer.hidden_bias))
    # the second RBM saw the first one's hidden probabilities: 10 visible units
    assert second.layer.kernel.shape == (10, 5)
    summary = result.summary()["layers"][0]
    assert {"reconstruction_error", "pseudo_log_likelihood"} <= set(summary)


@pytest.mark.slow
def test_cli_trains_an_rbm_through_the_generic_trainer(tmp_path, capsys):
    """Catches an RBM that `keras-dl train` does not actually train (an untrained one's mean-field
    reconstruction error on the digits, about 0.18, already passes a fixed bound)."""
    run = tmp_path / "rbm"
    code, out, err = run_cli(capsys, "train", "rbm", "--dataset", "digits", "--epochs", "2",
                          "--limit", "200", "--set", "units=8", "--lr", "0.05", "--batch-size",
                          "16", "--run-dir", run)
    assert code == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    # the mean-field reconstruction error, against the same-seed RBM before training
    config = json.loads((run / "config.json").read_text())
    x_test = preparation.load_data(config).x_test
    untrained, _ = preparation.build_model(config)
    trained = keras.saving.load_model(run / "model.keras")

    def loss(model):
        return model.evaluate(x_test, verbose=0, return_dict=True)["loss"]

    assert metrics["test_loss"] == pytest.approx(loss(trained), rel=1e-4)
    assert 0 < metrics["test_loss"] < 0.6 * loss(untrained)
    # the CD step's own figures are training-only: left out of the test metrics, not NaN
    assert all(np.isfinite(value) for key, value in metrics.items()
               if key.startswith("test_")) and "nan" not in out.strip().splitlines()[-1]
    history = (run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"reconstruction_error", "pseudo_log_likelihood", "val_loss"} <= set(history)


@pytest.mark.slow
def test_cli_refuses_values_outside_zero_one_for_a_bernoulli_rbm(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "rbm", "--dataset", "mnist1d", "--epochs", "1",
                          "--limit", "50", "--run-dir", tmp_path / "bad")
    assert code == 2
    message = err.strip().splitlines()[-1]
    assert "visible values must lie in [0, 1]" in message and "visible='gaussian'" in message
    # the Gaussian RBM takes real-valued data
    code, out, err = run_cli(capsys, "train", "rbm", "--dataset", "mnist1d", "--epochs", "1",
                          "--limit", "50", "--set", "visible=gaussian", "--set", "units=4",
                          "--run-dir", tmp_path / "gaussian")
    assert code == 0, err


@pytest.mark.slow
@pytest.mark.parametrize("finetune", ["top", "all"])
def test_train_dbn_pretrains_then_finetunes(tmp_path, finetune):
    """Catches an RBM pre-training that does nothing (RBMs not trained, or their weights not
    copied into the DBN) and a fine-tuning mode that freezes the wrong layers."""
    result = train("dbn", dataset="digits", run_dir=tmp_path / "run", epochs=2, limit=200,
                   builder_kwargs={"hidden_units": (16, 8)}, pretrain_epochs=2,
                   finetune=finetune, verbose=0)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["pretraining"]["unit"] == "rbm" and config["pretraining"]["finetune"] == finetune
    summary = json.loads((tmp_path / "run" / "pretraining.json").read_text())
    assert [layer["layer"] for layer in summary["layers"]] == ["hidden1_dense", "hidden2_dense"]
    reference = keras_dl.create_model("dbn", input_shape=(8, 8, 1), num_classes=10,
                                      hidden_units=(16, 8))
    reference.load_weights(tmp_path / "run" / "pretrained.weights.h5")
    # the pre-trained weights are neither the DBN's initial ones (same seed, built without
    # pre-training) nor those of the same-seed untrained RBM each layer was trained from
    initial, _ = preparation.build_model(config)
    for i, (name, visible, hidden) in enumerate((("hidden1_dense", 64, 16),
                                                 ("hidden2_dense", 16, 8))):
        pretrained = reference.get_layer(name).get_weights()
        untrained = pretraining.make_unit("rbm", visible, hidden, seed=config["seed"] + i)
        for other in initial.get_layer(name).get_weights(), untrained.dense_weights():
            assert np.abs(pretrained[0] - other[0]).max() > 5e-3, name
    # and the first RBM's objective improved on its untrained start, measured the same way on
    # the data it was trained on (the CD step's reconstruction, the pseudo-likelihood)
    x = preparation.load_data(config).x_fit.reshape(-1, 64)
    untrained = pretraining.make_unit("rbm", 64, 16, seed=config["seed"]).layer
    start_error = np.mean((x - np.asarray(untrained.contrastive_divergence(x)["reconstruction"]))
                          ** 2)
    first = summary["layers"][0]
    assert first["reconstruction_error"] < 0.85 * start_error
    start_pll = evaluation.pseudo_log_likelihood(untrained, x).mean()
    assert first["pseudo_log_likelihood"] > start_pll + 2
    same = np.array_equal(result.model.get_layer("hidden1_dense").get_weights()[0],
                          reference.get_layer("hidden1_dense").get_weights()[0])
    assert same == (finetune == "top")
    assert 0 <= result.metrics["test_accuracy"] <= 1


@pytest.mark.slow
def test_cli_train_dbn_flags(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "dbn", "--dataset", "digits", "--epochs", "1",
                          "--limit", "120", "--set", "hidden_units=(8,)", "--pretrain-epochs",
                          "1", "--finetune", "top", "--run-dir", tmp_path / "run")
    assert code == 0, err
    assert (tmp_path / "run" / "pretraining.json").exists()
