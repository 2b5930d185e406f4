"""Compiling a model for its task by names: the short form of `keras_dl.tasks`' `compile`."""

from __future__ import annotations

import types

from keras_dl import tasks
from keras_dl.training.optimizers import make_optimizer


def compile_for_task(model, task="classification", optimizer="adam", learning_rate=1e-3,
                     loss=None, weight_decay=0.0):
    """Compile `model` for `task` (a task name or `keras_dl.tasks.Task`) with a named
    optimizer; `loss` is a reconstruction task's loss ("mse" by default).

    "classification": sparse categorical cross-entropy and accuracy (from logits when the
    output layer has no softmax); "reconstruction": `loss` against the input, with the mean
    squared error as a metric; "unsupervised": no loss here, the model adds its own.
    `weight_decay`: decoupled weight decay (`make_optimizer`).
    """
    info = types.SimpleNamespace(loss=loss, task_options={})
    return tasks.get(task).compile(model, make_optimizer(optimizer, learning_rate, weight_decay),
                                   info)


def compile_classifier(model, optimizer="adam", learning_rate=1e-3, weight_decay=0.0):
    """Compile for sparse-label classification with accuracy (logits or probabilities)."""
    return compile_for_task(model, "classification", optimizer, learning_rate,
                            weight_decay=weight_decay)


def fit_data(task, x, y):
    """The `(inputs, targets)` a model of `task` trains on: labels, the inputs, or none."""
    return tasks.get(task).targets(x, y)
