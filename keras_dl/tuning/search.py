"""Hyperparameter search over a registered model's declared space: the recipe behind `keras-dl tune`.

```python
result = keras_dl.tuning.tune("mlp", dataset="digits", directory="tuning/mlp",
                              tuner="bayesian", max_trials=20, epochs=10)
result.best_hyperparameters, result.best_model_path
```

The search runs on KerasTuner (`RandomSearch`, `Hyperband`, `BayesianOptimization`) with the
model's `RegisteredHyperModel`; every trial trains with early stopping on the validation split
(the objective's patience). KerasTuner keeps each trial on disk under `DIRECTORY/search/`, so
rerunning the same call resumes: finished trials are not redone, and a larger `max_trials` runs
only the new ones. KerasTuner clears the Keras session before building each trial's model, so
memory stays flat across trials. At the end the best model is written to
`DIRECTORY/best/model.keras` (with `config.json` and `hyperparameters.json`, ready for
`keras-dl evaluate` and `keras-dl export`) and every trial to `DIRECTORY/trials.json`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import warnings
from pathlib import Path

import keras
import keras_tuner

from keras_dl import data as datasets
from keras_dl import distribute, registry
from keras_dl.training.trainer import fit_data
from keras_dl.tuning.hypermodel import RegisteredHyperModel

TUNERS = ("random", "hyperband", "bayesian")
OBJECTIVES = {"val_accuracy": "max", "val_loss": "min", "accuracy": "max", "loss": "min"}


@dataclasses.dataclass
class TuneResult:
    """The outcome of a search: ranked trials and where the best model went."""

    trials: list[dict]
    best_hyperparameters: dict
    best_model_path: Path
    directory: Path


def _make_tuner(kind, hypermodel, objective, max_trials, epochs, directory, seed, overwrite,
                strategy_=None):
    common = dict(objective=keras_tuner.Objective(objective, OBJECTIVES[objective]),
                  directory=str(directory), project_name="search", overwrite=overwrite,
                  seed=seed, distribution_strategy=strategy_)
    if kind == "random":
        return keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **common)
    if kind == "bayesian":
        return keras_tuner.BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    tuner = keras_tuner.Hyperband(hypermodel, max_epochs=epochs, factor=3, **common)
    tuner.oracle.max_trials = max_trials  # Hyperband has no trial budget of its own: cap it
    return tuner


def ranked_trials(tuner) -> list[dict]:
    """Every finished trial, best first: id, status, objective value, hyperparameters."""
    trials = []
    for trial in tuner.oracle.trials.values():
        score = trial.score
        trials.append({
            "trial": trial.trial_id,
            "status": trial.status,
            "score": None if score is None or not math.isfinite(score) else float(score),
            "hyperparameters": dict(trial.hyperparameters.values),
        })
    direction = tuner.oracle.objective.direction
    worst = -math.inf if direction == "max" else math.inf
    trials.sort(key=lambda t: t["score"] if t["score"] is not None else worst,
                reverse=direction == "max")
    return trials


def tune(model_name: str, *, dataset: str, directory, tuner: str = "random",
         max_trials: int = 10, epochs: int = 5, objective: str = "val_accuracy",
         patience: int = 3, validation_fraction: float = 0.1, seed: int = 0,
         limit: int | None = None, overwrite: bool = False, verbose: int = 1,
         extra_callbacks=(), strategy: str = "auto", gpus=None) -> TuneResult:
    """Search `model_name`'s declared hyperparameter space on `dataset`.

    Args:
        model_name: a registered model with a `search_space`.
        dataset: a dataset name; the search trains on its training split minus a validation
            split and reports the objective on that validation split.
        directory: where KerasTuner keeps its trials and where the best model is written.
        tuner: "random", "hyperband" or "bayesian".
        max_trials: trials in all (a rerun with a larger number runs only the new ones).
        epochs: epochs per trial (Hyperband's `max_epochs`).
        objective: "val_accuracy" (default), "val_loss", "accuracy" or "loss".
        patience: early-stopping patience inside each trial.
        validation_fraction: share of the training split held out for the objective.
        seed: seeds the tuner and Keras.
        limit: use only the first `limit` training examples (smoke runs).
        overwrite: delete an existing search in `directory` and start over.
        verbose: Keras/KerasTuner verbosity.
        extra_callbacks: more Keras callbacks for every trial's `fit`.
        strategy: "auto", "mirrored", "multiworker" or "none": each trial trains under that
            `tf.distribute` strategy (KerasTuner's `distribution_strategy`; the drawn batch
            size is global). Under "multiworker" every worker runs this same call: with the
            same seed every worker's oracle draws the same trials, each trial trains across
            all workers (all-reduced scores, so the oracles stay in step), and only the chief
            writes `DIRECTORY`; the others keep their trial state in
            `DIRECTORY/workers/TASK`. (Spreading *different* trials over machines is
            KerasTuner's own distributed tuning, with `KERASTUNER_*` variables.)
        gpus: GPU indices for "mirrored".
    """
    info = registry.model_info(model_name)
    if info.search_space is None:
        raise ValueError(f"model {model_name!r} declares no search space")
    if tuner not in TUNERS:
        raise ValueError(f"unknown tuner {tuner!r}; allowed: {', '.join(TUNERS)}")
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}")
    for key, value in (("max_trials", max_trials), ("epochs", epochs), ("patience", patience)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    strategy_ = distribute.strategy(strategy, gpus)
    data_info = datasets.info(dataset)
    chief = distribute.is_chief()
    directory = Path(directory)
    if overwrite and directory.exists() and chief:
        shutil.rmtree(directory)
    search_dir = directory if chief else directory / "workers" / distribute.task_name()

    x, y = datasets.load_numpy(dataset, "train", limit=limit)
    x_fit, y_fit, x_val, y_val = datasets.train_validation_split(x, y, validation_fraction,
                                                                 seed=seed)
    keras.utils.set_random_seed(seed)
    info = registry.model_info(model_name)
    if info.task != "classification" and objective == "val_accuracy":
        raise ValueError(f"model {model_name!r} is not a classifier ({info.task}): "
                         "use --objective val_loss")
    fixed = {"input_shape": tuple(data_info.input_shape), "num_classes": data_info.num_classes}
    hypermodel = RegisteredHyperModel(
        model_name, **{k: v for k, v in fixed.items() if k in info.parameters})
    x_fit, y_fit = fit_data(info.task, x_fit, y_fit)
    x_val, y_val = fit_data(info.task, x_val, y_val)
    search = _make_tuner(tuner, hypermodel, objective, max_trials, epochs, search_dir, seed,
                         overwrite=False,
                         strategy_=strategy_ if distribute.is_distributed(strategy_) else None)
    stop_early = keras.callbacks.EarlyStopping(monitor=objective, patience=patience,
                                               mode=OBJECTIVES[objective])
    search.search(x_fit, y_fit, validation_data=(x_val, y_val), epochs=epochs,
                  callbacks=[stop_early, *extra_callbacks], verbose=verbose)

    trials = ranked_trials(search)
    best_hp = search.get_best_hyperparameters(1)[0]
    if not chief:  # the chief writes the best model and the trial table
        return TuneResult(trials=trials, best_hyperparameters=dict(best_hp.values),
                          best_model_path=directory / "best" / "model.keras", directory=directory)
    # Rebuild the best model on one device: it is saved, not trained, and building it under a
    # multi-worker strategy would start collectives the other workers do not join.
    search.distribution_strategy = None
    with warnings.catch_warnings():  # the trial checkpoint holds optimizer slots: unneeded
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        best_model = search.get_best_models(1)[0]
    if best_model.optimizer is not None and not best_model.optimizer.built:
        best_model.optimizer.build(best_model.trainable_variables)  # so it loads back cleanly
    best_dir = directory / "best"
    best_dir.mkdir(parents=True, exist_ok=True)
    best_model.save(best_dir / "model.keras")
    (best_dir / "hyperparameters.json").write_text(json.dumps(best_hp.values, indent=2) + "\n")
    (best_dir / "config.json").write_text(json.dumps(
        {"model": model_name, "dataset": dataset, "objective": objective,
         "score": trials[0]["score"] if trials else None, "tuner": tuner}, indent=2) + "\n")
    (directory / "trials.json").write_text(json.dumps(trials, indent=2) + "\n")
    return TuneResult(trials=trials, best_hyperparameters=dict(best_hp.values),
                      best_model_path=best_dir / "model.keras", directory=directory)
