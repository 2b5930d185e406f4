"""Every private TensorFlow, Keras or KerasTuner internal keras_dl uses, in one package, each
checked by tests/test_compat.py.

Workarounds for upstream bugs, accessors for state Keras keeps but does not publish (a
functional graph's structure, a callback's progress, a layer's seed generators), and settings
the public APIs do not offer reach into private internals. Nothing else in keras_dl does: so
an upgrade of TensorFlow, Keras or KerasTuner is checked in this one package, one module per
upstream (Keras' split by concept). `check_internals()` fails loudly (and the tests with it)
when an upgrade moves those internals, so a silent no-op or a wrong answer can never take a
workaround's place. This package imports nothing from keras_dl but its own modules (the
layers import it). Every public name is importable from `keras_dl.compat` itself.

The internals (each module's docstring says why and how):

1. `released_custom_gradients()` — TensorFlow's graph-mode custom-gradient registry, which
   leaks every traced training step (tensorflow_internals.py).
2. `patch_multi_worker_fit()` — Keras' TensorFlow trainer, patched so that `fit` works under
   `MultiWorkerMirroredStrategy`, keras-team/keras#20585 (keras_trainer.py).
3. `producer`, `output_layers`, `all_layers`, `seed_generators` — a functional graph's
   structure and a layer's seed generators (keras_layers.py).
4. `monitor_state`, `restore_monitor_state`, `best_weights`, `set_best_weights` — monitoring
   callbacks' progress, kept across a resume (keras_callbacks.py).
5. `training_mode_calls(layers)` — chosen layers run as in training inside a model called at
   inference, for "precise BN" (keras_layers.py).
6. `configure_coordination_service(cluster_spec, ...)` — the multi-worker coordination
   service's heartbeat, shutdown and register timeouts (tensorflow_internals.py).
7. `swapped_tuner_json_writer(write)` — KerasTuner's one JSON state writer, replaced by an
   atomic one while a search runs (keras_tuner_internals.py).
8. `float32_reads()` — variables read in their own dtype inside a mixed-precision layer's
   call, for the running sums of a layer's own metrics (keras_layers.py).
"""

from __future__ import annotations

from keras_dl.compat.keras_callbacks import (
    MONITOR_ATTRIBUTES,
    best_weights,
    check_monitor_state,
    is_monitoring,
    monitor_state,
    restore_monitor_state,
    set_best_weights,
)
from keras_dl.compat.keras_layers import (
    all_layers,
    check_float32_reads,
    check_graph_structure,
    check_training_mode_calls,
    float32_reads,
    output_layers,
    producer,
    seed_generators,
    training_mode_calls,
)
from keras_dl.compat.keras_trainer import (
    PATCHED_SOURCES,
    check_patched_sources,
    patch_multi_worker_fit,
)
from keras_dl.compat.keras_tuner_internals import (
    check_tuner_json_writer,
    swapped_tuner_json_writer,
)
from keras_dl.compat.tensorflow_internals import (
    COORDINATION_ARGUMENTS,
    CUSTOM_GRADIENT_PREFIX,
    check_coordination_service,
    check_gradient_registry,
    configure_coordination_service,
    custom_gradient_registrations,
    released_custom_gradients,
)

__all__ = [
    "CHECKS", "COORDINATION_ARGUMENTS", "CUSTOM_GRADIENT_PREFIX", "MONITOR_ATTRIBUTES",
    "PATCHED_SOURCES", "all_layers", "best_weights", "check_coordination_service",
    "check_float32_reads", "check_gradient_registry", "check_graph_structure", "check_internals", "check_monitor_state",
    "check_patched_sources", "check_training_mode_calls", "check_tuner_json_writer",
    "configure_coordination_service", "custom_gradient_registrations", "float32_reads",
    "is_monitoring",
    "monitor_state", "output_layers", "patch_multi_worker_fit", "producer",
    "released_custom_gradients", "restore_monitor_state", "seed_generators", "set_best_weights",
    "swapped_tuner_json_writer", "training_mode_calls",
]

# one check per internal above, in its order
CHECKS = (check_gradient_registry, check_patched_sources, check_graph_structure,
          check_monitor_state, check_training_mode_calls, check_coordination_service,
          check_tuner_json_writer, check_float32_reads)


def check_internals() -> None:
    """Raise `RuntimeError` if an internal keras_dl relies on has moved or changed.

    Each accessor is exercised on a tiny layer, model, callback, context or trial and its
    answer compared with the known one, so an internal that still exists but means something
    else fails too.
    """
    for check in CHECKS:
        check()
