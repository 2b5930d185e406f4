"""Choosing and configuring a `tf.distribute` strategy for training.

```python
strategy = keras_dl.distribute.strategy("auto")          # what the machine offers
strategy = keras_dl.distribute.strategy("mirrored", gpus=[0, 1])
```

- "auto": `MultiWorkerMirroredStrategy` when `TF_CONFIG` names more than one task in its
  cluster, else `MirroredStrategy` over all GPUs when there are any, else TensorFlow's default
  (single-device) strategy.
- "mirrored": synchronous data parallelism over this machine's GPUs (all, or `gpus`), or over
  the CPU's logical devices when it has no GPU (`split_cpu` makes several, for testing).
- "multiworker": synchronous data parallelism across the machines of `TF_CONFIG`'s cluster.
  Keras 3.15's `fit` needs `keras_dl.compat.patch_multi_worker_fit()` for this; `strategy()`
  applies it.
- "none": the default strategy.

The batch size keras_dl's training takes is per replica; the global batch is that times
`strategy.num_replicas_in_sync`. See docs/distributed.md for running on several machines.

Under "multiworker", TensorFlow's coordination service watches the workers: each sends a
heartbeat to the leader (worker 0, or the chief), and a worker whose heartbeats stop for the
heartbeat timeout is declared dead, which stops the cluster. TensorFlow's own 10 s is short
enough for a loaded machine (a busy CPU, a slow first compile) to miss it while every worker is
alive; `Timeouts` holds keras_dl's longer defaults, and `KERAS_DL_HEARTBEAT_TIMEOUT`,
`KERAS_DL_SHUTDOWN_TIMEOUT` and `KERAS_DL_REGISTER_TIMEOUT` (seconds) change them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

STRATEGIES = ("auto", "mirrored", "multiworker", "none")


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """The coordination service's timeouts under "multiworker", in seconds.

    Attributes:
        heartbeat: a worker silent this long is declared dead and the cluster stops (TensorFlow's
            default is 10 s; two workers sharing two busy cores have missed it while alive).
        shutdown: how long a worker that has finished waits at the exit barrier for the others
            (the chief evaluates and saves the model after the last epoch; the others wait).
        register: how long a worker waits at the start for every other worker to connect (the
            machines of a cluster may be started minutes apart).
    """

    heartbeat: float = 60.0
    shutdown: float = 300.0
    register: float = 3600.0


# environment variable -> the `Timeouts` field it sets
TIMEOUT_VARIABLES = {"KERAS_DL_HEARTBEAT_TIMEOUT": "heartbeat",
                     "KERAS_DL_SHUTDOWN_TIMEOUT": "shutdown",
                     "KERAS_DL_REGISTER_TIMEOUT": "register"}


def coordination_timeouts() -> Timeouts:
    """`Timeouts`: keras_dl's defaults, each replaced by its environment variable where set
    (`TIMEOUT_VARIABLES`); `ValueError` naming a variable that is not a positive number."""
    chosen = {}
    for variable, field in TIMEOUT_VARIABLES.items():
        raw = os.environ.get(variable, "").strip()
        if not raw:
            continue
        try:
            seconds = float(raw)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{variable} must be a positive number of seconds, got {raw!r}")
        chosen[field] = seconds
    return Timeouts(**chosen)


def tf_config() -> dict:
    """The parsed `TF_CONFIG` environment variable ({} when unset); `ValueError` if malformed."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise ValueError("TF_CONFIG must be a JSON object with a 'cluster' object")
    task = config.get("task", {})
    if task.get("type") not in ("worker", "chief") or not isinstance(task.get("index"), int):
        raise ValueError("TF_CONFIG's 'task' must name a type (worker or chief) and an index")
    return config


def cluster_size() -> int:
    """Number of tasks (chief and workers) in `TF_CONFIG`'s cluster; 1 without TF_CONFIG."""
    cluster = tf_config().get("cluster", {})
    return sum(len(cluster.get(role, [])) for role in ("chief", "worker")) or 1


def is_chief() -> bool:
    """True on the task that writes final artefacts: the chief, or worker 0 without a chief."""
    config = tf_config()
    if not config:
        return True
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and task["index"] == 0


def task_name() -> str:
    """"chief", "worker-1", ... (or "local" without TF_CONFIG): for per-worker directories."""
    config = tf_config()
    if not config:
        return "local"
    task = config["task"]
    return "chief" if task["type"] == "chief" else f"worker-{task['index']}"


def task_index() -> int:
    """This task's position in the cluster: 0 for the chief (or worker 0 without a chief), then
    the workers in order; 0 without TF_CONFIG. Distinct per task: for per-task random seeds."""
    config = tf_config()
    if not config:
        return 0
    task = config["task"]
    if task["type"] == "chief":
        return 0
    return task["index"] + (1 if "chief" in config["cluster"] else 0)


def split_cpu(count: int) -> None:
    """Split the CPU into `count` logical devices (before TensorFlow initialises its devices)."""
    import tensorflow as tf

    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    )


def strategy(kind: str = "auto", gpus=None, timeouts: Timeouts | None = None):
    """A `tf.distribute.Strategy` of the named kind (see the module docstring).

    Args:
        kind: "auto", "mirrored", "multiworker" or "none".
        gpus: with "mirrored" (or "auto" on a GPU machine), the GPU indices to use (default all).
        timeouts: under "multiworker", the coordination service's `Timeouts` (default:
            `coordination_timeouts()`, keras_dl's defaults or the environment's).
    """
    import tensorflow as tf

    if kind not in STRATEGIES:
        raise ValueError(f"unknown strategy {kind!r}; allowed: {', '.join(STRATEGIES)}")
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":  # tf.distribute drives TensorFlow's fit only
        if kind in ("mirrored", "multiworker") or gpus:
            raise ValueError(f"--strategy {kind}{' with GPUs' if gpus else ''} needs the "
                             f"TensorFlow backend (tf.distribute); on the {backend} backend "
                             f"the allowed strategies are none and auto (one device)")
        return tf.distribute.get_strategy()
    if kind == "auto":
        if cluster_size() > 1:
            kind = "multiworker"
        elif tf.config.list_physical_devices("GPU"):
            kind = "mirrored"
        else:
            return tf.distribute.get_strategy()
    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "multiworker":
        if cluster_size() < 2:
            raise ValueError(
                "--strategy multiworker needs TF_CONFIG naming at least two tasks "
                "(see docs/distributed.md)"
            )
        from keras_dl import compat

        compat.patch_multi_worker_fit()
        configure_coordination(timeouts or coordination_timeouts())
        return tf.distribute.MultiWorkerMirroredStrategy()
    physical = tf.config.list_physical_devices("GPU")
    if physical:
        indices = range(len(physical)) if gpus is None else gpus
        for index in indices:
            if not 0 <= index < len(physical):
                raise ValueError(
                    f"GPU {index} does not exist; this machine has GPUs 0..{len(physical) - 1}"
                )
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in indices])
    if gpus:
        raise ValueError(f"GPUs {list(gpus)} were asked for, but this machine has no GPU")
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(cpus)


def configure_coordination(timeouts: Timeouts) -> None:
    """Set up TensorFlow's coordination service for `TF_CONFIG`'s cluster with `timeouts`.

    `MultiWorkerMirroredStrategy` configures the service itself (with TensorFlow's default
    timeouts) unless one is configured already; this configures it as the strategy would (the
    same leader, the same jobs), with the timeouts, through
    `keras_dl.compat.configure_coordination_service` (the public API has no such setting).
    Call it before the strategy is built.
    """
    import tensorflow as tf

    from keras_dl import compat

    compat.configure_coordination_service(
        tf.distribute.cluster_resolver.TFConfigClusterResolver().cluster_spec(),
        heartbeat_ms=_milliseconds(timeouts.heartbeat),
        shutdown_ms=_milliseconds(timeouts.shutdown),
        register_ms=_milliseconds(timeouts.register),
    )


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def is_distributed(strategy_) -> bool:
    """True for a strategy with more than one replica or more than one worker."""
    return strategy_.num_replicas_in_sync > 1 or cluster_size() > 1


def distributed_dataset(strategy_, x, y, per_replica_batch: int, shuffle: bool = False,
                        seed: int = 0, augment=None):
    """`(x, y)` as a dataset distributed over `strategy_`'s replicas, sharded explicitly.

    Every worker builds the same pipeline from the same arrays: the examples are shuffled with
    the same seed on every worker (so the shards are disjoint), sharded by worker
    (`input_pipeline_id`), cut to the same length on every worker, and batched per replica
    with `drop_remainder=True`, so every replica runs the same number of steps (collective
    ops would wait forever for a worker that ran out of data). tf.data's auto-sharding is off:
    what each worker reads is decided here. The global batch is `per_replica_batch` times the
    number of replicas; per epoch, up to one global batch of examples is left out.

    Returns `(dataset, steps)`: the dataset repeats, and `steps` global batches make one pass
    (pass it as `steps_per_epoch` / `validation_steps` / `steps`). A split too small to fill
    one global batch (a small validation split) is batched smaller, so it still runs a step.
    `augment`, a callable on a batch of inputs, is applied to every per-replica batch (training
    data only: pass None for validation and test splits).
    """
    import tensorflow as tf

    from keras_dl.data import augment_batches

    workers = cluster_size() if tf_config() else 1
    per_worker = len(x) // workers
    local_replicas = max(1, strategy_.num_replicas_in_sync // workers)
    if per_worker < local_replicas:
        raise ValueError(
            f"{len(x)} examples are too few for {strategy_.num_replicas_in_sync} replicas"
        )
    per_replica_batch = min(per_replica_batch, per_worker // local_replicas)
    steps = per_worker // (per_replica_batch * local_replicas)

    def make(context):
        dataset = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
        if shuffle:
            dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        dataset = dataset.take(per_worker).batch(per_replica_batch, drop_remainder=True)
        dataset = augment_batches(dataset, augment, labelled=y is not None).repeat()
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.OFF
        )
        return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)

    return strategy_.distribute_datasets_from_function(make), steps
