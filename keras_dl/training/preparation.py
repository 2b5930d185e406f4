"""One preparation path for `keras-dl train` and for every tuning trial.

From a resolved config (`keras_dl.training.resolve`) to a model ready for `fit` and the
batches it is fitted on, in the same steps whoever asks:

1. `load_data`: the dataset's training split (less a validation split) and test split;
2. `build_model`: seeded, under the run's precision and `tf.distribute` strategy, compiled by
   the model's task, with the task's training model (auxiliary heads), and the weights of
   `init_from`;
3. `before_fit`: the task's input checks and what it learns before `fit` (a text model's
   vocabulary), then greedy layer-wise pre-training where the config
   asks for it (kept in the work dir, so a resumed run does not pre-train again);
4. `fit_datasets`: the training batches (shuffled by the seed, augmented) and the validation
   batches, as the training model takes them;
5. `fit_callbacks`: early stopping on the task's key for the monitor, the learning-rate
   schedule, and batch-norm recalibration behind train-time noise.

A tuning trial runs these same steps; only the epoch budget and the directory differ.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path

import keras
import numpy as np

import keras_dl.models  # noqa: F401  (registers the builders)
from keras_dl import data as datasets
from keras_dl import distribute, registry, tasks
from keras_dl.training.callbacks import learning_callbacks, precise_batch_norm_callback
from keras_dl.training.init_from import load_initial_weights
from keras_dl.training.optimizers import optimizer_factory
from keras_dl.training.precision import float32_outputs, precision_policy


def _scope(strategy):
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


@dataclasses.dataclass
class RunData:
    """A run's examples as loaded (labels, before the task turns them into targets)."""

    x_fit: np.ndarray
    y_fit: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_data(config: dict, *, test: bool = True) -> RunData:
    """The training split less a validation split (by `seed` and `validation_fraction`),
    and the test split (`test=False`: empty), each cut to `limit` examples."""
    x_train, y_train = datasets.load_numpy(config["dataset"], "train", limit=config["limit"])
    x_fit, y_fit, x_val, y_val = datasets.train_validation_split(
        x_train, y_train, config["validation_fraction"], seed=config["seed"],
        dataset=config["dataset"])  # a per_class view: stratified, from its few examples
    if test:
        x_test, y_test = datasets.load_numpy(config["dataset"], "test", limit=config["limit"])
    else:
        x_test, y_test = x_fit[:0], y_fit[:0]
    return RunData(x_fit, y_fit, x_val, y_val, x_test, y_test)


def build_from_config(config: dict) -> keras.Model:
    """Build the model a resolved config describes (under its precision, outputs in float32)."""
    kwargs = {key: tuple(value) if isinstance(value, list) else value
              for key, value in config["builder_kwargs"].items()}
    precision = config.get("precision", "float32")
    with precision_policy(precision):
        model = registry.create_model(config["model"], **kwargs)
    return float32_outputs(model) if precision != "float32" else model


def model_info(config: dict) -> registry.ModelInfo:
    """The registration of the config's model, with the run's `loss` where one was chosen
    (`keras-dl train --loss`): what the task compiles with."""
    info = registry.model_info(config["model"])
    if config.get("loss"):
        info = dataclasses.replace(info, loss=config["loss"])
    return info


def build_model(config: dict, strategy=None):
    """`(model, fit_model)`: the inference network and the model `fit` trains (the same
    object unless the task trains through extra heads), both compiled, seeded by the
    config's `seed`, built in `strategy`'s scope. Bad builder arguments raise `ValueError`."""
    info = model_info(config)
    task = tasks.for_config(config)
    precision = config.get("precision", "float32")
    make_optimizer = optimizer_factory(config)
    keras.utils.set_random_seed(config["seed"])
    with _scope(strategy):
        try:
            model = build_from_config(config)
        except TypeError as error:
            raise ValueError(f"model {config['model']!r} rejected its arguments: "
                             f"{error}") from None
        task.compile(model, make_optimizer(), info)
        with precision_policy(precision):
            fit_model = task.training_model(model, info, make_optimizer)
        if fit_model is not model and precision != "float32":
            float32_outputs(fit_model)
        _set_steps_per_execution(fit_model, config, task, strategy)
        if config.get("init_from"):
            load_initial_weights(model, config["init_from"])
    return model, fit_model


def _steps_per_execution(config: dict, task, strategy) -> int | None:
    """The run's batches per compiled call of `fit`: its own, else the task's; under a
    distribution strategy 1, because Keras' loop of several batches a call fails on
    distributed datasets (Keras 3.15: `InvalidArgumentError` in `multi_step_on_iterator`).
    Asked for explicitly there, `ValueError`."""
    given = config.get("steps_per_execution")
    if strategy is None or not distribute.is_distributed(strategy):
        return given or task.steps_per_execution
    if given and given > 1:
        raise ValueError(f"steps_per_execution {given} cannot train under a distribution "
                         f"strategy (Keras {keras.__version__} fails to run several batches "
                         "per call on distributed data); allowed there: 1")
    return 1


def _set_steps_per_execution(fit_model, config: dict, task, strategy) -> None:
    """Give `fit_model` the run's batches per call (`_steps_per_execution`); where that is
    None, it keeps what its compile chose."""
    steps_per_execution = _steps_per_execution(config, task, strategy)
    if steps_per_execution:
        fit_model.steps_per_execution = steps_per_execution


def before_fit(model, fit_model, config: dict, data: RunData, *, work_dir: Path | None = None,
               resuming: bool = False, verbose=0, strategy=None) -> None:
    """The task's input checks, then greedy pre-training where the config asks for it.

    The pre-trained weights are kept in `work_dir/pretrained.weights.h5` (with
    `pretraining.json`), so a resumed run does not pre-train again. After pre-training both
    models are compiled again: fine-tuning "top" changed which weights are trainable.
    """
    info = model_info(config)
    task = tasks.for_config(config)
    task.check_inputs(model, data.x_fit)
    task.adapt(model, data.x_fit)  # a text model's vocabulary, from the training split alone
    task.adapt_targets(model, data.y_fit)  # a seq2seq model's target vocabulary
    if not config.get("pretraining"):
        return
    from keras_dl.training import pretraining

    settings = config["pretraining"]
    weights = work_dir / "pretrained.weights.h5" if work_dir is not None else None
    if resuming and weights is not None and weights.exists():
        model.load_weights(weights)
        layers = [layer.name for layer in pretraining.stack_layers(model)]
    else:
        result = pretraining.pretrain_model(
            model, data.x_fit, settings["unit"], y=data.y_fit, epochs=settings["epochs"],
            batch_size=config["batch_size"], learning_rate=settings["learning_rate"],
            propagate=settings["propagate"], seed=config["seed"], verbose=bool(verbose),
        )
        layers = result.layers
        if work_dir is not None:
            work_dir.mkdir(parents=True, exist_ok=True)
            (work_dir / "pretraining.json").write_text(
                json.dumps(result.summary(), indent=2) + "\n")
            model.save_weights(weights)
    pretraining.set_finetune_mode(model, settings["finetune"], layers)
    make_optimizer = optimizer_factory(config)
    with _scope(strategy):
        task.compile(model, make_optimizer(), info)
        if fit_model is not model:
            task.training_model(model, info, make_optimizer)
        _set_steps_per_execution(fit_model, config, task, strategy)  # compile reset it


def fit_datasets(config: dict, fit_model, data: RunData, strategy=None):
    """`(train_data, val_data, steps)`: batches of `(inputs, targets)` as `fit_model` takes
    them; `steps` holds `steps_per_epoch` and `validation_steps` under a distributed
    strategy (each replica takes `batch_size`), else nothing."""
    from keras_dl.data.augment import build_augmentation

    task = tasks.for_config(config)
    own = task.fit_datasets(config, fit_model, data, strategy)  # episodes, say (Task docs)
    if own is not None:
        return own
    x_fit, y_fit = task.targets(data.x_fit, data.y_fit)
    x_val, y_val = task.targets(data.x_val, data.y_val)
    batch, seed = config["batch_size"], config["seed"]
    # training batches only; each worker of a cluster draws its own augmentations
    augmentation = build_augmentation(config["augment"], images=x_fit,
                                      seed=seed + 1000 * distribute.task_index())
    steps = {}
    if strategy is not None and distribute.is_distributed(strategy):
        train_data, steps["steps_per_epoch"] = distribute.distributed_dataset(
            strategy, x_fit, y_fit, batch, shuffle=True, seed=seed, augment=augmentation)
        val_data, steps["validation_steps"] = distribute.distributed_dataset(
            strategy, x_val, y_val, batch)
    else:
        train_data = datasets.to_dataset(x_fit, y_fit, batch, shuffle=True, seed=seed,
                                         augment=augmentation, text=task.text)
        val_data = datasets.to_dataset(x_val, y_val, batch, text=task.text)
    return (task.adapt_dataset(train_data, fit_model), task.adapt_dataset(val_data, fit_model),
            steps)


def monitor_key(config: dict, fit_model) -> str:
    """The log key of the config's monitor for `fit_model` (the task decides: a model with
    auxiliary heads logs its main output's accuracy under its own key)."""
    return tasks.for_config(config).monitor_key(config.get("monitor", "val_loss"), fit_model)


def fit_callbacks(config: dict, fit_model, data: RunData, *, verbose: int = 0) -> list:
    """The task's training callbacks (`Task.training_callbacks`), early stopping (best weights
    restored; where the task allows it) and the learning-rate schedule on the monitored key, and batch-norm recalibration where train-time noise sits
    before batch norm: the callbacks that change what is learnt, shared by a run and a
    tuning trial."""
    callbacks = learning_callbacks(
        monitor=monitor_key(config, fit_model), patience=config["patience"],
        lr_schedule=config["lr_schedule"], learning_rate=config["learning_rate"],
        epochs=config["epochs"], verbose=verbose,
        early_stopping=tasks.for_config(config).early_stopping)
    precise_bn = precise_batch_norm_callback(fit_model, data.x_fit, seed=config["seed"])
    if precise_bn is not None:
        callbacks.append(precise_bn)
    # the task's training rule (a gradient reversal's λ schedule), first: before any epoch's end
    return tasks.for_config(config).training_callbacks(fit_model, config) + callbacks
