"""The loss functions of lecture 004, for classifiers trained on integer labels.

Lecture 004 ("types of loss functions") lists, for an output ŷ and a target y:

- the quadratic loss `L₂(ŷ, y) = ‖ŷ − y‖₂²` (`SquaredError`),
- the absolute loss `L₁(ŷ, y) = ‖ŷ − y‖₁` (`AbsoluteError`),
- the zero-one loss `1(argmax ŷ ≠ c)` (`ZeroOneError`, a metric: its gradient is zero almost
  everywhere, so no network is trained on it; it is one minus the accuracy),
- the categorical cross-entropy `−log ŷ_c` (Keras' `SparseCategoricalCrossentropy`).

For a classifier, ŷ is the vector of class probabilities (the softmax of the logits when the
model outputs logits) and y the one-hot code of the label c. `classification_loss(name,
from_logits)` gives the loss by its `keras-dl train --loss` name.
"""

from __future__ import annotations

import keras
from keras import ops

CLASSIFICATION_LOSSES = ("cross_entropy", "l2", "l1")


def _probabilities_and_one_hot(labels, outputs, from_logits):
    probabilities = ops.softmax(outputs, axis=-1) if from_logits else outputs
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    one_hot = ops.one_hot(labels, ops.shape(probabilities)[-1], dtype=probabilities.dtype)
    return probabilities, one_hot


class _LossAgainstOneHot(keras.losses.Loss):
    """A loss of the class probabilities ŷ and the one-hot label: `distance(ŷ − onehot(c))`
    summed over the classes."""

    def __init__(self, from_logits=False, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        probabilities, one_hot = _probabilities_and_one_hot(y_true, y_pred, self.from_logits)
        return ops.sum(self.distance(probabilities - one_hot), axis=-1)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="keras_dl")
class SquaredError(_LossAgainstOneHot):
    """`‖ŷ − onehot(c)‖₂²`: the quadratic loss between the class probabilities and the one-hot
    label, summed over the classes (lecture 004).

    Its gradient through a softmax vanishes when the wrong class is confidently predicted
    (ŷ_c → 0 makes ∂ŷ_c/∂z small), which is why cross-entropy trains classifiers faster.

    Args:
        from_logits: the model's outputs are logits (a softmax is applied first).
    """

    def __init__(self, from_logits=False, name="squared_error", **kwargs):
        super().__init__(from_logits=from_logits, name=name, **kwargs)

    distance = staticmethod(ops.square)


@keras.saving.register_keras_serializable(package="keras_dl")
class AbsoluteError(_LossAgainstOneHot):
    """`‖ŷ − onehot(c)‖₁`: the absolute loss between the class probabilities and the one-hot
    label, summed over the classes (lecture 004). For probabilities it equals `2(1 − ŷ_c)`.

    Args:
        from_logits: the model's outputs are logits (a softmax is applied first).
    """

    def __init__(self, from_logits=False, name="absolute_error", **kwargs):
        super().__init__(from_logits=from_logits, name=name, **kwargs)

    distance = staticmethod(ops.abs)


def zero_one_loss(y_true, y_pred):
    """`1(argmax ŷ ≠ c)` per example: 1 for a misclassified example, 0 otherwise."""
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    return ops.cast(ops.not_equal(predicted, labels), "float32")


@keras.saving.register_keras_serializable(package="keras_dl")
class ZeroOneError(keras.metrics.MeanMetricWrapper):
    """The mean zero-one loss: the share of misclassified examples (1 − accuracy)."""

    def __init__(self, name="zero_one_error", dtype=None):
        super().__init__(zero_one_loss, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def classification_loss(name: str | None, from_logits: bool) -> keras.losses.Loss:
    """The classifier loss named `name` (`CLASSIFICATION_LOSSES`; None: cross-entropy)."""
    if name in (None, "cross_entropy"):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    if name == "l2":
        return SquaredError(from_logits=from_logits)
    if name == "l1":
        return AbsoluteError(from_logits=from_logits)
    if name in ("zero_one", "0-1"):
        raise ValueError(f"loss {name!r} cannot be trained on (its gradient is zero almost "
                         "everywhere): it is reported as 1 − accuracy; allowed: "
                         f"{', '.join(CLASSIFICATION_LOSSES)}")
    raise ValueError(f"unknown loss {name!r} for a classifier; allowed: "
                     f"{', '.join(CLASSIFICATION_LOSSES)}")
