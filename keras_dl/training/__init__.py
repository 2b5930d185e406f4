"""Training recipes: more than one `fit()` call, or a `fit()` with keras_dl's conventions."""

from keras_dl.training.callbacks import (
    LR_SCHEDULES,
    WeightSnapshots,
    annealed_learning_rate,
    default_callbacks,
)
from keras_dl.training.trainer import (
    OPTIMIZERS,
    RunDirError,
    TrainResult,
    build_from_config,
    compile_classifier,
    compile_for_task,
    fit_data,
    make_optimizer,
    read_history,
    resolve_config,
    train,
)

from keras_dl.training import pretraining  # noqa: E402  (registers the "supervised" unit)
from keras_dl.training import autoencoders  # noqa: E402,F401  (the autoencoder units)
from keras_dl.training import rbm  # noqa: E402,F401  (registers the "rbm" unit)

__all__ = [
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "RunDirError",
    "TrainResult",
    "WeightSnapshots",
    "annealed_learning_rate",
    "build_from_config",
    "compile_classifier",
    "compile_for_task",
    "fit_data",
    "default_callbacks",
    "make_optimizer",
    "read_history",
    "resolve_config",
    "train",
]
