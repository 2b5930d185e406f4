"""KerasTuner search over declared spaces: resuming, overwriting, best model, flat memory."""

import json
import math

import keras
import keras_tuner
import numpy as np
import pytest
from _memory import rss_mib

import keras_dl
from keras_dl import training, tuning
from keras_dl.training import preparation
from keras_dl.tuning import hypermodel as hypermodel_module

TINY = dict(dataset="digits", epochs=1, limit=300, verbose=0)


class TrialCounter:
    """Counts trials trained (`fit` runs once per trial; `build` also runs outside trials)."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = hypermodel_module.RegisteredHyperModel.fit

        def counting_fit(model_self, hp, model, *args, **kwargs):
            self.count += 1
            return original(model_self, hp, model, *args, **kwargs)

        monkeypatch.setattr(hypermodel_module.RegisteredHyperModel, "fit", counting_fit)


class BatchCounter(keras.callbacks.Callback):
    """Counts the training batches of each epoch, by the optimizer's steps (a classifier
    trains 32 batches per compiled call, so callbacks see fewer): the batch size `fit`
    really used."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = int(self.model.optimizer.iterations)

    def on_epoch_end(self, epoch, logs=None):
        self.batches.append(int(self.model.optimizer.iterations) - self._start)


# a value of every hyperparameter of mlp's space other than the one a fresh `hp` draws first
NON_DEFAULT = {"width": 96, "depth": 3, "activation": "tanh", "batch_norm": True,
               "dropout": 0.3, "l2": 1e-4, "learning_rate": 3e-3, "batch_size": 64}


def _fixed(values):
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def _check_mlp_reflects(model, values):
    """The model (mlp) and its optimizer were built with `values` (batch norm on)."""
    hidden = [layer for layer in model.layers if layer.name.endswith("_dense")]
    assert [layer.units for layer in hidden] == [values["width"]] * values["depth"]
    depths = range(1, values["depth"] + 1)
    assert {layer.name for layer in model.layers} >= {f"hidden{i}_bn" for i in depths}
    assert all(model.get_layer(f"hidden{i}_act").activation.__name__ == values["activation"]
               for i in depths)
    assert model.get_layer("hidden1_dropout").rate == pytest.approx(values["dropout"])
    assert hidden[0].kernel_regularizer.l2 == pytest.approx(values["l2"])
    assert model.optimizer.learning_rate.numpy() == pytest.approx(values["learning_rate"])


def test_hypermodel_draws_from_the_declared_space():
    # bugs: drawn builder arguments or learning rate dropped (the builder's defaults instead),
    # or the drawn batch size not reaching `fit` (Keras' 32 instead)
    hp = keras_tuner.HyperParameters()
    hypermodel = tuning.RegisteredHyperModel("mlp", input_shape=(8, 8, 1), num_classes=10)
    hypermodel.build(hp)
    assert set(NON_DEFAULT) <= set(hp.values)
    assert all(hp.values[name] != value for name, value in NON_DEFAULT.items())
    hp = _fixed(NON_DEFAULT)
    model = hypermodel.build(hp)
    _check_mlp_reflects(model, NON_DEFAULT)
    x, y = keras_dl.data.load_numpy("digits", "train", limit=200)
    counter = BatchCounter()
    hypermodel.fit(hp, model, x, y, epochs=1, verbose=0, callbacks=[counter])
    assert counter.batches == [math.ceil(200 / NON_DEFAULT["batch_size"])]


def test_a_trial_trains_with_its_drawn_settings():
    # bug: a trial's config keeps the run's batch size / learning rate / builder arguments
    # instead of the drawn ones (trial_config), so `tune` would search nothing but the seed
    config = training.resolve_config("mlp", dataset="digits", epochs=1, limit=300, batch_size=50)
    data = preparation.load_data(config, test=False)
    hypermodel = tuning.RegisteredHyperModel("mlp", config=config, data=data)
    hp = _fixed(NON_DEFAULT)
    model = hypermodel.build(hp)
    _check_mlp_reflects(model, NON_DEFAULT)
    counter = BatchCounter()
    hypermodel.fit(hp, model, epochs=1, callbacks=[counter])
    assert counter.batches == [math.ceil(len(data.x_fit) / NON_DEFAULT["batch_size"])]


def test_hypermodel_fit_recalibrates_batch_norm_behind_dropout(monkeypatch):
    from keras_dl.training import batch_norm

    calls = []
    original = batch_norm.recalibrate_batch_norm
    monkeypatch.setattr(batch_norm, "recalibrate_batch_norm",
                        lambda model, x, **kw: calls.append(len(x)) or original(model, x, **kw))
    x, y = keras_dl.data.load_numpy("digits", "train", limit=200)
    for dropout, expected in ((0.3, 2), (0.0, 0)):  # one validation + the end; none without
        calls.clear()
        hypermodel = tuning.RegisteredHyperModel("mlp", input_shape=(8, 8, 1), num_classes=10,
                                                 batch_norm=True, dropout=dropout)
        hp = keras_tuner.HyperParameters()
        model = hypermodel.build(hp)
        hypermodel.fit(hp, model, x, y, epochs=1, validation_data=(x[:50], y[:50]), verbose=0)
        assert len(calls) == expected and set(calls) <= {200}

def _assert_the_best_trials_model_was_saved(result):
    """The saved best model reproduces the best trial's score on the validation split, and no
    other trial's (bug: the first or the last trial's model saved as the best)."""
    scores = [t["score"] for t in result.trials]
    assert len(set(scores)) == len(scores), f"tied trials cannot tell models apart: {scores}"
    config = json.loads((result.directory / "best" / "config.json").read_text())
    data = preparation.load_data(config, test=False)
    best = keras.saving.load_model(result.best_model_path)
    accuracy = np.mean(np.argmax(best.predict(data.x_val, verbose=0), -1) == data.y_val)
    assert accuracy == pytest.approx(scores[0], abs=1e-6), (accuracy, scores)


@pytest.mark.apps  # ~35 s; test_faults_tune kills and resumes searches too (also -m apps)
def test_search_writes_best_model_and_resumes_without_redoing_trials(tmp_path, monkeypatch):
    # seed 3 draws a search whose second trial is the best of two and of three, so saving the
    # first or the last trial's model as the best fails `_assert_the_best_trials_model_was_saved`
    search = dict(TINY, seed=3)
    counter = TrialCounter(monkeypatch)
    first = tuning.tune("mlp", directory=tmp_path, max_trials=2, **search)
    assert counter.count == 2 and len(first.trials) == 2
    scores = [t["score"] for t in first.trials]
    assert scores == sorted(scores, reverse=True)  # ranked, best first
    _assert_the_best_trials_model_was_saved(first)
    saved = json.loads((tmp_path / "best" / "hyperparameters.json").read_text())
    assert saved == first.trials[0]["hyperparameters"]

    again = tuning.tune("mlp", directory=tmp_path, max_trials=2, **search)
    assert counter.count == 2  # nothing redone
    assert [t["score"] for t in again.trials] == scores
    _assert_the_best_trials_model_was_saved(again)

    more = tuning.tune("mlp", directory=tmp_path, max_trials=3, **search)
    assert counter.count == 3 and len(more.trials) == 3  # only the new trial ran
    assert len(json.loads((tmp_path / "trials.json").read_text())) == 3
    ids = sorted(t["trial"] for t in more.trials)
    assert more.trials[0]["trial"] == ids[1], "the seed no longer makes the middle trial best"
    _assert_the_best_trials_model_was_saved(more)

    tuning.tune("mlp", directory=tmp_path, max_trials=1, overwrite=True, **search)
    assert counter.count == 4
    assert len(json.loads((tmp_path / "trials.json").read_text())) == 1


@pytest.mark.parametrize("tuner", ["hyperband", "bayesian"])
def test_other_tuners_run_within_the_trial_budget(tmp_path, tuner, capfd):
    settings_ = {k: v for k, v in TINY.items() if k != "verbose"}  # the default, "auto"
    result = tuning.tune("mlp", directory=tmp_path, tuner=tuner, max_trials=2,
                         **{**settings_, "epochs": 2})
    assert 1 <= len(result.trials) <= 2
    assert result.best_model_path.is_file()
    # stdout is not a terminal here: the default verbosity ("auto") must not write the
    # progress bar's carriage returns and escape codes into a pipe or a log file
    out, err = capfd.readouterr()
    assert "Epoch 1/2" in out and "\x1b" not in out + err and "\r" not in out + err


class RssProbe(keras.callbacks.Callback):
    samples: list = []  # on the class: KerasTuner deep-copies callbacks for every trial

    def on_train_end(self, logs=None):
        type(self).samples.append(rss_mib())


@pytest.mark.apps  # 49 s of ten LeNet-5 trials: runs in CI's second pass (-m apps), keeping
# the default suite inside its 10 minutes on 2 cores
def test_memory_stays_flat_across_ten_trials(tmp_path, record_property):
    probe = RssProbe()
    RssProbe.samples.clear()
    # lenet5's space (modern or not, learning rate, batch size) keeps every trial's model the
    # same size, so any growth is a leak rather than a bigger model.
    tuning.tune("lenet5", directory=tmp_path, max_trials=10, extra_callbacks=[probe], **TINY)
    samples = RssProbe.samples
    assert len(samples) == 10
    # Measured on 2 CPU cores (2026-11-30): without keras_dl.compat's
    # release of each trial's traced graphs, TensorFlow keeps every trial's train step alive and
    # the resident size climbs in a straight line, 8.4-10.3 MiB a trial over trials 3-10 in three
    # runs; with it, the size wanders by up to ±20 MiB of allocator jitter around a flat level
    # once the first two trials have warmed TensorFlow's kernels and pools (slopes -2.1 to +2.1
    # MiB a trial in five runs, one of them CI's). The least-squares slope over trials 3-10 uses
    # all eight samples, so one high or low trial moves it little; 5 MiB a trial separates the two.
    trials = np.arange(3, 11)
    slope = np.polyfit(trials, samples[2:], 1)[0]
    record_property("rss_slope_mib_per_trial", round(float(slope), 3))  # docs/reliability.md
    assert slope < 5, (f"RSS climbed {slope:.1f} MiB a trial over trials 3-10: "
                       f"{np.round(samples, 1)}")


@pytest.mark.parametrize(
    "kwargs, message",
    [({"tuner": "grid"}, "unknown tuner 'grid'; allowed: random, hyperband, bayesian"),
     ({"objective": "f1"}, "unknown objective 'f1'"),
     ({"max_trials": 0}, "max_trials must be a positive integer")],
)
def test_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tuning.tune("mlp", directory=tmp_path, **{**TINY, **kwargs})


def test_tune_command(tmp_path, capsys):
    from keras_dl import cli

    assert cli.main(["tune", "mlp", "--dataset", "digits", "--max-trials", "2", "--epochs", "1",
                     "--limit", "300", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "rank  trial  val_accuracy" in out and "best model:" in out
    assert cli.main(["tune", "nosuch", "--dir", str(tmp_path)]) == 2
    assert "unknown model 'nosuch'" in capsys.readouterr().err
