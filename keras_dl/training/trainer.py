"""Train a registered model on a named dataset: the recipe behind `keras-dl train`.

```python
result = keras_dl.training.train("lenet5", dataset="fashion_mnist", run_dir="runs/lenet5",
                                 builder_kwargs={"modern": True})
result.metrics["test_accuracy"]
```

A run directory ends up holding `config.json` (every setting, resolved), `history.csv`,
`metrics.json`, `model.keras`, `checkpoints/best.keras` and `tensorboard/`. While the run is
unfinished it also holds `backup/`; rerunning the same call resumes from the last finished
epoch.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import keras

from keras_dl import data as datasets
import keras_dl.models  # noqa: F401  (registers the builders)
from keras_dl import distribute, registry
from keras_dl.training.callbacks import (
    LR_SCHEDULES,
    default_callbacks,
    monitor_mode,
    precise_batch_norm_callback,
)

OPTIMIZERS = ("adam", "sgd", "momentum", "rmsprop")
# Keras dtype policies a run can train under (`keras.mixed_precision`): the mixed ones compute
# in 16 bits and keep the weights in float32; mixed_float16 also scales the loss.
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Settings that config.json holds only when they differ from these defaults, so that runs
# written before a setting existed resume unchanged; a run is compared on them either way.
OPTIONAL_SETTINGS = {"precision": "float32", "pretraining": None, "monitor": "val_loss",
                     "weight_decay": 0.0}
# What early stopping, the best checkpoint and the plateau schedule watch: the validation loss
# (lower is better) or, for classifiers, the validation accuracy (higher is better).
MONITORS = ("val_loss", "val_accuracy")
FALLBACK_DEFAULTS = {"epochs": 10, "batch_size": 64, "learning_rate": 1e-3}


class RunDirError(ValueError):
    """A run directory that cannot be used as asked (finished, or holding other settings)."""


@dataclasses.dataclass
class TrainResult:
    """What `train` returns: the trained model, its metrics and where everything was written."""

    model: keras.Model
    metrics: dict
    history: list[dict]
    run_dir: Path
    config: dict


def make_optimizer(name: str, learning_rate: float, weight_decay: float = 0.0):
    """A Keras optimizer by name: "adam", "sgd", "momentum" (SGD, 0.9; Polyak 1964), "rmsprop".

    `weight_decay` > 0 is decoupled weight decay (Loshchilov & Hutter 2019; with Adam, that is
    AdamW): after each update every trainable weight shrinks by learning rate × weight_decay,
    the learning rate being the schedule's current one. It is not an L2 term in the loss, so
    momentum does not amplify it: decoupled 5e-3 at rate 0.1 with momentum 0.9 shrinks a weight
    about as much per step as PyTorch's coupled `weight_decay=5e-4` does.
    """
    decay = {"weight_decay": weight_decay} if weight_decay else {}
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, **decay)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, **decay)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, **decay)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, **decay)
    raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")


def uses_logits(model: keras.Model) -> bool:
    """True when the model's last layer has no softmax/sigmoid, i.e. it outputs logits."""
    activation = getattr(model.layers[-1], "activation", None)
    return activation not in (keras.activations.softmax, keras.activations.sigmoid)


def compile_classifier(model, optimizer="adam", learning_rate=1e-3, weight_decay=0.0):
    """Compile for sparse-label classification with accuracy (logits or probabilities)."""
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate, weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=uses_logits(model)),
        metrics=["accuracy"],
    )
    return model


def compile_for_task(model, task="classification", optimizer="adam", learning_rate=1e-3,
                     loss=None, weight_decay=0.0):
    """Compile `model` for what it learns from (`keras_dl.registry.TASKS`).

    "classification": sparse categorical cross-entropy and accuracy; "reconstruction": `loss`
    ("mse" by default, or "binary_crossentropy") against the input, with the mean squared error
    as a metric; "unsupervised": no loss here, the model adds its own training rule.
    `weight_decay`: decoupled weight decay (`make_optimizer`).
    """
    if task == "classification":
        return compile_classifier(model, optimizer, learning_rate, weight_decay)
    if task == "reconstruction":
        model.compile(optimizer=make_optimizer(optimizer, learning_rate, weight_decay),
                      loss=loss or "mse",
                      metrics=[keras.metrics.MeanSquaredError(name="mse")])
        return model
    if task == "unsupervised":
        model.compile(optimizer=make_optimizer(optimizer, learning_rate, weight_decay))
        return model
    raise ValueError(f"unknown task {task!r}; allowed: {', '.join(registry.TASKS)}")


def fit_data(task, x, y):
    """The `(inputs, targets)` a model of `task` trains on: labels, the inputs, or none."""
    if task == "classification":
        return x, y
    if task == "reconstruction":
        return x, x
    return x, None


def resolve_config(model_name, *, dataset, epochs=None, batch_size=None, learning_rate=None,
                   optimizer="adam", lr_schedule="cosine", patience=5, validation_fraction=0.1,
                   seed=0, limit=None, builder_kwargs=None, augment=None, pretrain_epochs=None,
                   pretraining=None, finetune="all", propagate="probabilities",
                   precision="float32", monitor="val_loss", weight_decay=0.0,
                   init_from=None) -> dict:
    """Check every setting and fill in the defaults; `ValueError` naming the first bad one."""
    info = registry.model_info(model_name)
    builder_kwargs = dict(builder_kwargs or {})
    registry.check_builder_kwargs(model_name, builder_kwargs)
    data_info = datasets.info(dataset)
    defaults = {**FALLBACK_DEFAULTS, **info.train_defaults}
    epochs = defaults["epochs"] if epochs is None else epochs
    batch_size = defaults["batch_size"] if batch_size is None else batch_size
    learning_rate = defaults["learning_rate"] if learning_rate is None else learning_rate
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    if not isinstance(learning_rate, (int, float)) or not 0 < learning_rate < math.inf:
        raise ValueError(f"learning rate must be a positive number, got {learning_rate!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
    if not isinstance(weight_decay, (int, float)) or isinstance(weight_decay, bool) \
            or not 0 <= weight_decay < 1:
        raise ValueError(f"weight decay must be a number in [0, 1), got {weight_decay!r}")
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(
            f"unknown learning-rate schedule {lr_schedule!r}; allowed: {', '.join(LR_SCHEDULES)}"
        )
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation fraction must be in (0, 1), got {validation_fraction!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 2):
        raise ValueError(f"limit must be an integer of at least 2, got {limit!r}")
    from keras_dl.data.augment import format_augment

    augment = format_augment(augment)  # bad names or values fail here
    if augment and info.task != "classification":
        raise ValueError(f"augmentation is for classifiers; model {model_name!r} is "
                         f"{info.task} (its targets are its inputs)")
    if augment and "pca_jitter" in augment and tuple(data_info.input_shape)[-1:] != (3,):
        raise ValueError(f"augmentation pca_jitter needs RGB images; dataset {dataset!r} has "
                         f"shape {tuple(data_info.input_shape)}")
    if "input_shape" in info.parameters:
        builder_kwargs.setdefault("input_shape", tuple(data_info.input_shape))
    if "num_classes" in info.parameters:
        builder_kwargs.setdefault("num_classes", data_info.num_classes)
    resolved_builder = {**info.defaults(), **builder_kwargs}
    pretraining_config = _resolve_pretraining(info, pretrain_epochs, pretraining, finetune,
                                              propagate, defaults)
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISIONS)}")
    if precision != "float32" and (info.task != "classification" or pretraining_config):
        raise ValueError(
            f"precision {precision} is for classifiers trained without pre-training; model "
            f"{model_name!r} is {info.task}{' with pre-training' if pretraining_config else ''}"
            " (use float32)")
    if monitor not in MONITORS:
        raise ValueError(f"unknown monitor {monitor!r}; allowed: {', '.join(MONITORS)}")
    if monitor == "val_accuracy" and info.task != "classification":
        raise ValueError(f"monitor val_accuracy is for classifiers; model {model_name!r} is "
                         f"{info.task} (use val_loss)")
    if init_from is not None:
        init_from = str(init_model_file(init_from))
        if pretraining_config:
            raise ValueError(
                f"init from {init_from} starts from trained weights, which greedy pre-training "
                f"of model {model_name!r} would overwrite (use pretrain epochs 0)")
    return {
        "model": model_name,
        "family": info.family,
        "builder_kwargs": _jsonable(resolved_builder),
        "dataset": dataset,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": float(learning_rate),
        "optimizer": optimizer,
        "lr_schedule": lr_schedule,
        "patience": patience,
        "validation_fraction": float(validation_fraction),
        "seed": seed,
        "limit": limit,
        "augment": augment,
        # only present when the run pre-trains, so runs without it keep their old configs
        **({"pretraining": pretraining_config} if pretraining_config else {}),
        **({"precision": precision} if precision != "float32" else {}),
        **({"monitor": monitor} if monitor != "val_loss" else {}),
        **({"weight_decay": float(weight_decay)} if weight_decay else {}),
        **({"init_from": init_from} if init_from else {}),
    }


def init_model_file(path) -> Path:
    """The absolute path of the `.keras` file that `path` (the file or a run dir holding
    `model.keras`) names; `ValueError` when there is none."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"init from {str(path)!r}: no such file or run dir; give a .keras "
                         "model file or a run dir holding model.keras")
    model_file = path / "model.keras" if path.is_dir() else path
    if not model_file.is_file():
        raise ValueError(f"init from {str(path)!r}: a run dir without model.keras (an "
                         "unfinished run?); give a finished run dir or a .keras model file")
    if model_file.suffix != ".keras":
        raise ValueError(f"init from {str(path)!r}: not a .keras model file")
    return model_file.resolve()


def load_initial_weights(model: keras.Model, model_file) -> None:
    """Set every weight of `model` (trainable or not: batch-norm statistics too) from the
    model saved in `model_file`, which must have the same weights in the same order and
    shapes: the same architecture with the same builder arguments. `ValueError` otherwise."""
    import keras_dl

    try:
        source = keras_dl.load_model(model_file, compile=False)
    except (ValueError, OSError, TypeError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"init from {model_file}: cannot be loaded as a Keras model: "
                         f"{first}") from None
    held, wanted = source.weights, model.weights
    if len(held) != len(wanted):
        raise ValueError(f"init from {model_file}: it holds {len(held)} weights, model "
                         f"{model.name!r} has {len(wanted)}; it must be the same architecture "
                         "with the same builder arguments")
    for index, (a, b) in enumerate(zip(held, wanted)):
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f"init from {model_file}: weight {index} ({b.path}) has shape "
                             f"{tuple(a.shape)} there but {tuple(b.shape)} in model "
                             f"{model.name!r}; it must be the same architecture with the same "
                             "builder arguments")
    model.set_weights(source.get_weights())


def _resolve_pretraining(info, pretrain_epochs, unit, finetune, propagate, defaults):
    """The pre-training settings of a run, or None when it does not pre-train."""
    from keras_dl.training import pretraining

    unit = unit or info.pretraining
    if pretrain_epochs is None:
        pretrain_epochs = defaults.get("pretrain_epochs", 5) if unit else 0
    if not isinstance(pretrain_epochs, int) or isinstance(pretrain_epochs, bool) \
            or pretrain_epochs < 0:
        raise ValueError(f"pretrain epochs must be a non-negative integer, got {pretrain_epochs!r}")
    if finetune not in pretraining.FINETUNE_MODES:
        raise ValueError(f"finetune must be one of {', '.join(pretraining.FINETUNE_MODES)}; "
                         f"got {finetune!r}")
    if propagate not in pretraining.PROPAGATE:
        raise ValueError(f"propagate must be one of {', '.join(pretraining.PROPAGATE)}; "
                         f"got {propagate!r}")
    if pretrain_epochs == 0:
        if finetune != "all":
            raise ValueError("--finetune top needs pre-trained layers to freeze: "
                             "give --pretrain-epochs of at least 1")
        return None
    if unit is None:
        raise ValueError(f"model {info.name!r} has no pre-training unit of its own: choose one "
                         f"with --pretrain-unit ({', '.join(pretraining.list_units())})")
    if unit not in pretraining.list_units():
        raise ValueError(f"unknown pre-training unit {unit!r}; allowed: "
                         f"{', '.join(pretraining.list_units())}")
    if info.task != "classification":
        raise ValueError(f"pre-training then fine-tuning needs a classifier; model "
                         f"{info.name!r} is {info.task}")
    return {"unit": unit, "epochs": pretrain_epochs, "finetune": finetune,
            "propagate": propagate,
            "learning_rate": float(defaults.get("pretrain_learning_rate", 0.01))}


def _jsonable(value):
    """Tuples to lists, recursively, so a config survives a JSON round trip unchanged."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@contextlib.contextmanager
def precision_policy(precision: str):
    """Keras' global dtype policy set to `precision` inside the block (layers made there
    compute in it), restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_outputs(model: keras.Model) -> keras.Model:
    """Run the layers that make `model`'s outputs in float32 (Keras' mixed-precision advice:
    a softmax in 16 bits loses the small probabilities the loss takes the log of)."""
    for tensor in model.outputs:
        layer = tensor._keras_history[0]
        if layer.dtype_policy.compute_dtype != "float32":
            layer.dtype_policy = "float32"
    return model


def _float32_policies(value):
    """A serialized Keras object with every dtype policy in it replaced by float32."""
    if isinstance(value, dict):
        if value.get("class_name") == "DTypePolicy" and "name" in value.get("config", {}):
            return {**value, "config": {**value["config"], "name": "float32"}}
        return {key: _float32_policies(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_float32_policies(item) for item in value]
    return value


def float32_copy(model: keras.Model) -> keras.Model:
    """`model` itself if it computes in float32 throughout, else the same network rebuilt in
    float32 with the same weights (mixed precision keeps them in float32: nothing is lost)."""
    if all(layer.dtype_policy.name == "float32" for layer in model._flatten_layers()):
        return model
    with precision_policy("float32"):
        copy = keras.saving.deserialize_keras_object(
            _float32_policies(keras.saving.serialize_keras_object(model)))
    copy.set_weights(model.get_weights())
    return copy


def build_from_config(config: dict) -> keras.Model:
    """Build the model a resolved config describes (under its precision, outputs in float32)."""
    kwargs = dict(config["builder_kwargs"])
    for key, value in kwargs.items():
        if isinstance(value, list):
            kwargs[key] = tuple(value)
    precision = config.get("precision", "float32")
    with precision_policy(precision):
        model = registry.create_model(config["model"], **kwargs)
    return float32_outputs(model) if precision != "float32" else model


def _prepare_run_dir(run_dir: Path, config: dict, overwrite: bool) -> bool:
    """Create or reuse `run_dir`; returns True when resuming an unfinished run."""
    config_file = run_dir / "config.json"
    if overwrite and run_dir.exists():
        shutil.rmtree(run_dir)
    if not config_file.exists():
        # other workers of a multi-worker run may already have made their own folders here
        if run_dir.exists() and any(p.name not in ("workers", "backup")
                                    for p in run_dir.iterdir()):
            raise RunDirError(
                f"run dir {str(run_dir)!r} is not empty and holds no keras_dl run; "
                "choose another --run-dir"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        config_file.write_text(json.dumps(config, indent=2) + "\n")
        return False
    if (run_dir / "metrics.json").exists():
        raise RunDirError(
            f"run dir {str(run_dir)!r} already holds a finished run; choose another --run-dir "
            "or pass --overwrite to start it over"
        )
    changed = changed_setting(run_dir, config)
    if changed:
        key, held, wanted = changed
        raise RunDirError(
            f"run dir {str(run_dir)!r} holds an unfinished run with {key}={held!r}, "
            f"not {wanted!r}; rerun with its settings to resume, or pass --overwrite"
        )
    return True


def changed_setting(run_dir, config: dict):
    """`(key, held, wanted)`: the first setting in which the run in `run_dir` differs from
    `config` (a `resolve_config` result), or None when they agree or `run_dir` holds no run."""
    config_file = Path(run_dir) / "config.json"
    if not config_file.exists():
        return None
    held = json.loads(config_file.read_text())
    for key in [*config, *(key for key in OPTIONAL_SETTINGS if key not in config)]:
        default = OPTIONAL_SETTINGS.get(key)
        if held.get(key, default) != config.get(key, default):
            return key, held.get(key, default), config.get(key, default)
    return None


def read_history(path: Path) -> list[dict]:
    """Rows of a `history.csv`, one per epoch (a row repeated by a resume counts once)."""
    if not path.exists():
        return []
    rows = {}
    with path.open() as stream:
        for row in csv.DictReader(stream):
            rows[int(row["epoch"])] = {
                k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""
            }
    return [rows[k] for k in sorted(rows)]


class _TrainingClock(keras.callbacks.Callback):
    """Training seconds summed over every finished epoch, across resumes (`elapsed.json`)."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.path = run_dir / "elapsed.json"
        self.seconds = json.loads(self.path.read_text())["seconds"] if self.path.exists() else 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self._start
        self.path.write_text(json.dumps({"seconds": self.seconds, "epochs": epoch + 1}))


def _training_model(model, model_name, optimizer, learning_rate, precision="float32",
                    weight_decay=0.0):
    """`(fit_model, output_names)`: the model to fit and, if it has several outputs, their names.

    For most models that is the model itself; a model with auxiliary classifiers gets its
    multi-output training model (sharing every weight), compiled with its loss weights.
    """
    from keras_dl.models import training_model_for

    with precision_policy(precision):
        found = training_model_for(model_name, model)
    if found is None:
        return model, ()
    fit_model, loss_weights = found
    if precision != "float32":
        float32_outputs(fit_model)
    fit_model.compile(
        optimizer=make_optimizer(optimizer, learning_rate, weight_decay),
        loss={key: keras.losses.SparseCategoricalCrossentropy(from_logits=uses_logits(model))
              for key in loss_weights},
        loss_weights=loss_weights,
        metrics={"predictions": ["accuracy"]},
    )
    return fit_model, tuple(loss_weights)


def train(model_name: str, *, dataset: str, run_dir, epochs=None, batch_size=None,
          learning_rate=None, optimizer="adam", lr_schedule="cosine", patience=5,
          validation_fraction=0.1, seed=0, limit=None, builder_kwargs=None, overwrite=False,
          verbose="auto", extra_callbacks=(), strategy="auto", gpus=None,
          augment=None, pretrain_epochs=None, pretraining=None, finetune="all",
          propagate="probabilities", precision="float32",
          monitor="val_loss", weight_decay=0.0, init_from=None) -> TrainResult:
    """Train `model_name` on `dataset`, evaluate on its test split, write everything to `run_dir`.

    Args:
        model_name: a registered model.
        dataset: a dataset name (`keras_dl.data.list_datasets()`, or tensorflow-datasets').
        run_dir: the run directory; rerunning with the same one resumes an unfinished run.
        epochs, batch_size, learning_rate: None for the model's registered training defaults.
        optimizer: "adam", "sgd", "momentum" or "rmsprop".
        weight_decay: decoupled weight decay, 0 for none (`make_optimizer`); recorded in
            `config.json` when not 0.
        lr_schedule: "constant", "step", "exponential", "cosine" or "plateau".
        patience: early-stopping patience in epochs (on `monitor`).
        validation_fraction: share of the training split held out for validation.
        seed: seeds Keras, NumPy, Python and the data order (`keras.utils.set_random_seed`).
        limit: use only the first `limit` training and test examples (for smoke runs).
        builder_kwargs: the builder's keyword arguments (input_shape and num_classes default
            to the dataset's).
        overwrite: delete `run_dir` first.
        verbose: Keras' verbosity; "auto" shows the progress bar on a terminal, a line per
            epoch otherwise.
        extra_callbacks: more Keras callbacks.
        strategy: the `tf.distribute` strategy, "auto", "mirrored", "multiworker" or "none"
            (see `keras_dl.distribute`); `batch_size` is then per replica. Under multi-worker
            training every worker runs this same call; only the chief writes the run's
            artefacts, and each worker keeps its backup in `run_dir/backup/TASK`.
        gpus: GPU indices for "mirrored" (default: all).
        augment: data augmentation for the training batches only, a spec such as
            "flip,crop=4" (`keras_dl.data.augment`); recorded in `config.json`. Validation
            and test data are not augmented and the model never contains the layers.

        pretrain_epochs: epochs of greedy layer-wise pre-training per hidden layer before the
            supervised training (`keras_dl.training.pretraining`); None for the model's
            default (5 for a model registered with a pre-training unit, such as `dbn`; 0
            otherwise).
        pretraining: the pre-training unit ("rbm", "supervised", an autoencoder kind...);
            None for the model's own.
        finetune: "all" retrains the whole pre-trained stack with the classifier; "top"
            freezes the stack and trains only the classifier.
        propagate: what each pre-trained layer passes up: "probabilities" or "samples".
        precision: "float32", or a mixed-precision policy for classifiers, "mixed_float16"
            (GPUs; the loss is scaled) or "mixed_bfloat16" (GPUs, and CPUs with bfloat16
            units such as AMX): layers compute in 16 bits, weights stay float32, the output
            layer runs in float32. Recorded in `config.json`. The test metrics are measured
            as trained; `model.keras` (and the returned model) is the float32 network with the
            trained weights, while `checkpoints/` and `backup/` keep the training policy.
        monitor: what early stopping (and the weights it restores), `checkpoints/best.keras`
            and the "plateau" schedule watch: "val_loss", or "val_accuracy" for classifiers
            (the main output's, for a model with auxiliary classifiers). Recorded in
            `config.json` when not "val_loss".
        init_from: start from the weights of a trained model instead of the builder's
            initialisation: a `.keras` file, or a run dir holding `model.keras`, of the same
            architecture with the same builder arguments (every weight, batch-norm statistics
            included). The optimizer starts afresh and `learning_rate` and `lr_schedule` run
            their full course: fine-tuning, or a warm restart of the schedule (SGDR, Loshchilov
            & Hutter 2017). Recorded in `config.json`. Keep the source run's `seed`,
            `validation_fraction` and `limit` on the same dataset, or its training examples
            end up in this run's validation split (a warning says so).

    A model with auxiliary classifiers (GoogLeNet) is trained through its training model
    (`keras_dl.models.training_model_for`), with the auxiliary losses weighted as its paper
    says; the saved `model.keras` is the inference network alone.
    """
    if strategy not in distribute.STRATEGIES:
        raise ValueError(
            f"unknown strategy {strategy!r}; allowed: {', '.join(distribute.STRATEGIES)}"
        )
    config = resolve_config(
        model_name, dataset=dataset, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, optimizer=optimizer, lr_schedule=lr_schedule,
        patience=patience, validation_fraction=validation_fraction, seed=seed, limit=limit,
        builder_kwargs=builder_kwargs, augment=augment, pretrain_epochs=pretrain_epochs,
        pretraining=pretraining, finetune=finetune, propagate=propagate, precision=precision,
        monitor=monitor, weight_decay=weight_decay, init_from=init_from,
    )
    info = registry.model_info(model_name)
    run_dir = Path(run_dir)
    if config.get("init_from"):
        _warn_if_validation_was_trained_on(config)
    x_train, y_train = datasets.load_numpy(dataset, "train", limit=limit)
    x_test, y_test = datasets.load_numpy(dataset, "test", limit=limit)
    x_fit, y_fit, x_val, y_val = datasets.train_validation_split(
        x_train, y_train, config["validation_fraction"], seed=seed
    )
    strategy_ = distribute.strategy(strategy, gpus)
    distributed = distribute.is_distributed(strategy_)
    chief = distribute.is_chief()
    keras.utils.set_random_seed(seed)
    with strategy_.scope():
        try:  # bad builder arguments fail here, before the run dir is made
            model = build_from_config(config)
        except TypeError as error:
            raise ValueError(f"model {model_name!r} rejected its arguments: {error}") from None
        compile_for_task(model, info.task, optimizer, config["learning_rate"], info.loss,
                         config.get("weight_decay", 0.0))
        fit_model, label_outputs = _training_model(model, model_name, optimizer,
                                                   config["learning_rate"], precision,
                                                   config.get("weight_decay", 0.0))
        if config.get("init_from"):  # a mismatch fails here, before the run dir is made
            load_initial_weights(model, config["init_from"])
    if chief:
        resuming = _prepare_run_dir(run_dir, config, overwrite)
    else:  # workers other than the chief keep only their backup, beside the chief's run
        resuming = (run_dir / "backup" / distribute.task_name()).exists()
    worker_dir = run_dir if chief else run_dir / "workers" / distribute.task_name()
    worker_dir.mkdir(parents=True, exist_ok=True)
    if verbose and chief:
        print(f"resuming the unfinished run in {run_dir}" if resuming else
              f"run dir: {run_dir} (rerun with the same run dir to resume if interrupted)")

    # a layer that needs its inputs in a range (an RBM's Bernoulli units) cannot check values
    # inside the compiled fit(): it checks the data here
    for layer in model.layers:
        if callable(getattr(layer, "check_inputs", None)):
            layer.check_inputs(x_fit)

    if config.get("pretraining"):
        _pretrain(model, config, x_fit, y_fit, worker_dir, resuming, verbose)
        with strategy_.scope():  # recompile: `trainable` changed for fine-tuning "top"
            compile_for_task(model, info.task, optimizer, config["learning_rate"], info.loss,
                             config.get("weight_decay", 0.0))

    x_fit, y_fit = fit_data(info.task, x_fit, y_fit)
    x_val, y_val = fit_data(info.task, x_val, y_val)
    x_test, y_test = fit_data(info.task, x_test, y_test)
    batch = config["batch_size"]
    fit_steps = {}
    from keras_dl.data.augment import build_augmentation

    # training batches only; each worker of a cluster draws its own augmentations
    augmentation = build_augmentation(config["augment"], images=x_fit,
                                      seed=seed + 1000 * distribute.task_index())
    if distributed:
        train_data, fit_steps["steps_per_epoch"] = distribute.distributed_dataset(
            strategy_, x_fit, y_fit, batch, shuffle=True, seed=seed, augment=augmentation)
        val_data, fit_steps["validation_steps"] = distribute.distributed_dataset(
            strategy_, x_val, y_val, batch)
    else:
        train_data = datasets.to_dataset(x_fit, y_fit, batch, shuffle=True, seed=seed,
                                         augment=augmentation)
        val_data = datasets.to_dataset(x_val, y_val, batch)
    if label_outputs:  # the same labels for every output of a multi-output training model
        import tensorflow as tf

        def _repeat_labels(x, y):
            return x, {key: y for key in label_outputs}

        train_data = train_data.map(_repeat_labels, num_parallel_calls=tf.data.AUTOTUNE)
        val_data = val_data.map(_repeat_labels, num_parallel_calls=tf.data.AUTOTUNE)
    backup_dir = run_dir / "backup" / distribute.task_name() if distributed else None
    callbacks = default_callbacks(
        str(run_dir), lr_schedule=lr_schedule, learning_rate=config["learning_rate"],
        epochs=config["epochs"], patience=patience, chief=chief,
        monitor=_monitor_key(monitor, label_outputs),
        backup_dir=None if backup_dir is None else str(backup_dir),
    ) + list(extra_callbacks)
    # batch norm behind dropout / drop-path / stochastic depth: statistics of the inference-time
    # signal before every validation and at the end (the variance shift compounds otherwise)
    precise_bn = precise_batch_norm_callback(fit_model, x_fit, seed=seed)
    recalibrate = precise_bn is not None
    if recalibrate:
        callbacks.append(precise_bn)
    clock = _TrainingClock(worker_dir)
    callbacks.insert(0, clock)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2

    fitted = fit_model.fit(train_data, validation_data=val_data, epochs=config["epochs"],
                           shuffle=False, callbacks=callbacks, verbose=verbose if chief else 0,
                           **fit_steps)

    if distributed:
        test_data, test_steps = distribute.distributed_dataset(strategy_, x_test, y_test, batch)
        evaluated = model.evaluate(test_data, steps=test_steps, verbose=0, return_dict=True)
        test_examples = test_steps * batch * strategy_.num_replicas_in_sync
    else:
        evaluated = model.evaluate(
            datasets.to_dataset(x_test, y_test, max(batch, 256)), verbose=0, return_dict=True
        )
        test_examples = len(x_test)
    if chief:
        history = read_history(run_dir / "history.csv")
    else:
        history = [{"epoch": e, **{k: float(v[i]) for k, v in fitted.history.items()}}
                   for i, e in enumerate(fitted.epoch)]
    # the epoch whose weights early stopping kept: the best of the monitored value
    watched = _monitor_key(monitor, label_outputs)
    best = (min(history, key=lambda row: row.get(watched, math.inf))
            if monitor_mode(monitor) == "min"
            else max(history, key=lambda row: row.get(watched, -math.inf))) if history else {}
    metrics = {
        **{f"test_{key}": float(value) for key, value in evaluated.items()},
        "epochs_run": len(history),
        "best_epoch": best.get("epoch", -1) + 1,
        "best_val_accuracy": best.get("val_accuracy", best.get("val_predictions_accuracy")),
        "train_seconds": round(clock.seconds, 3),  # finished epochs, summed over resumes
        "resumed": resuming,
        "train_examples": int(len(x_fit)),
        "validation_examples": int(len(x_val)),
        "test_examples": int(test_examples),
        "replicas": int(strategy_.num_replicas_in_sync),
        "global_batch_size": int(batch * strategy_.num_replicas_in_sync),
        "batch_norm_recalibrated": recalibrate,
    }
    if config.get("precision", "float32") != "float32":
        # the test metrics above are the model's as trained; the saved and returned model
        # computes in float32 (same weights), as serving and evaluation on any device expect
        model = float32_copy(model)
        compile_for_task(model, info.task, optimizer, config["learning_rate"], info.loss,
                         config.get("weight_decay", 0.0))
        model.optimizer.build(model.trainable_variables)  # saved whole: loads without warnings
    if chief:  # only the chief writes the final model and metrics
        model.save(run_dir / "model.keras")
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return TrainResult(model=model, metrics=metrics, history=history, run_dir=run_dir,
                       config=config)


def _warn_if_validation_was_trained_on(config: dict) -> None:
    """Print a warning when the run that `config["init_from"]` came from split the same dataset
    differently, so this run's validation examples may have been its training examples."""
    source = Path(config["init_from"]).parent / "config.json"
    try:
        held = json.loads(source.read_text())
    except (OSError, ValueError):  # no config (a bare .keras file) or an unreadable one
        return
    if not isinstance(held, dict) or held.get("dataset") != config["dataset"]:
        return
    for key in ("seed", "validation_fraction", "limit"):
        if held.get(key) != config[key]:
            print(f"keras_dl: warning: the initial weights were trained with {key}="
                  f"{held.get(key)!r}, this run has {key}={config[key]!r}: its validation "
                  "split may hold examples those weights were trained on", file=sys.stderr)
            return


def _monitor_key(monitor, label_outputs):
    """The log key of `monitor`: a model with auxiliary classifiers logs its main output's
    accuracy as `val_predictions_accuracy`."""
    return "val_predictions_accuracy" if monitor == "val_accuracy" and label_outputs else monitor


def _pretrain(model, config, x, y, run_dir: Path, resuming: bool, verbose):
    """Greedy layer-wise pre-training of `model`'s hidden stack, once per run.

    The pre-trained weights are kept in `run_dir/pretrained.weights.h5`, so a resumed run does
    not pre-train again (and a run resumed after its first fine-tuning epoch gets its weights
    from the backup anyway).
    """
    from keras_dl.training import pretraining

    settings = config["pretraining"]
    weights = run_dir / "pretrained.weights.h5"
    if resuming and weights.exists():
        model.load_weights(weights)
        layers = [layer.name for layer in pretraining.stack_layers(model)]
    else:
        result = pretraining.pretrain_model(
            model, x, settings["unit"], y=y, epochs=settings["epochs"],
            batch_size=config["batch_size"], learning_rate=settings["learning_rate"],
            propagate=settings["propagate"], seed=config["seed"], verbose=bool(verbose),
        )
        layers = result.layers
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "pretraining.json").write_text(json.dumps(result.summary(), indent=2) + "\n")
        model.save_weights(weights)
    pretraining.set_finetune_mode(model, settings["finetune"], layers)
