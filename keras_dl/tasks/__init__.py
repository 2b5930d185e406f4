"""Tasks: what kind of learning a model does (see `keras_dl.tasks.base.Task`).

```python
task = keras_dl.tasks.for_model("lenet5")      # <task classification>
task = keras_dl.tasks.for_config({"model": "lenet5", "adversarial": "fgsm:eps=0.1"})
x, y = task.targets(images, labels)
task.compile(model, keras.optimizers.Adam(), keras_dl.model_info("lenet5"))
```
"""

from __future__ import annotations

import keras_dl.models  # noqa: F401  (registers the builders whose tasks are asked for)
from keras_dl import registry
from keras_dl.tasks.adversarial import adversarial
from keras_dl.tasks.base import Task, uses_logits
from keras_dl.tasks.domain_adaptation import DomainAdaptation
from keras_dl.tasks.embedding import WordEmbedding
from keras_dl.tasks.episodic import Episodic
from keras_dl.tasks.classification import (
    AuxiliaryClassification,
    Classification,
    PretrainedClassification,
)
from keras_dl.tasks.gan import GAN
from keras_dl.tasks.image_translation import ImageTranslation, ImageTranslationGAN
from keras_dl.tasks.multitask import Multitask
from keras_dl.tasks.reconstruction import Reconstruction
from keras_dl.tasks.seq2seq import Translation
from keras_dl.tasks.text_classification import TextClassification
from keras_dl.tasks.transfer import Transfer
from keras_dl.tasks.unsupervised import Unsupervised, VariationalAutoencoder

_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make `task` (an instance) reachable by its name; a registration's `task=` names it."""
    if not task.name:
        raise ValueError(f"{type(task).__name__} has no name")
    if task.name in _TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    _TASKS[task.name] = task
    return task


for _task in (Classification(), AuxiliaryClassification(), PretrainedClassification(),
              Reconstruction(), Unsupervised(), VariationalAutoencoder(), GAN(),
              ImageTranslation(), ImageTranslationGAN(), DomainAdaptation(), Episodic(),
              Transfer(), Multitask(), TextClassification(), Translation(),
              WordEmbedding()):
    register_task(_task)


def list_tasks() -> list[str]:
    return sorted(_TASKS)


def get(name: str | Task) -> Task:
    """The task named `name` (a `Task` is returned as it is)."""
    if isinstance(name, Task):
        return name
    try:
        return _TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; allowed: {', '.join(list_tasks())}") from None


def for_model(model_name: str) -> Task:
    """The task of the registered model `model_name`."""
    return get(registry.model_info(model_name).task)


def for_config(config: dict) -> Task:
    """The task a resolved training config trains with: the model's own, trained adversarially
    where the config says so (`adversarial`: `keras_dl.tasks.adversarial`)."""
    task = for_model(config["model"])
    if config.get("adversarial"):
        return adversarial(task, config["adversarial"])
    return task


def infer(model) -> Task:
    """The task of a model object: its registration's when the model carries a registered
    name (builders name their models so by default), else plain classification."""
    name = getattr(model, "name", None)
    if name in registry.list_models():
        return for_model(name)
    return _TASKS["classification"]


__all__ = [
    "AuxiliaryClassification",
    "DomainAdaptation",
    "Episodic",
    "Classification",
    "GAN",
    "ImageTranslation",
    "ImageTranslationGAN",
    "Multitask",
    "PretrainedClassification",
    "Reconstruction",
    "Task",
    "TextClassification",
    "Transfer",
    "Translation",
    "Unsupervised",
    "VariationalAutoencoder",
    "WordEmbedding",
    "adversarial",
    "for_config",
    "for_model",
    "get",
    "infer",
    "list_tasks",
    "register_task",
    "uses_logits",
]
