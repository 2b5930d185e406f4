"""KerasTuner HyperModels generated from each builder's declared search space.

Every registered model declares `search_space=fn(hp)` returning builder keyword arguments,
plus optionally the tunable training settings (`keras_dl.settings.TUNABLE`: `learning_rate`,
`batch_size`, `optimizer`, `weight_decay`). This module turns that into a
`keras_tuner.HyperModel`, so no per-model HyperModel is written by hand; `tune` runs each
trial through the same preparation as `keras-dl train`:

```python
hypermodel = keras_dl.tuning.RegisteredHyperModel("mlp", input_shape=(28, 28, 1), num_classes=10)
tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=10)
```
"""

from keras_dl.tuning.hypermodel import RegisteredHyperModel, build_from_hyperparameters
from keras_dl.tuning.search import OBJECTIVES, TUNERS, TuneResult, ranked_trials, tune

__all__ = [
    "OBJECTIVES",
    "RegisteredHyperModel",
    "TUNERS",
    "TuneResult",
    "build_from_hyperparameters",
    "ranked_trials",
    "tune",
]
