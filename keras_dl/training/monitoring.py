"""What early stopping, the best checkpoint and the plateau schedule watch (`monitor_mode`), and
how their progress survives a resumed run (`MonitorState`)."""

from __future__ import annotations

import json
import os
import sys

import keras
import numpy as np

from keras_dl import compat


def monitor_mode(monitor):
    """Keras' mode for `monitor`: "min" for a loss, "max" for anything else (an accuracy)."""
    return "min" if monitor.endswith("loss") else "max"


class MonitorState(keras.callbacks.Callback):
    """Carries early stopping's, `ReduceLROnPlateau`'s and the best checkpoint's progress
    across a resume.

    `BackupAndRestore` brings back the weights, the optimizer and the epoch, but a resumed
    `fit` starts every monitoring callback afresh: early stopping would forget its best
    validation loss, its patience count and the best weights it restores at the end, and
    `ModelCheckpoint(save_best_only=True)` would overwrite `best.keras` with the first epoch
    after the resume, however bad. After each epoch this callback writes those callbacks'
    state (`monitor_state.json`, and early stopping's best weights, `best_weights.npz`, when
    they change) into `directory`, the backup directory; at the first epoch of a resumed run
    it puts them back, so an interrupted run stops, checkpoints and restores exactly as the
    same run without the interruption would. It belongs after `BackupAndRestore` in the
    callback list. A state that does not match the epoch the backup resumes from (killed
    between the two writes) is not used, and a line on stderr says so. The callbacks' state
    is read and written through `keras_dl.compat.monitor_state` (Keras keeps it in
    undocumented attributes).
    """

    STATE = "monitor_state.json"
    BEST_WEIGHTS = "best_weights.npz"

    def __init__(self, directory, callbacks):
        super().__init__()
        self.directory = str(directory)
        self.monitors = [(f"{type(cb).__name__}_{i}", cb) for i, cb in enumerate(callbacks)
                         if compat.is_monitoring(cb)]
        self.restored_from = None  # the epoch whose state was put back, if any
        self._first_epoch = True

    def _path(self, name):
        return os.path.join(self.directory, name)

    def on_train_begin(self, logs=None):
        self._first_epoch = True
        self.restored_from = None

    def on_epoch_begin(self, epoch, logs=None):
        if not self._first_epoch:
            return
        self._first_epoch = False
        if epoch == 0 or not os.path.exists(self._path(self.STATE)):
            return
        with open(self._path(self.STATE)) as f:
            state = json.load(f)
        if state.get("epoch") != epoch:
            print(f"keras_dl: early-stopping and checkpoint state is from epoch "
                  f"{state.get('epoch')}, the backup resumes at epoch {epoch}: "
                  f"not restored, monitoring starts afresh", file=sys.stderr)
            return
        for key, callback in self.monitors:
            compat.restore_monitor_state(callback, state.get("monitors", {}).get(key, {}))
            if (getattr(callback, "restore_best_weights", False)
                    and state.get("best_weights_epoch")
                    == compat.monitor_state(callback).get("best_epoch")
                    and os.path.exists(self._path(self.BEST_WEIGHTS))):
                with np.load(self._path(self.BEST_WEIGHTS)) as saved:
                    compat.set_best_weights(
                        callback, [saved[f"arr_{i}"] for i in range(len(saved.files))])
        self.restored_from = epoch

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        state = {"epoch": epoch + 1, "monitors": {}}
        for key, callback in self.monitors:
            progress = compat.monitor_state(callback)
            state["monitors"][key] = progress
            best_weights = compat.best_weights(callback)
            if best_weights is not None:
                state["best_weights_epoch"] = progress["best_epoch"]
                if progress["best_epoch"] == epoch:  # new best weights: replace the saved ones
                    temporary = self._path("best_weights.tmp.npz")
                    np.savez(temporary, *best_weights)
                    os.replace(temporary, self._path(self.BEST_WEIGHTS))
        temporary = self._path(self.STATE + ".tmp")
        with open(temporary, "w") as f:
            json.dump(state, f)
        os.replace(temporary, self._path(self.STATE))
