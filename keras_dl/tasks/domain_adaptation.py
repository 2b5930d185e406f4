"""Unsupervised domain adaptation by domain-adversarial training (DANN; Ganin et al. 2016).

The registered model is the classifier that is served: a feature extractor (its layer named
"features") and a label predictor. `training_model` adds the domain classifier: the features
pass through a `GradientReversal` layer into a small network whose one logit says "target
domain". One `fit` then minimises

    E(θ_f, θ_y, θ_d) = L_y(source labels) + L_d(domains)          (Ganin et al. 2016, eq. 18)

in the label predictor's and domain classifier's weights, while the reversed gradient makes
the features *maximise* L_d: features that serve the labels and cannot tell the domains apart.

It trains on a domain-shift dataset (`keras_dl.data.domain_shift`): labelled source examples
and target examples whose label is hidden (−1). Each batch carries both. The label loss and
accuracy are the mean over the batch's source examples alone (the target's sample weight is 0,
the sources' n / n_source, so the mean is not diluted by the hidden labels), and the domain
loss is the mean over all. The reversal's strength follows λ_p = 2 / (1 + exp(−10 p)) − 1
over the training progress p (`ReversalSchedule`; §5.2.2), set before every batch, so the
task trains one batch per compiled call of `fit`. There is no early stopping, because the
domain term makes the total validation loss no measure of the label predictor. The best
checkpoint watches the source label loss, and the test metrics are the target domain's
accuracy.
"""

from __future__ import annotations

import keras

from keras_dl.data.domain_shift import UNLABELLED
from keras_dl.layers import GradientReversal, dann_lambda
from keras_dl.tasks.base import uses_logits
from keras_dl.tasks.classification import Classification

REVERSAL = "gradient_reversal"
LABEL, DOMAIN = "label", "domain"


class ReversalSchedule(keras.callbacks.Callback):
    """Sets the gradient reversal's λ before every training batch to λ_p = 2 / (1 + exp(−10 p))
    − 1 (`dann_lambda`), p the share of all training steps done. A resumed run continues
    the schedule where it was: p counts from epoch 0."""

    def __init__(self, layer: GradientReversal):
        super().__init__()
        self.layer = layer
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        steps = self.params.get("steps") or 1
        progress = (self._epoch * steps + batch) / max(1, self.params["epochs"] * steps)
        self.layer.strength.assign(dann_lambda(min(1.0, progress)))


class DomainAdaptation(Classification):
    """DANN: a classifier trained on labelled source and unlabelled target examples (see the
    module docstring). Served, evaluated and exported as the classifier it is."""

    name = "domain_adaptation"
    augmentable = False
    mixed_precision = False
    pretraining = False
    attackable = False
    early_stopping = False
    domain_shift = True
    losses = ("cross_entropy",)
    steps_per_execution = 1  # the reversal's λ is set before every batch (`ReversalSchedule`)

    def training_model(self, model, info, make_optimizer):
        """The classifier with the domain classifier on its features: a dict of outputs,
        "label" (the classifier's own output) and "domain" (a logit). The domain classifier
        has one hidden ReLU layer as wide as the label predictor's first (Ganin et al. 2016's
        MNIST network, §5.2.2 and Figure 4: 100 units, then the logistic output), or as wide
        as the features when the label predictor has no hidden layer."""
        features = model.get_layer("features").output
        hidden = [layer.units for layer in model.layers
                  if isinstance(layer, keras.layers.Dense) and layer.name.startswith("label_")]
        h = GradientReversal(0.0, name=REVERSAL)(keras.layers.Flatten(name="domain_flatten")(
            features))
        h = keras.layers.Dense(hidden[0] if hidden else features.shape[-1], activation="relu",
                               name="domain_dense1")(h)
        domain = keras.layers.Dense(1, name="domain_logit")(h)
        fit_model = keras.Model(model.input, {LABEL: model.output, DOMAIN: domain},
                                name=f"{model.name}_dann")
        fit_model.compile(
            optimizer=make_optimizer(),
            loss={LABEL: keras.losses.SparseCategoricalCrossentropy(
                      from_logits=uses_logits(model)),
                  DOMAIN: keras.losses.BinaryCrossentropy(from_logits=True)},
            weighted_metrics={LABEL: ["accuracy"]})
        return fit_model

    def adapt_dataset(self, dataset, fit_model):
        """Batches `(x, y)` with y = −1 for target examples, as `fit_model` takes them: a
        label (0 where hidden) and a domain (1 = target) per example, and sample weights that
        leave the hidden labels out of the label loss and make it the mean over the source
        examples: n / n_source for a source example of a batch of n, 0 for a target one."""
        if fit_model is None or len(fit_model.outputs) == 1:
            return dataset
        import tensorflow as tf

        def split(x, y):
            target = tf.equal(y, UNLABELLED)
            labels = tf.where(target, tf.zeros_like(y), y)
            domains = tf.cast(target, "float32")[:, None]
            source = 1.0 - domains[:, 0]
            label_weights = source * tf.cast(tf.size(source), "float32") / tf.maximum(
                tf.reduce_sum(source), 1.0)
            return x, {LABEL: labels, DOMAIN: domains}, {LABEL: label_weights,
                                                         DOMAIN: tf.ones_like(source)}

        return dataset.map(split, num_parallel_calls=tf.data.AUTOTUNE)

    def monitor_key(self, monitor, fit_model=None):
        if fit_model is None or len(fit_model.outputs) == 1:
            return monitor
        return monitor.replace("val_", f"val_{LABEL}_") if monitor.startswith("val_") else monitor

    def training_callbacks(self, fit_model, config):
        return [ReversalSchedule(fit_model.get_layer(REVERSAL))]

    def smoke_fit_data(self, info, model, fit_model, x):
        import numpy as np

        labels = self.smoke_labels(info, len(x))
        domains = (np.arange(len(x)) % 2).astype("float32")[:, None]
        return x, {LABEL: labels, DOMAIN: domains}
