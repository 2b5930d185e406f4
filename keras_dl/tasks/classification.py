"""Classification: `fit(x, labels)`, sparse categorical cross-entropy, accuracy.

Three tasks share it: plain classification; classification with auxiliary heads during
training (GoogLeNet, Szegedy et al. 2015, section 5: the auxiliary losses are added with weight
0.3 and the heads are discarded at inference); and classification after greedy layer-wise
pre-training (a DBN, Hinton et al. 2006; stacked autoencoders, Bengio et al. 2007), whose
pre-training runs by default.
"""

from __future__ import annotations

from keras_dl import compat
from keras_dl.tasks.base import Task, _probability_or, uses_logits
from keras_dl.tasks.losses import CLASSIFICATION_LOSSES, classification_loss


class Classification(Task):
    """`fit(x, labels)` with integer labels; outputs one probability (or logit) per class."""

    name = "classification"
    monitors = ("val_loss", "val_accuracy")
    augmentable = True
    mixed_precision = True
    pretraining = True  # on request (`--pretrain-unit`), for a stack of dense layers
    objectives = ("val_accuracy", "val_loss", "accuracy", "loss")
    losses = CLASSIFICATION_LOSSES
    attackable = True
    # 32 batches a call: LeNet-5's step is ~10 ms on 2 CPU cores, and one return to Python a
    # batch costs about a quarter of it (bench/RESULTS.md, "LeNet-5: keras_dl against PyTorch")
    steps_per_execution = 32

    def compile(self, model, optimizer, info=None):
        """Compile with the run's loss (`info.loss`, cross-entropy by default) and accuracy."""
        model.compile(
            optimizer=optimizer,
            loss=classification_loss(getattr(info, "loss", None), uses_logits(model)),
            metrics=["accuracy"],
        )
        return model

    def output_names(self, model):
        layers = compat.output_layers(model)
        if len(layers) > 1:
            return super().output_names(model)
        return (_probability_or(layers[0], "logits"),)

    def smoke_output_shape(self, info, model):
        if info.smoke_output_shape is not None:
            return tuple(info.smoke_output_shape)
        return (info.smoke_kwargs["num_classes"],)


class PretrainedClassification(Classification):
    """Classification whose hidden stack is pre-trained greedily, layer by layer, before the
    supervised fine-tuning: the registration's `pretraining` unit ("rbm" for a DBN) runs for
    `pretrain_epochs` (5 unless the model's `train_defaults` say otherwise) per layer."""

    name = "pretrained_classification"


class AuxiliaryClassification(Classification):
    """Classification trained through a model with auxiliary classifier heads.

    The registration's `task_options` name `training_model` (a function of the inference
    model returning a model with a dict of outputs, the main one "predictions", sharing every
    weight) and `loss_weights` (output name → weight). The same labels feed every output;
    early stopping on "val_accuracy" watches the main output; the saved, evaluated and
    exported model is the inference network alone.
    """

    name = "classification_with_aux"
    MAIN_OUTPUT = "predictions"

    def training_model(self, model, info, make_optimizer):
        options = info.task_options
        fit_model = options["training_model"](model)
        weights = dict(options["loss_weights"])
        fit_model.compile(
            optimizer=make_optimizer(),
            loss={key: classification_loss(getattr(info, "loss", None), uses_logits(model))
                  for key in weights},
            loss_weights=weights,
            metrics={self.MAIN_OUTPUT: ["accuracy"]},
        )
        return fit_model

    def adapt_dataset(self, dataset, fit_model):
        if fit_model is None or len(fit_model.outputs) == 1:
            return dataset
        import tensorflow as tf

        names = tuple(fit_model.output_names)

        def repeat_labels(x, y):  # the same labels for every output
            return x, {key: y for key in names}

        return dataset.map(repeat_labels, num_parallel_calls=tf.data.AUTOTUNE)

    def monitor_key(self, monitor, fit_model=None):
        if monitor.endswith("accuracy") and fit_model is not None and len(fit_model.outputs) > 1:
            return monitor.replace("accuracy", f"{self.MAIN_OUTPUT}_accuracy")
        return monitor
