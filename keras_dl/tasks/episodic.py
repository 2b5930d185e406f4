"""Episodic few-shot learning: prototypical networks (Snell, Swersky & Zemel 2017).

The registered model embeds images (`keras_dl.models.prototypical`). It trains on a few-shot
dataset (`keras_dl.data.few_shot`: classes split into training, validation and held-out
classes) through episodes (`keras_dl.data.episodes`), Algorithm 1 of the paper:

1. draw N classes of the training classes and K + Q examples of each: K form the support set,
   Q are queries;
2. embed both; each class's prototype is the mean embedding of its support examples (eq. 1);
3. classify every query by a softmax over its negative squared Euclidean distances to the
   prototypes (eq. 2), and take one optimizer step on the mean cross-entropy of the queries.

This is one `fit`, through a training model that takes an episode (`{"support",
"support_onehot", "query"}`) and outputs the queries' logits (`PrototypicalLogits`): the loss
is the ordinary cross-entropy of those logits, no custom loop. The task's `fit_datasets` (the
hook of `keras_dl.tasks.base.Task`) gives `fit` `episodes_per_epoch` fresh training episodes
of `train_ways` ways per epoch, and the same `validation_episodes` episodes of `test_ways` ways
on the validation classes after each. The test metrics come from `test_episodes` episodes on
the held-out classes: the mean accuracy and its 95 % confidence interval's half-width,
1.96 · std / √episodes. The episode settings are the builder's arguments (recorded in
`config.json`).

Served (`keras-dl export`): `serving_default` maps images to their "embeddings"; the
`episode` signature takes a support set (`support` images, `support_labels` in 0..N−1, every
class at least once) and `query` images, and returns the queries' "probabilities" over the N
classes.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np

from keras_dl.data.episodes import check_episode, episode_indices, episodes
from keras_dl.layers import PrototypicalLogits
from keras_dl.models.prototypical import EPISODE_SETTINGS, prototypical_network
from keras_dl.tasks.base import Task

SUPPORT, ONEHOT, QUERY = "support", "support_onehot", "query"
SIGNATURE = "episode"
TEST_SEED = 0  # test episodes: the same for every model, so models compare episode by episode
Z_95 = 1.96
EPISODE_DEFAULTS = {key: parameter.default for key, parameter in
                    inspect.signature(prototypical_network).parameters.items()
                    if key in EPISODE_SETTINGS}


def episode_settings(model) -> dict:
    """The episode settings the model was built with (`model.episode_settings`); the builder's
    defaults for a model loaded from a file, which does not carry them."""
    return {**EPISODE_DEFAULTS, **(getattr(model, "episode_settings", None) or {})}


def settings_of_config(config: dict) -> dict:
    """The episode settings of a resolved run config (its builder arguments)."""
    return {**EPISODE_DEFAULTS, **{key: value for key, value in config["builder_kwargs"].items()
                                   if key in EPISODE_SETTINGS}}


def prototype_scores(embeddings, labels, classes=None, *, ways: int, shots: int, queries: int,
                     episodes: int, seed: int = TEST_SEED) -> dict:
    """Nearest-prototype classification of `episodes` N-way K-shot episodes drawn from
    `classes` (default: every label in `labels`), on precomputed `embeddings` (n, d) (raw
    pixels flattened, a network's features, ...): `{"accuracy", "accuracy_ci95", "loss",
    "episodes", "ways", "shots", "queries"}`, where `accuracy_ci95` is the half-width of the
    mean accuracy's 95 % confidence interval, 1.96 · std / √episodes (std over episodes, with
    Bessel's correction). The same `seed` draws the same episodes for any embedding."""
    embeddings = np.asarray(embeddings, dtype="float64").reshape(len(embeddings), -1)
    labels = np.asarray(labels)
    classes = np.unique(labels) if classes is None else classes
    truth = np.repeat(np.arange(ways), queries)
    accuracies, losses = [], []
    for indices, _ in episode_indices(labels, classes, ways=ways, shots=shots, queries=queries,
                                      count=episodes, seed=seed).as_numpy_iterator():
        points = embeddings[indices]  # (ways, shots + queries, d)
        prototypes = points[:, :shots].mean(axis=1)
        query = points[:, shots:].reshape(ways * queries, -1)
        logits = -((query[:, None, :] - prototypes[None]) ** 2).sum(axis=-1)
        top = logits.max(axis=1, keepdims=True)
        log_p = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        accuracies.append(np.mean(logits.argmax(axis=1) == truth))
        losses.append(-np.mean(log_p[np.arange(len(truth)), truth]))
    accuracies = np.asarray(accuracies)
    spread = accuracies.std(ddof=1) if len(accuracies) > 1 else 0.0
    return {"accuracy": float(accuracies.mean()),
            "accuracy_ci95": float(Z_95 * spread / np.sqrt(len(accuracies))),
            "loss": float(np.mean(losses)), "episodes": int(len(accuracies)),
            "ways": int(ways), "shots": int(shots), "queries": int(queries)}


def embed(model, x, batch_size: int = 256) -> np.ndarray:
    """The embeddings of `x` by `model`, in inference mode (batch norm on its moving
    statistics)."""
    return np.asarray(model.predict(np.asarray(x, "float32"), batch_size=batch_size, verbose=0))


def episode_model(model: keras.Model) -> keras.Model:
    """The training model of an embedding network: an episode in (`support`, `support_onehot`
    (one row per support example, one column per class), `query`), the queries' logits out
    (negative squared distances to the prototypes). It shares every weight of `model`."""
    shape = tuple(model.inputs[0].shape[1:])
    support = keras.Input(shape, name=SUPPORT)
    onehot = keras.Input((None,), name=ONEHOT)
    query = keras.Input(shape, name=QUERY)
    logits = PrototypicalLogits(name="prototypical_logits")(
        [model(support), onehot, model(query)])
    return keras.Model({SUPPORT: support, ONEHOT: onehot, QUERY: query}, logits,
                       name=f"{model.name}_episodes")


class Episodic(Task):
    """Prototypical networks' episodic training and testing (see the module docstring)."""

    name = "episodic"
    monitors = ("val_loss", "val_accuracy")
    objectives = ("val_loss", "val_accuracy", "loss")
    few_shot = True

    # === Compiling ===============================================================================

    def compile(self, model, optimizer, info=None):
        """The embedding network, compiled with its optimizer alone (the episode model holds
        the loss)."""
        model.compile(optimizer=optimizer)
        return model

    def training_model(self, model, info, make_optimizer):
        fit_model = episode_model(model)
        fit_model.compile(optimizer=make_optimizer(),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
        return fit_model

    # === Feeding =================================================================================

    def check_run(self, config: dict) -> None:
        """`ValueError` when the run's episodes do not fit its data: more ways than the
        training classes (or than the validation or held-out classes for `test_ways`), more
        shots plus queries than the poorest class holds (after `limit`)."""
        from keras_dl import data as datasets

        splits = datasets.info(config["dataset"]).class_splits
        settings = settings_of_config(config)
        _, y_train = datasets.load_numpy(config["dataset"], "train", limit=config["limit"])
        _, y_test = datasets.load_numpy(config["dataset"], "test", limit=config["limit"])
        check_episode(y_train, splits["train"], settings["train_ways"], settings["shots"],
                      settings["queries"], "training classes")
        check_episode(y_train, splits["validation"], settings["test_ways"], settings["shots"],
                      settings["test_queries"], "validation classes")
        check_episode(y_test, splits["test"], settings["test_ways"], settings["shots"],
                      settings["test_queries"], "held-out classes")

    def fit_datasets(self, config, fit_model, data, strategy=None):
        """Training episodes (new ones every epoch) on the training classes and validation
        episodes (the same every epoch) on the validation classes, both from the dataset's
        training split (the run's example-wise validation split is pooled back: the
        validation here is by class)."""
        from keras_dl import data as datasets
        from keras_dl import distribute

        if strategy is not None and distribute.is_distributed(strategy):
            raise ValueError("episodic training runs on one device; use strategy 'none'")
        splits = datasets.info(config["dataset"]).class_splits
        settings = settings_of_config(config)
        x = np.concatenate([data.x_fit, data.x_val])
        y = np.concatenate([data.y_fit, data.y_val])
        train = episodes(x, y, splits["train"], ways=settings["train_ways"],
                         shots=settings["shots"], queries=settings["queries"],
                         count=settings["episodes_per_epoch"], seed=config["seed"],
                         reshuffle=True, what="training classes")
        validation = episodes(x, y, splits["validation"], ways=settings["test_ways"],
                              shots=settings["shots"], queries=settings["test_queries"],
                              count=settings["validation_episodes"], seed=config["seed"] + 1,
                              what="validation classes")
        return train, validation, {}

    # === Evaluating ==============================================================================

    def restore(self, model, config):
        """A `.keras` file does not keep `model.episode_settings`: they come back from the
        run's builder arguments, so a model evaluates on the episodes it was built for."""
        model.episode_settings = {key: value for key, value in settings_of_config(config).items()
                                  if key in EPISODE_SETTINGS}

    def evaluate(self, model, dataset, **kwargs):
        """`test_episodes` episodes of `test_ways` ways and `shots` shots on the classes of
        `dataset` (batches of `(images, labels)`: the held-out classes), with `test_queries`
        queries each: mean accuracy, its 95 % interval's half-width, mean loss."""
        images, labels = [], []
        for x, y in dataset.as_numpy_iterator():
            images.append(x)
            labels.append(y)
        x, y = np.concatenate(images), np.concatenate(labels)
        settings = episode_settings(model)
        scores = prototype_scores(embed(model, x), y, ways=settings["test_ways"],
                                  shots=settings["shots"], queries=settings["test_queries"],
                                  episodes=settings["test_episodes"])
        return {key: scores[key] for key in ("accuracy", "accuracy_ci95", "loss", "episodes")}

    # === Exporting ===============================================================================

    def output_names(self, model):
        return ("embeddings",)

    def export_endpoints(self, model, input_spec):
        """`episode`: support images, their labels (int32, 0..N−1) and query images in; the
        queries' probabilities over the N classes out."""
        import tensorflow as tf

        logits = PrototypicalLogits(name="episode_logits")
        image_shape = input_spec.shape
        specs = [tf.TensorSpec(image_shape, input_spec.dtype, name=SUPPORT),
                 tf.TensorSpec((None,), tf.int32, name="support_labels"),
                 tf.TensorSpec(image_shape, input_spec.dtype, name=QUERY)]

        def episode(support, support_labels, query):
            onehot = tf.one_hot(support_labels, tf.reduce_max(support_labels) + 1)
            scores = logits([model(support, training=False), onehot,
                             model(query, training=False)])
            return {"probabilities": tf.nn.softmax(scores)}

        return {SIGNATURE: (episode, specs)}

    def batch_groups(self, model):
        """An episode's support set (images and labels) and its queries are two batches: any
        number of queries may be asked about one support set."""
        return {SIGNATURE: [[SUPPORT, "support_labels"], [QUERY]]}

    def deterministic_endpoints(self, model):
        """`episode` on the parity inputs: the first half as a support set of two classes
        (labels alternating), the second half as queries."""
        def feed(x):
            half = max(1, len(x) // 2)
            return {SUPPORT: x[:half], "support_labels": (np.arange(half) % 2).astype("int32"),
                    QUERY: x[half:]}

        def expect(fed):
            onehot = np.eye(2, dtype="float32")[fed["support_labels"]][:, :max(
                1, int(fed["support_labels"].max()) + 1)]
            scores = PrototypicalLogits()([model(fed[SUPPORT], training=False), onehot,
                                           model(fed[QUERY], training=False)])
            return {"probabilities": keras.ops.softmax(scores)}

        return {SIGNATURE: (feed, expect)}

    # === The model contract ======================================================================

    def smoke_fit_data(self, info, model, fit_model, x):
        """One episode of the smoke inputs: two classes, the inputs as support and reversed as
        queries (the same number of each, so `fit` may slice them as one batch)."""
        labels = (np.arange(len(x)) % 2).astype("int32")
        inputs = {SUPPORT: x, ONEHOT: np.eye(2, dtype="float32")[labels], QUERY: x[::-1].copy()}
        return inputs, labels[::-1].copy()

    def smoke_output_shape(self, info, model):
        return tuple(model.outputs[0].shape[1:])
