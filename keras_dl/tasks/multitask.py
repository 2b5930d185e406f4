"""Multitask learning (lecture 002 §8.5): one shared trunk, one head per task, each head
trained on its own task's labels.

The model (`keras_dl.models.multitask`) has one output per head. It trains on a dataset with
one label column per task (`keras_dl.data.multitask`: labels of shape (n, H), −1 where an
example has no label for that task). Each head's loss is its cross-entropy averaged over the
examples that have its label: an example labelled −1 for a head contributes nothing to that
head's loss, metrics or gradient (sample weight 0, Keras' "mean_with_sample_weight"
reduction).

Each task's batches come from its own labelled examples, as from a dataset of its own
(`keras_dl.data.multitask.task_batches`); the task with fewer labels is cycled through several
times an epoch, so every head gets as many batches an epoch as the task with the most labels
needs. Two training rules, the builder's `mode`:

- "joint": every step takes one batch of each task and minimises the weighted sum
  Σ_k w_k L_k of the heads' losses: every head and the trunk move at every step. It is
  Keras' own multi-output `fit`: the model is compiled with one loss per output and
  `loss_weights`.
- "alternating": the lecture's rule, "backpropagation comes from one head at a time, mixing
  data and tasks during learning". Every step takes a batch of one task, in turn (task 0,
  task 1, task 0, ...), and backpropagates w_k L_k from that task's head alone: that head and
  the trunk are updated, the other heads' weights are not touched (not even by the
  optimizer's momentum). A training model, `AlternatingTrainer`, overrides `train_step` for
  it.

A head of loss weight 0 is not trained (its task gives no batches): `loss_weights=(1, 0)`
makes the model a single-task classifier of the first task, the baseline multitask learning
is measured against.

Both rules log the same keys: `loss`, and per head `{head}_loss` and `{head}_accuracy`
(validation: the same with `val_`). The validation loss is Σ_k w_k L_k under both rules; the
training `loss` is that sum under "joint", the loss of the step's head under "alternating".
Early stopping on "val_accuracy" watches the first head's accuracy (`val_{first}_accuracy`).
Served: one output per head, `{head}_probabilities` (or `{head}_logits`).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from keras_dl import compat
from keras_dl.data.multitask import UNLABELLED, task_batches
from keras_dl.models.multitask_training import (
    AlternatingTrainer,
    head_loss,
    head_names,
    loss_weights_of,
    mode_of,
)
from keras_dl.tasks.base import Task, _probability_or, uses_logits


def masked_targets(y, heads: int):
    """`(labels, weights)` of a batch's labels `y` (batch, heads), −1 where unlabelled: one
    label vector per head (0 where unlabelled) and one weight vector (1 labelled, 0 not)."""
    y = ops.cast(y, "int32")
    labels = tuple(ops.maximum(y[:, k], 0) for k in range(heads))
    weights = tuple(ops.cast(y[:, k] != UNLABELLED, "float32") for k in range(heads))
    return labels, weights


# === The task ===================================================================================


class Multitask(Task):
    """A shared trunk with one classifier head per task, trained jointly or one head at a
    time (see the module docstring)."""

    name = "multitask"
    monitors = ("val_loss", "val_accuracy")
    objectives = ("val_accuracy", "val_loss", "accuracy", "loss")
    losses = ("cross_entropy",)
    label_sets = True

    def targets(self, x, y):
        y = np.asarray(y)
        if y.ndim != 2:
            raise ValueError(f"a multitask model takes labels of shape (examples, tasks), one "
                             f"column per head; got shape {y.shape}")
        return x, y

    def compile(self, model, optimizer, info=None):
        """Keras' multi-output compile: one masked cross-entropy per head, weighted by the
        head's loss weight, and each head's accuracy over its labelled examples."""
        heads, from_logits = head_names(model), uses_logits(model)
        model.compile(optimizer=optimizer,
                      loss={head: head_loss(from_logits) for head in heads},
                      loss_weights=dict(zip(heads, loss_weights_of(model))),
                      weighted_metrics={head: ["accuracy"] for head in heads})
        return model

    def training_model(self, model, info, make_optimizer):
        """The model itself under the joint rule; an `AlternatingTrainer` under the
        alternating one."""
        if mode_of(model) == "joint":
            return model
        trainer = AlternatingTrainer(model)
        trainer.compile(optimizer=make_optimizer())
        return trainer

    def adapt_dataset(self, dataset, fit_model):
        """Batches `(x, y)`, `y` of shape (batch, heads) with −1 where unlabelled, as the
        model takes them: one label vector and one sample-weight vector per head."""
        import tensorflow as tf

        heads = dataset.element_spec[1].shape[-1]
        return dataset.map(lambda x, y: (x, *masked_targets(y, heads)),
                           num_parallel_calls=tf.data.AUTOTUNE)

    def fit_datasets(self, config, fit_model, data, strategy=None):
        """Each task's batches from its own labelled examples (`task_batches`: in turn under
        "alternating", joined under "joint"; heads of loss weight 0 left out), and the
        validation examples in plain batches. Under a distributed strategy: the trainer's
        shuffled batches of mixed examples (the alternating rule then takes the heads in
        turn on each mixed batch)."""
        from keras_dl import data as datasets
        from keras_dl import distribute

        if strategy is not None and distribute.is_distributed(strategy):
            return None
        x_fit, y_fit = self.targets(data.x_fit, data.y_fit)
        x_val, y_val = self.targets(data.x_val, data.y_val)
        weights = loss_weights_of(fit_model)
        train = task_batches(x_fit, y_fit, config["batch_size"], seed=config["seed"],
                             heads=[k for k, w in enumerate(weights) if w > 0],
                             together=mode_of(fit_model) == "joint")
        validation = datasets.to_dataset(x_val, y_val, config["batch_size"])
        return self.adapt_dataset(train, fit_model), self.adapt_dataset(validation, fit_model), {}

    def check_run(self, config):
        """The heads' class counts must be the dataset's label sets' (labels beyond a head's
        classes would train on nothing, or fail)."""
        from keras_dl import data as datasets

        expected = getattr(datasets.info(config["dataset"]), "head_classes", None)
        given = config["builder_kwargs"].get("head_classes")
        if expected is not None and given is not None and tuple(given) != tuple(expected):
            raise ValueError(f"head_classes {tuple(given)} do not match dataset "
                             f"{config['dataset']!r}, whose label sets have "
                             f"{tuple(expected)} classes; leave head_classes out or give "
                             "those")

    def monitor_key(self, monitor, fit_model=None):
        """"val_accuracy" (and "accuracy") is the first head's."""
        if fit_model is None or not monitor.endswith("accuracy"):
            return monitor
        first = head_names(fit_model)[0]
        return monitor.replace("accuracy", f"{first}_accuracy")

    def evaluate(self, model, dataset, **kwargs):
        """Each head's loss and accuracy on its labelled examples, and the weighted sum."""
        return model.evaluate(self.adapt_dataset(dataset, model), verbose=0,
                              return_dict=True, **kwargs)

    def output_names(self, model):
        """One per head: `{head}_probabilities` (`{head}_logits` without a softmax)."""
        return tuple(f"{layer.name}_{_probability_or(layer, 'logits')}"
                     for layer in compat.output_layers(model))

    def smoke_labels(self, info, count=4):
        classes = info.smoke_kwargs["head_classes"]
        return np.stack([np.arange(count) % c for c in classes], axis=1).astype("int32")

    def smoke_fit_data(self, info, model, fit_model, x):
        labels = self.smoke_labels(info, len(x))
        return x, tuple(labels[:, k] for k in range(labels.shape[1]))

    def smoke_output_shape(self, info, model):
        return tuple((c,) for c in info.smoke_kwargs["head_classes"])
