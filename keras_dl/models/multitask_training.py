"""Training a multitask network one head at a time, and what its training needs to know of
it: its heads, the layers each head owns, the loss weights and rule the builder recorded.

`AlternatingTrainer` is the training model of the `multitask` task's "alternating" rule
(lecture 002 §8.5: "backpropagation comes from one head at a time"); the "joint" rule is
Keras' own multi-output `fit` and needs no trainer (`keras_dl.tasks.multitask`).
"""

from __future__ import annotations

import functools

import keras
from keras import ops

from keras_dl import compat

MODES = ("joint", "alternating")
DEFAULT_MODE = "joint"


# === The model's heads and options ==============================================================


def inference_model(model):
    """The multitask network itself (`model`, or the one an `AlternatingTrainer` trains)."""
    return model.model if isinstance(model, AlternatingTrainer) else model


def head_names(model) -> tuple[str, ...]:
    """The heads' names: the names of the layers that make the outputs, in output order."""
    return tuple(layer.name for layer in compat.output_layers(inference_model(model)))


def loss_weights_of(model) -> tuple[float, ...]:
    """The heads' loss weights the builder recorded (`head_loss_weights`); 1 each for a
    model loaded from a file, which does not carry them."""
    model = inference_model(model)
    weights = getattr(model, "head_loss_weights", None)
    return tuple(weights) if weights is not None else (1.0,) * len(model.outputs)


def mode_of(model) -> str:
    """"joint" or "alternating", as the builder recorded it (`multitask_mode`); "joint" for a
    model loaded from a file."""
    return getattr(inference_model(model), "multitask_mode", DEFAULT_MODE)


def head_layers(model) -> list[list]:
    """For each output, the layers only that output depends on (its head); every layer that
    several outputs share is the trunk. Found by walking the functional graph back from each
    output, so it holds for any multi-output network, not only the builder's."""
    model = inference_model(model)
    reached = []
    for tensor in model.outputs:
        layers, stack = {}, [tensor]
        while stack:
            layer, inputs = compat.producer(stack.pop())
            if layer is not None and id(layer) not in layers:
                layers[id(layer)] = layer
                stack.extend(inputs)
        reached.append(layers)
    return [[layer for key, layer in layers.items()
             if not any(key in other for other in reached if other is not layers)]
            for layers in reached]


def outputs_logits(model) -> bool:
    """True when the heads output logits (their layers have no softmax)."""
    return getattr(compat.output_layers(inference_model(model))[0], "activation",
                   None) is not keras.activations.softmax


def head_loss(from_logits: bool) -> keras.losses.Loss:
    """A head's loss: cross-entropy averaged over the examples whose sample weight is 1 (the
    examples that have the head's label), 0 when none has."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                      reduction="mean_with_sample_weight")


# === The alternating rule =======================================================================


@keras.saving.register_keras_serializable(package="keras_dl")
class AlternatingTrainer(keras.Model):
    """Trains a multitask network one head at a time (see the module docstring).

    Each training step backpropagates `w_k L_k` from one head k and applies the gradient to
    the trunk's and head k's weights only. Head k is the head whose turn it is (the
    optimizer's step count modulo the number of heads) when the batch has its labels, else
    the next head in turn that has labels in the batch; a batch without any label changes
    nothing. The batches of `task_batches(..., together=False)` hold one task each, in turn,
    so each step is that task's.

    Args:
        model: the multitask network (one output per head).
        loss_weights: each head's loss weight (default: the builder's).
        from_logits: whether the heads output logits (default: found from the model).
    """

    def __init__(self, model, loss_weights=None, from_logits=None, **kwargs):
        kwargs.setdefault("name", f"{model.name}_alternating")
        super().__init__(**kwargs)
        self.model = model
        self.heads = head_names(model)
        self.loss_weights = tuple(float(w) for w in (loss_weights or loss_weights_of(model)))
        self.from_logits = outputs_logits(model) if from_logits is None else bool(from_logits)
        self.head_loss = head_loss(self.from_logits)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.head_trackers = [keras.metrics.Mean(name=f"{head}_loss") for head in self.heads]
        self.accuracies = [keras.metrics.SparseCategoricalAccuracy(name=f"{head}_accuracy")
                           for head in self.heads]
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, *self.head_trackers, *self.accuracies]

    def compile(self, optimizer="adam", **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        if not self.optimizer.built:  # a restored backup finds the optimizer's slots
            self.optimizer.build(self.model.trainable_variables)

    def get_compile_config(self):
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer)}

    def compile_from_config(self, config):
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))

    def call(self, inputs, training=False):
        return self.model(inputs, training=training)

    def step_variables(self) -> list[list]:
        """For each head, the variables its step updates: the trunk's and its own."""
        heads = [[v for layer in layers for v in layer.trainable_variables]
                 for layers in head_layers(self.model)]
        owned = {id(v) for variables in heads for v in variables}
        trunk = [v for v in self.model.trainable_variables if id(v) not in owned]
        return [trunk + variables for variables in heads]

    def _head_losses(self, y, weights, outputs):
        return [self.head_loss(y_k, out_k, sample_weight=w_k)
                for y_k, w_k, out_k in zip(y, weights, outputs)]

    def _head_step(self, head, x, y, weights, variables):
        import tensorflow as tf  # the TF backend's autodiff, as the GAN trainer's

        with tf.GradientTape() as tape:
            outputs = list(self.model(x, training=True))
            losses = self._head_losses(y, weights, outputs)
            loss = self.loss_weights[head] * losses[head]
            if self.model.losses:
                loss = loss + ops.sum(ops.stack(self.model.losses))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss, ops.stack(losses), outputs

    def _no_step(self, x, y, weights):
        outputs = list(self.model(x, training=False))
        return ops.zeros(()), ops.stack(self._head_losses(y, weights, outputs)), outputs

    def _unpack(self, data):
        x, y, weights = keras.utils.unpack_x_y_sample_weight(data)
        y = tuple(y)
        weights = (tuple(weights) if weights is not None
                   else tuple(ops.ones(ops.shape(y_k)[:1]) for y_k in y))
        return x, y, weights

    def train_step(self, data):
        import tensorflow as tf

        x, y, weights = self._unpack(data)
        count = len(self.heads)
        labelled = ops.stack([ops.sum(w_k) > 0 for w_k in weights])
        order = (ops.cast(self.optimizer.iterations % count, "int32") + ops.arange(count)) % count
        candidates = ops.take(labelled, order)
        head = ops.where(ops.any(candidates),
                         ops.take(order, ops.argmax(ops.cast(candidates, "int32"))), count)
        variables = self.step_variables()
        branches = [functools.partial(self._head_step, k, x, y, weights, variables[k])
                    for k in range(count)] + [functools.partial(self._no_step, x, y, weights)]
        loss, losses, outputs = tf.switch_case(ops.cast(head, "int32"), branches)
        active = ops.one_hot(head, count)  # all zeros when no step was taken
        self.loss_tracker.update_state(loss, sample_weight=ops.sum(active))
        for k in range(count):
            self.head_trackers[k].update_state(losses[k], sample_weight=active[k])
            self.accuracies[k].update_state(y[k], outputs[k], sample_weight=weights[k] * active[k])
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data):
        x, y, weights = self._unpack(data)
        outputs = list(self.model(x, training=False))
        losses = self._head_losses(y, weights, outputs)
        total = sum(w * loss for w, loss in zip(self.loss_weights, losses))
        if self.model.losses:
            total = total + ops.sum(ops.stack(self.model.losses))
        batch = ops.cast(ops.shape(y[0])[0], "float32")  # weighted by batch, as Keras' own
        self.loss_tracker.update_state(total, sample_weight=batch)
        for k in range(len(self.heads)):
            self.head_trackers[k].update_state(losses[k], sample_weight=batch)
            self.accuracies[k].update_state(y[k], outputs[k], sample_weight=weights[k])
        return {metric.name: metric.result() for metric in self.metrics}

    def get_config(self):
        return {"name": self.name, "loss_weights": list(self.loss_weights),
                "from_logits": self.from_logits,
                "model": keras.saving.serialize_keras_object(self.model)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        model = keras.saving.deserialize_keras_object(config.pop("model"))
        return cls(model, **config)
