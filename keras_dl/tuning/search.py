"""Hyperparameter search over a registered model's declared space: the recipe behind `keras-dl tune`.

```python
result = keras_dl.tuning.tune("mlp", dataset="digits", directory="tuning/mlp",
                              tuner="bayesian", max_trials=20, epochs=10)
result.best_hyperparameters, result.best_model_path
```

The search runs on KerasTuner (`RandomSearch`, `Hyperband`, `BayesianOptimization`) with the
model's `RegisteredHyperModel`; every trial is prepared and trained as `keras-dl train` trains
(early stopping on the validation split with the given patience, the same schedule,
pre-training, augmentation and precision). KerasTuner keeps each trial on disk under
`DIRECTORY/search/`, so rerunning the same call resumes: finished trials are not redone, and a
larger `max_trials` runs only the new ones. This holds after a kill at any instant:
KerasTuner's state is written atomically and made consistent before it is reloaded
(`keras_dl.tuning.resume`), and a trial that was running is run again from its start.
KerasTuner clears the Keras session before building each trial's model, so memory stays flat
across trials. At the end the best model is written to `DIRECTORY/best/model.keras` (with
`config.json` and `hyperparameters.json`, ready for `keras-dl evaluate` and `keras-dl export`)
and every trial to `DIRECTORY/trials.json`, each through a hidden temporary file renamed into
place (whole or absent, never half-written).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
import warnings
from pathlib import Path

import keras
import keras_tuner

from keras_dl import distribute, registry, tasks
from keras_dl.training.run_dir import save_atomically, write_atomically
from keras_dl.tuning import resume
from keras_dl.tuning.hypermodel import RegisteredHyperModel, trial_config

TUNERS = ("random", "hyperband", "bayesian")
OBJECTIVES = {"val_accuracy": "max", "val_loss": "min", "accuracy": "max", "loss": "min"}
PROJECT = "search"  # KerasTuner's project folder inside the search directory


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
                  directory=str(directory), project_name=PROJECT, overwrite=overwrite,
                  seed=seed, distribution_strategy=strategy_)
    if kind == "random":
        return keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **common)
    if kind == "bayesian":
        return keras_tuner.BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    tuner = keras_tuner.Hyperband(hypermodel, max_epochs=epochs, factor=3, **common)
    tuner.oracle.max_trials = max_trials  # Hyperband has no trial budget of its own: cap it
    return tuner


def _resumed_tuner(kind, hypermodel, objective, max_trials, config, search_dir, strategy_):
    """The KerasTuner tuner of this search, holding the trials already on disk (repaired first
    if a kill left them disagreeing: `keras_dl.tuning.resume`)."""
    project_dir = Path(search_dir) / PROJECT
    resume.repair_search(project_dir)
    reloads = resume.has_tuner_state(project_dir)
    # KerasTuner's oracle takes a seed of 0 as "none" and draws one from Python's `random`:
    # seeded here, every worker of a cluster (and every rerun) draws the same trials
    keras.utils.set_random_seed(config["seed"])
    search = _make_tuner(kind, hypermodel, objective, max_trials, config["epochs"], search_dir,
                         config["seed"], overwrite=False, strategy_=strategy_)
    resume.resume_oracle(search, reloads)
    return search


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


def tune(model_name: str, *, directory, tuner: str = "random", max_trials: int = 10,
         epochs: int = 5, objective: str = "val_accuracy", patience: int = 3,
         overwrite: bool = False, verbose="auto", extra_callbacks=(), strategy: str = "auto",
         gpus=None, **settings_) -> TuneResult:
    """Search `model_name`'s declared hyperparameter space.

    Every trial is prepared and trained as `keras-dl train` would train it with the trial's
    drawn values (`keras_dl.tuning.hypermodel`): the same split, seeding, pre-training,
    auxiliary heads, input checks, augmentation, precision, early stopping and schedule.

    Args:
        model_name: a registered model with a `search_space`.
        directory: where KerasTuner keeps its trials and where the best model is written.
        tuner: "random", "hyperband" or "bayesian".
        max_trials: trials in all (a rerun with a larger number runs only the new ones).
        epochs: epochs per trial (Hyperband's `max_epochs`).
        objective: what the trials are ranked by, on the validation split: "val_accuracy"
            (classifiers; the default), "val_loss", "accuracy" or "loss".
        patience: early-stopping patience inside each trial.
        overwrite: delete an existing search in `directory` and start over.
        verbose: Keras/KerasTuner verbosity; "auto" (as `train`) shows the progress bar on a
            terminal and one plain line an epoch when stdout is a pipe or a file.
        extra_callbacks: more Keras callbacks for every trial's `fit`.
        strategy: "auto", "mirrored", "multiworker" or "none": each trial trains under that
            `tf.distribute` strategy (KerasTuner's `distribution_strategy`; the batch size is
            per replica, as in `keras-dl train`). Under "multiworker" every worker runs this
            same call: with the same seed every worker's oracle draws the same trials, each
            trial trains across all workers (all-reduced scores, so the oracles stay in
            step), and only the chief writes `DIRECTORY`; the others keep their trial state
            in `DIRECTORY/workers/TASK`. (Spreading *different* trials over machines is
            KerasTuner's own distributed tuning, with `KERASTUNER_*` variables.)
        gpus: GPU indices for "mirrored".
        **settings_: the training settings of `keras_dl.training.train` (dataset, seed,
            limit, validation_fraction, augment, pretrain_epochs, ...); the search space's
            drawn values take the place of theirs.
    """
    from keras_dl.training.preparation import load_data
    from keras_dl.training.trainer import resolve_config

    info = registry.model_info(model_name)
    if info.search_space is None:
        raise ValueError(f"model {model_name!r} declares no search space")
    if tuner not in TUNERS:
        raise ValueError(f"unknown tuner {tuner!r}; allowed: {', '.join(TUNERS)}")
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}")
    if max_trials is None or not isinstance(max_trials, int) or isinstance(max_trials, bool) \
            or max_trials < 1:
        raise ValueError(f"max_trials must be a positive integer, got {max_trials!r}")
    task = tasks.get(info.task)
    if objective not in task.objectives:
        raise ValueError(f"model {model_name!r} is not a classifier ({task.name}): "
                         "use --objective val_loss")
    config = resolve_config(model_name, epochs=epochs, patience=patience, **settings_)
    strategy_ = distribute.strategy(strategy, gpus)
    chief = distribute.is_chief()
    directory = Path(directory)
    if overwrite and directory.exists() and chief:
        shutil.rmtree(directory)
    search_dir = directory if chief else directory / "workers" / distribute.task_name()

    distributed = distribute.is_distributed(strategy_)
    hypermodel = RegisteredHyperModel(model_name, config=config,
                                      data=load_data(config, test=False),
                                      strategy=strategy_ if distributed else None)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    with resume.atomic_state_writes():
        search = _resumed_tuner(tuner, hypermodel, objective, max_trials, config, search_dir,
                                strategy_ if distributed else None)
        search.search(epochs=config["epochs"], callbacks=list(extra_callbacks), verbose=verbose)

    trials = ranked_trials(search)
    best_hp = search.get_best_hyperparameters(1)[0]
    if not chief:  # the chief writes the best model and the trial table
        return TuneResult(trials=trials, best_hyperparameters=dict(best_hp.values),
                          best_model_path=directory / "best" / "model.keras", directory=directory)
    # Rebuild the best model on one device: it is saved, not trained, and building it under a
    # multi-worker strategy would start collectives the other workers do not join.
    search.distribution_strategy = None
    hypermodel.strategy = None
    with warnings.catch_warnings():  # the trial checkpoint holds optimizer slots: unneeded
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        best_model = search.get_best_models(1)[0]
    if best_model.optimizer is not None and not best_model.optimizer.built:
        best_model.optimizer.build(best_model.trainable_variables)  # so it loads back cleanly
    best_dir = directory / "best"
    best_dir.mkdir(parents=True, exist_ok=True)
    save_atomically(best_model, best_dir / "model.keras")
    write_atomically(best_dir / "hyperparameters.json",
                     json.dumps(best_hp.values, indent=2) + "\n")
    write_atomically(best_dir / "config.json", json.dumps(
        {**trial_config(config, best_hp), "objective": objective,
         "score": trials[0]["score"] if trials else None, "tuner": tuner}, indent=2) + "\n")
    write_atomically(directory / "trials.json", json.dumps(trials, indent=2) + "\n")
    return TuneResult(trials=trials, best_hyperparameters=dict(best_hp.values),
                      best_model_path=best_dir / "model.keras", directory=directory)
