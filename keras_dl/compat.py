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


def check_internals() -> None:
    """Raise `RuntimeError` if an internal a workaround relies on has moved."""
    _gradient_registry()


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
