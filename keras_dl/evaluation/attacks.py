"""Adversarial examples (lectures 002 §8.6 and 004): the fast gradient sign method, its
iterative form and projected gradient descent, for any classifier.

Goodfellow, Shlens & Szegedy 2015 ("Explaining and harnessing adversarial examples") perturb an
input by one step of size ε along the sign of the loss gradient,

    x_adv = clip(x + ε · sign(∇ₓ L(f(x), y)))          (untargeted FGSM)
    x_adv = clip(x − ε · sign(∇ₓ L(f(x), t)))          (targeted: towards class t)

where L is the cross-entropy and `clip` keeps the input's valid range. Kurakin, Goodfellow &
Bengio 2017 repeat small steps of size α and clip to the ε-ball around x after each (the basic
iterative method); Madry et al. 2018 start that iteration from a uniformly random point of the
ε-ball (projected gradient descent, PGD). All three work on models that output probabilities
(a softmax or sigmoid output layer) or logits: the loss is taken from the output the way
`keras_dl.tasks.base.uses_logits` reads the model.

The gradient is taken by TensorFlow (`tf.GradientTape` inside one compiled `tf.function` per
model), batch by batch.

Example:
```python
from keras_dl.evaluation import attacks
x_adv = attacks.fgsm(model, x_test, y_test, eps=0.1)
attacks.attack_curve(model, x_test, y_test, [0.0, 0.05, 0.1, 0.25], attack="pgd")
```
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
import tensorflow as tf

from keras_dl.tasks.base import uses_logits

ATTACKS = ("fgsm", "iterative_fgsm", "pgd")
DEFAULT_RANGE = (0.0, 1.0)  # keras_dl's images
DEFAULT_STEPS = 10
# α = 2.5 ε / steps: the step size MadryLab's `robustness` library evaluates its PGD with
# (README: "a step size of 2.5 * ε-test / num_steps"), so the ε-ball's far side is reachable.
STEP_SIZE_FACTOR = 2.5


# === Checks ======================================================================================


def _check_classifier(model) -> int:
    """The number of classes of `model`, or ValueError when it is not a one-output classifier."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"an attack needs a keras.Model classifier, got {type(model).__name__}")
    if len(model.outputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(model.outputs)} outputs; an attack needs "
                         "a classifier with one output of shape (batch, classes)")
    shape = tuple(model.outputs[0].shape)
    if len(shape) != 2 or shape[-1] is None or shape[-1] < 2:
        raise ValueError(f"model {model.name!r} is not a classifier: its output has shape "
                         f"{shape}; an attack needs (batch, classes) with at least 2 classes")
    return int(shape[-1])


def _check_range(clip):
    if (not isinstance(clip, (tuple, list)) or len(clip) != 2
            or not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in clip)
            or not clip[0] < clip[1]):
        raise ValueError(f"bad input range {clip!r}; allowed: (low, high) with low < high")
    return float(clip[0]), float(clip[1])


def check_eps(eps, clip=DEFAULT_RANGE) -> float:
    """`eps` as a float, or ValueError naming it and the allowed interval [0, high − low]."""
    low, high = _check_range(clip)
    if (not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not math.isfinite(eps)
            or not 0 <= eps <= high - low):
        raise ValueError(f"bad eps {eps!r}; allowed: a number in [0, {high - low:g}] "
                         f"(the input range is [{low:g}, {high:g}])")
    return float(eps)


def _check_labels(labels, count, classes, what="label"):
    labels = np.asarray(labels)
    if labels.ndim == 0:
        labels = np.full(count, labels)
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"bad {what}s: expected {count} integer class indices, got an array of "
                         f"shape {labels.shape} and dtype {labels.dtype}")
    bad = labels[(labels < 0) | (labels >= classes)]
    if bad.size:
        raise ValueError(f"{what} {int(bad[0])} is outside the model's classes 0..{classes - 1}")
    return labels.astype("int32")


def _check_inputs(model, x, clip):
    x = np.asarray(x, dtype="float32")
    expected = tuple(model.inputs[0].shape[1:])
    if x.shape[1:] != expected or x.ndim != len(expected) + 1:
        raise ValueError(f"inputs of shape {x.shape} do not fit model {model.name!r}: "
                         f"expected (batch, {', '.join(str(d) for d in expected)})")
    low, high = clip
    if x.size and (x.min() < low or x.max() > high):
        raise ValueError(f"inputs lie in [{x.min():g}, {x.max():g}], outside the input range "
                         f"[{low:g}, {high:g}]; give the range with clip=(low, high)")
    return x


def _positive_int(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"bad {name} {value!r}; allowed: a positive integer")
    return int(value)


# === The gradient step ===========================================================================


class _Stepper:
    """One compiled function per model: sign(∇ₓ L(f(x), labels)) for a batch."""

    _cache: dict = {}

    def __init__(self, model):
        self.model = model
        self.from_logits = uses_logits(model)

        @tf.function(reduce_retracing=True)
        def gradient_sign(x, labels):
            with tf.GradientTape() as tape:
                tape.watch(x)
                output = self.model(x, training=False)
                loss = keras.losses.sparse_categorical_crossentropy(
                    labels, output, from_logits=self.from_logits)
            return tf.sign(tape.gradient(loss, x))

        self.gradient_sign = gradient_sign

    @classmethod
    def of(cls, model) -> "_Stepper":
        stepper = cls._cache.get(id(model))
        if stepper is None or stepper.model is not model:
            stepper = cls._cache[id(model)] = cls(model)
        return stepper


def _batches(count, batch_size):
    for start in range(0, count, batch_size):
        yield slice(start, min(start + batch_size, count))


def _run(model, x, labels, *, eps, steps, step_size, targeted, random_start, clip, seed,
         batch_size):
    stepper = _Stepper.of(model)
    low, high = clip
    direction = -1.0 if targeted else 1.0  # a targeted attack descends the target's loss
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    for part in _batches(len(x), batch_size):
        origin = x[part]
        current = origin.copy()
        if random_start:
            current = np.clip(current + rng.uniform(-eps, eps, size=current.shape)
                              .astype("float32"), low, high)
        for _ in range(steps):
            sign = stepper.gradient_sign(tf.constant(current), tf.constant(labels[part])).numpy()
            current = current + direction * step_size * sign
            current = np.clip(current, origin - eps, origin + eps)  # the ε-ball (L∞)
            current = np.clip(current, low, high)  # the valid input range
        out[part] = current
    return out


# === The attacks =================================================================================


def fgsm(model, x, y, eps, *, target=None, clip=DEFAULT_RANGE, batch_size=256):
    """Fast gradient sign method (Goodfellow et al. 2015): x + ε·sign(∇ₓL(x, y)), clipped to
    `clip`; with `target` (a class index, or one per example), x − ε·sign(∇ₓL(x, target)).

    Args:
        model: a classifier with one output (batch, classes), probabilities or logits.
        x: inputs, a NumPy array in the range `clip`.
        y: the true class indices (used by the untargeted attack).
        eps: the perturbation's L∞ size, in [0, high − low].
        target: the class(es) to push towards (targeted attack), or None.
        clip: the valid input range (low, high).
        batch_size: examples per gradient computation.

    Returns:
        The adversarial inputs, float32, the shape of `x`.
    """
    return attack(model, x, y, "fgsm", eps, target=target, clip=clip, batch_size=batch_size)


def iterative_fgsm(model, x, y, eps, *, steps=DEFAULT_STEPS, step_size=None, target=None,
                   clip=DEFAULT_RANGE, batch_size=256):
    """The basic iterative method (Kurakin et al. 2017): `steps` FGSM steps of `step_size`
    (default 2.5 ε / steps) from x, each followed by clipping to the ε-ball and to `clip`."""
    return attack(model, x, y, "iterative_fgsm", eps, steps=steps, step_size=step_size,
                  target=target, clip=clip, batch_size=batch_size)


def pgd(model, x, y, eps, *, steps=DEFAULT_STEPS, step_size=None, random_start=True,
        target=None, clip=DEFAULT_RANGE, seed=None, batch_size=256):
    """Projected gradient descent (Madry et al. 2018): the iterative method started from a
    uniformly random point of the ε-ball around x (`random_start`, drawn with `seed`)."""
    return attack(model, x, y, "pgd", eps, steps=steps, step_size=step_size,
                  random_start=random_start, target=target, clip=clip, seed=seed,
                  batch_size=batch_size)


def attack(model, x, y, name, eps, *, steps=DEFAULT_STEPS, step_size=None, random_start=None,
           target=None, clip=DEFAULT_RANGE, seed=None, batch_size=256):
    """The adversarial inputs of attack `name` (one of `ATTACKS`); see `fgsm`, `iterative_fgsm`
    and `pgd` for the arguments. ValueError, naming the bad value and what is allowed, for an
    unknown attack, a model that is not a classifier, ε < 0 or beyond the input range, inputs
    of the wrong shape or outside the range, and labels outside the model's classes."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; allowed: {', '.join(ATTACKS)}")
    classes = _check_classifier(model)
    clip = _check_range(clip)
    eps = check_eps(eps, clip)
    x = _check_inputs(model, x, clip)
    batch_size = _positive_int("batch size", batch_size)
    targeted = target is not None
    labels = _check_labels(target if targeted else y, len(x), classes,
                           "target" if targeted else "label")
    if name == "fgsm":
        steps, step_size, random_start = 1, eps, False
    else:
        steps = _positive_int("steps", steps)
        if step_size is None:
            step_size = STEP_SIZE_FACTOR * eps / steps
        elif (not isinstance(step_size, numbers.Real) or isinstance(step_size, bool)
              or not math.isfinite(step_size) or step_size <= 0):
            raise ValueError(f"bad step size {step_size!r}; allowed: a positive number")
        random_start = (name == "pgd") if random_start is None else bool(random_start)
    if eps == 0 or len(x) == 0:
        return x.copy()
    return _run(model, x, labels, eps=eps, steps=steps, step_size=float(step_size),
                targeted=targeted, random_start=random_start, clip=clip, seed=seed,
                batch_size=batch_size)


# === Evaluation under attack =====================================================================


def probabilities(model, x, batch_size=256) -> np.ndarray:
    """The model's class probabilities on `x` (a softmax over logits when it outputs logits)."""
    output = model.predict(x, batch_size=batch_size, verbose=0)
    return keras.ops.convert_to_numpy(keras.ops.softmax(output)) if uses_logits(model) else output


def attack_curve(model, x, y, epsilons, attack_name="fgsm", **options) -> list[dict]:
    """Accuracy and mean confidence of `model` under attack `attack_name` for each ε.

    Returns one dict per ε: `eps`, `accuracy` (the share of adversarial inputs still classified
    as `y`), `error` (1 − accuracy), `mean_confidence` (the mean of the largest class
    probability, whatever the class: Goodfellow et al. 2015's "confidence" of the mistakes)
    and `mean_confidence_wrong` (the same over the misclassified inputs only; None when there
    are none). ε = 0 gives the clean figures. `options` go to `attack`.
    """
    epsilons = list(epsilons)
    if not epsilons:
        raise ValueError("empty list of eps; give at least one eps")
    classes = _check_classifier(model)
    labels = _check_labels(y, len(np.asarray(x)), classes)
    rows = []
    for eps in epsilons:
        adversarial = attack(model, x, labels, attack_name, eps, **options)
        probs = probabilities(model, adversarial)
        predicted = probs.argmax(axis=1)
        confidence = probs.max(axis=1)
        wrong = predicted != labels
        rows.append({"eps": float(eps), "accuracy": float(np.mean(~wrong)),
                     "error": float(np.mean(wrong)),
                     "mean_confidence": float(confidence.mean()),
                     "mean_confidence_wrong": float(confidence[wrong].mean()) if wrong.any()
                     else None})
    return rows


def transfer(source, target, x, y, eps, attack_name="fgsm", **options) -> dict:
    """How often the adversarial examples made for `source` also fool `target` (Szegedy et
    al. 2014 found them to transfer between models; Goodfellow et al. 2015 §8 measure it
    between a maxout network and its adversarially trained twin).

    Returns `eps`, `source_error` and `target_error` (the share of the examples each model
    misclassifies) and `target_error_where_source_fooled` (the same for `target`, over the
    examples that fool `source`; None when none does). `options` go to `attack`.
    """
    classes = _check_classifier(source)
    if _check_classifier(target) != classes or \
            tuple(target.inputs[0].shape[1:]) != tuple(source.inputs[0].shape[1:]):
        raise ValueError(f"models {source.name!r} and {target.name!r} differ in input shape or "
                         "classes; a transfer needs two classifiers of the same inputs and "
                         "classes")
    labels = _check_labels(y, len(np.asarray(x)), classes)
    adversarial = attack(source, x, labels, attack_name, eps, **options)
    source_wrong = probabilities(source, adversarial).argmax(axis=1) != labels
    target_wrong = probabilities(target, adversarial).argmax(axis=1) != labels
    return {"eps": float(eps), "source_error": float(source_wrong.mean()),
            "target_error": float(target_wrong.mean()),
            "target_error_where_source_fooled": float(target_wrong[source_wrong].mean())
            if source_wrong.any() else None}


__all__ = ["ATTACKS", "attack", "attack_curve", "check_eps", "fgsm", "iterative_fgsm", "pgd",
           "probabilities", "transfer"]
