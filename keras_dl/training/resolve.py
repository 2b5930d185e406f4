"""From the settings as given (`keras_dl.settings.TrainConfig`) to the resolved record of a
run (`config.json`): the model's defaults filled in, and what depends on the model's task
checked (`keras_dl.tasks`), before anything is built or written."""

from __future__ import annotations

import keras_dl.models  # noqa: F401  (registers the builders)
from keras_dl import data as datasets
from keras_dl import registry, tasks
from keras_dl.settings import SETTINGS, TrainConfig
from keras_dl.training import data_kinds
from keras_dl.training.init_from import init_model_file

FALLBACK_DEFAULTS = {"epochs": 10, "batch_size": 64, "learning_rate": 1e-3, "optimizer": "adam"}
DEFAULT_PRETRAIN_EPOCHS = 5
DEFAULT_PRETRAIN_LEARNING_RATE = 0.01


def resolve(config: TrainConfig) -> dict:
    """The resolved record of `config`: `ValueError` naming the first bad setting."""
    info = registry.model_info(config.model)
    task = tasks.get(info.task)
    config.check()
    builder_kwargs = dict(config.builder_kwargs or {})
    registry.check_builder_kwargs(config.model, builder_kwargs)
    data_info = datasets.info(config.dataset)
    defaults = {**FALLBACK_DEFAULTS, **info.train_defaults}
    values = config.settings()
    for key in FALLBACK_DEFAULTS:
        if values[key] is None:
            values[key] = defaults[key]
    for key in FALLBACK_DEFAULTS:  # the registered defaults pass the same checks
        next(s for s in SETTINGS if s.name == key).validate(values[key])

    data_kinds.check(config, task, data_info)  # the dataset's kind matches the task's
    label_names = getattr(data_info, "label_names", None)

    from keras_dl.data.augment import format_augment

    augment = format_augment(config.augment)  # bad names or values fail here
    if augment and not task.augmentable:
        raise ValueError(f"augmentation is for classifiers; model {config.model!r} is "
                         f"{task.name} (its targets are its inputs)")
    if augment and len(data_info.input_shape) != 3:
        raise ValueError(f"augmentation is for images of shape (height, width, channels); "
                         f"dataset {config.dataset!r} has examples of shape "
                         f"{tuple(data_info.input_shape)}")
    if augment and "pca_jitter" in augment and tuple(data_info.input_shape)[-1:] != (3,):
        raise ValueError(f"augmentation pca_jitter needs RGB images; dataset "
                         f"{config.dataset!r} has shape {tuple(data_info.input_shape)}")
    if config.probe_layers is not None and config.probe is None:
        raise ValueError(f"probe layers {config.probe_layers!r} given without probe; name what "
                         "to record: activations, gradients, weights or all")
    if "input_shape" in info.parameters:
        builder_kwargs.setdefault("input_shape", tuple(data_info.input_shape))
    if "num_classes" in info.parameters:
        builder_kwargs.setdefault("num_classes", data_info.num_classes)
    if "head_classes" in info.parameters and label_names is not None:  # one head per label set
        builder_kwargs.setdefault("head_classes", tuple(data_info.head_classes))
        if "head_names" in info.parameters:
            builder_kwargs.setdefault("head_names", tuple(label_names))
    pretraining = resolve_pretraining(info, task, config, defaults)
    if config.precision != "float32" and (not task.mixed_precision or pretraining):
        raise ValueError(
            f"precision {config.precision} is for classifiers trained without pre-training; "
            f"model {config.model!r} is {task.name}"
            f"{' with pre-training' if pretraining else ''} (use float32)")
    if config.monitor not in task.monitors:
        raise ValueError(f"monitor {config.monitor} is for classifiers; model "
                         f"{config.model!r} is {task.name} (use val_loss)")
    if config.loss is not None and config.loss not in task.losses:
        raise ValueError(f"loss {config.loss} is not for model {config.model!r} ({task.name}"
                         + (f"; allowed: {', '.join(task.losses)})" if task.losses
                            else ": it trains by its own rule, no --loss)"))
    adversarial = None
    if config.adversarial is not None:
        from keras_dl.tasks import adversarial_spec

        adversarial = adversarial_spec.parse(config.adversarial)  # a bad spec fails here
        if not task.attackable:
            raise ValueError(f"adversarial training is for classifiers; model "
                             f"{config.model!r} is {task.name}")
        if config.precision != "float32":
            raise ValueError(f"adversarial training takes its input gradients in float32; "
                             f"precision {config.precision} is not allowed with it (use "
                             "float32)")
    init_from = None
    if config.init_from is not None:
        init_from = str(init_model_file(config.init_from))
        if pretraining:
            raise ValueError(
                f"init from {init_from} starts from trained weights, which greedy pre-training "
                f"of model {config.model!r} would overwrite (use pretrain epochs 0)")
    record = {"model": config.model, "family": info.family,
              "builder_kwargs": jsonable({**info.defaults(), **builder_kwargs})}
    for setting in SETTINGS:
        if setting.record == "always" and setting.name != "builder_kwargs":
            record[setting.name] = values[setting.name]
    record["learning_rate"] = float(record["learning_rate"])
    record["validation_fraction"] = float(record["validation_fraction"])
    record["augment"] = augment
    # recorded only when they differ from their defaults, so older runs keep their configs
    if pretraining:
        record["pretraining"] = pretraining
    optional = {"precision": config.precision, "monitor": config.monitor,
                "steps_per_execution": config.steps_per_execution,
                "weight_decay": float(config.weight_decay), "init_from": init_from,
                "loss": config.loss, "probe": config.probe,
                "probe_layers": config.probe_layers, "adversarial": adversarial}
    for setting in SETTINGS:
        if setting.record == "when_set" and optional[setting.name] != setting.default:
            record[setting.name] = optional[setting.name]
    task.check_run(record)  # what the task needs of the data (episodes: enough classes)
    return record


def resolve_pretraining(info, task, config: TrainConfig, defaults: dict):
    """The pre-training block of a run's record, or None when it does not pre-train.

    A "pretrained_classification" model pre-trains with its registered unit for 5 epochs a
    layer (or its `train_defaults["pretrain_epochs"]`); a classifier pre-trains when a unit or
    a number of epochs is asked for."""
    from keras_dl.training import pretraining

    unit = config.pretraining or info.pretraining
    epochs = config.pretrain_epochs
    if epochs is None:
        epochs = defaults.get("pretrain_epochs", DEFAULT_PRETRAIN_EPOCHS) if unit else 0
    if epochs == 0:
        if config.finetune != "all":
            raise ValueError("--finetune top needs pre-trained layers to freeze: "
                             "give --pretrain-epochs of at least 1")
        return None
    if unit is None:
        raise ValueError(f"model {info.name!r} has no pre-training unit of its own: choose one "
                         f"with --pretrain-unit ({', '.join(pretraining.list_units())})")
    if unit not in pretraining.list_units():
        raise ValueError(f"unknown pre-training unit {unit!r}; allowed: "
                         f"{', '.join(pretraining.list_units())}")
    if not task.pretraining:
        raise ValueError(f"pre-training then fine-tuning needs a classifier; model "
                         f"{info.name!r} is {task.name}")
    return {"unit": unit, "epochs": epochs, "finetune": config.finetune,
            "propagate": config.propagate,
            "learning_rate": float(defaults.get("pretrain_learning_rate",
                                                DEFAULT_PRETRAIN_LEARNING_RATE))}


def jsonable(value):
    """Tuples to lists, recursively, so a config survives a JSON round trip unchanged."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
