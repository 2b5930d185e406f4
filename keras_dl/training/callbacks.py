"""Callbacks: learning-rate annealing schedules, the default callback set, weight snapshots."""

from __future__ import annotations

import json
import math
import os
import sys

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


def learning_rate_callback(schedule: str, initial: float, epochs: int, patience: int,
                           monitor: str = "val_loss"):
    """The Keras callback implementing `schedule` (`ReduceLROnPlateau` on `monitor` for
    "plateau")."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(
            f"unknown learning-rate schedule {schedule!r}; allowed: {', '.join(LR_SCHEDULES)}"
        )
    if schedule == "plateau":
        return keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode=monitor_mode(monitor), factor=0.5, patience=max(1, patience // 2),
            min_lr=initial * 1e-3
        )
    return keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: annealed_learning_rate(schedule, initial, epoch, epochs)
    )


def monitor_mode(monitor):
    """Keras' mode for `monitor`: "min" for a loss, "max" for anything else (an accuracy)."""
    return "min" if monitor.endswith("loss") else "max"


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
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor=monitor, mode=monitor_mode(monitor), patience=patience, restore_best_weights=True,
            verbose=1 if chief else 0,
        ),
        learning_rate_callback(lr_schedule, learning_rate, epochs, patience, monitor),
    ]
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


# what each monitoring callback forgets when a resumed `fit` calls its `on_train_begin`
_MONITOR_ATTRIBUTES = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
    keras.callbacks.ModelCheckpoint: ("best",),
}


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
    between the two writes) is not used, and a line on stderr says so.
    """

    STATE = "monitor_state.json"
    BEST_WEIGHTS = "best_weights.npz"

    def __init__(self, directory, callbacks):
        super().__init__()
        self.directory = str(directory)
        self.monitors = [(f"{type(cb).__name__}_{i}", cb, attrs)
                         for i, cb in enumerate(callbacks)
                         for kind, attrs in _MONITOR_ATTRIBUTES.items() if isinstance(cb, kind)]
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
        for key, callback, attrs in self.monitors:
            for attr, value in state.get("monitors", {}).get(key, {}).items():
                if attr in attrs:
                    setattr(callback, attr, value)
            if (isinstance(callback, keras.callbacks.EarlyStopping)
                    and callback.restore_best_weights
                    and state.get("best_weights_epoch") == callback.best_epoch
                    and os.path.exists(self._path(self.BEST_WEIGHTS))):
                with np.load(self._path(self.BEST_WEIGHTS)) as saved:
                    callback.best_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        self.restored_from = epoch

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        state = {"epoch": epoch + 1, "monitors": {}}
        for key, callback, attrs in self.monitors:
            state["monitors"][key] = {
                attr: _plain(getattr(callback, attr)) for attr in attrs if hasattr(callback, attr)
            }
            if (isinstance(callback, keras.callbacks.EarlyStopping)
                    and callback.best_weights is not None):
                state["best_weights_epoch"] = int(callback.best_epoch)
                if callback.best_epoch == epoch:  # new best weights: replace the saved ones
                    temporary = self._path("best_weights.tmp.npz")
                    np.savez(temporary, *callback.best_weights)
                    os.replace(temporary, self._path(self.BEST_WEIGHTS))
        temporary = self._path(self.STATE + ".tmp")
        with open(temporary, "w") as f:
            json.dump(state, f)
        os.replace(temporary, self._path(self.STATE))


def _plain(value):
    """A JSON-ready copy of a callback attribute (numpy scalars become Python numbers)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


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


def _all_layers(model):
    """Every layer of `model`, nested models' layers included, each once."""
    seen, stack, found = set(), list(getattr(model, "layers", [])), []
    while stack:
        layer = stack.pop(0)
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        found.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return found


def _train_only_noise_types():
    from keras_dl.layers import FractalJoin, StochasticDepth

    return (keras.layers.Dropout, keras.layers.GaussianDropout, keras.layers.GaussianNoise,
            keras.layers.AlphaDropout, FractalJoin, StochasticDepth)


def needs_batch_norm_recalibration(model) -> bool:
    """True when `model` has trainable batch norm and a layer that is noisy only in training.

    Dropout, drop-path (FractalNet's joins) and stochastic depth change the variance of the
    signal between training and inference; a batch-norm layer behind them keeps moving
    statistics of the noisier training-time signal, and at inference the mismatch compounds
    from layer to layer (Li, Chen, Hu & Yang, "Understanding the Disharmony between Dropout
    and Batch Normalization by Variance Shift", CVPR 2019).
    """
    layers = _all_layers(model)
    has_bn = any(isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
                 for layer in layers)
    noise = _train_only_noise_types()
    return has_bn and any(isinstance(layer, noise) for layer in layers)


def recalibrate_batch_norm(model, x, *, batch_size: int = 128, max_batches: int = 50,
                           seed: int = 0) -> int:
    """Re-estimates every trainable batch-norm layer's moving mean and variance ("precise BN").

    Up to `max_batches` batches of `x` (drawn without replacement with `seed`) run through
    `model` in inference mode — no dropout, no drop-path, no dropped residual branches —
    except that the batch-norm layers normalise with each batch's own statistics; each
    layer's moving mean and variance become the averages of its batch statistics over those
    batches. So the statistics describe the signal the layer sees at inference, not the
    noisier one of training (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021, section
    3: precise BN). Layers with `trainable=False` are left as they are.

    Returns the number of examples used (0 when the model has no trainable batch norm).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(max_batches, int) or max_batches < 1:
        raise ValueError(f"max_batches must be a positive integer, got {max_batches!r}")
    layers = [layer for layer in _all_layers(model)
              if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    x = np.asarray(x)
    if not layers or len(x) == 0:
        return 0
    order = np.random.default_rng(seed).permutation(len(x))
    batches = [order[i:i + batch_size] for i in range(0, len(x), batch_size)][:max_batches]
    if len(batches) > 1 and len(batches[-1]) < batch_size:
        batches = batches[:-1]  # a short last batch would give noisier statistics
    sums = {id(layer): [0.0, 0.0] for layer in layers}
    saved = [(layer, layer.momentum, layer.__dict__.get("call")) for layer in layers]

    def batch_statistics(original):
        def call(inputs, training=None, mask=None):
            return original(inputs, training=True, mask=mask)
        return call

    try:
        for layer in layers:
            layer.momentum = 0.0  # the moving statistics become the batch's own
            layer.call = batch_statistics(layer.call)
        for index in batches:
            model(x[index], training=False)
            for layer in layers:
                sums[id(layer)][0] += np.asarray(layer.moving_mean)
                sums[id(layer)][1] += np.asarray(layer.moving_variance)
    finally:
        for layer, momentum, call in saved:
            layer.momentum = momentum
            if call is None:
                del layer.call
            else:
                layer.call = call
    for layer in layers:
        mean, variance = sums[id(layer)]
        layer.moving_mean.assign(mean / len(batches))
        layer.moving_variance.assign(variance / len(batches))
    return int(sum(len(index) for index in batches))


class PreciseBatchNorm(keras.callbacks.Callback):
    """Recalibrates batch norm (`recalibrate_batch_norm` on `x`) before every validation
    inside `fit` and once more at the end of training.

    So validation loss, early stopping, the best checkpoint and the final model all use
    statistics of the inference-time signal. `keras_dl.training.train` adds it by itself
    when `needs_batch_norm_recalibration(model)`.
    """

    def __init__(self, x, *, batch_size: int = 128, max_batches: int = 50, seed: int = 0):
        super().__init__()
        self.x = x
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.seed = seed
        self.examples = 0
        self._fitting = False

    def _recalibrate(self):
        self.examples = recalibrate_batch_norm(self.model, self.x, batch_size=self.batch_size,
                                               max_batches=self.max_batches, seed=self.seed)

    def on_train_begin(self, logs=None):
        self._fitting = True

    def on_test_begin(self, logs=None):
        if self._fitting:  # validation inside fit(), after the epoch's training steps
            self._recalibrate()

    def on_train_end(self, logs=None):
        self._recalibrate()  # after early stopping has restored the best weights
        self._fitting = False


def precise_batch_norm_callback(model, x, *, seed: int = 0):
    """A `PreciseBatchNorm` on `x` when `model` needs it (`needs_batch_norm_recalibration`),
    else None: 40 batches of 128 (5,120 examples), fewer for small training sets (about a
    quarter of an epoch)."""
    if not needs_batch_norm_recalibration(model):
        return None
    max_batches = max(1, min(40, len(x) // (4 * 128)))
    return PreciseBatchNorm(x, batch_size=128, max_batches=max_batches, seed=seed)
