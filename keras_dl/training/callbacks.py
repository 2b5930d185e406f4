"""Callbacks: learning-rate annealing schedules, the default callback set, weight snapshots."""

from __future__ import annotations

import math
import os

import keras
import numpy as np

LR_SCHEDULES = ("constant", "step", "exponential", "cosine", "plateau")
FINAL_LR_FRACTION = 0.01  # exponential and cosine annealing end at 1% of the initial rate


def annealed_learning_rate(schedule: str, initial: float, epoch: int, epochs: int) -> float:
    """The learning rate of `epoch` (0-based) out of `epochs` under a named schedule.

    - "constant": `η₀`.
    - "step": `η₀ / 2^⌊epoch / s⌋` with `s = max(1, epochs // 3)` (halved three times).
    - "exponential": `η₀ · r^epoch` with `r` chosen so the last epoch runs at 1% of `η₀`.
    - "cosine": `η₀ (f + (1 − f)(1 + cos(π epoch / epochs)) / 2)`, `f` = 1%
      (Loshchilov & Hutter 2017, without restarts).

    Lecture 001: "Important to anneal stepsize η_k towards the end".
    """
    if schedule == "constant":
        return initial
    if schedule == "step":
        return initial * 0.5 ** (epoch // max(1, epochs // 3))
    if schedule == "exponential":
        return initial * FINAL_LR_FRACTION ** (epoch / max(1, epochs - 1))
    if schedule == "cosine":
        f = FINAL_LR_FRACTION
        return initial * (f + (1 - f) * (1 + math.cos(math.pi * epoch / epochs)) / 2)
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; allowed: {', '.join(LR_SCHEDULES)}")


def learning_rate_callback(schedule: str, initial: float, epochs: int, patience: int):
    """The Keras callback implementing `schedule` (`ReduceLROnPlateau` for "plateau")."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(
            f"unknown learning-rate schedule {schedule!r}; allowed: {', '.join(LR_SCHEDULES)}"
        )
    if schedule == "plateau":
        return keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=max(1, patience // 2), min_lr=initial * 1e-3
        )
    return keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: annealed_learning_rate(schedule, initial, epoch, epochs)
    )


def default_callbacks(run_dir, *, lr_schedule, learning_rate, epochs, patience, backup=True,
                      chief=True, backup_dir=None):
    """The callbacks `keras-dl train` runs with, writing into `run_dir`.

    Early stopping on validation loss (best weights restored), learning-rate annealing,
    TensorBoard logs (`tensorboard/`), the best model so far (`checkpoints/best.keras`), the
    history (`history.csv`, appended to on resume) and `BackupAndRestore` (`backup/`), so a
    killed run continues from its last finished epoch when rerun with the same run dir.

    Under multi-worker training every worker runs early stopping, the schedule and its own
    `BackupAndRestore` (in `backup_dir`, one per worker); only the chief (`chief=True`) writes
    TensorBoard logs, checkpoints and the history.
    """
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True,
            verbose=1 if chief else 0,
        ),
        learning_rate_callback(lr_schedule, learning_rate, epochs, patience),
    ]
    if chief:
        callbacks += [
            keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"), profile_batch=0),
            keras.callbacks.ModelCheckpoint(
                os.path.join(run_dir, "checkpoints", "best.keras"), monitor="val_loss",
                save_best_only=True,
            ),
            keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
        ]
    if backup:
        callbacks.append(keras.callbacks.BackupAndRestore(
            backup_dir or os.path.join(run_dir, "backup"), double_checkpoint=True))
    return callbacks


class WeightSnapshots(keras.callbacks.Callback):
    """Keeps copies of one layer's kernel after chosen epochs (and after the last one).

    Lecture 001 shows the first-layer weights `W1` "after epoch 1, 2, 3, 4, 5, 10 and 50
    (final)"; `WeightSnapshots("hidden1_dense", epochs=(1, 2, 3, 4, 5, 10))` collects exactly
    those in `snapshots`, a dict from 1-based epoch to a numpy array.
    """

    def __init__(self, layer_name, epochs=(1, 2, 3, 4, 5, 10)):
        super().__init__()
        self.layer_name = layer_name
        self.epochs = tuple(epochs)
        self.snapshots: dict[int, np.ndarray] = {}
        self._latest = None

    def _kernel(self):
        return np.array(self.model.get_layer(self.layer_name).kernel)

    def on_epoch_end(self, epoch, logs=None):
        # Kept every epoch, so the final snapshot is the last epoch's weights even when a
        # callback (early stopping with restore_best_weights) changes them at the end.
        self._latest = (epoch + 1, self._kernel())
        if epoch + 1 in self.epochs:
            self.snapshots[epoch + 1] = self._latest[1]

    def on_train_end(self, logs=None):
        if self._latest is not None:
            self.snapshots[self._latest[0]] = self._latest[1]
