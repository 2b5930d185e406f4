"""Regularisation of a built model: weight penalties, input noise, first-layer-only training,
clean per-epoch error curves, and ensembles.

Lecture 001 (Aalto) lists the regularisation methods — weight decay `C = ... + λ‖W‖²`
(Tikhonov 1943), noise injected into the inputs (Sietsma & Dow 1991), early stopping, sparsity,
ensembles — and shows a network whose first layer alone is trained reaching 0.2 % training
error but 2 % test error on MNIST. Lecture 004 (Poznań) adds the L1 penalty `λ‖w‖₁`, which
"tends to select features", against L2, which "tends to weigh" them.

Every function here works on any built functional or sequential Keras model, not only
keras_dl's MLP (whose builder has `l1`, `l2`, `dropout` and `input_noise` knobs of its own):

- `with_weight_penalty(model, l1=..., l2=...)`: a copy whose every kernel (each layer with a
  `kernel_regularizer`: Dense, Conv1D/2D/3D, ...) carries `λ₁Σ|w| + λ₂Σw²`;
- `with_input_noise(model, stddev)`: a copy with Gaussian noise added to its inputs in training;
- `train_first_layer_only(model)`: freezes every layer with weights but the first;
- `EpochErrors`: a callback recording, after every epoch, the cross-entropy and the error of the
  model in inference mode (no dropout, no noise) on named data splits;
- `Ensemble`: independently trained classifiers evaluated as one, by averaging their class
  probabilities; `ensemble_curves` gives its per-epoch curves from its members' `EpochErrors`.
"""

from __future__ import annotations

import math

import keras
import numpy as np

# === Checks ===


def check_strength(name, value) -> float:
    """`value` as a float when it is a finite number >= 0, else `ValueError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a built keras.Model, got {type(model).__name__}")
    if not model.built or not model.weights:
        raise ValueError(f"model {model.name!r} has no weights; build it first")


def _copy(model, clone_function=None):
    """A clone of `model` (nested models too) holding a copy of its current weights."""
    clone = keras.models.clone_model(model, clone_function=clone_function, recursive=True)
    clone.set_weights(model.get_weights())
    return clone


# === Weight penalties and input noise ===


def with_weight_penalty(model, *, l1=0.0, l2=0.0):
    """A copy of `model`, same weights, whose every kernel carries `l1·Σ|w| + l2·Σw²`.

    Each layer that takes a `kernel_regularizer` (Dense, the convolutions, ...) gets
    `keras.regularizers.L1L2(l1, l2)` in place of any regulariser it had; biases are not
    penalised (as in the lecture's `λ‖W‖²`). Keras adds the penalties to the training loss
    (and reports them in `model.losses`).

    Args:
        model: a built functional or sequential model (left unchanged).
        l1: λ₁ ≥ 0 of the L1 penalty (lecture 004).
        l2: λ₂ ≥ 0 of the L2 penalty, weight decay (Tikhonov 1943; lecture 001).

    Returns:
        The new model, uncompiled.

    Raises:
        ValueError: a negative or non-finite λ, both λ zero, or a model without a kernel.
    """
    l1, l2 = check_strength("l1", l1), check_strength("l2", l2)
    if not (l1 or l2):
        raise ValueError("give l1 > 0 or l2 > 0 (both are 0: there is no penalty to add)")
    _check_model(model)
    penalised = []

    def clone_layer(layer):
        config = layer.get_config()
        if "kernel_regularizer" in config:
            config["kernel_regularizer"] = keras.regularizers.L1L2(l1=l1, l2=l2)
            penalised.append(layer.name)
        return layer.__class__.from_config(config)

    clone = _copy(model, clone_layer)
    if not penalised:
        raise ValueError(f"model {model.name!r} has no layer with a kernel to penalise "
                         "(Dense or convolution)")
    return clone


def with_input_noise(model, stddev, *, seed=None):
    """A copy of `model`, same weights, that adds `N(0, stddev²)` noise to its inputs while
    training (Sietsma & Dow 1991; lecture 001's "inject noise to inputs"). In inference the
    noise layer passes the input through, so the copy then computes what `model` computes.

    The noise layer is put into the copied graph itself (not in front of a nested copy), so the
    copy's output layer is still `model`'s: compiling for its task sees the same softmax.

    Raises:
        ValueError: `stddev` not a number > 0, or a model with several inputs.
    """
    stddev = check_strength("stddev", stddev)
    if stddev == 0:
        raise ValueError("stddev must be > 0 (0 adds no noise), got 0")
    _check_model(model)
    if len(model.inputs) != 1:
        raise ValueError(f"input noise needs a model with one input, {model.name!r} has "
                         f"{len(model.inputs)}")
    inputs = keras.Input(shape=model.inputs[0].shape[1:], name=model.inputs[0].name)
    noise = keras.layers.GaussianNoise(stddev, seed=seed, name="input_noise")
    if isinstance(model, keras.Sequential):
        clone = _copy(model)
        return keras.Sequential([inputs, noise, *clone.layers], name=model.name)

    def call_with_noise(layer, *args, **kwargs):
        # Every layer that reads the model's input reads the noisy input instead.
        args = tuple(noise(arg) if arg is inputs else arg for arg in args)
        return layer(*args, **kwargs)

    clone = keras.models.clone_model(model, input_tensors=inputs, call_function=call_with_noise)
    clone.set_weights(model.get_weights())
    return clone


# === Training the first layer only ===


def weighted_layers(model):
    """The layers of `model` that hold weights, in order, nested models opened."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            layers.extend(weighted_layers(layer))
        elif layer.weights:
            layers.append(layer)
    return layers


def train_first_layer_only(model):
    """Freeze every layer of `model` that holds weights except the first; return that layer.

    Lecture 001's "power demo": no regularisation, `W(1)` and `b(1)` trained, the layers above
    kept at their random initial values, and the network still fits its training set (0.2 %
    error on MNIST) while the test error (2 %) shows that it overfits. Compile `model` after
    calling this: Keras reads `trainable` when it builds the training step.

    Raises:
        ValueError: a model without weights.
    """
    _check_model(model)
    first, *rest = weighted_layers(model)
    first.trainable = True
    for layer in rest:
        layer.trainable = False
    return first


# === Error curves ===


def cross_entropy(probabilities, labels) -> float:
    """Mean `-log p(label)` of class probabilities `(n, classes)` for integer labels `(n,)`."""
    probabilities = np.asarray(probabilities, dtype="float64")
    picked = probabilities[np.arange(len(labels)), np.asarray(labels, dtype="int64")]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def error_rate(probabilities, labels) -> float:
    """The share of examples whose most probable class is not their label (0-1 loss)."""
    predicted = np.argmax(np.asarray(probabilities), axis=-1)
    return float(np.mean(predicted != np.asarray(labels).reshape(predicted.shape)))


def mean_probabilities(member_probabilities):
    """The ensemble's class probabilities: the mean over members of theirs (equal weights)."""
    stacked = np.stack([np.asarray(p, dtype="float64") for p in member_probabilities])
    return stacked.mean(axis=0)


def predict_probabilities(model, x, from_logits=False, batch_size=1000):
    """`model`'s class probabilities for `x` (numpy), in inference mode.

    Eager calls batch by batch rather than `model.predict`, which traces a new graph function
    for every model it meets (many short runs would each pay for a trace).
    """
    outputs = []
    for start in range(0, len(x), batch_size):
        output = model(x[start:start + batch_size], training=False)
        if from_logits:
            output = keras.ops.softmax(output, axis=-1)
        outputs.append(keras.ops.convert_to_numpy(output))
    return np.concatenate(outputs)


def split_errors(model, splits, from_logits=False) -> dict:
    """`{name: error}` of `model` (inference mode) on each split of `{name: (x, y)}`."""
    return {name: error_rate(predict_probabilities(model, x, from_logits), y)
            for name, (x, y) in splits.items()}


class EpochErrors(keras.callbacks.Callback):
    """Records, after every epoch, the data loss and the error on named splits, in inference.

    The loss and accuracy that `fit` reports for the training set are averaged over an epoch
    while the weights move, with dropout or input noise on and the weight penalty added; to
    compare regularisers the lectures' curves need the clean figures, so this callback predicts
    each split with the model as it is at the end of the epoch (`training=False`) and records
    the cross-entropy (without any penalty) and the error (0-1 loss).

    Args:
        splits: `{name: (x, y)}`, integer labels `y`.
        keep_probabilities: names of splits whose per-epoch class probabilities are kept in
            `probabilities[name]` (for an ensemble's curve).
        from_logits: the model outputs logits (a softmax is applied first).
        batch_size: prediction batch size.

    After training, `history[f"{name}_loss"]` and `history[f"{name}_error"]` are lists with one
    value per epoch.
    """

    def __init__(self, splits, keep_probabilities=(), from_logits=False, batch_size=1000):
        super().__init__()
        unknown = sorted(set(keep_probabilities) - set(splits))
        if unknown:
            raise ValueError(f"keep_probabilities names {unknown}, not a split; splits: "
                             f"{', '.join(splits)}")
        self.splits = dict(splits)
        self.keep_probabilities = tuple(keep_probabilities)
        self.from_logits = from_logits
        self.batch_size = batch_size
        self.history = {f"{name}_{what}": [] for name in splits for what in ("loss", "error")}
        self.probabilities = {name: [] for name in self.keep_probabilities}

    def predict(self, x):
        """Class probabilities of the model for `x`, in inference mode."""
        return predict_probabilities(self.model, x, self.from_logits, self.batch_size)

    def on_epoch_end(self, epoch, logs=None):
        for name, (x, y) in self.splits.items():
            probabilities = self.predict(x)
            self.history[f"{name}_loss"].append(cross_entropy(probabilities, y))
            self.history[f"{name}_error"].append(error_rate(probabilities, y))
            if name in self.probabilities:
                self.probabilities[name].append(probabilities.astype("float32"))


# === Ensembles ===


def ensemble_curves(member_curves, splits) -> dict:
    """Per-epoch cross-entropy and error of an ensemble, from its members' `EpochErrors`.

    Args:
        member_curves: one `EpochErrors` per member, each run for the same epochs and each
            keeping the probabilities of every split named in `splits`.
        splits: `{name: (x, y)}`; only the labels `y` are used.

    Returns:
        `{f"{name}_loss": [...], f"{name}_error": [...]}`: at each epoch, the measures of the
        mean of the members' probabilities at that epoch.
    """
    curves = {}
    for name, (_, labels) in splits.items():
        missing = [i for i, c in enumerate(member_curves) if not c.probabilities.get(name)]
        if missing:
            raise ValueError(f"members {missing} kept no {name!r} probabilities; give "
                             f"EpochErrors(..., keep_probabilities=({name!r},))")
        per_epoch = [mean_probabilities(epoch) for epoch in
                     zip(*(c.probabilities[name] for c in member_curves), strict=True)]
        curves[f"{name}_loss"] = [cross_entropy(p, labels) for p in per_epoch]
        curves[f"{name}_error"] = [error_rate(p, labels) for p in per_epoch]
    return curves


@keras.saving.register_keras_serializable(package="keras_dl")
class Ensemble(keras.Model):
    """Independently trained classifiers as one model: the mean of their class probabilities.

    Lecture 001 lists "ensembles" among the regularisation methods: averaging the predictions
    of several networks trained from different random starts approximates the lecture's
    average over explanations θ, `P(y|X) = ∫ P(y|θ, X) P(θ|X) dθ`, better than any single one.
    The members keep their own weights (shared with the models passed in); compile the
    ensemble to `evaluate` it (it is not meant to be trained as one).

    Args:
        members: two or more models with the same input and output shapes.
        from_logits: the members output logits; each is turned into probabilities by a
            softmax before the average.
    """

    def __init__(self, members, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        members = list(members)
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        shapes = {(tuple(m.input_shape), tuple(m.output_shape)) for m in members}
        if len(shapes) > 1:
            raise ValueError(f"ensemble members differ in (input, output) shapes: "
                             f"{sorted(map(str, shapes))}; give members of one shape")
        self.members = members
        self.from_logits = from_logits

    def call(self, inputs, training=False):
        outputs = [member(inputs, training=training) for member in self.members]
        if self.from_logits:
            outputs = [keras.ops.softmax(output, axis=-1) for output in outputs]
        return keras.ops.mean(keras.ops.stack(outputs, axis=0), axis=0)

    def get_config(self):
        config = super().get_config()
        config.update({
            "members": [keras.saving.serialize_keras_object(m) for m in self.members],
            "from_logits": self.from_logits,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["members"] = [keras.saving.deserialize_keras_object(m)
                             for m in config["members"]]
        return cls(**config)
