"""Keras' TensorFlow trainer under multi-worker training (entry 2 of keras_dl.compat's list).

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
"""

from __future__ import annotations

import keras

from keras_dl.compat._changed import internal_changed

# sha256 (first 16 hex digits) of the source of each Keras function entry 2 replaces, as
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


def check_patched_sources() -> None:
    """`RuntimeError` unless the functions entry 2 replaces are the ones it was written for."""
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
            raise internal_changed(
                f"keras.src.backend.tensorflow.trainer.{name} changed; the multi-worker fit "
                "patch was written for Keras 3.15.1 — check whether keras-team/keras#20585 is "
                "fixed and update or drop the patch", keras, "keras_trainer")


def patch_multi_worker_fit() -> None:
    """Make `Model.fit` work under `MultiWorkerMirroredStrategy` (idempotent; see entry 2)."""
    import tensorflow as tf
    from keras.src import tree

    trainer = _keras_tf_trainer()
    if getattr(trainer.reduce_per_replica, "__wrapped_original__", None) is not None:
        return
    check_patched_sources()
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
