"""Adversarial training (lectures 002 §8.6 and 004): a classifier trained on fresh adversarial
examples of itself, batch after batch.

Goodfellow, Shlens & Szegedy 2015 (§6) train on the mixed objective

    J̃(θ, x, y) = α · J(θ, x, y) + (1 − α) · J(θ, x + ε · sign(∇ₓ J(θ, x, y)), y)

with α = 0.5, the adversarial examples made anew from the current weights at every step.
Madry et al. 2018 train on the adversarial term alone (α = 0) with the examples of projected
gradient descent from a random start in the ε-ball, the inner maximisation of their min-max
objective. Which attack, ε and α is the `--adversarial` spec (`keras_dl.tasks.adversarial_spec`).

It is a task, not a branch in the trainer: `adversarial(base_task, spec)` is the classifier's
own task (plain, with auxiliary heads, or pre-trained) whose training model is an
`AdversarialTrainer`: the same layers (every weight shared with the inference network), the same
compiled loss and metrics, and a `train_step` that makes the adversarial batch (the gradient
with respect to the inputs, in the compiled step) and trains on clean and adversarial examples
in one batch, weighted 2α and 2(1 − α), so that the mean over the doubled batch is exactly
α · J(x) + (1 − α) · J(x_adv) (as Kurakin et al. 2017 mix them in one batch; batch
normalisation sees both). Validation also reports `adversarial_accuracy`, the accuracy on the
adversarial examples of the validation batch, and the test metrics gain
`test_adversarial_accuracy`. The saved `model.keras` is the inference network alone.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_dl.tasks import adversarial_spec
from keras_dl.tasks.base import Task, uses_logits


@keras.saving.register_keras_serializable(package="keras_dl")
class AdversarialTrainer(keras.Model):
    """A functional classifier network trained on its own adversarial examples.

    Args (beside the functional model's `inputs` and `outputs`):
        adversarial: the attack, a spec string or record (`keras_dl.tasks.adversarial_spec`)
            with single values.
        from_logits: whether the classifier outputs logits.
        main_output: with a dict of outputs (auxiliary heads), the one the attack and
            `adversarial_accuracy` read; None for a single output.
    """

    def __init__(self, *args, adversarial=None, from_logits=False, main_output=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.adversarial = adversarial_spec.check_single(adversarial_spec.parse(adversarial))
        self.from_logits = bool(from_logits)
        self.main_output = main_output
        self.attack_seed = keras.random.SeedGenerator()  # PGD's random starts; backed up
        self.adversarial_accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="adversarial_accuracy")

    # === The attack, inside the compiled step ===================================================

    def _main(self, outputs):
        return outputs[self.main_output] if self.main_output is not None else outputs

    def adversarial_examples(self, x, y):
        """The attack's examples for the batch `x` with labels `y`: `steps` signed-gradient
        steps of the cross-entropy (one of size ε for FGSM), each projected back onto the
        ε-ball around `x` and into the valid range; PGD starts from a uniform point of the
        ball. The weights are used as they are now, in inference mode."""
        spec = self.adversarial
        eps = float(spec["eps"])
        low, high = spec["range"]
        labels = self._main(y)
        x = tf.convert_to_tensor(x)
        current = x
        if spec["attack"] == "pgd":
            start = keras.random.uniform(tf.shape(x), -eps, eps, dtype=x.dtype,
                                         seed=self.attack_seed)
            current = tf.clip_by_value(x + start, low, high)
        step = adversarial_spec.step_size(spec)
        for _ in range(spec.get("steps", 1)):
            with tf.GradientTape() as tape:
                tape.watch(current)
                loss = keras.losses.sparse_categorical_crossentropy(
                    labels, self._main(self(current, training=False)),
                    from_logits=self.from_logits)
            current = current + step * tf.sign(tape.gradient(loss, current))
            current = tf.clip_by_value(current, x - eps, x + eps)
            current = tf.clip_by_value(current, low, high)
        return tf.stop_gradient(current)

    # === Training and validation steps ==========================================================

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        alpha = float(self.adversarial["alpha"])
        if alpha == 1.0:  # the clean loss alone: plain training
            return self._without_adversarial(super().train_step(data))
        x_adv = self.adversarial_examples(x, y)
        if alpha == 0.0:  # the adversarial loss alone (Madry et al.)
            return self._without_adversarial(super().train_step((x_adv, y, sample_weight)))
        count = tf.shape(x)[0]
        weights = tf.concat([tf.fill([count], 2.0 * alpha), tf.fill([count], 2.0 * (1 - alpha))],
                            axis=0)
        if sample_weight is not None:
            weights *= tf.cast(tf.concat([sample_weight, sample_weight], axis=0), weights.dtype)
        doubled = keras.tree.map_structure(lambda t: tf.concat([t, t], axis=0), y)
        logs = super().train_step((tf.concat([x, x_adv], axis=0), doubled, weights))
        return self._without_adversarial(logs)

    @staticmethod
    def _without_adversarial(logs):
        # `adversarial_accuracy` is measured on validation only (`test_step`)
        return {key: value for key, value in logs.items() if key != "adversarial_accuracy"}

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        logs = super().test_step(data)
        outputs = self._main(self(self.adversarial_examples(x, y), training=False))
        self.adversarial_accuracy.update_state(self._main(y), outputs,
                                               sample_weight=sample_weight)
        return {**logs, "adversarial_accuracy": self.adversarial_accuracy.result()}

    def get_config(self):  # revived through the functional constructor, with these options
        return {**super().get_config(), "adversarial": adversarial_spec.format_spec(
            self.adversarial), "from_logits": self.from_logits, "main_output": self.main_output}


class AdversarialTask:
    """The mixin that turns a classifier's task into its adversarial-training form (see the
    module docstring); `adversarial(base, spec)` makes the combined task."""

    def __init__(self, spec):
        self.adversarial = adversarial_spec.check_single(adversarial_spec.parse(spec))

    def training_model(self, model, info, make_optimizer):
        fit_model = super().training_model(model, info, make_optimizer)
        multiple = len(fit_model.outputs) > 1
        trainer = AdversarialTrainer(
            fit_model.input, fit_model.output, adversarial=self.adversarial,
            from_logits=uses_logits(model), name=f"{model.name}_adversarial",
            main_output=getattr(self, "MAIN_OUTPUT", None) if multiple else None)
        compiled = keras.saving.deserialize_keras_object(fit_model.get_compile_config())
        trainer.compile(**{**compiled, "optimizer": make_optimizer()})
        return trainer

    def check_inputs(self, model, x):
        super().check_inputs(model, x)
        low, high = self.adversarial["range"]
        if len(x) and (x.min() < low or x.max() > high):
            raise ValueError(
                f"the training inputs lie in [{x.min():g}, {x.max():g}], outside the "
                f"adversarial range [{low:g}, {high:g}]; give the data's range in the spec, "
                f"e.g. {self.adversarial['attack']}:eps={self.adversarial['eps']:g},"
                f"range={x.min():g}:{x.max():g}")

    def evaluate(self, model, dataset, **kwargs):
        """The base task's test metrics, plus `adversarial_accuracy`: the accuracy on the
        training attack's examples of the test inputs, made from the trained weights."""
        metrics = super().evaluate(model, dataset, **kwargs)
        probe = AdversarialTrainer(model.input, model.output, adversarial=self.adversarial,
                                   from_logits=uses_logits(model))
        probe.compile(metrics=[])
        probe.adversarial_accuracy.reset_state()
        for x, y in dataset.take(kwargs.get("steps", -1)):
            labels = probe._main(y)
            outputs = probe(probe.adversarial_examples(x, y), training=False)
            probe.adversarial_accuracy.update_state(labels, outputs)
        metrics["adversarial_accuracy"] = float(probe.adversarial_accuracy.result())
        return metrics

    def __repr__(self):
        return f"<task {self.name} (adversarial {adversarial_spec.format_spec(self.adversarial)})>"


_COMBINED: dict[type, type] = {}


def adversarial(base: Task, spec) -> Task:
    """The task `base` (a classifier's) trained adversarially as `spec` says. `ValueError` for
    a task that is not a classifier's, and for a bad spec."""
    if not getattr(base, "attackable", False):
        raise ValueError(f"adversarial training is for classifiers; this model is {base.name}")
    kind = type(base)
    if kind not in _COMBINED:
        _COMBINED[kind] = type(f"Adversarial{kind.__name__}", (AdversarialTask, kind), {})
    return _COMBINED[kind](spec)
