"""What early stopping, the best checkpoint and the plateau schedule watch (`monitor`), and how
their state survives a resume (`MonitorState`)."""

import json

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl import cli, training

# Early stopping (patience 3) on this validation loss, uninterrupted: best at epoch 1, no
# improvement in epochs 2, 3, 4, so it stops after epoch 4 and restores epoch 1's weights.
# Forgetting its state at a resume after epoch 2 would make epoch 4 (0.6) the best and run on
# to epoch 7.
RESUME_SCRIPT = {"val_loss": [1.0, 0.5, 0.8, 0.7, 0.6, 0.9, 0.9, 0.9]}
# Validation accuracy peaks at epoch 1 while validation loss keeps falling: early stopping on
# val_accuracy stops after epoch 4 and restores epoch 1's weights; on val_loss it runs all six
# epochs and keeps the last.
MONITOR_SCRIPT = {"val_accuracy": [0.5, 0.9, 0.6, 0.7, 0.8, 0.85],
                  "val_loss": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]}


class Scripted(keras.callbacks.Callback):
    """Puts fixed validation figures into each epoch's logs, before any other callback."""

    def __init__(self, script):
        super().__init__()
        self.script = script

    def on_epoch_end(self, epoch, logs=None):
        for key, values in self.script.items():
            logs[key] = values[epoch]


class Interrupted(Exception):
    pass


class MonitorProbe(keras.callbacks.Callback):
    """Records the monitoring callbacks' state after every epoch and at the first epoch's start
    (after `MonitorState` has run), the weights after every epoch, and which epochs ran;
    raises `Interrupted` after epoch `stop_after`, as a kill after the epoch's backup would."""

    def __init__(self, callbacks, stop_after=None):
        super().__init__()
        self.callbacks, self.stop_after = callbacks, stop_after
        self.weights, self.ends, self.begin, self.epochs = {}, {}, None, []

    def _state(self):
        keep = {keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch"),
                keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
                keras.callbacks.ModelCheckpoint: ("best",)}
        return [(type(cb).__name__, attr, getattr(cb, attr)) for cb in self.callbacks
                for kind, attrs in keep.items() if isinstance(cb, kind) for attr in attrs]

    def on_epoch_begin(self, epoch, logs=None):
        if not self.epochs:
            self.begin = self._state()
        self.epochs.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.model.get_weights()
        self.ends[epoch] = self._state()
        if epoch == self.stop_after:
            raise Interrupted


class CutCheckpoint(keras.callbacks.Callback):
    """Right after `ModelCheckpoint` wrote its hidden file at epoch `epoch`: cuts it to half
    its size and raises `Interrupted`, as a kill (or a full disk) in its write would."""

    def __init__(self, path, epoch):
        super().__init__()
        self.path, self.epoch = path, epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            with open(self.path, "r+b") as stream:
                stream.truncate(stream.seek(0, 2) // 2)
            raise Interrupted


def _scripted_fit(run_dir, script, *, monitor="val_loss", stop_after=None, cut_checkpoint=None):
    """A tiny classifier fitted with `keras-dl train`'s callbacks (patience 3, the plateau
    schedule) under scripted validation figures; `(model, probe, callbacks)`. With
    `cut_checkpoint`, the checkpoint written at that epoch is cut short (`CutCheckpoint`)."""
    keras.utils.set_random_seed(0)
    model = keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(3,), num_classes=2)
    training.compile_classifier(model, learning_rate=0.05)
    x = np.random.default_rng(0).random((32, 4), dtype="float32")
    y = (x[:, 0] > 0.5).astype("int32")
    epochs = len(next(iter(script.values())))
    callbacks = training.default_callbacks(str(run_dir), lr_schedule="plateau",
                                           learning_rate=0.05, epochs=epochs, patience=3,
                                           monitor=monitor)
    probe = MonitorProbe(callbacks, stop_after)
    if cut_checkpoint is not None:
        writer = next(i for i, cb in enumerate(callbacks)
                      if isinstance(cb, keras.callbacks.ModelCheckpoint))
        callbacks.insert(writer + 1, CutCheckpoint(callbacks[writer].filepath, cut_checkpoint))
    try:
        model.fit(x, y, validation_data=(x, y), epochs=epochs, verbose=0,
                  callbacks=[Scripted(script), *callbacks, probe])
    except Interrupted:
        pass
    return model, probe, callbacks


def _same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def _monitor_state(callbacks):
    return next(cb for cb in callbacks if isinstance(cb, training.MonitorState))


# --- monitor -----------------------------------------------------------------------------------


@pytest.mark.parametrize("monitor, epochs_run, kept", [("val_accuracy", 5, 1), ("val_loss", 6, 5)])
def test_early_stopping_and_the_checkpoint_follow_the_monitor(tmp_path, monitor, epochs_run,
                                                              kept):
    model, probe, callbacks = _scripted_fit(tmp_path / "run", MONITOR_SCRIPT, monitor=monitor)
    assert len(probe.epochs) == epochs_run
    assert _same_weights(model.get_weights(), probe.weights[kept])
    best = keras.saving.load_model(tmp_path / "run" / "checkpoints" / "best.keras")
    assert _same_weights(best.get_weights(), probe.weights[kept])
    plateau = next(cb for cb in callbacks if isinstance(cb, keras.callbacks.ReduceLROnPlateau))
    assert plateau.monitor == monitor and plateau.best == MONITOR_SCRIPT[monitor][kept]


def test_train_records_the_monitor_and_reports_its_best_epoch(tmp_path):
    run = tmp_path / "run"
    result = training.train("mlp", dataset="digits", run_dir=run, epochs=3, batch_size=64,
                            builder_kwargs={"hidden_units": [16]}, verbose=0, limit=400,
                            monitor="val_accuracy")
    assert json.loads((run / "config.json").read_text())["monitor"] == "val_accuracy"
    accuracies = [row["val_accuracy"] for row in result.history]
    assert result.metrics["best_val_accuracy"] == max(accuracies)
    assert result.metrics["best_epoch"] == accuracies.index(max(accuracies)) + 1
    # a default run's config does not name it, so runs from before the setting resume as they are
    config = training.resolve_config("mlp", dataset="digits", builder_kwargs={"hidden_units": [16]})
    assert "monitor" not in config
    # and resuming it under the default monitor is refused
    assert training.changed_setting(run, {**config, "epochs": 3, "batch_size": 64, "limit": 400}
                                    )[0] == "monitor"


def test_the_main_output_is_monitored_for_models_with_auxiliary_classifiers():
    from types import SimpleNamespace

    from keras_dl import tasks

    task = tasks.for_model("googlenet")
    with_aux, plain = SimpleNamespace(outputs=[0, 1, 2]), SimpleNamespace(outputs=[0])
    assert task.monitor_key("val_accuracy", with_aux) == "val_predictions_accuracy"
    assert task.monitor_key("val_accuracy", plain) == "val_accuracy"
    assert task.monitor_key("val_loss", with_aux) == "val_loss"  # the weighted total
    assert tasks.for_model("resnet18").monitor_key("val_accuracy", with_aux) == "val_accuracy"


@pytest.mark.parametrize("model, monitor, message", [
    ("mlp", "accuracy", "unknown monitor 'accuracy'; allowed: val_loss, val_accuracy"),
    ("autoencoder", "val_accuracy", "monitor val_accuracy is for classifiers; model "
                                    "'autoencoder' is reconstruction"),
])
def test_bad_monitors_fail_before_the_run_dir_is_made(tmp_path, model, monitor, message):
    with pytest.raises(ValueError, match=message):
        training.train(model, dataset="digits", run_dir=tmp_path / "run", monitor=monitor)
    assert not (tmp_path / "run").exists()


def test_cli_monitor_option(capsys):
    train_parser = cli.build_parser()._subparsers._group_actions[0].choices["train"]
    option = next(a for a in train_parser._actions if "--monitor" in a.option_strings)
    assert tuple(option.choices) == training.MONITORS
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "mlp", "--dataset", "digits", "--monitor", "accuracy"])
    assert exit_.value.code == 2
    assert "--monitor: invalid choice: 'accuracy'" in capsys.readouterr().err
    assert cli.main(["train", "autoencoder", "--dataset", "digits", "--monitor",
                     "val_accuracy"]) == 2
    assert "monitor val_accuracy is for classifiers" in capsys.readouterr().err


# --- resuming ----------------------------------------------------------------------------------


def test_a_resumed_run_keeps_early_stopping_and_the_best_checkpoint(tmp_path):
    run = tmp_path / "run"
    _, interrupted, _ = _scripted_fit(run, RESUME_SCRIPT, stop_after=2)
    assert interrupted.epochs == [0, 1, 2]
    assert (run / "backup" / "monitor_state.json").exists()
    assert (run / "backup" / "best_weights.1.npz").exists()

    model, probe, callbacks = _scripted_fit(run, RESUME_SCRIPT)
    assert _monitor_state(callbacks).restored_from == 3
    assert probe.epochs == [3, 4]  # stopped where the uninterrupted run stops
    # every monitor resumes with the state it had after epoch 2 (no fresh `best`)
    assert probe.begin == interrupted.ends[2]
    assert ("EarlyStopping", "best", 0.5) in probe.begin
    # early stopping restored epoch 1's weights, which it had before the interruption
    assert _same_weights(model.get_weights(), interrupted.weights[1])
    # and best.keras was not overwritten by the worse epochs after the resume
    best = keras.saving.load_model(run / "checkpoints" / "best.keras")
    assert _same_weights(best.get_weights(), interrupted.weights[1])
    assert not (run / "backup").exists()  # finished: the backup and the state are gone


def test_train_resumed_after_an_interruption_stops_where_the_uninterrupted_run_stops(
        tmp_path, monkeypatch):
    # bugs: `train` resuming with early stopping's wait / best / best epoch or its best weights
    # forgotten (it runs on past epoch 4 and keeps the last weights), or reporting the best
    # epoch and epochs run from the resumed `fit` alone instead of the whole history.csv
    from keras_dl.training import trainer

    probes = []
    original = trainer.default_callbacks

    def scripted_callbacks(*args, **kwargs):  # the scripted figures ahead of train's callbacks
        callbacks = original(*args, **kwargs)
        probes[-1].callbacks = callbacks
        return [Scripted(RESUME_SCRIPT), *callbacks]

    monkeypatch.setattr(trainer, "default_callbacks", scripted_callbacks)

    def run(stop_after=None):
        probes.append(MonitorProbe([], stop_after))
        return training.train("mlp", dataset="digits", run_dir=tmp_path / "run",
                              epochs=len(RESUME_SCRIPT["val_loss"]), batch_size=64, limit=100,
                              builder_kwargs={"hidden_units": [4]}, lr_schedule="plateau",
                              patience=3, verbose=0, extra_callbacks=[probes[-1]])

    with pytest.raises(Interrupted):
        run(stop_after=2)  # after epoch 2's backup, as a kill would
    interrupted = probes[-1]
    assert ("EarlyStopping", "wait", 1) in interrupted.ends[2]

    result = run()
    resumed = probes[-1]
    assert resumed.epochs == [3, 4]  # early stopping stops where the uninterrupted run stops
    assert resumed.begin == interrupted.ends[2]  # every monitor resumes as it was
    assert result.metrics["resumed"] is True and result.metrics["epochs_run"] == 5
    assert result.metrics["best_epoch"] == 2  # epoch 1 (0-based): val_loss 0.5
    assert [row["val_loss"] for row in result.history] == RESUME_SCRIPT["val_loss"][:5]
    assert _same_weights(result.model.get_weights(), interrupted.weights[1])
    for saved in ("model.keras", "checkpoints/best.keras"):
        loaded = keras.saving.load_model(tmp_path / "run" / saved)
        assert _same_weights(loaded.get_weights(), interrupted.weights[1]), saved


def test_a_checkpoint_cut_short_by_a_kill_is_never_published(tmp_path):
    """Catches a resumed run publishing as `best.keras` the hidden checkpoint a killed run
    left cut short (`PublishCheckpoint` renames the hidden file it finds after an epoch: if
    the resumed epoch is no new best, that is the killed run's). The epoch killed in its
    checkpoint is trained again, on another shuffle order (docs/faults.md), so its figures
    differ: scripted here, a best before the kill and not after."""
    run = tmp_path / "run"
    before = {"val_loss": [1.0, 0.5, 0.4, 0.9, 0.9, 0.9, 0.9, 0.9]}
    _, killed, _ = _scripted_fit(run, before, cut_checkpoint=2)
    assert killed.epochs == [0, 1, 2]
    assert (run / "checkpoints" / ".best.partial.keras").exists()  # left cut short
    model, resumed, _ = _scripted_fit(run, RESUME_SCRIPT)  # epoch 2 is no new best now
    assert resumed.epochs == [2, 3, 4]  # resumed at the killed epoch, stopped after epoch 4
    best = keras.saving.load_model(run / "checkpoints" / "best.keras")
    assert _same_weights(best.get_weights(), killed.weights[1])
    assert _same_weights(model.get_weights(), killed.weights[1])


def test_a_state_from_another_epoch_is_not_restored(tmp_path, capsys):
    run = tmp_path / "run"
    _scripted_fit(run, RESUME_SCRIPT, stop_after=2)
    path = run / "backup" / "monitor_state.json"
    state = json.loads(path.read_text())
    state["epoch"] = 2  # as if killed between the backup's write and the state's
    path.write_text(json.dumps(state))
    _, probe, callbacks = _scripted_fit(run, RESUME_SCRIPT)
    assert _monitor_state(callbacks).restored_from is None
    assert "state is from epoch 2, the backup resumes at epoch 3" in capsys.readouterr().err
    assert ("EarlyStopping", "best", None) in probe.begin  # afresh, as before this state existed
    assert probe.epochs[0] == 3 and probe.epochs[-1] > 4


# --- MonitorState unit by unit: what it writes, and what it puts back in each situation

def _early_stopping(restore=True):
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
                                             restore_best_weights=restore)
    callback.on_train_begin()
    return callback


def _state_after_epoch_2(directory, callbacks):
    """Early stopping (and any others) as they are after epoch 2 of RESUME_SCRIPT, saved."""
    early, *_ = callbacks
    early.wait, early.best, early.best_epoch = 1, 0.5, 1
    early.best_weights = [np.full((2, 2), 7.0, "float32"), np.arange(3, dtype="float32")]
    saver = training.MonitorState(directory, callbacks)
    saver.on_train_begin()
    saver.on_epoch_end(1)  # epoch 1 made the best weights: they are saved
    saver.on_epoch_end(2)
    return early.best_weights


def _resumed(directory, callbacks, epoch):
    for callback in callbacks:
        callback.on_train_begin()
    state = training.MonitorState(directory, callbacks)
    assert state.restored_from is None  # catches a "restored" value before any resume
    state.on_train_begin()
    state.on_epoch_begin(epoch)
    return state


def test_monitor_state_file_names_each_monitor_by_its_type(tmp_path):
    """Catches state keys that older run dirs' monitor_state.json would not match (keyed by
    callback type and position), and a non-monitoring callback saved as one."""
    callbacks = [_early_stopping(), keras.callbacks.History(),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss")]
    _state_after_epoch_2(tmp_path, callbacks)
    saved = json.loads((tmp_path / "monitor_state.json").read_text())
    assert saved["epoch"] == 3 and saved["best_weights_epoch"] == 1
    assert sorted(saved["monitors"]) == ["EarlyStopping_0", "ReduceLROnPlateau_2"]
    assert saved["monitors"]["EarlyStopping_0"] == {"wait": 1, "best": 0.5, "best_epoch": 1}


@pytest.mark.parametrize("epoch", [1, 3])
def test_monitor_state_is_put_back_at_the_epoch_it_was_saved_for(tmp_path, epoch):
    """Catches a state not restored at a resume from epoch 1 (an off-by-one on 'epoch 0 means
    a fresh run'), and best weights not restored with it."""
    callbacks = [_early_stopping()]
    best = _state_after_epoch_2(tmp_path, callbacks)
    if epoch != 3:
        saved = json.loads((tmp_path / "monitor_state.json").read_text())
        (tmp_path / "monitor_state.json").write_text(json.dumps({**saved, "epoch": epoch}))
    fresh = [_early_stopping()]
    state = _resumed(tmp_path, fresh, epoch)
    assert state.restored_from == epoch
    assert (fresh[0].wait, fresh[0].best, fresh[0].best_epoch) == (1, 0.5, 1)
    assert all(np.array_equal(a, b) for a, b in zip(fresh[0].best_weights, best))


def test_a_resume_one_epoch_behind_the_state_takes_the_previous_one_with_its_best_weights(
        tmp_path):
    """Catches (killed after an epoch's state, before its backup: the backup resumes one
    epoch behind the state) monitoring started afresh instead of from the previous epoch's
    state, that state's best weights overwritten by a newer best's (one file for both), and
    best weights files that no state names kept forever."""
    callbacks = [_early_stopping()]
    saver = training.MonitorState(tmp_path, callbacks)
    early = callbacks[0]
    saver.on_train_begin()
    for epoch, best_epoch in ((1, 1), (2, 1), (3, 3), (4, 3)):  # new bests at epochs 1 and 3
        early.best, early.best_epoch = 1.0 / (best_epoch + 1), best_epoch
        early.best_weights = [np.full((2, 2), float(best_epoch), "float32")]
        saver.on_epoch_end(epoch)
        if epoch == 3:  # the state on disk: after epoch 3 (4 finished), previous after epoch 2
            for resume_at, kept in ((3, 1), (4, 3)):
                fresh = [_early_stopping()]
                assert _resumed(tmp_path, fresh, resume_at).restored_from == resume_at
                assert fresh[0].best_epoch == kept
                assert np.array_equal(fresh[0].best_weights[0], np.full((2, 2), float(kept)))
            assert sorted(p.name for p in tmp_path.glob("best_weights*")) == [
                "best_weights.1.npz", "best_weights.3.npz"]
    assert [p.name for p in tmp_path.glob("best_weights*")] == ["best_weights.3.npz"]


def test_a_fresh_run_ignores_a_leftover_state_and_a_resume_without_one_starts_afresh(
        tmp_path, capsys):
    """Catches a fresh run (epoch 0) reading a leftover state (and warning about it), and a
    resume whose backup has no state file crashing instead of monitoring afresh."""
    _state_after_epoch_2(tmp_path / "leftover", [_early_stopping()])
    fresh = [_early_stopping()]
    assert _resumed(tmp_path / "leftover", fresh, 0).restored_from is None
    assert fresh[0].wait == 0 and fresh[0].best_weights is None
    assert capsys.readouterr().err == ""
    (tmp_path / "empty").mkdir()
    assert _resumed(tmp_path / "empty", [_early_stopping()], 3).restored_from is None


def test_a_state_missing_monitors_restores_what_it_has(tmp_path):
    """Catches a crash on a state written without a callback's entry (a monitor added since)
    or without the monitors table at all."""
    _state_after_epoch_2(tmp_path, [_early_stopping()])
    added = keras.callbacks.ReduceLROnPlateau(monitor="val_loss")
    callbacks = [_early_stopping(), added]
    _resumed(tmp_path, callbacks, 3)
    assert callbacks[0].best == 0.5 and added.wait == 0
    (tmp_path / "monitor_state.json").write_text(json.dumps({"epoch": 3}))
    plain = [_early_stopping()]
    assert _resumed(tmp_path, plain, 3).restored_from == 3
    assert plain[0].wait == 0


def test_best_weights_go_back_only_to_early_stopping_that_restores_them(tmp_path):
    """Catches best weights pushed into early stopping without restore_best_weights, or into a
    callback that keeps none (a checkpoint or plateau schedule with a matching best epoch)."""
    _state_after_epoch_2(tmp_path, [_early_stopping()])
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"),
                                                 monitor="val_loss", save_best_only=True)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss")
    plateau.best_epoch = 1  # as if it kept one: it still takes no weights
    no_restore = _early_stopping(restore=False)
    state = _resumed(tmp_path, [no_restore, checkpoint, plateau], 3)
    assert state.restored_from == 3
    assert no_restore.best == 0.5 and no_restore.best_weights is None
