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
    state into `directory`, the backup directory: `monitor_state.json`, and early stopping's
    best weights (`best_weights.EPOCH.npz`, named by the epoch they are from) when they
    change. At the first epoch of a resumed run it puts them back, so an interrupted run
    stops, checkpoints and restores exactly as the same run without the interruption would.

    It belongs after the monitoring callbacks and before `BackupAndRestore`: the state of an
    epoch is on disk before that epoch's backup, and `monitor_state.json` also holds the
    previous epoch's state (`previous`), so whichever instant a kill lands at (before the
    state, between the state and the backup, inside the backup), one of the two is the state
    of the epoch the (repaired) backup resumes from, and that one is put back. One that does
    not match (a backup written by something else) is not used, and a line on stderr says so.
    Each write is a hidden temporary file renamed into place; best weights files neither
    state names are removed after the state is written. The callbacks' state is read and
    written through `keras_dl.compat.monitor_state` (Keras keeps it in undocumented
    attributes).
    """

    STATE = "monitor_state.json"

    def __init__(self, directory, callbacks):
        super().__init__()
        self.directory = str(directory)
        self.monitors = [(f"{type(cb).__name__}_{i}", cb) for i, cb in enumerate(callbacks)
                         if compat.is_monitoring(cb)]
        self.restored_from = None  # the epoch whose state was put back, if any
        self._first_epoch = True
        self._last = None  # the state written (or put back) last: the next one's `previous`

    def _path(self, name):
        return os.path.join(self.directory, name)

    @staticmethod
    def best_weights_name(epoch) -> str:
        """The file holding early stopping's best weights from (0-based) `epoch`."""
        return f"best_weights.{epoch}.npz"

    def on_train_begin(self, logs=None):
        self._first_epoch = True
        self.restored_from = None
        self._last = None

    def on_epoch_begin(self, epoch, logs=None):
        if not self._first_epoch:
            return
        self._first_epoch = False
        if epoch == 0 or not os.path.exists(self._path(self.STATE)):
            return
        with open(self._path(self.STATE)) as f:
            saved = json.load(f)
        state = next((s for s in (saved, saved.get("previous") or {})
                      if s.get("epoch") == epoch), None)
        if state is None:
            print(f"keras_dl: early-stopping and checkpoint state is from epoch "
                  f"{saved.get('epoch')}, the backup resumes at epoch {epoch}: "
                  f"not restored, monitoring starts afresh", file=sys.stderr)
            return
        for key, callback in self.monitors:
            compat.restore_monitor_state(callback, state.get("monitors", {}).get(key, {}))
            best_epoch = state.get("best_weights_epoch")
            path = self._path(self.best_weights_name(best_epoch))
            if (getattr(callback, "restore_best_weights", False)
                    and best_epoch == compat.monitor_state(callback).get("best_epoch")
                    and os.path.exists(path)):
                with np.load(path) as saved_weights:
                    compat.set_best_weights(callback, [saved_weights[f"arr_{i}"]
                                                       for i in range(len(saved_weights.files))])
        self._last = {key: value for key, value in state.items() if key != "previous"}
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
                if progress["best_epoch"] == epoch:  # new best weights: saved under their epoch
                    temporary = self._path(".best_weights.tmp.npz")
                    np.savez(temporary, *best_weights)
                    os.replace(temporary, self._path(self.best_weights_name(epoch)))
        previous = self._last if self._last and self._last["epoch"] == epoch else None
        temporary = self._path(f".{self.STATE}.tmp")
        with open(temporary, "w") as f:
            json.dump({**state, "previous": previous}, f)
        os.replace(temporary, self._path(self.STATE))
        self._last = state
        self._remove_unnamed_best_weights(state, previous or {})

    def _remove_unnamed_best_weights(self, *states):
        """Delete the best weights files that neither state on disk names."""
        keep = {self.best_weights_name(s["best_weights_epoch"]) for s in states
                if s.get("best_weights_epoch") is not None}
        for name in os.listdir(self.directory):
            if name.startswith("best_weights.") and name.endswith(".npz") and name not in keep:
                os.remove(self._path(name))
