"""Training recipes: more than one `fit()` call, or a `fit()` with keras_dl's conventions.

- `trainer`: `train()`, the orchestration behind `keras-dl train`;
- `resolve`: settings (`keras_dl.settings.TrainConfig`) → the resolved record of a run;
- `preparation`: the path from a resolved record to a model ready for `fit`, shared with tuning;
- `run_dir`: run directories, resume, history; `init_from`: starting from trained weights;
- `optimizers`, `precision`, `compiling`; `callbacks`: schedules, resume state, probes;
- `pretraining` (greedy layer-wise) with its units in `rbm` and `autoencoders`.
- `generative_dbn`: Hinton, Osindero & Teh's generative DBN (`GenerativeDBN`: greedy RBMs with
  the labels at the top, up-down fine-tuning, label-clamped sampling, free-energy classification).
- `generative_scores`: `GenerativeScores`, a callback scoring a generator's samples after every
  epoch (Fréchet distance on a classifier's features, class shares, label accuracy).
"""

from keras_dl.settings import LR_SCHEDULES, MONITORS, OPTIMIZERS, PRECISIONS, TrainConfig
from keras_dl.training.callbacks import (
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
from keras_dl.training.compiling import compile_classifier, compile_for_task, fit_data
from keras_dl.training.optimizers import make_optimizer
from keras_dl.training.precision import float32_copy, float32_outputs, precision_policy
from keras_dl.training.preparation import build_from_config
from keras_dl.training.run_dir import RunDirError, changed_setting, read_history
from keras_dl.training.trainer import TrainResult, resolve_config, train

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
    "TrainConfig",
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
