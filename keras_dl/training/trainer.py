"""Train a registered model on a named dataset: the recipe behind `keras-dl train`.

```python
result = keras_dl.training.train("lenet5", dataset="fashion_mnist", run_dir="runs/lenet5",
                                 builder_kwargs={"modern": True})
result.metrics["test_accuracy"]
```

`train` is orchestration: the settings are checked and resolved (`resolve`), the run dir made
or resumed (`run_dir`), the model built, checked and pre-trained as its task says
(`preparation`, the same path a tuning trial takes), fitted, evaluated and saved. A run
directory ends up holding `config.json` (every setting, resolved), `history.csv`,
`metrics.json`, `model.keras`, `checkpoints/best.keras` and `tensorboard/`. While the run is
unfinished it also holds `backup/`; rerunning the same call resumes from the last finished
epoch. Killed after `fit` (while evaluating or saving), a rerun trains nothing again: the
backup outlives `fit` until `metrics.json` is written (`keep_backup`), so the rerun's `fit`
runs no epoch, ends where early stopping had ended it and restores its best weights
(`callbacks.FinishedFit`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
from pathlib import Path

import keras

from keras_dl import data as datasets
from keras_dl import distribute, settings, tasks
from keras_dl.training import preparation
from keras_dl.training.callbacks import (
    default_callbacks,
    monitor_mode,
    precise_batch_norm_callback,
    stopped_epochs,
)
from keras_dl.training.init_from import warn_if_validation_was_trained_on
from keras_dl.training.optimizers import optimizer_factory
from keras_dl.training.precision import float32_copy
from keras_dl.training.probes import make_probes
from keras_dl.training.resolve import resolve
from keras_dl.training.run_dir import (TrainingClock, prepare_run_dir, read_history,
                                       save_atomically, write_atomically)


@dataclasses.dataclass
class TrainResult:
    """What `train` returns: the trained model, its metrics and where everything was written."""

    model: keras.Model
    metrics: dict
    history: list[dict]
    run_dir: Path
    config: dict


def resolve_config(model_name: str, **settings_) -> dict:
    """Check every setting and fill in the defaults: the record `config.json` holds.
    `ValueError` naming the first bad setting. Keywords: `keras_dl.settings.SETTINGS`."""
    return resolve(settings.TrainConfig(model=model_name, **settings_))


def train(model_name: str, *, run_dir, overwrite=False, verbose="auto", extra_callbacks=(),
          strategy="auto", gpus=None, **settings_) -> TrainResult:
    """Train `model_name`, evaluate it on its dataset's test split, write everything to
    `run_dir`; rerunning with the same `run_dir` resumes an unfinished run.

    Args:
        model_name: a registered model.
        run_dir: the run directory.
        overwrite: delete `run_dir` first.
        verbose: Keras' verbosity; "auto" shows the progress bar on a terminal, a line per
            epoch otherwise.
        extra_callbacks: more Keras callbacks.
        strategy: the `tf.distribute` strategy, "auto", "mirrored", "multiworker" or "none"
            (see `keras_dl.distribute`); `batch_size` is then per replica. Under multi-worker
            training every worker runs this same call; only the chief writes the run's
            artefacts, and each worker keeps its backup in `run_dir/backup/TASK`.
        gpus: GPU indices for "mirrored" (default: all).
        **settings_: the training settings, below.

    What the model's task (`keras_dl.tasks`) says decides the rest: how labels become
    targets, the loss, what "val_accuracy" means (a model with auxiliary classifiers, such as
    GoogLeNet, trains through its training model and monitors its main output; the saved
    `model.keras` is the inference network alone), which settings apply. Under a
    mixed-precision policy the test metrics are measured as trained; `model.keras` (and the
    returned model) is the float32 network with the trained weights.
    """
    if strategy not in distribute.STRATEGIES:
        raise ValueError(
            f"unknown strategy {strategy!r}; allowed: {', '.join(distribute.STRATEGIES)}"
        )
    config = resolve_config(model_name, **settings_)
    info = preparation.model_info(config)
    task = tasks.for_config(config)
    run_dir = Path(run_dir)
    data = preparation.load_data(config)
    strategy_ = distribute.strategy(strategy, gpus)
    distributed = distribute.is_distributed(strategy_)
    chief = distribute.is_chief()
    # bad builder arguments and a mismatched init_from fail here, before the run dir is made
    model, fit_model = preparation.build_model(config, strategy_)
    task.check_inputs(model, data.x_fit)  # before the run dir is made (before_fit: again)
    probes = []  # per-layer diagnostics (`keras-dl plot RUN_DIR` draws them); layers checked now
    if config.get("probe") and chief:
        x_probe, y_probe = task.targets(data.x_val, data.y_val)
        probes = make_probes(config["probe"], x_probe, y_probe, run_dir,
                             layers=config.get("probe_layers"), model=fit_model)
    if chief:
        resuming = prepare_run_dir(run_dir, config, overwrite)
    else:  # workers other than the chief keep only their backup, beside the chief's run
        resuming = (run_dir / "backup" / distribute.task_name()).exists()
    worker_dir = run_dir if chief else run_dir / "workers" / distribute.task_name()
    worker_dir.mkdir(parents=True, exist_ok=True)
    if config.get("init_from"):  # after every refusal above: a refused run prints one line
        warn_if_validation_was_trained_on(config)
    if verbose and chief:
        print(f"resuming the unfinished run in {run_dir}" if resuming else
              f"run dir: {run_dir} (rerun with the same run dir to resume if interrupted)")
    preparation.before_fit(model, fit_model, config, data, work_dir=worker_dir,
                           resuming=resuming, verbose=verbose, strategy=strategy_)
    train_data, val_data, fit_steps = preparation.fit_datasets(config, fit_model, data,
                                                               strategy_)
    watched = preparation.monitor_key(config, fit_model)
    backup_dir = run_dir / "backup" / distribute.task_name() if distributed else None
    # the task's own callbacks (a GAN's sample grid per epoch) first: an epoch's are done
    # before its backup; written by the chief alone
    callbacks = task.callbacks(model, fit_model, run_dir, config) if chief else []
    # the task's training rule (a gradient reversal's λ schedule): every worker alike
    callbacks = task.training_callbacks(fit_model, config) + callbacks
    callbacks += default_callbacks(
        str(run_dir), lr_schedule=config["lr_schedule"], learning_rate=config["learning_rate"],
        epochs=config["epochs"], patience=config["patience"], chief=chief, monitor=watched,
        backup_dir=None if backup_dir is None else str(backup_dir), keep_backup=not distributed,
        early_stopping=task.early_stopping,
    ) + list(extra_callbacks)
    callbacks += probes
    # batch norm behind dropout / drop-path / stochastic depth: statistics of the inference-time
    # signal before every validation and at the end (the variance shift compounds otherwise)
    precise_bn = precise_batch_norm_callback(fit_model, data.x_fit,
                                                         seed=config["seed"])
    if precise_bn is not None:
        callbacks.append(precise_bn)
    clock = TrainingClock(worker_dir)
    callbacks.insert(0, clock)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2

    # a fit that early stopping had ended before a kill ends there again: no epoch more
    epochs = config["epochs"]
    if resuming:
        epochs = min(epochs, stopped_epochs(backup_dir or run_dir / "backup") or epochs)
    fitted = fit_model.fit(train_data, validation_data=val_data, epochs=epochs, shuffle=False,
                           callbacks=callbacks, verbose=verbose if chief else 0, **fit_steps)

    evaluated, test_examples = _evaluate(model, task, config, data, strategy_)
    if chief:
        history = read_history(run_dir / "history.csv")
    else:
        history = [{"epoch": e, **{k: float(v[i]) for k, v in fitted.history.items()}}
                   for i, e in enumerate(fitted.epoch)]
    # the epoch whose weights early stopping kept: the best of the monitored value
    best = (min(history, key=lambda row: row.get(watched, math.inf))
            if monitor_mode(watched) == "min"
            else max(history, key=lambda row: row.get(watched, -math.inf))) if history else {}
    metrics = {
        **{f"test_{key}": float(value) for key, value in evaluated.items()},
        "epochs_run": len(history),
        "best_epoch": best.get("epoch", -1) + 1,
        "best_val_accuracy": best.get(task.monitor_key("val_accuracy", fit_model)),
        "train_seconds": round(clock.seconds, 3),  # finished epochs, summed over resumes
        "resumed": resuming,
        "train_examples": int(len(data.x_fit)),
        "validation_examples": int(len(data.x_val)),
        "test_examples": int(test_examples),
        "replicas": int(strategy_.num_replicas_in_sync),
        "global_batch_size": int(config["batch_size"] * strategy_.num_replicas_in_sync),
        "batch_norm_recalibrated": precise_bn is not None,
    }
    if config.get("precision", "float32") != "float32":
        # the test metrics above are the model's as trained; the saved and returned model
        # computes in float32 (same weights), as serving and evaluation on any device expect
        model = float32_copy(model)
        task.compile(model, optimizer_factory(config)(), info)
        model.optimizer.build(model.trainable_variables)  # saved whole: loads without warnings
    if model.optimizer is not None and not model.optimizer.built:  # trained through fit_model
        model.optimizer.build(model.trainable_variables)  # saved whole: loads without warnings
    if chief:  # only the chief writes the final model and metrics, each whole or not at all
        save_atomically(model, run_dir / "model.keras")
        write_atomically(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        if not distributed:  # the backup kept past `fit` (`keep_backup`) is done with
            shutil.rmtree(run_dir / "backup", ignore_errors=True)
    return TrainResult(model=model, metrics=metrics, history=history, run_dir=run_dir,
                       config=config)


def _evaluate(model, task, config, data, strategy_):
    """`(metrics, examples)` of `model` on the test split (sharded when distributed)."""
    x_test, y_test = task.targets(data.x_test, data.y_test)
    batch = config["batch_size"]
    if distribute.is_distributed(strategy_):
        test_data, test_steps = distribute.distributed_dataset(strategy_, x_test, y_test, batch)
        evaluated = task.evaluate(model, test_data, steps=test_steps)
        return evaluated, test_steps * batch * strategy_.num_replicas_in_sync
    return task.evaluate(model, datasets.to_dataset(x_test, y_test, max(batch, 256),
                                                    text=task.text)), len(x_test)


train.__doc__ += "\n" + "\n".join("    " + line for line in settings.docstring().splitlines())
