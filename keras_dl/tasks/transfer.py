"""Transfer learning: train a new head on a frozen trunk, then fine-tune everything slowly.

The registered model (`keras_dl.models.transfer`) is the classifier that is served: a trunk
cut from a source network (a nested model named "trunk") and a new head ("head"). Training
follows the usual recipe (Yosinski et al. 2014; Keras' transfer-learning guide):

1. for the first `head_epochs` epochs only the head learns: the trunk's weights do not move
   at all (bit for bit);
2. the later epochs fine-tune everything, the trunk at `finetune_rate` times the run's
   learning rate, so the head does not wreck the features it was fitted to.

Throughout, the trunk runs in inference mode (`training=False`): batch norm uses and keeps
the statistics learnt on the source data (small batches of new classes would otherwise
replace them), and the trunk's dropout is off.

How (the training model, `TransferTraining`): one optimizer updates every weight; after
each step the trunk's weights are moved back to `old + rate × (new − old)`, `rate` being a
variable that `TrunkRate` sets at each epoch's start (0 during the head epochs, then
`finetune_rate`). Scaling the step, rather than the gradient, is a true per-weight learning
rate for every optimizer (Adam's step does not change when its gradients are scaled) and
covers decoupled weight decay and regularisation losses too; with rate 0 the trunk's weights
are restored exactly. A resumed run continues in the phase its epoch is in.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_dl import compat
from keras_dl.tasks.base import _probability_or, uses_logits
from keras_dl.tasks.classification import Classification
from keras_dl.tasks.losses import classification_loss

TRUNK, HEAD = "trunk", "head"


@keras.saving.register_keras_serializable(package="keras_dl")
class TransferTraining(keras.Model):
    """The training model of a transfer network: `head(trunk(x, training=False))`, whose
    train step scales the trunk's update by `trunk_rate` (see the module docstring). It
    shares every weight with the served network."""

    def __init__(self, trunk, head, trunk_rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.trunk = trunk
        self.head = head
        self.trunk_rate = keras.Variable(float(trunk_rate), trainable=False, dtype="float32",
                                         name="trunk_rate")

    def call(self, inputs, training=None):
        return self.head(self.trunk(inputs, training=False), training=training)

    def train_step(self, *arguments):
        if keras.backend.backend() == "jax":
            return self._stateless_train_step(*arguments)
        weights = self.trunk.trainable_variables
        before = [ops.copy(weight.value) for weight in weights]
        logs = super().train_step(*arguments)
        rate = self.trunk_rate.value
        for weight, old in zip(weights, before):
            weight.assign(_blend(old, weight.value, rate))
        return logs

    def _stateless_train_step(self, state, data):
        """The same on Keras' JAX trainer, whose step takes and returns the variables' values
        (trainable, non-trainable, optimizer's, metrics'): the trunk's new values blended
        with the old ones in the returned state."""
        logs, (trainable, non_trainable, *rest) = super().train_step(state, data)
        rate = non_trainable[[id(v) for v in self.non_trainable_variables].index(
            id(self.trunk_rate))]
        trunk = {id(weight) for weight in self.trunk.trainable_variables}
        trainable = [_blend(old, new, rate) if id(variable) in trunk else new
                     for variable, old, new in zip(self.trainable_variables, state[0],
                                                   trainable)]
        return logs, (trainable, non_trainable, *rest)

    def get_config(self):
        return {"name": self.name, "trunk_rate": float(ops.convert_to_numpy(self.trunk_rate)),
                "trunk": keras.saving.serialize_keras_object(self.trunk),
                "head": keras.saving.serialize_keras_object(self.head)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        trunk = keras.saving.deserialize_keras_object(config.pop("trunk"))
        head = keras.saving.deserialize_keras_object(config.pop("head"))
        return cls(trunk, head, **config)


def _blend(old, new, rate):
    """`old + rate × (new − old)`, exactly `old` at rate 0 and `new` at rate 1."""
    return ops.where(ops.equal(rate, 1.0), new,
                     ops.where(ops.equal(rate, 0.0), old,
                               old + ops.cast(rate, old.dtype) * (new - old)))


def trunk_rate(epoch: int, head_epochs: int, finetune_rate: float) -> float:
    """The trunk's learning-rate multiplier in `epoch` (0-based): 0 while the head alone
    trains, `finetune_rate` after."""
    return 0.0 if epoch < head_epochs else float(finetune_rate)


class TrunkRate(keras.callbacks.Callback):
    """Sets the training model's `trunk_rate` at each epoch's start (`trunk_rate`); a resumed
    run starts at its next epoch, so it continues in that epoch's phase."""

    def __init__(self, fit_model: TransferTraining, head_epochs: int, finetune_rate: float):
        super().__init__()
        self.fit_model = fit_model
        self.head_epochs = head_epochs
        self.finetune_rate = finetune_rate

    def on_epoch_begin(self, epoch, logs=None):
        self.fit_model.trunk_rate.assign(trunk_rate(epoch, self.head_epochs,
                                                    self.finetune_rate))


class Transfer(Classification):
    """A classifier made of a source network's trunk and a new head, trained head first,
    then fine-tuned (see the module docstring). Served, evaluated and exported as the
    classifier it is."""

    name = "transfer"
    mixed_precision = False
    pretraining = False
    attackable = False

    def training_model(self, model, info, make_optimizer):
        """`TransferTraining` over the model's trunk and head, compiled as the classifier is;
        its `trunk_rate` starts at epoch 0's (for a `fit` without the task's `TrunkRate`:
        the first phase throughout)."""
        fit_model = TransferTraining(
            model.get_layer(TRUNK), model.get_layer(HEAD),
            trunk_rate(0, getattr(model, "head_epochs", 0), getattr(model, "finetune_rate", 1.0)),
            name=f"{model.name}_training")
        fit_model(ops.zeros((1, *model.inputs[0].shape[1:])))  # built: a backup can restore it
        fit_model.compile(
            optimizer=make_optimizer(),
            loss=classification_loss(getattr(info, "loss", None), uses_logits(model)),
            metrics=["accuracy"])
        return fit_model

    def training_callbacks(self, fit_model, config):
        kwargs = config["builder_kwargs"]
        return [TrunkRate(fit_model, kwargs["head_epochs"], kwargs["finetune_rate"])]

    def output_names(self, model):
        layer = compat.output_layers(model)[0]
        while isinstance(layer, keras.Model):  # the head's classifier names the output
            layer = compat.output_layers(layer)[0]
        return (_probability_or(layer, "logits"),)

    def smoke_fit_data(self, info, model, fit_model, x):
        return self.targets(x, self.smoke_labels(info, len(x)))
