"""Which datasets a task trains on: the dataset kinds that belong to one kind of task alone.

A dataset of one of these kinds trains only a model whose task says it takes that kind (the
task's flag), and such a model only on datasets of that kind. `check(config, task,
data_info)` refuses a mismatch in one line, naming the dataset, the model and what is
allowed, before anything is built or written (`keras_dl.training.resolve`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from keras_dl import data as datasets
from keras_dl import registry


@dataclasses.dataclass(frozen=True)
class DataKind:
    """`is_kind(info)`: whether a dataset is of the kind; `task_flag`: the `Task` attribute
    of the tasks that train on it; `dataset_is` and `model_needs`: the two messages, as
    templates of {dataset}, {model}, {task}, {allowed} and {labels}."""

    is_kind: Callable[[object], bool]
    task_flag: str
    dataset_is: str
    model_needs: str
    allowed_models: Callable[[], str] | None = None


def _models_of_kind(task_flag: str) -> str:
    from keras_dl import tasks

    return ", ".join(name for name in registry.list_models()
                     if getattr(tasks.for_model(name), task_flag))


def _labels(info) -> str:
    names = getattr(info, "label_names", None) or ()
    return f"{len(names)} labels ({', '.join(names)})"


KINDS = (
    DataKind(lambda info: bool(getattr(info, "corpus", False)), "corpus",
             "dataset {dataset} is a corpus of unlabelled documents, for word embeddings; "
             "model {model} is {task} (allowed: {allowed})",
             "model {model} learns word vectors from a corpus; dataset {dataset} is no corpus "
             "(allowed: {allowed})",
             allowed_models=lambda: _models_of_kind("corpus")),
    DataKind(lambda info: getattr(info, "target_shape", None) is not None, "image_targets",
             "dataset {dataset} pairs each image with a target image, for image-to-image "
             "models; model {model} is {task}",
             "model {model} translates images into images; dataset {dataset} has no target "
             "images (allowed: {allowed})"),
    DataKind(lambda info: bool(getattr(info, "domain_shift", False)), "domain_shift",
             "dataset {dataset} mixes labelled source and unlabelled target examples, for "
             "domain adaptation; model {model} is {task}",
             "model {model} adapts between domains; dataset {dataset} is no domain-shift "
             "dataset (allowed: {allowed})"),
    DataKind(lambda info: getattr(info, "class_splits", None) is not None, "few_shot",
             "dataset {dataset} holds out whole classes for few-shot testing; model {model} "
             "is {task} (use an episodic model: prototypical_network)",
             "model {model} learns from episodes; dataset {dataset} is no few-shot dataset "
             "(allowed: {allowed})"),
    DataKind(lambda info: getattr(info, "label_names", None) is not None, "label_sets",
             "dataset {dataset} gives each example {labels}, for multitask models; model "
             "{model} is {task}",
             "model {model} learns several tasks at once; dataset {dataset} has one label "
             "set (allowed: {allowed})"),
    DataKind(lambda info: (getattr(info, "modality", "array") == "text"
                           and not getattr(info, "corpus", False) and not info.num_classes),
             "text_pairs",
             "dataset {dataset} pairs texts with texts (translation), for sequence-to-sequence "
             "models; model {model} is {task} (allowed: {allowed})",
             "model {model} translates texts into texts; dataset {dataset} holds no text pairs "
             "(allowed: {allowed})",
             allowed_models=lambda: _models_of_kind("text_pairs")),
    DataKind(lambda info: getattr(info, "modality", "array") == "text", "text",
             "dataset {dataset} holds texts (strings), for text models; model {model} is "
             "{task} (allowed: {allowed})",
             "model {model} reads raw text; dataset {dataset} holds no texts (allowed: "
             "{allowed})",
             allowed_models=lambda: ", ".join(registry.list_models(family="text"))),
)


def check(config, task, data_info) -> None:
    """`ValueError` when the dataset `config.dataset` (described by `data_info`) and the
    model `config.model` (of `task`) are not for each other (see `KINDS`)."""
    for kind in KINDS:
        of_kind = kind.is_kind(data_info)
        if of_kind == bool(getattr(task, kind.task_flag)):
            continue
        if of_kind:
            allowed = kind.allowed_models() if kind.allowed_models else ""
            template = kind.dataset_is
        else:
            allowed = ", ".join(name for name in datasets.list_datasets()
                                if kind.is_kind(datasets.info(name)))
            template = kind.model_needs
        raise ValueError(template.format(dataset=repr(config.dataset), model=repr(config.model),
                                         task=task.name, allowed=allowed,
                                         labels=_labels(data_info)))
