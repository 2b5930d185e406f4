"""The callback set `keras-dl train` runs with (`default_callbacks`).

The callbacks themselves live by concern: learning-rate schedules in `schedules`, what is
monitored and how its progress survives a resume in `monitoring`, probes in `probes`,
batch-norm recalibration in `batch_norm`. Their names are re-exported here for the modules
that import them from `keras_dl.training.callbacks`.
"""

from __future__ import annotations

import json
import os

import keras

from keras_dl import compat
from keras_dl.settings import LR_SCHEDULES
from keras_dl.training.batch_norm import (
    PreciseBatchNorm,
    needs_batch_norm_recalibration,
    precise_batch_norm_callback,
    recalibrate_batch_norm,
)
from keras_dl.training.monitoring import MonitorState, monitor_mode
from keras_dl.training.probes import WeightSnapshots
from keras_dl.training.run_dir import ResumeRepair, backed_up_epochs, write_atomically
from keras_dl.training.schedules import (
    FINAL_LR_FRACTION,
    annealed_learning_rate,
    learning_rate_callback,
)

__all__ = [
    "FINAL_LR_FRACTION",
    "FinishedFit",
    "LR_SCHEDULES",
    "MonitorState",
    "PreciseBatchNorm",
    "PublishCheckpoint",
    "WeightSnapshots",
    "annealed_learning_rate",
    "default_callbacks",
    "learning_callbacks",
    "learning_rate_callback",
    "monitor_mode",
    "needs_batch_norm_recalibration",
    "precise_batch_norm_callback",
    "recalibrate_batch_norm",
]


def learning_callbacks(*, monitor, patience, lr_schedule, learning_rate, epochs, verbose=0,
                       early_stopping=True):
    """The callbacks that change what is learnt, shared by a run and a tuning trial: early
    stopping on `monitor` (best weights restored; none with `early_stopping=False`, for a
    task whose losses say nothing of its quality, a GAN's) and the learning-rate schedule."""
    stopping = [keras.callbacks.EarlyStopping(monitor=monitor, mode=monitor_mode(monitor),
                                              patience=patience, restore_best_weights=True,
                                              verbose=verbose)] if early_stopping else []
    return stopping + [learning_rate_callback(lr_schedule, learning_rate, epochs, patience,
                                              monitor)]


class PublishCheckpoint(keras.callbacks.Callback):
    """Renames the checkpoint a `ModelCheckpoint` wrote to a hidden temporary `.keras` file onto
    its public name, after the epoch: Keras writes the zip in place, so a kill during the
    write would otherwise leave a `best.keras` that does not load. It belongs right after
    that `ModelCheckpoint`.

    A temporary file there when `fit` begins is a killed run's (cut short by the kill or a
    full disk, or whole but from an epoch the backup does not hold, which is trained again):
    it is removed, so an epoch after the resume that is no new best publishes nothing."""

    def __init__(self, temporary, path):
        super().__init__()
        self.temporary, self.path = str(temporary), str(path)

    def on_train_begin(self, logs=None):
        if os.path.exists(self.temporary):
            os.remove(self.temporary)

    def on_epoch_end(self, epoch, logs=None):
        if os.path.exists(self.temporary):
            os.replace(self.temporary, self.path)


class FinishedFit(keras.callbacks.Callback):
    """Lets a rerun finish a `fit` that had ended when the run was killed (after the last
    epoch's backup, before `metrics.json` was written) as the uninterrupted `fit` did.

    Such a rerun must train no epoch: its backup is at the last epoch, or at the epoch after
    which early stopping stopped, which this callback records (`stopped.json` in the backup
    directory, written before that epoch's backup; `stopped_epochs` reads it, and the trainer
    ends the resumed `fit` there). With no epoch begun, `MonitorState`, which puts early
    stopping's state back when an epoch begins, never does, and early stopping would not
    restore its best weights. So at the end of a `fit` in which no epoch began, this callback
    has `monitor_state` put the state back and restores the best weights itself (the trainer
    keeps the backup until the run's results are written, `keep_backup`). It belongs after
    the monitoring callbacks and before `BackupAndRestore`.
    """

    STOPPED = "stopped.json"

    def __init__(self, directory, monitor_state):
        super().__init__()
        self.directory = str(directory)
        self.monitor_state = monitor_state
        self._epochs_begun = 0

    def on_train_begin(self, logs=None):
        self._epochs_begun = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epochs_begun += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            os.makedirs(self.directory, exist_ok=True)
            write_atomically(os.path.join(self.directory, self.STOPPED),
                             json.dumps({"epoch": epoch + 1}))

    def on_train_end(self, logs=None):
        epoch = backed_up_epochs(self.directory)
        if self._epochs_begun or not epoch:
            return
        self.monitor_state.on_epoch_begin(epoch)  # as at a resumed epoch's beginning
        for _, callback in self.monitor_state.monitors:
            best = compat.best_weights(callback)
            if getattr(callback, "restore_best_weights", False) and best is not None:
                self.model.set_weights(best)


def stopped_epochs(directory):
    """The epochs after which early stopping stopped the `fit` whose backup is in
    `directory` (`FinishedFit`), or None when it has not stopped it."""
    try:
        with open(os.path.join(directory, FinishedFit.STOPPED)) as stream:
            return int(json.load(stream)["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def default_callbacks(run_dir, *, lr_schedule, learning_rate, epochs, patience, backup=True,
                      chief=True, backup_dir=None, monitor="val_loss", keep_backup=False,
                      early_stopping=True):
    """The callbacks `keras-dl train` runs with, writing into `run_dir`.

    Early stopping on `monitor` (validation loss by default; best weights restored; none
    with `early_stopping=False`),
    learning-rate annealing, TensorBoard logs (`tensorboard/`), the best model so far
    (`checkpoints/best.keras`), the history (`history.csv`, appended to on resume) and
    `BackupAndRestore` (`backup/`), so a killed run continues from its last finished epoch
    when rerun with the same run dir, with early stopping's and the best checkpoint's
    progress carried over (`MonitorState`), and a `fit` that had ended ends as it did
    (`FinishedFit`: where early stopping stopped, with its best weights).

    Under multi-worker training every worker runs early stopping, the schedule and its own
    `BackupAndRestore` (in `backup_dir`, one per worker); only the chief (`chief=True`) writes
    TensorBoard logs, checkpoints and the history.

    A kill at any instant leaves nothing half-written in view: the checkpoint is written to
    a hidden name and renamed (`PublishCheckpoint`, which drops a killed run's leftover);
    `ResumeRepair`, first in the list, makes a half-made backup or history row whole before a
    resume reads them; `MonitorState` writes each epoch's state before that epoch's backup.
    With `keep_backup` the backup outlives `fit` (the caller removes it once the run's
    results are written).
    """
    callbacks = learning_callbacks(monitor=monitor, patience=patience, lr_schedule=lr_schedule,
                                   learning_rate=learning_rate, epochs=epochs,
                                   verbose=1 if chief else 0, early_stopping=early_stopping)
    backup_dir = backup_dir or os.path.join(run_dir, "backup")
    if chief:
        checkpoint = os.path.join(run_dir, "checkpoints", "best.keras")
        temporary = os.path.join(run_dir, "checkpoints", ".best.partial.keras")
        callbacks += [
            keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"), profile_batch=0),
            keras.callbacks.ModelCheckpoint(temporary, monitor=monitor,
                                            mode=monitor_mode(monitor), save_best_only=True),
            PublishCheckpoint(temporary, checkpoint),
            keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
        ]
    if backup:
        # an epoch's monitoring state and early stop are on disk before its backup, so the
        # backup never holds an epoch whose state a resume cannot find (`MonitorState`)
        monitor_state = MonitorState(backup_dir, list(callbacks))
        callbacks.append(FinishedFit(backup_dir, monitor_state))
        callbacks.append(monitor_state)
        callbacks.append(keras.callbacks.BackupAndRestore(
            backup_dir, double_checkpoint=True, delete_checkpoint=not keep_backup))
        history = os.path.join(run_dir, "history.csv") if chief else None
        callbacks.insert(0, ResumeRepair(backup_dir, history))  # before anything reads
    return callbacks
