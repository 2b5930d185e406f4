"""The callback set `keras-dl train` runs with (`default_callbacks`).

The callbacks themselves live by concern: learning-rate schedules in `schedules`, what is
monitored and how its progress survives a resume in `monitoring`, probes in `probes`,
batch-norm recalibration in `batch_norm`. Their names are re-exported here for the modules
that import them from `keras_dl.training.callbacks`.
"""

from __future__ import annotations

import os

import keras

from keras_dl.settings import LR_SCHEDULES
from keras_dl.training.batch_norm import (
    PreciseBatchNorm,
    needs_batch_norm_recalibration,
    precise_batch_norm_callback,
    recalibrate_batch_norm,
)
from keras_dl.training.monitoring import MonitorState, monitor_mode
from keras_dl.training.probes import WeightSnapshots
from keras_dl.training.schedules import (
    FINAL_LR_FRACTION,
    annealed_learning_rate,
    learning_rate_callback,
)

__all__ = [
    "FINAL_LR_FRACTION",
    "LR_SCHEDULES",
    "MonitorState",
    "PreciseBatchNorm",
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


def learning_callbacks(*, monitor, patience, lr_schedule, learning_rate, epochs, verbose=0):
    """The callbacks that change what is learnt, shared by a run and a tuning trial: early
    stopping on `monitor` (best weights restored) and the learning-rate schedule."""
    return [
        keras.callbacks.EarlyStopping(monitor=monitor, mode=monitor_mode(monitor),
                                      patience=patience, restore_best_weights=True,
                                      verbose=verbose),
        learning_rate_callback(lr_schedule, learning_rate, epochs, patience, monitor),
    ]


def default_callbacks(run_dir, *, lr_schedule, learning_rate, epochs, patience, backup=True,
                      chief=True, backup_dir=None, monitor="val_loss"):
    """The callbacks `keras-dl train` runs with, writing into `run_dir`.

    Early stopping on `monitor` (validation loss by default; best weights restored),
    learning-rate annealing, TensorBoard logs (`tensorboard/`), the best model so far (`checkpoints/best.keras`), the
    history (`history.csv`, appended to on resume) and `BackupAndRestore` (`backup/`), so a
    killed run continues from its last finished epoch when rerun with the same run dir, with
    early stopping's and the best checkpoint's progress carried over (`MonitorState`).

    Under multi-worker training every worker runs early stopping, the schedule and its own
    `BackupAndRestore` (in `backup_dir`, one per worker); only the chief (`chief=True`) writes
    TensorBoard logs, checkpoints and the history.
    """
    callbacks = learning_callbacks(monitor=monitor, patience=patience, lr_schedule=lr_schedule,
                                   learning_rate=learning_rate, epochs=epochs,
                                   verbose=1 if chief else 0)
    if chief:
        callbacks += [
            keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"), profile_batch=0),
            keras.callbacks.ModelCheckpoint(
                os.path.join(run_dir, "checkpoints", "best.keras"), monitor=monitor,
                mode=monitor_mode(monitor), save_best_only=True,
            ),
            keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
        ]
    if backup:
        backup_dir = backup_dir or os.path.join(run_dir, "backup")
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True))
        callbacks.append(MonitorState(backup_dir, callbacks[:-1]))
    return callbacks
