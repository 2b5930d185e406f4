"""TensorFlow internals keras_dl uses (entries 1 and 6 of keras_dl.compat's list).

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

6. `configure_coordination_service(cluster_spec, ...)` — the coordination service's timeouts.
   Under `MultiWorkerMirroredStrategy` TensorFlow's coordination service declares a worker
   dead after 10 s without a heartbeat, which a loaded machine misses while alive; the public
   API offers no way to change it. The strategy configures the service itself only when
   `tensorflow.python.eager.context.context().coordination_service` is None
   (`CollectiveAllReduceExtended._initialize_multi_worker`), so configuring it first, through
   the private `Context.configure_coordination_service` with the same leader
   (`tensorflow.python.distribute.multi_worker_util.coordination_leader`) and the same jobs
   (`coordination_config_pb2.CoordinatedJob`, from
   `tensorflow.compiler.xla.tsl.protobuf`), keeps the strategy's set-up with longer timeouts.
"""

from __future__ import annotations

import contextlib
import inspect

from keras_dl.compat._changed import internal_changed

CUSTOM_GRADIENT_PREFIX = "CustomGradient"

# the keyword arguments of `Context.configure_coordination_service` entry 6 passes
COORDINATION_ARGUMENTS = ("service_type", "service_leader", "coordinated_jobs",
                          "heartbeat_timeout_in_ms", "shutdown_barrier_timeout_in_ms",
                          "cluster_register_timeout_in_ms")


def _changed(what: str) -> RuntimeError:
    import tensorflow

    return internal_changed(what, tensorflow, "tensorflow_internals")


# --- 1. custom-gradient registrations ----------------------------------------------------------


def _gradient_registry() -> dict:
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        raise _changed("tensorflow.python.framework.ops._gradient_registry._registry is gone "
                       "or changed; the custom-gradient leak workaround must be revisited")
    return registry


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


def check_gradient_registry() -> None:
    """`RuntimeError` unless the gradient registry is where entry 1 reaches it."""
    _gradient_registry()


# --- 6. the coordination service's timeouts ----------------------------------------------------


def _configure(context_, cluster_spec, heartbeat_ms: int, shutdown_ms: int,
               register_ms: int) -> None:
    """Configure `context_`'s coordination service as `MultiWorkerMirroredStrategy` would for
    `cluster_spec`, with the given timeouts."""
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util

    cluster_spec = tf.train.ClusterSpec(cluster_spec)
    jobs = [coordination_config_pb2.CoordinatedJob(name=job,
                                                   num_tasks=cluster_spec.num_tasks(job))
            for job in ("chief", "worker") if job in cluster_spec.jobs]
    context_.configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(cluster_spec),
        coordinated_jobs=jobs,
        heartbeat_timeout_in_ms=heartbeat_ms,
        shutdown_barrier_timeout_in_ms=shutdown_ms,
        cluster_register_timeout_in_ms=register_ms,
    )


def configure_coordination_service(cluster_spec, *, heartbeat_ms: int, shutdown_ms: int,
                                   register_ms: int) -> None:
    """Configure this process's coordination service for `cluster_spec` (a
    `tf.train.ClusterSpec` or its dict) with the given timeouts, in milliseconds (see entry 6).

    Call it before `MultiWorkerMirroredStrategy` is built: the strategy then keeps it.
    """
    from tensorflow.python.eager import context

    _configure(context.context(), cluster_spec, heartbeat_ms, shutdown_ms, register_ms)


def check_coordination_service() -> None:
    """`RuntimeError` unless entry 6 still works: `Context.configure_coordination_service`
    takes the keyword arguments it passes and records them (tried on a fresh, unused
    `Context`, not this process's), and the strategy still configures the service only when
    none is configured yet."""
    from tensorflow.python.distribute import collective_all_reduce_strategy
    from tensorflow.python.eager import context

    configure = getattr(context.Context, "configure_coordination_service", None)
    if configure is None:
        raise _changed("tensorflow.python.eager.context.Context.configure_coordination_service "
                       "is gone")
    signature = inspect.signature(configure)
    try:
        signature.bind(None, **dict.fromkeys(COORDINATION_ARGUMENTS))
    except TypeError as error:
        raise _changed(f"Context.configure_coordination_service{signature} no longer takes "
                       f"the keyword arguments {', '.join(COORDINATION_ARGUMENTS)} ({error})"
                       ) from None
    fresh = context.Context()
    _configure(fresh, {"worker": ["localhost:1", "localhost:2"]}, 1001, 1002, 1003)
    config = getattr(fresh, "coordination_service", None)
    recorded = None if config is None else (
        config.service_leader, [(job.name, job.num_tasks) for job in config.coordinated_job_list],
        config.heartbeat_timeout_in_ms, config.shutdown_barrier_timeout_in_ms,
        config.cluster_register_timeout_in_ms)
    if recorded != ("/job:worker/replica:0/task:0", [("worker", 2)], 1001, 1002, 1003):
        raise _changed(f"Context.coordination_service records {recorded} for a two-worker "
                       "cluster with timeouts 1001/1002/1003 ms")
    initialize = getattr(getattr(collective_all_reduce_strategy, "CollectiveAllReduceExtended",
                                 None), "_initialize_multi_worker", None)
    if initialize is None or "coordination_service is None" not in inspect.getsource(initialize):
        raise _changed("CollectiveAllReduceExtended._initialize_multi_worker no longer keeps a "
                       "coordination service configured before it")
