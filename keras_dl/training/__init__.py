"""Training recipes: more than one `fit()` call, or a `fit()` with keras_dl's conventions."""

from keras_dl.training.callbacks import (
    LR_SCHEDULES,
    MonitorState,
    PreciseBatchNorm,
    WeightSnapshots,
    annealed_learning_rate,
    default_callbacks,
    monitor_mode,
    needs_batch_norm_recalibration,
    precise_batch_norm_callback,
    recalibrate_batch_norm,
)
from keras_dl.training.trainer import (
    MONITORS,
    OPTIMIZERS,
    PRECISIONS,
    RunDirError,
    TrainResult,
    build_from_config,
    changed_setting,
    compile_classifier,
    compile_for_task,
    fit_data,
    float32_copy,
    float32_outputs,
    make_optimizer,
    precision_policy,
    read_history,
    resolve_config,
    train,
)

from keras_dl.training import pretraining  # noqa: E402  (registers the "supervised" unit)
from keras_dl.training import autoencoders  # noqa: E402,F401  (the autoencoder units)
from keras_dl.training import rbm  # noqa: E402,F401  (registers the "rbm" unit)

__all__ = [
    "LR_SCHEDULES",
    "MonitorState",
    "MONITORS",
    "OPTIMIZERS",
    "PRECISIONS",
    "PreciseBatchNorm",
    "RunDirError",
    "TrainResult",
    "WeightSnapshots",
    "annealed_learning_rate",
    "build_from_config",
    "changed_setting",
    "compile_classifier",
    "compile_for_task",
    "fit_data",
    "float32_copy",
    "float32_outputs",
    "default_callbacks",
    "make_optimizer",
    "monitor_mode",
    "needs_batch_norm_recalibration",
    "precise_batch_norm_callback",
    "precision_policy",
    "read_history",
    "recalibrate_batch_norm",
    "resolve_config",
    "train",
]
