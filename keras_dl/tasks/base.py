"""The task protocol: what one kind of learning means for feeding, compiling, monitoring,
evaluating, exporting and contract-checking a model.

The trainer, the tuner, the exporter, the server and the model contract never ask which model
they hold: they ask its task (`keras_dl.tasks.for_model`). A model's registration names its
task (`register_model(task=...)`); a new kind of learning is a new `Task` subclass, registered
with `keras_dl.tasks.register_task`, and every model of that kind then gets training, tuning,
export and the contract from it.
"""

from __future__ import annotations

import abc
from typing import Callable

import keras
import numpy as np

from keras_dl import compat


class Task(abc.ABC):
    """One kind of learning. Subclasses override what differs; the defaults describe a model
    trained with `fit(x, y)` on one output, served through `serving_default` alone.

    Class attributes:
        name: the name registrations use (`register_model(task=name)`).
        monitors: what early stopping, the best checkpoint and the plateau schedule may
            watch ("val_loss" always; "val_accuracy" for classifiers).
        augmentable: whether image augmentation of the training batches applies (the targets
            must not be the inputs themselves).
        mixed_precision: whether a mixed-precision policy may train it.
        pretraining: whether greedy layer-wise pre-training of its hidden stack may precede
            the training (`keras_dl.training.pretraining`).
        objectives: what a hyperparameter search may optimise (KerasTuner objectives).
        losses: the `keras-dl train --loss` names it may be trained with (none: the model
            brings its own training rule).
        attackable: whether its models are classifiers that adversarial examples can be made
            for, and so may be trained adversarially (`keras_dl.tasks.adversarial`).
        early_stopping: whether early stopping on the monitor may end a run (not for a GAN,
            whose losses do not measure how good its samples are).
        serves_examples: whether `serving_default` takes examples like the training data's,
            so the data's range applies to what it is fed (a generator takes noise).
        image_targets: whether it trains on datasets that pair each input image with a target
            image (`fashion_mnist_edges`: image-to-image translation), and only on those.
        domain_shift: whether it trains on domain-shift datasets (labelled source examples and
            unlabelled target examples: `keras_dl.data.domain_shift`), and only on those.
        few_shot: whether it trains on few-shot datasets (classes split into training,
            validation and held-out classes: `keras_dl.data.few_shot`), and only on those.
        label_sets: whether it trains on datasets whose examples carry several label sets
            (`label_names`: one head per task, `keras_dl.data.multitask`), and only on those.
        text: whether its models take raw strings and train on text datasets
            (`DatasetInfo.modality == "text"`), and only on those (`keras_dl.models.text`).
        corpus: whether it trains on corpora (`DatasetInfo.corpus`: unlabelled documents,
            `keras_dl.data.text`), and only on those (word2vec: `keras_dl.tasks.embedding`).
        text_pairs: whether it trains on text datasets that pair each text with a target
            text (no classes: `dates_to_iso`), and only on those (`keras_dl.tasks.seq2seq`).
        steps_per_execution: the training batches per compiled call of `fit` in a run
            (`keras-dl train`, `tune`) unless the run sets its own; None keeps what `compile`
            chose (1 unless the task's compile says otherwise). Callbacks that act per batch
            see every N-th batch, so a task whose training rule acts per batch keeps 1.
    """

    name: str = ""
    monitors: tuple[str, ...] = ("val_loss",)
    augmentable: bool = False
    mixed_precision: bool = False
    pretraining: bool = False
    objectives: tuple[str, ...] = ("val_loss", "loss")
    losses: tuple[str, ...] = ()
    attackable: bool = False
    early_stopping: bool = True
    serves_examples: bool = True
    image_targets: bool = False
    domain_shift: bool = False
    few_shot: bool = False
    label_sets: bool = False
    text: bool = False
    corpus: bool = False
    text_pairs: bool = False
    steps_per_execution: int | None = None

    # === Feeding =================================================================================

    def targets(self, x, y):
        """`(inputs, targets)` that `fit` and `evaluate` receive for examples `x`, labels `y`."""
        return x, y

    def adapt_dataset(self, dataset, fit_model: keras.Model):
        """The `tf.data` pipeline of batches `(inputs, targets)` as `fit_model` takes them
        (a multi-output training model takes one target per output)."""
        return dataset

    def check_run(self, config: dict) -> None:
        """Check a resolved run config against what the task needs of its data, before
        anything is built or written (`keras_dl.training.resolve` calls it last): an
        episodic task refuses more ways, shots or queries than the dataset's classes hold.
        `ValueError` in one line; the default checks nothing."""

    def fit_datasets(self, config: dict, fit_model: keras.Model, data, strategy=None):
        """`(train_data, val_data, steps)` that `fit` takes, when the task makes its own
        batches from the run's examples (`data`: `keras_dl.training.preparation.RunData`;
        `steps`: extra `fit` arguments such as `steps_per_epoch`), or None for the trainer's
        shuffled (augmented) example batches passed through `adapt_dataset` (the default).
        An episodic task returns episodes (`keras_dl.tasks.episodic`)."""
        return None

    def check_inputs(self, model: keras.Model, x) -> None:
        """Check the training inputs before anything is written: a layer that needs its inputs
        in a range (an RBM's Bernoulli units) cannot check values inside the compiled `fit`,
        so it offers `check_inputs`, called here on the data."""
        for layer in compat.all_layers(model):
            if callable(getattr(layer, "check_inputs", None)):
                layer.check_inputs(x)

    def restore(self, model: keras.Model, config: dict) -> None:
        """Set on `model`, loaded from a run's `.keras` file, what the file does not carry
        but the run's `config` (its `config.json`) records: a prototypical network's episode
        settings, from its builder arguments (`keras-dl evaluate RUN_DIR` calls it). The
        default sets nothing."""

    def adapt(self, model: keras.Model, x) -> None:
        """Set what `model` learns from its training inputs `x` outside gradient descent,
        before `fit` (`keras_dl.training.preparation.before_fit`): a text model's vocabulary.
        The default learns nothing."""

    def adapt_targets(self, model: keras.Model, y) -> None:
        """Set what `model` learns from its training targets `y` before `fit`, after `adapt`
        (a seq2seq model's target vocabulary). The default learns nothing."""

    # === Compiling and monitoring ================================================================

    @abc.abstractmethod
    def compile(self, model: keras.Model, optimizer, info=None) -> keras.Model:
        """Compile `model` (the inference network) with `optimizer` for this task."""

    def training_model(self, model: keras.Model, info, make_optimizer: Callable[[], object]
                       ) -> keras.Model:
        """The model `fit` trains: `model` itself (already compiled), or a compiled
        multi-output model that shares every weight of `model`."""
        return model

    def monitor_key(self, monitor: str, fit_model: keras.Model | None = None) -> str:
        """The log key under which `fit_model` reports `monitor`."""
        return monitor

    def callbacks(self, model: keras.Model, fit_model: keras.Model, run_dir, config: dict
                  ) -> list:
        """Callbacks of the task's own that write a run's outputs (a GAN: a sample grid per
        epoch in `run_dir`), added by the chief of a run alone; `config` is the run's
        resolved config."""
        return []

    def training_callbacks(self, fit_model: keras.Model, config: dict) -> list:
        """Callbacks that are part of the task's training rule (DANN: the gradient reversal's
        λ schedule; transfer: the trunk's rate by phase), added by every worker of a run and
        by every tuning trial (`keras_dl.training.preparation.fit_callbacks`)."""
        return []

    def check_monitor(self, monitor: str, model_name: str) -> None:
        if monitor not in self.monitors:
            raise ValueError(f"monitor {monitor} is not for model {model_name!r}, which is "
                             f"{self.name} (allowed: {', '.join(self.monitors)})")

    # === Evaluating ==============================================================================

    def evaluate(self, model: keras.Model, dataset, **kwargs) -> dict:
        """Test metrics of the compiled `model` on batches of `(inputs, targets)`."""
        return model.evaluate(dataset, verbose=0, return_dict=True, **kwargs)

    # === Exporting ===============================================================================

    def output_names(self, model: keras.Model) -> tuple[str, ...]:
        """The names of `serving_default`'s outputs: one per model output. A single output
        after a softmax or sigmoid is "probabilities"; one from a layer without them
        "logits" for a classifier; otherwise outputs take their layers' names."""
        layers = compat.output_layers(model)
        if len(layers) > 1:
            return tuple(layer.name for layer in layers)
        return (_probability_or(layers[0], layers[0].name),)

    def export_endpoints(self, model: keras.Model, input_spec) -> dict:
        """Signatures served beside `serving_default`: `{name: (function, input_signature)}`,
        each function returning a dict of named outputs."""
        return {}

    def input_ranges(self, model: keras.Model) -> dict:
        """`{input name: [low, high]}`: the integer inputs of `serving_default` and the values
        they may take (a conditional generator's label: its classes); an export records them
        and the served model refuses values outside (`keras_dl.export.ServedModel`)."""
        return {}

    def input_checks(self, model: keras.Model) -> dict:
        """What a served model checks its requests against beyond shape and dtype, recorded
        by the export (`input_checks` in `assets.extra/keras_dl.json`) and applied by
        `keras_dl.export.ServedModel`: `{"signature": NAME, "max_words": N or None}`, NAME a
        signature of `export_endpoints` giving each example's `words` and `known_words` (a
        text model: an empty text, one of no known word, one over N words are refused).
        The default checks nothing more."""
        return {}

    def batch_groups(self, model: keras.Model) -> dict:
        """`{signature: [[input names], ...]}` for the signatures of `export_endpoints` whose
        inputs do not all hold one example per row of one batch: the inputs of a group must
        hold the same number of rows, inputs of different groups need not (an episode's
        support set and its queries). An export records them (`batch_groups` in
        `assets.extra/keras_dl.json`) and the served model checks sizes by group; a signature
        not listed takes one batch across all its inputs (the default)."""
        return {}

    def deterministic_endpoints(self, model: keras.Model) -> dict:
        """`{signature: {output: function(inputs) -> expected}}` of the extra endpoints that
        an export checks for parity (random endpoints, such as sampling, are left out)."""
        return {}

    # === The model contract ======================================================================

    def smoke_inputs(self, model: keras.Model, count: int = 4, seed: int = 0):
        """A tiny batch the contract feeds: uniform [0, 1) inputs of the model's shape (for a
        model of several inputs, a dict input name → batch)."""
        rng = np.random.default_rng(seed)
        batches = {}
        for tensor in model.inputs:
            shape = tuple(d if d is not None else 1 for d in tensor.shape[1:])
            batches[tensor.name] = rng.random((count, *shape), dtype="float32")
        return next(iter(batches.values())) if len(batches) == 1 else batches

    def smoke_labels(self, info, count: int = 4) -> np.ndarray:
        """Labels for the contract's one training step (ignored where the task needs none)."""
        return np.arange(count) % max(1, info.smoke_kwargs.get("num_classes", 1))

    def smoke_fit_data(self, info, model: keras.Model, fit_model: keras.Model, x):
        """`(inputs, targets)` of the contract's one `fit` step of `fit_model`: the smoke
        inputs `x` and the targets of `smoke_labels`, one per output of a training model with
        extra heads."""
        inputs, targets = self.targets(x, self.smoke_labels(info, len(x)))
        if fit_model is not model:
            targets = {key: targets for key in fit_model.output_names}
        return inputs, targets

    def smoke_output_shape(self, info, model: keras.Model) -> tuple:
        """The per-example output shape the smoke instance must have."""
        if info.smoke_output_shape is not None:
            return tuple(info.smoke_output_shape)
        return tuple(model.outputs[0].shape[1:])

    def __repr__(self) -> str:
        return f"<task {self.name}>"


def _probability_or(layer, fallback: str) -> str:
    activation = getattr(layer, "activation", None)
    if activation in (keras.activations.softmax, keras.activations.sigmoid):
        return "probabilities"
    return fallback


def uses_logits(model: keras.Model) -> bool:
    """True when the model's (first) output is not squashed by a softmax or sigmoid, i.e. it
    outputs logits.

    The output layer counts as squashing when its `activation` is softmax or sigmoid (a
    `Dense(..., activation="softmax")` or an `Activation` layer) or when it is a `Softmax`
    layer; when it is a nested model, that model's own output layer decides.
    """
    layer = compat.output_layers(model)[0]
    while isinstance(layer, keras.Model):  # a wrapped or Sequential sub-model as the last layer
        layer = compat.output_layers(layer)[0]
    if isinstance(layer, keras.layers.Softmax):
        return False
    activation = getattr(layer, "activation", None)
    return activation not in (keras.activations.softmax, keras.activations.sigmoid)
