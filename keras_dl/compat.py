"""Every private TensorFlow or Keras internal keras_dl uses, in one place, each checked by
tests/test_compat.py.

Workarounds for upstream bugs, and accessors for state Keras keeps but does not publish (a
functional graph's structure, a callback's progress, a layer's seed generators), reach into
private internals. Nothing else in keras_dl does: so a Keras upgrade is checked in this one
file. `check_internals()` fails loudly (and the tests with it) when an upgrade moves those
internals, so a silent no-op or a wrong answer can never take a workaround's place. This
module imports nothing from keras_dl (the layers import it).

1. `released_custom_gradients()` — TensorFlow 2.21 leaks every traced training step. In graph
   mode, `tf.custom_gradient` registers its gradient function in the process-wide registry
   `tensorflow.python.framework.ops._gradient_registry` under a fresh "CustomGradient-N" name
   and never removes it; Keras' TensorFlow trainer goes through such a function
   (`ReplicaContext.all_reduce`'s `grad_wrapper`) in every `train_step` it traces. The
   registered closure holds the traced `FuncGraph`, so `keras.backend.clear_session()` frees
   nothing: measured here, about 9 MiB per model built and fitted (10 small MLPs: +80 MiB;
   with this workaround: flat). The registrations made while a block runs are dropped when
   it ends. That is safe once the block's training is over: a traced function has its
   gradient ops in its graph already, and a retrace registers afresh.

2. `patch_multi_worker_fit()` — Keras 3.15's `fit` fails under `MultiWorkerMirroredStrategy`
   (keras-team/keras#20585), for two reasons in `keras/src/backend/tensorflow/trainer.py`:
   `TensorFlowTrainer._maybe_symbolic_build` builds the model from a batch obtained by
   `strategy.reduce("MEAN", per_replica_batch)`, a cross-worker collective over input data
   (it fails converting the PerReplica batch); and `reduce_per_replica` averages every logged
   value with `strategy.reduce("MEAN", v, axis=0)`, which fails for scalar logs such as the
   loss. The patch builds from the first local replica's batch (only its shapes matter) and
   reduces scalars with `axis=None`. Patching, rather than a custom loop over
   `strategy.run`, keeps `fit` and every Keras callback (early stopping, BackupAndRestore,
   TensorBoard) working unchanged under multi-worker training. The patched functions are
   identified by a hash of their source: a Keras upgrade that changes them makes
   `check_internals()` fail, so the patch is re-examined rather than applied blindly.

3. Functional-graph structure — `producer(tensor)`, `output_layers(model)`,
   `all_layers(model)`, `seed_generators(layer)`: Keras records a symbolic tensor's origin
   in its private `_keras_history` (operation, node index, tensor index) and the call in the
   operation's `_inbound_nodes`; a layer's nested layers in `_flatten_layers` and its
   `keras.random.SeedGenerator`s in `_seed_generators`.

4. Monitoring callbacks' progress — `monitor_state(callback)`,
   `restore_monitor_state(callback, state)`, `best_weights(callback)`,
   `set_best_weights(callback, weights)`: `EarlyStopping`, `ReduceLROnPlateau` and
   `ModelCheckpoint` keep their patience count, best value and best epoch (and early
   stopping its best weights) in undocumented attributes that `on_train_begin` resets; a
   resumed run saves and restores them through these accessors.

5. `training_mode_calls(layers)` — runs chosen layers as in training whatever their caller
   passes, by shadowing each layer's `call` on the instance (Keras' `Layer.__call__` looks
   `self.call` up on the instance); used to re-estimate batch-norm statistics in inference
   mode ("precise BN").
"""

from __future__ import annotations

import contextlib

import keras

CUSTOM_GRADIENT_PREFIX = "CustomGradient"


def _gradient_registry() -> dict:
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        raise RuntimeError(
            "keras_dl.compat: tensorflow.python.framework.ops._gradient_registry._registry is "
            "gone or changed; the custom-gradient leak workaround must be revisited"
        )
    return registry


# sha256 (first 16 hex digits) of the source of each Keras function patch 2 replaces, as
# shipped in Keras 3.15.1.
PATCHED_SOURCES = {
    "TensorFlowTrainer._maybe_symbolic_build": "92a504f5eba9b29f",
    "reduce_per_replica": "2e7d54b1e6edc29a",
}


def _keras_tf_trainer():
    from keras.src.backend.tensorflow import trainer

    return trainer


def _source_hash(function) -> str:
    import hashlib
    import inspect

    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def _check_patched_sources() -> None:
    trainer = _keras_tf_trainer()
    originals = {
        "TensorFlowTrainer._maybe_symbolic_build": getattr(
            trainer.TensorFlowTrainer._maybe_symbolic_build, "__wrapped_original__",
            trainer.TensorFlowTrainer._maybe_symbolic_build),
        "reduce_per_replica": getattr(trainer.reduce_per_replica, "__wrapped_original__",
                                      trainer.reduce_per_replica),
    }
    for name, function in originals.items():
        if _source_hash(function) != PATCHED_SOURCES[name]:
            raise RuntimeError(
                f"keras_dl.compat: keras.src.backend.tensorflow.trainer.{name} changed in this "
                f"Keras ({__import__('keras').__version__}); the multi-worker fit patch was "
                "written for Keras 3.15.1 — check whether keras-team/keras#20585 is fixed and "
                "update or drop the patch"
            )


def check_internals() -> None:
    """Raise `RuntimeError` if an internal keras_dl relies on has moved or changed.

    Each accessor is exercised on a tiny layer, model or callback and its answer compared
    with the known one, so an internal that still exists but means something else fails too.
    """
    _gradient_registry()
    _check_patched_sources()
    _check_graph_structure()
    _check_monitor_state()
    _check_training_mode_calls()


def patch_multi_worker_fit() -> None:
    """Make `Model.fit` work under `MultiWorkerMirroredStrategy` (idempotent; see above)."""
    import tensorflow as tf
    from keras.src import tree

    trainer = _keras_tf_trainer()
    if getattr(trainer.reduce_per_replica, "__wrapped_original__", None) is not None:
        return
    _check_patched_sources()
    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = trainer.reduce_per_replica

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tree.map_structure(
                    lambda v: self.distribute_strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues) else v,
                    batch,
                )
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        multi_worker = trainer._collective_all_reduce_multi_worker(strategy)
        if not (multi_worker and reduction in ("auto", "mean")):
            return original_reduce(values, strategy, reduction)

        def mean(value):
            local = strategy.experimental_local_results(value)[0]
            axis = None if local.shape.rank == 0 else 0
            return strategy.reduce("MEAN", value, axis=axis)

        return tree.map_structure(mean, values)

    _maybe_symbolic_build.__wrapped_original__ = original_build
    reduce_per_replica.__wrapped_original__ = original_reduce
    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica


def custom_gradient_registrations() -> set[str]:
    """Names of the graph-mode custom gradients registered so far in this process."""
    return {name for name in _gradient_registry() if name.startswith(CUSTOM_GRADIENT_PREFIX)}


@contextlib.contextmanager
def released_custom_gradients():
    """Drop the custom-gradient registrations made inside the block when it ends.

    Use around a training run whose model is discarded afterwards (a tuner's trial), so that
    its traced graphs can be freed.
    """
    before = custom_gradient_registrations()
    try:
        yield
    finally:
        registry = _gradient_registry()
        for name in custom_gradient_registrations() - before:
            registry.pop(name, None)




def _internal_changed(what: str) -> RuntimeError:
    return RuntimeError(f"keras_dl.compat: {what}; Keras ({keras.__version__}) changed an "
                        "internal keras_dl relies on — update keras_dl/compat.py")


# --- 3. functional-graph structure -------------------------------------------------------------


def producer(tensor) -> tuple:
    """`(layer, input_tensors)`: the layer that produced a symbolic tensor of a functional
    graph and the tensors it was called on; `(None, [])` for anything else (a concrete array,
    a tensor not made by a layer). A `keras.Input` is produced by its `InputLayer`, from no
    tensors."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None, []
    operation, node_index = history[0], history[1]
    nodes = getattr(operation, "_inbound_nodes", None)
    if nodes is None or node_index >= len(nodes):
        raise _internal_changed("an operation has no _inbound_nodes entry for its output")
    return operation, list(nodes[node_index].input_tensors)


def output_layers(model) -> list:
    """The layer that produces each of `model`'s outputs, in output order."""
    layers = []
    for tensor in model.outputs:
        layer, _ = producer(tensor)
        if layer is None:
            raise _internal_changed("a functional output tensor has no _keras_history")
        layers.append(layer)
    return layers


def all_layers(model) -> list:
    """Every layer inside `model`, nested models and their layers included, each once
    (Keras' private `_flatten_layers`, which also yields the model itself: dropped here)."""
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        raise _internal_changed("Layer._flatten_layers is gone")
    return list(flatten(include_self=False, recursive=True))


def seed_generators(layer) -> list:
    """The `keras.random.SeedGenerator`s `layer` owns itself (not its nested layers')."""
    generators = getattr(layer, "_seed_generators", None)
    if generators is None:
        raise _internal_changed("Layer._seed_generators is gone")
    return list(generators)


def _check_graph_structure() -> None:
    inputs = keras.Input((2,), name="inputs")
    dense = keras.layers.Dense(1, name="dense")
    dropout = keras.layers.Dropout(0.5, seed=1, name="dropout")
    inner_inputs = keras.Input((2,), name="inner_inputs")
    inner = keras.Model(inner_inputs, keras.layers.Dense(1, name="inner_dense")(inner_inputs),
                        name="inner")
    outputs = [dense(dropout(inputs)), inner(inputs)]
    model = keras.Model(inputs, outputs)
    layer, called_on = producer(outputs[0])
    if layer is not dense or len(called_on) != 1 or producer(called_on[0])[0] is not dropout:
        raise _internal_changed("_keras_history / _inbound_nodes no longer lead from a "
                                "tensor to the layer and inputs that made it")
    if producer(keras.ops.ones((1, 2)))[0] is not None:
        raise _internal_changed("a concrete tensor carries a _keras_history")
    if output_layers(model) != [dense, inner]:
        raise _internal_changed("output_layers does not find a model's output layers")
    names = sorted(layer.name for layer in all_layers(model))
    if names != ["dense", "dropout", "inner", "inner_dense", "inner_inputs", "inputs"]:
        raise _internal_changed(f"Layer._flatten_layers yields {names}")
    if seed_generators(dropout) != [dropout.seed_generator] or seed_generators(dense):
        raise _internal_changed("Layer._seed_generators does not list a layer's own "
                                "SeedGenerators")


# --- 4. monitoring callbacks' progress ----------------------------------------------------------

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


def _check_monitor_state() -> None:
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


# --- 5. layers called as in training -------------------------------------------------------------


@contextlib.contextmanager
def training_mode_calls(layers):
    """Inside the block, every call of each of `layers` runs as in training
    (`training=True`), whatever its caller (a model called with `training=False`) passes.

    Shadows each layer's `call` with an instance attribute, which Keras' `Layer.__call__`
    looks up on the instance; the shadows are removed when the block ends.
    """
    layers = list(layers)
    saved = [(layer, layer.__dict__.get("call")) for layer in layers]

    def in_training(original):
        def call(*args, **kwargs):
            kwargs["training"] = True
            return original(*args, **kwargs)
        return call

    try:
        for layer in layers:
            layer.call = in_training(layer.call)
        yield layers
    finally:
        for layer, call in saved:
            if call is None:
                layer.__dict__.pop("call", None)
            else:
                layer.call = call


def _check_training_mode_calls() -> None:
    import numpy as np

    inputs = keras.Input((1,))
    norm = keras.layers.BatchNormalization(momentum=0.0, epsilon=0.0)
    model = keras.Model(inputs, norm(inputs))
    x = np.array([[0.0], [2.0]], dtype="float32")
    with training_mode_calls([norm]):
        inside = np.asarray(model(x, training=False))
    after = np.asarray(model(x + 1.0, training=False))
    if (not np.allclose(inside, [[-1.0], [1.0]], atol=1e-3)
            or not np.allclose(np.asarray(norm.moving_mean), [1.0])
            or not np.allclose(after, [[0.0], [2.0]], atol=1e-3) or "call" in norm.__dict__):
        raise _internal_changed("a layer's `call` shadowed on the instance is no longer what "
                                "Layer.__call__ runs")
