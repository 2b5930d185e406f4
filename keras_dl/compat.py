"""Workarounds for upstream bugs, in one place, each checked by tests/test_compat.py.

Each workaround reaches into a private TensorFlow or Keras internal. `check_internals()` fails
loudly (and the tests with it) when an upgrade moves those internals, so a silent no-op can
never take a workaround's place.

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
"""

from __future__ import annotations

import contextlib

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
    """Raise `RuntimeError` if an internal a workaround relies on has moved or changed."""
    _gradient_registry()
    _check_patched_sources()


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
