"""Probes: callbacks that record what happens inside a model while it trains."""

from __future__ import annotations

import keras
import numpy as np


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
