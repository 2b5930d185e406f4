"""Keras monitoring callbacks' progress (entry 4 of keras_dl.compat's list).

4. `monitor_state(callback)`, `restore_monitor_state(callback, state)`,
   `best_weights(callback)`, `set_best_weights(callback, weights)`: `EarlyStopping`,
   `ReduceLROnPlateau` and `ModelCheckpoint` keep their patience count, best value and best
   epoch (and early stopping its best weights) in undocumented attributes that
   `on_train_begin` resets; a resumed run saves and restores them through these accessors.
"""

from __future__ import annotations

import keras

from keras_dl.compat._changed import internal_changed


def _internal_changed(what: str) -> RuntimeError:
    return internal_changed(what, keras, "keras_callbacks")


# what each monitoring callback forgets when a resumed `fit` calls its `on_train_begin`
MONITOR_ATTRIBUTES = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
    keras.callbacks.ModelCheckpoint: ("best",),
}


def _monitor_attributes(callback) -> tuple:
    for kind, attributes in MONITOR_ATTRIBUTES.items():
        if isinstance(callback, kind):
            return attributes
    return ()


def is_monitoring(callback) -> bool:
    """Whether `callback` keeps progress that `monitor_state` saves."""
    return bool(_monitor_attributes(callback))


def _plain(value):
    """A JSON-ready copy of a callback attribute (numpy scalars become Python numbers)."""
    import numpy as np

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def monitor_state(callback) -> dict:
    """The progress of a monitoring callback (`MONITOR_ATTRIBUTES`) as JSON-ready values:
    e.g. `{"wait": 2, "best": 0.31, "best_epoch": 4}` for `EarlyStopping`; `{}` for others."""
    return {attribute: _plain(getattr(callback, attribute))
            for attribute in _monitor_attributes(callback) if hasattr(callback, attribute)}


def restore_monitor_state(callback, state: dict) -> None:
    """Put back what `monitor_state` returned (after `on_train_begin` reset it); keys the
    callback does not keep are ignored."""
    for attribute in _monitor_attributes(callback):
        if attribute in state:
            setattr(callback, attribute, state[attribute])


def best_weights(callback):
    """The weights `EarlyStopping(restore_best_weights=True)` will restore (a list of numpy
    arrays), or None (none kept yet, or not an early-stopping callback)."""
    if not isinstance(callback, keras.callbacks.EarlyStopping):
        return None
    return getattr(callback, "best_weights", None)


def set_best_weights(callback, weights) -> None:
    """Make `weights` the best weights an `EarlyStopping` restores at the end of training."""
    if not isinstance(callback, keras.callbacks.EarlyStopping):
        raise ValueError(f"only EarlyStopping keeps best weights, got {type(callback).__name__}")
    callback.best_weights = list(weights)


def check_monitor_state() -> None:
    """`RuntimeError` unless the callbacks of entry 4 still keep their progress where its
    accessors read and write it (tried on each callback with a stand-in model)."""
    import os
    import tempfile
    import types

    model = types.SimpleNamespace(stop_training=False, get_weights=lambda: ["now"],
                                  set_weights=lambda weights: None,
                                  optimizer=types.SimpleNamespace(learning_rate=0.1))
    # a restored patience count and best value decide the next epoch: stop, no new best
    stopping = keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=2,
                                             restore_best_weights=True)
    stopping.set_model(model)
    stopping.on_train_begin()
    restore_monitor_state(stopping, {"wait": 1, "best": 0.5, "best_epoch": 1})
    set_best_weights(stopping, ["best"])
    stopping.on_epoch_end(3, {"val_loss": 1.0})
    if not model.stop_training or monitor_state(stopping) != {"wait": 2, "best": 0.5,
                                                              "best_epoch": 1} \
            or best_weights(stopping) != ["best"]:
        raise _internal_changed("EarlyStopping no longer keeps its progress in wait / best / "
                                "best_epoch / best_weights")
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", mode="min", patience=5)
    plateau.set_model(model)
    plateau.on_train_begin()
    restore_monitor_state(plateau, {"wait": 2, "best": 0.5, "cooldown_counter": 0})
    plateau.on_epoch_end(3, {"val_loss": 1.0})
    if monitor_state(plateau) != {"wait": 3, "best": 0.5, "cooldown_counter": 0}:
        raise _internal_changed("ReduceLROnPlateau no longer keeps its progress in wait / "
                                "best / cooldown_counter")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "best.keras")
        checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_loss", mode="min",
                                                     save_best_only=True)
        checkpoint.set_model(model)  # saving would fail: it has no `save`
        checkpoint.on_train_begin()
        restore_monitor_state(checkpoint, {"best": 0.5})
        try:
            checkpoint.on_epoch_end(3, {"val_loss": 1.0})
        except AttributeError:
            raise _internal_changed("ModelCheckpoint(save_best_only=True) no longer compares "
                                    "with its `best`") from None
        if monitor_state(checkpoint) != {"best": 0.5}:
            raise _internal_changed("ModelCheckpoint no longer keeps its best value in `best`")

