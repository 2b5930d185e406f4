"""Transfer learning (`keras_dl.models.transfer`, `keras_dl.tasks.transfer`): the cut, the
frozen trunk, the fine-tuning rate, resuming, and the sources it refuses."""

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl import tasks, training
from keras_dl.tasks.transfer import TransferTraining, trunk_rate

SHAPE = (8, 8, 1)
VIEW = "digits:classes=5-9,per_class=10"


def _source(path, **kwargs):
    """A digits-shaped MLP with batch norm and dropout, its batch-norm statistics set to
    values that training in training mode would change, saved to `path`."""
    model = keras_dl.create_model("mlp", input_shape=SHAPE, num_classes=5, seed=1,
                                  **{"hidden_units": (8, 6), "batch_norm": True, "dropout": 0.25,
                                     **kwargs})
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, "float32"))
    model.save(path)
    return model


def _train(run_dir, source, **settings):
    kwargs = {"source": str(source), "head_units": [4], **settings.pop("builder_kwargs", {})}
    return training.train("transfer", run_dir=run_dir, dataset=VIEW, batch_size=16, verbose=0,
                          builder_kwargs=kwargs, **settings)


def _trunk_layers(model):
    trunk = model.get_layer("trunk")
    return {layer.name: layer for layer in trunk.layers if layer.weights}


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_head_training_leaves_the_trunk_bit_identical(tmp_path, optimizer):
    source = _source(tmp_path / "source.keras")
    result = _train(tmp_path / "run", tmp_path / "source.keras", epochs=2, optimizer=optimizer,
                    weight_decay=0.05, builder_kwargs={"head_epochs": 2})
    trunk = _trunk_layers(result.model)
    assert {"hidden1_dense", "hidden1_bn", "hidden2_dense", "hidden2_bn"} <= set(trunk)
    for name, layer in trunk.items():  # weights, batch-norm statistics: all as they were
        for held, trained in zip(source.get_layer(name).weights, layer.weights):
            assert np.array_equal(held.numpy(), trained.numpy()), trained.path
    head = result.model.get_layer("head")
    assert not np.array_equal(head.get_layer("predictions").kernel.numpy(),
                              keras.initializers.GlorotUniform(seed=0)(
                                  head.get_layer("predictions").kernel.shape))
    assert result.config["builder_kwargs"]["source"] == str(tmp_path / "source.keras")
    assert result.config["builder_kwargs"]["head_epochs"] == 2
    assert result.config["dataset"] == VIEW
    assert result.model.output_shape == (None, 5)


def test_fine_tuning_moves_the_trunk_and_keeps_batch_norm_statistics(tmp_path):
    source = _source(tmp_path / "source.keras")
    result = _train(tmp_path / "run", tmp_path / "source.keras", epochs=2,
                    builder_kwargs={"head_epochs": 1, "finetune_rate": 0.5})
    trunk = _trunk_layers(result.model)
    dense = trunk["hidden1_dense"].kernel.numpy()
    assert not np.array_equal(dense, source.get_layer("hidden1_dense").kernel.numpy())
    bn, held = trunk["hidden1_bn"], source.get_layer("hidden1_bn")
    assert np.array_equal(bn.moving_mean.numpy(), held.moving_mean.numpy())  # inference mode
    assert np.array_equal(bn.moving_variance.numpy(), held.moving_variance.numpy())


def _one_step(model, optimizer, rate, x, y):
    fit = TransferTraining(model.get_layer("trunk"), model.get_layer("head"), rate)
    fit.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    start = [w.numpy().copy() for w in fit.trainable_weights]
    before = [w.numpy().copy() for w in fit.trunk.trainable_weights]
    fit.train_on_batch(x, y)
    after = [w.numpy().copy() for w in fit.trunk.trainable_weights]
    for weight, value in zip(fit.trainable_weights, start):
        weight.assign(value)  # head and trunk back to the start for the next call
    return [a - b for a, b in zip(after, before)]


@pytest.mark.parametrize("optimizer", [lambda: keras.optimizers.SGD(0.1),
                                       lambda: keras.optimizers.Adam(0.01)],
                         ids=["sgd", "adam"])
def test_finetune_rate_scales_the_trunks_step_not_its_gradient(optimizer):
    # Adam's step is the same for a gradient scaled by 0.25: the rate must scale the step
    model = keras_dl.create_model("transfer", input_shape=SHAPE, num_classes=3,
                                  source="mlp", source_kwargs={"hidden_units": [6]})
    x = np.random.default_rng(0).random((8, *SHAPE), dtype="float32")
    y = np.arange(8) % 3
    full = _one_step(model, optimizer(), 1.0, x, y)
    quarter = _one_step(model, optimizer(), 0.25, x, y)
    frozen = _one_step(model, optimizer(), 0.0, x, y)
    assert any(np.abs(step).max() > 0 for step in full)
    for a, b, c in zip(full, quarter, frozen):
        np.testing.assert_allclose(b, 0.25 * a, rtol=1e-3, atol=1e-7)
        assert not c.any()


class RateAtEpoch(keras.callbacks.Callback):
    def __init__(self, stop_after=None):
        super().__init__()
        self.rates, self.stop_after = {}, stop_after

    def on_epoch_begin(self, epoch, logs=None):
        self.rates[epoch] = float(self.model.trunk_rate.numpy())

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.stop_after:
            raise KeyboardInterrupt  # killed after this epoch's backup


@pytest.mark.apps  # two runs and a kill: ~12 s on 2 cores, past the default suite's share
def test_a_resumed_run_continues_in_its_phase(tmp_path):
    _source(tmp_path / "source.keras")
    settings = dict(epochs=3, lr_schedule="constant", patience=10,
                    builder_kwargs={"head_epochs": 1, "finetune_rate": 0.1})
    killed = RateAtEpoch(stop_after=0)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "run", tmp_path / "source.keras", extra_callbacks=[killed],
               **dict(settings, builder_kwargs=dict(settings["builder_kwargs"])))
    assert killed.rates == {0: 0.0}
    resumed = RateAtEpoch()
    result = _train(tmp_path / "run", tmp_path / "source.keras", extra_callbacks=[resumed],
                    **settings)
    assert result.metrics["resumed"] is True and result.metrics["epochs_run"] == 3
    assert resumed.rates == {1: pytest.approx(0.1), 2: pytest.approx(0.1)}


def test_trunk_rate_by_epoch():
    assert [trunk_rate(e, 2, 0.1) for e in range(4)] == [0.0, 0.0, 0.1, 0.1]
    assert trunk_rate(0, 0, 1.0) == 1.0


def test_the_default_cut_is_the_layer_before_the_classifier(tmp_path):
    _source(tmp_path / "source.keras")
    model = keras_dl.create_model("transfer", input_shape=SHAPE, num_classes=3,
                                  source=str(tmp_path / "source.keras"))
    trunk = model.get_layer("trunk")
    assert trunk.layers[-1].name == "hidden2_dropout"  # the classifier's input
    assert trunk.output.shape[1:] == (6,)
    assert tasks.for_model("transfer").output_names(model) == ("probabilities",)
    cut = keras_dl.create_model("transfer", input_shape=SHAPE, num_classes=3,
                                source=str(tmp_path / "source.keras"), cut_layer="hidden1_act")
    assert cut.get_layer("trunk").output.shape[1:] == (8,)


def test_a_fresh_registered_source_is_the_same_network_untrained():
    model = keras_dl.create_model("transfer", input_shape=SHAPE, num_classes=4, source="lenet5",
                                  source_kwargs={"modern": True})
    assert model.output_shape == (None, 4)
    assert any(isinstance(layer, keras.layers.Conv2D)
               for layer in model.get_layer("trunk").layers)


@pytest.mark.parametrize("kwargs, message", [
    ({"cut_layer": "nope"}, "cut_layer 'nope' is not a layer of source 'mlp'; its layers: "
                            "inputs, flatten, hidden1_dense"),
    ({"source": "no/such/run"}, "source 'no/such/run' is no run dir, .keras file, registered "
                                "model or keras.applications name"),
    ({"finetune_rate": 2.0}, "finetune_rate must be a number in [0, 1], got 2.0"),
    ({"head_epochs": -1}, "head_epochs must be an integer of at least 0, got -1"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        keras_dl.create_model("transfer", input_shape=SHAPE, num_classes=3,
                              **{"source": "mlp", **kwargs})


def test_a_source_of_another_input_shape_or_without_a_model_is_refused(tmp_path):
    keras_dl.create_model("mlp", input_shape=(28, 28, 1), hidden_units=(2,)).save(
        tmp_path / "fashion.keras")
    with pytest.raises(ValueError, match=r"takes inputs of shape \(28, 28, 1\), but the data "
                                         r"has shape \(8, 8, 1\)"):
        keras_dl.create_model("transfer", input_shape=SHAPE, source=str(tmp_path / "fashion.keras"))
    (tmp_path / "unfinished").mkdir()
    with pytest.raises(ValueError, match="is a directory without model.keras"):
        keras_dl.create_model("transfer", input_shape=SHAPE, source=str(tmp_path / "unfinished"))
    with pytest.raises(ValueError, match="source_kwargs are for a registered source model"):
        keras_dl.create_model("transfer", input_shape=(28, 28, 1),
                              source=str(tmp_path / "fashion.keras"), source_kwargs={"a": 1})


def test_a_keras_applications_source_offline(monkeypatch, tmp_path):
    # the plumbing, with random weights: a keras.applications trunk without its top
    model = keras_dl.create_model("transfer", input_shape=(32, 32, 3), num_classes=3,
                                  source="MobileNetV3Small", pooling="avg")
    assert model.output_shape == (None, 3)
    assert len(model.get_layer("trunk").layers) > 50
    # ImageNet weights neither cached nor reachable: refused within seconds
    from keras_dl.data import sources

    monkeypatch.setattr(sources, "is_online", lambda *a, **k: False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="with weights 'imagenet': the weights are not in"):
        keras_dl.create_model("transfer", input_shape=(32, 32, 3), source="MobileNetV3Small",
                              weights="imagenet")


def test_a_tuning_trial_switches_to_fine_tuning_as_a_run_does(tmp_path, monkeypatch):
    # the trunk's rate is a training callback of the task, which tuning trials add too: a
    # trial of one head epoch then one fine-tuning epoch switches phase after its first epoch
    from keras_dl import tuning
    from keras_dl.tasks import transfer

    rates = []

    def recorded(epoch, head_epochs, finetune_rate):
        rates.append((epoch, trunk_rate(epoch, head_epochs, finetune_rate)))
        return rates[-1][1]

    monkeypatch.setattr(transfer, "trunk_rate", recorded)
    _source(tmp_path / "source.keras")
    result = tuning.tune("transfer", directory=tmp_path / "search", max_trials=1, dataset=VIEW,
                         epochs=2, batch_size=16, verbose=0,
                         builder_kwargs={"source": str(tmp_path / "source.keras"),
                                         "head_units": [4], "head_epochs": 1})
    # epoch 0's rate is also where a training model starts (built before any epoch)
    assert (1, result.best_hyperparameters["finetune_rate"]) in rates
    assert {rate for epoch, rate in rates if epoch == 0} == {0.0}
