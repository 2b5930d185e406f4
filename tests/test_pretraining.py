"""Greedy layer-wise pre-training: the recipe, its unit interface, and `train(pretrain_epochs=)`."""

import json

import numpy as np
import pytest

import keras_dl
from keras_dl import registry
from keras_dl.training import pretraining, train


def _data(n=64, d=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.random((classes, d))
    x = np.clip(centres[y] + 0.05 * rng.standard_normal((n, d)), 0, 1).astype("float32")
    return x, y.astype("int32")


class RecordingUnit:
    """A unit that records what it was trained on; its 'encoder' is a fixed random map."""

    seen = []

    def __init__(self, input_dim, units, *, activation, seed):
        rng = np.random.default_rng(seed)
        self.kernel = rng.standard_normal((input_dim, units)).astype("float32")
        self.bias = np.full(units, 0.5, "float32")
        self.activation = activation

    def fit(self, x, y=None, *, epochs, batch_size, learning_rate, verbose=0):
        RecordingUnit.seen.append(np.array(x))
        return {"loss": [1.0, 0.5]}

    def transform(self, x, *, sample=False):
        h = 1 / (1 + np.exp(-(x @ self.kernel + self.bias)))
        return (h > 0.5).astype("float32") if sample else h

    def dense_weights(self):
        return self.kernel, self.bias


@pytest.fixture
def recording_unit():
    pretraining._UNITS["recording"] = RecordingUnit
    RecordingUnit.seen = []
    yield "recording"
    del pretraining._UNITS["recording"]


def test_each_layer_trains_on_the_representation_below(recording_unit):
    x, _ = _data()
    result = pretraining.greedy_pretrain(x, (8, 5, 4), recording_unit, epochs=1)
    assert [s.shape for s in RecordingUnit.seen] == [(64, 12), (64, 8), (64, 5)]
    first, second = result.units[:2]
    np.testing.assert_allclose(RecordingUnit.seen[1], first.transform(x), rtol=1e-6)
    np.testing.assert_allclose(RecordingUnit.seen[2], second.transform(first.transform(x)),
                               rtol=1e-6)
    assert result.summary()["layers"][0] == {"layer": "layer1", "loss": 0.5}


def test_samples_are_propagated_when_asked(recording_unit):
    x, _ = _data()
    pretraining.greedy_pretrain(x, (8, 5), recording_unit, epochs=1, propagate="samples")
    assert set(np.unique(RecordingUnit.seen[1])) <= {0.0, 1.0}


def test_pretrain_model_copies_weights_into_the_hidden_stack(recording_unit):
    x, _ = _data()
    model = keras_dl.create_model("mlp", input_shape=(12,), hidden_units=(8, 6), num_classes=3,
                                  activation="sigmoid")
    result = pretraining.pretrain_model(model, x, recording_unit, epochs=1)
    assert result.layers == ["hidden1_dense", "hidden2_dense"]
    for name, unit in zip(result.layers, result.units):
        kernel, bias = model.get_layer(name).get_weights()
        np.testing.assert_array_equal(kernel, unit.kernel)
        np.testing.assert_array_equal(bias, unit.bias)


def test_finetune_top_freezes_only_the_stack():
    model = keras_dl.create_model("mlp", input_shape=(12,), hidden_units=(8, 6), num_classes=3,
                                  activation="sigmoid")
    pretraining.set_finetune_mode(model, "top")
    trainable = {layer.name for layer in model.layers if layer.trainable_weights}
    assert trainable == {"predictions"}
    pretraining.set_finetune_mode(model, "all")
    assert {"hidden1_dense", "hidden2_dense", "predictions"} <= {
        layer.name for layer in model.layers if layer.trainable_weights}


def test_supervised_unit_learns_from_labels():
    x, y = _data(n=120)
    result = pretraining.greedy_pretrain(x, (16, 8), "supervised", y=y, epochs=30,
                                         learning_rate=0.05)
    assert result.histories[0]["accuracy"][-1] > 0.9
    h = result.units[1].transform(result.units[0].transform(x))
    assert h.shape == (120, 8) and np.all((h >= 0) & (h <= 1))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: pretraining.greedy_pretrain(x, (), "supervised"), "at least one hidden layer"),
        (lambda x: pretraining.greedy_pretrain(x, (4,), "nope"), "unknown pre-training unit 'nope'"),
        (lambda x: pretraining.greedy_pretrain(x, (4,), "supervised"), "trains with labels"),
        (lambda x: pretraining.greedy_pretrain(x, (4,), "supervised", epochs=0),
         "epochs must be a positive integer"),
        (lambda x: pretraining.greedy_pretrain(x, (4,), "supervised", propagate="means"),
         "propagate must be one of"),
        (lambda x: pretraining.set_finetune_mode(None, "middle"), "finetune must be one of"),
    ],
)
def test_bad_arguments(call, message):
    x, _ = _data()
    with pytest.raises(ValueError, match=message):
        call(x)


def test_stack_with_batch_norm_is_refused():
    model = keras_dl.create_model("mlp", input_shape=(12,), hidden_units=(8,), num_classes=3,
                                  batch_norm=True)
    with pytest.raises(ValueError, match="no nonlinearity of its own"):
        pretraining.stack_layers(model)


def test_train_pretrains_then_finetunes_top(tmp_path):
    """Catches a pre-training that does nothing (units not trained, or their weights not copied
    into the model) and a "top" fine-tuning that moves the pre-trained layer."""
    import keras

    from keras_dl.training import preparation

    result = train("mlp", dataset="digits", run_dir=tmp_path / "run", epochs=2, limit=200,
                   builder_kwargs={"hidden_units": (16,), "activation": "sigmoid"},
                   pretrain_epochs=8, pretraining="supervised", finetune="top", verbose=0)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["pretraining"] == {"unit": "supervised", "epochs": 8, "finetune": "top",
                                     "propagate": "probabilities", "learning_rate": 0.01}
    summary = json.loads((tmp_path / "run" / "pretraining.json").read_text())
    assert summary["unit"] == "supervised" and summary["layers"][0]["layer"] == "hidden1_dense"
    # the pre-training objective improved: its temporary classifier is well above chance (0.1)
    assert summary["layers"][0]["accuracy"] > 0.25
    assert summary["layers"][0]["loss"] < 0.9 * np.log(10)
    reference = keras_dl.create_model("mlp", input_shape=(8, 8, 1), num_classes=10,
                                      hidden_units=(16,), activation="sigmoid")
    reference.load_weights(tmp_path / "run" / "pretrained.weights.h5")
    pretrained = reference.get_layer("hidden1_dense").get_weights()
    # ... and the weights it left are neither the model's initial ones (same seed, built
    # without pre-training) nor the untrained unit's
    initial, _ = preparation.build_model(config)
    untrained = pretraining.make_unit("supervised", 64, 16, seed=config["seed"]).dense_weights()
    for other in initial.get_layer("hidden1_dense").get_weights(), untrained:
        assert np.abs(pretrained[0] - other[0]).max() > 0.05
    # "top": the hidden layer kept its pre-trained weights through fine-tuning
    np.testing.assert_array_equal(result.model.get_layer("hidden1_dense").get_weights()[0],
                                  pretrained[0])
    assert isinstance(result.model, keras.Model)
    assert 0 <= result.metrics["test_accuracy"] <= 1


def test_train_refuses_finetune_top_without_pretraining(tmp_path):
    with pytest.raises(ValueError, match="--finetune top needs pre-trained layers"):
        train("mlp", dataset="digits", run_dir=tmp_path / "run", epochs=1, limit=50,
              finetune="top", verbose=0)
    with pytest.raises(ValueError, match="has no pre-training unit of its own"):
        train("mlp", dataset="digits", run_dir=tmp_path / "run", epochs=1, limit=50,
              pretrain_epochs=1, verbose=0)
    assert registry.model_info("mlp").pretraining is None
