"""keras_dl.training.probes: the diagnostics callbacks (CSV, JSON, TensorBoard), the factory the
CLI calls, and the figures drawn from a run dir."""

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dl import training
from keras_dl.evaluation import layer_statistics as ls
from keras_dl.training.probe_plots import plot_probes
from keras_dl.training.probes import (
    PROBES,
    ActivationProbe,
    GradientProbe,
    WeightProbe,
    make_probes,
)

LAYERS = ["hidden", "squash", "out"]


def _model():
    inputs = keras.Input((4,))
    h = keras.layers.Dense(6, activation="relu", name="hidden")(inputs)
    h = keras.layers.Dense(5, name="pre")(h)
    h = keras.layers.Activation("tanh", name="squash")(h)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="out")(h))
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    return model


def _data(count=48):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (count, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")


def _rows(path):
    with path.open() as stream:
        return list(csv.DictReader(stream))


class _Kernels(keras.callbacks.Callback):
    """Kernel snapshots after each epoch, taken independently of the probes."""

    def __init__(self):
        super().__init__()
        self.after = {}

    def on_epoch_end(self, epoch, logs=None):
        self.after[epoch + 1] = ls.kernel_snapshot(self.model)


def _fit_all(run_dir, epochs=2, batch_size=None, every=1):
    model, (x, y) = _model(), _data()
    kernels = _Kernels()
    kernels.after[0] = ls.kernel_snapshot(model)
    probes = make_probes("all", x, y, run_dir, every=every, model=model)
    model.fit(x, y, epochs=epochs, batch_size=batch_size or len(x), verbose=0,
              callbacks=[kernels, *probes])
    return model, x, y, kernels


def test_a_two_epoch_fit_writes_the_three_csvs_with_the_right_rows(tmp_path):
    """One step per epoch, so the first step's update ratio is the epoch's. Bugs caught: a
    missing initial (epoch 0) row or epoch, rows keyed to the wrong layer, values that are not
    the model's (compared with layer_statistics on the trained model and with kernels saved by
    an independent callback), update ratios taken against the wrong snapshot."""
    model, x, y, kernels = _fit_all(tmp_path)
    activations = _rows(tmp_path / "probes" / "activations.csv")
    assert list(activations[0]) == ["epoch", "layer", "activation", "mean", "std",
                                    "saturated", "dead", "dead_units"]
    default = ["hidden", "pre", "squash", "out"]
    assert [(int(r["epoch"]), r["layer"]) for r in activations] == [
        (e, layer) for e in (0, 1, 2) for layer in default]
    final = ls.activation_statistics(model, x)
    for row in activations[-4:]:
        expected = final[row["layer"]]
        assert float(row["mean"]) == pytest.approx(expected["mean"], rel=1e-6)
        assert float(row["std"]) == pytest.approx(expected["std"], rel=1e-6)
    by_layer = {r["layer"]: r for r in activations[-4:]}
    assert by_layer["hidden"]["activation"] == "relu" and by_layer["hidden"]["dead"] != ""
    assert by_layer["squash"]["saturated"] != "" and by_layer["pre"]["saturated"] == ""

    gradients = _rows(tmp_path / "probes" / "gradients.csv")
    assert [(int(r["epoch"]), r["layer"]) for r in gradients] == [
        (e, layer) for e in (0, 1, 2) for layer in ("hidden", "pre", "out")]
    final_grads = ls.gradient_norms(model, x, y)
    for row in gradients[-3:]:
        assert float(row["gradient_norm"]) == pytest.approx(final_grads[row["layer"]], rel=1e-5)
    assert gradients[0]["gradient_norm"] != gradients[-3]["gradient_norm"]  # measured each time

    weights = _rows(tmp_path / "probes" / "weights.csv")
    assert [(int(r["epoch"]), r["layer"]) for r in weights] == [
        (e, layer) for e in (0, 1, 2) for layer in ("hidden", "pre", "out")]
    assert weights[0]["update_ratio"] == "" and weights[0]["step_update_ratio"] == ""
    for row in weights[3:]:
        epoch, layer = int(row["epoch"]), row["layer"]
        after, before = kernels.after[epoch][layer], kernels.after[epoch - 1][layer]
        assert float(row["weight_norm"]) == pytest.approx(np.linalg.norm(after), rel=1e-6)
        expected = np.linalg.norm(after - before) / np.linalg.norm(before)
        assert float(row["update_ratio"]) == pytest.approx(expected, rel=1e-5)
        assert float(row["step_update_ratio"]) == pytest.approx(expected, rel=1e-5)


def test_step_update_ratio_is_one_step_of_several(tmp_path):
    """Bug caught: the "first step" ratio measured over the whole epoch (here 4 steps)."""
    model, x, y = _model(), *_data()
    before = ls.kernel_snapshot(model)
    probe = WeightProbe(tmp_path)
    one_step = keras.models.clone_model(model)
    one_step.set_weights(model.get_weights())
    one_step.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    one_step.train_on_batch(x[:12], y[:12])  # fit does not shuffle the first batch with shuffle=False
    expected = ls.update_ratios(before, ls.kernel_snapshot(one_step))
    model.fit(x, y, epochs=1, batch_size=12, shuffle=False, verbose=0, callbacks=[probe])
    rows = {r["layer"]: r for r in _rows(tmp_path / "probes" / "weights.csv") if r["epoch"] == "1"}
    for layer, ratio in expected.items():
        assert float(rows[layer]["step_update_ratio"]) == pytest.approx(ratio, rel=1e-4)
        assert float(rows[layer]["update_ratio"]) > 1.5 * ratio


def test_every_n_epochs_and_the_last_one(tmp_path):
    """Bug caught: the frequency ignored, or the last epoch not recorded when it is not a
    multiple of `every`."""
    _fit_all(tmp_path, epochs=3, every=2)
    for name in PROBES:
        epochs = sorted({int(r["epoch"]) for r in _rows(tmp_path / "probes" / f"{name}.csv")})
        assert epochs == [0, 2, 3], name


def test_json_summary_and_tensorboard_scalars(tmp_path):
    """Bugs caught: the summary's first/last values not the CSV's, TensorBoard steps or values
    that differ from the CSV, or names (the activation column) written as scalars."""
    _fit_all(tmp_path)
    gradients = _rows(tmp_path / "probes" / "gradients.csv")
    summary = json.loads((tmp_path / "probes" / "gradients.json").read_text())
    assert summary["epochs"] == [0, 1, 2] and summary["layers"] == ["hidden", "pre", "out"]
    assert summary["first"]["out"]["gradient_norm"] == float(gradients[2]["gradient_norm"])
    assert summary["last"]["out"]["gradient_norm"] == float(gradients[-1]["gradient_norm"])
    scalars = {}
    for event_file in (tmp_path / "probes" / "tensorboard").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                scalars.setdefault(value.tag, {})[event.step] = float(
                    tf.make_ndarray(value.tensor))
    out_norms = {int(r["epoch"]): float(r["gradient_norm"]) for r in gradients
                 if r["layer"] == "out"}
    assert scalars["gradients/out/gradient_norm"] == pytest.approx(out_norms, rel=1e-6)
    assert set(scalars["activations/hidden/dead"]) == {0, 1, 2}
    assert "weights/out/update_ratio" in scalars
    assert not any(tag.endswith("/activation") for tag in scalars)
    assert "activations/pre/saturated" not in scalars  # None is not written as a value


def test_a_resumed_fit_replaces_the_epochs_it_trains_again(tmp_path):
    """A run killed after epoch 2 and resumed from epoch 1 (the backup's) trains epochs 2 and
    3 again. Bugs caught: duplicate (epoch, layer) rows, a second "initial" row measured from
    trained weights, the old epoch-2 rows kept instead of the new ones."""
    model, x, y = _model(), *_data()
    model.fit(x, y, epochs=2, verbose=0, callbacks=make_probes("gradients", x, y, tmp_path))
    first = _rows(tmp_path / "probes" / "gradients.csv")
    model.fit(x, y, initial_epoch=1, epochs=3, verbose=0,
              callbacks=make_probes("gradients", x, y, tmp_path))
    rows = _rows(tmp_path / "probes" / "gradients.csv")
    assert [(int(r["epoch"]), r["layer"]) for r in rows] == [
        (e, layer) for e in (0, 1, 2, 3) for layer in ("hidden", "pre", "out")]
    assert rows[:6] == first[:6]
    assert rows[6:9] != first[6:9]
    final = ls.gradient_norms(model, x, y)
    assert float(rows[-1]["gradient_norm"]) == pytest.approx(final["out"], rel=1e-5)


def test_the_factory_builds_the_named_probes():
    """Bugs caught: "all" not expanding, spaces not stripped, layers or frequency not passed
    on, the validation batch not cut to max_examples."""
    x, y = _data(300)
    made = make_probes("all", x, y, "run", layers="hidden, out", every=3)
    assert [type(p) for p in made] == [ActivationProbe, GradientProbe, WeightProbe]
    assert all(p.layers == ["hidden", "out"] and p.every == 3 for p in made)
    assert made[0].x.shape == (256, 4) and made[1].y.shape == (256,)
    np.testing.assert_array_equal(made[1].x, x[:256])
    assert [type(p) for p in make_probes(" weights ,activations", x, y, "run",
                                         max_examples=10)] == [ActivationProbe, WeightProbe]


@pytest.mark.parametrize("spec, named", [
    ("activation", "'activation'"), ("all,gradient", "'gradient'"), ("", "empty probe list"),
    ("weights,,", "''"),
])
def test_the_factory_refuses_an_unknown_probe_in_one_line(spec, named):
    """Bug caught: an unknown name silently ignored, or refused without naming it and the
    names allowed."""
    x, y = _data(8)
    with pytest.raises(ValueError) as error:
        make_probes(spec, x, y, "run")
    message = str(error.value)
    assert named in message and "activations, gradients, weights, all" in message
    assert "\n" not in message


def test_the_factory_refuses_a_layer_the_model_lacks(tmp_path):
    """Bugs caught: a misspelt layer accepted (checked only when training starts, or never);
    the kernel probes accepting layers none of which has a kernel."""
    model, (x, y) = _model(), _data(8)
    with pytest.raises(ValueError, match=r"'hiden'.*allowed: hidden, pre, squash, out$"):
        make_probes("activations", x, y, tmp_path, layers="hiden", model=model)
    with pytest.raises(ValueError, match=r"squash has a kernel.*with a kernel: hidden, pre, out"):
        make_probes("gradients", x, y, tmp_path, layers=["squash"], model=model)
    assert make_probes("all", x, y, tmp_path, layers=["squash", "out"], model=model)
    # without the model, the check happens when training starts, before anything is written
    probes = make_probes("weights", x, y, tmp_path, layers="hiden")
    with pytest.raises(ValueError, match="'hiden'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=probes)
    assert not (tmp_path / "probes").exists()


@pytest.mark.parametrize("every", [0, -1, 1.5, True])
def test_a_bad_frequency_is_refused(every):
    """Bug caught: every=0 dividing by zero at the first epoch, a fraction accepted."""
    with pytest.raises(ValueError, match=rf"every={every!r}.*≥ 1"):
        WeightProbe("run", every=every)


def test_probes_need_their_validation_batch():
    """Bug caught: a probe made without data failing later, inside fit."""
    with pytest.raises(ValueError, match="activations probe needs"):
        make_probes("activations", None, None, "run")
    with pytest.raises(ValueError, match="gradients probe needs the validation batch's labels"):
        make_probes("gradients", np.zeros((2, 4)), None, "run")


def test_plot_probes_draws_each_recorded_statistic(tmp_path):
    """Bugs caught: a statistic left undrawn, a probe's figures drawn when it was not
    recorded, figures outside the output dir (or the default one), files that are not PNGs."""
    _fit_all(tmp_path / "run")
    paths = plot_probes(tmp_path / "run", tmp_path / "figures")
    names = sorted(path.name for path in paths)
    assert names == sorted([
        "activations_mean.png", "activations_std.png", "activations_saturated.png",
        "activations_dead.png", "gradients_gradient_norm.png", "weights_weight_norm.png",
        "weights_update_ratio.png", "weights_step_update_ratio.png"])
    for path in paths:
        assert path.parent == tmp_path / "figures"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # only the weights probe recorded: only its figures, in the default folder
    model, (x, y) = _model(), _data(8)
    model.fit(x, y, epochs=1, verbose=0, callbacks=make_probes("weights", x, y, tmp_path / "w"))
    drawn = plot_probes(tmp_path / "w")
    assert sorted(p.name for p in drawn) == [
        "weights_step_update_ratio.png", "weights_update_ratio.png", "weights_weight_norm.png"]
    assert all(p.parent == tmp_path / "w" / "probes" / "figures" for p in drawn)


def test_plot_probes_skips_statistics_without_values(tmp_path):
    """Bug caught: a figure drawn for a statistic that is empty for every layer (saturation in
    a network without sigmoid or tanh)."""
    probes = tmp_path / "probes"
    probes.mkdir()
    (probes / "activations.csv").write_text(
        "epoch,layer,activation,mean,std,saturated,dead,dead_units\n"
        "0,a,relu,0.5,0.1,,0.0,0\n1,a,relu,0.4,0.2,,0.5,1\n")
    assert sorted(p.name for p in plot_probes(tmp_path)) == [
        "activations_dead.png", "activations_mean.png", "activations_std.png"]


def test_plot_probes_refuses_a_run_dir_without_probes(tmp_path):
    """Bug caught: a run without probes giving an empty list, a traceback, or a message that
    does not say how to record them; nothing is created in the run dir."""
    (tmp_path / "history.csv").write_text("epoch,loss\n0,1.0\n")
    with pytest.raises(ValueError) as error:
        plot_probes(tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "--probe" in message and "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]


def test_probe_setting_through_the_trainer(tmp_path):
    """`train(..., probe="all")` (`keras-dl train --probe all`) records every probe on the
    trainer's fit and keeps the setting in config.json. Bug caught: probes that only work on a
    model they built, not on the trainer's; a setting accepted and then ignored."""
    training.train("mlp", dataset="digits", run_dir=tmp_path, epochs=2, batch_size=64,
                   builder_kwargs={"hidden_units": [8]}, verbose=0, limit=200, probe="all")
    for name in PROBES:
        rows = _rows(tmp_path / "probes" / f"{name}.csv")
        assert {int(r["epoch"]) for r in rows} == {0, 1, 2}, name
        assert {r["layer"] for r in rows} >= {"hidden1_dense"}, name
    assert json.loads((tmp_path / "config.json").read_text())["probe"] == "all"


def test_probe_layers_through_the_trainer(tmp_path):
    """`--probe-layers` narrows what is recorded to the layers named, and is kept in
    config.json. Bug caught: the option accepted and every default layer recorded anyway."""
    training.train("mlp", dataset="digits", run_dir=tmp_path, epochs=1, batch_size=64,
                   builder_kwargs={"hidden_units": [8, 6]}, verbose=0, limit=200,
                   probe="activations,weights", probe_layers="hidden2_dense")
    for name in ("activations", "weights"):
        rows = _rows(tmp_path / "probes" / f"{name}.csv")
        assert {r["layer"] for r in rows} == {"hidden2_dense"}, name
    assert json.loads((tmp_path / "config.json").read_text())["probe_layers"] == "hidden2_dense"


def test_a_run_without_probe_records_none(tmp_path):
    training.train("mlp", dataset="digits", run_dir=tmp_path, epochs=1, batch_size=64,
                   builder_kwargs={"hidden_units": [8]}, verbose=0, limit=100)
    assert not (tmp_path / "probes").exists()
    assert "probe" not in json.loads((tmp_path / "config.json").read_text())


def _digits():
    from keras_dl import data

    return data.load_numpy("digits", "test", limit=64)


class _StopAfter(keras.callbacks.Callback):
    """Early stopping's effect, decided in advance: the fit ends after `epochs` epochs."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            self.model.stop_training = True


def test_the_epoch_early_stopping_ends_on_is_recorded(tmp_path):
    """Bug caught: with every=5 and a fit stopped early after epoch 3, the trained network's
    last state never recorded (only the initial row)."""
    model, (x, y) = _model(), _data()
    probes = make_probes("weights", x, y, tmp_path, every=5)
    model.fit(x, y, epochs=20, verbose=0, callbacks=[_StopAfter(3), *probes])
    epochs = sorted({int(r["epoch"]) for r in _rows(tmp_path / "probes" / "weights.csv")})
    assert epochs == [0, 3]


def test_cli_train_with_probes_then_plot(tmp_path, capsys):
    """`keras-dl train ... --probe all` then `keras-dl plot RUN_DIR [--output DIR]`: one PNG per
    statistic with values, each path printed. Bug caught: a plot command that writes
    elsewhere than it prints, or draws nothing from the trainer's CSVs."""
    from _cli import run_cli

    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "mlp", "--dataset", "digits", "--limit", "200",
                           "--epochs", "2", "--set", "hidden_units=[8]", "--probe",
                           "gradients,weights", "--run-dir", run)
    assert code == 0, err
    assert sorted(p.name for p in (run / "probes").glob("*.csv")) == ["gradients.csv",
                                                                       "weights.csv"]
    code, out, err = run_cli(capsys, "plot", run, "--output", tmp_path / "figures")
    assert code == 0, err
    printed = sorted(out.split())
    drawn = sorted(str(p) for p in (tmp_path / "figures").glob("*.png"))
    assert printed == drawn
    assert [Path(p).name for p in drawn] == ["gradients_gradient_norm.png",
                                             "weights_step_update_ratio.png",
                                             "weights_update_ratio.png",
                                             "weights_weight_norm.png"]
