"""Prototypical networks (Snell et al. 2017): the episode sampler's properties, the prototype
classifier against NumPy, the test scores and their confidence interval, a run through
`keras-dl train`'s path, and the export's `episode` signature."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl import layers, tasks
from keras_dl.data.episodes import episode_indices, episodes
from keras_dl.tasks.episodic import prototype_scores

TINY = {"filters": 4, "blocks": 2, "train_ways": 3, "test_ways": 2, "shots": 1, "queries": 1,
        "test_queries": 1, "episodes_per_epoch": 2, "validation_episodes": 2,
        "test_episodes": 5}


def labelled_pool(classes=7, per_class=6, seed=0):
    """Labels of `classes` classes with `per_class` examples each, shuffled."""
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(classes), per_class))


# === the sampler ===============================================================================


@pytest.mark.parametrize("ways, shots, queries", [(5, 1, 3), (3, 2, 4)])
def test_every_episode_has_n_distinct_classes_and_k_plus_q_distinct_examples(ways, shots,
                                                                             queries):
    labels = labelled_pool()
    pool = (0, 1, 2, 3, 4, 5)  # class 6 is never drawn
    seen = set()
    for indices, classes in episode_indices(labels, pool, ways=ways, shots=shots,
                                            queries=queries, count=40,
                                            seed=1).as_numpy_iterator():
        assert indices.shape == (ways, shots + queries)
        assert len(set(classes)) == ways and set(classes) <= set(pool)
        assert len(set(indices.ravel())) == ways * (shots + queries)  # no example twice
        np.testing.assert_array_equal(labels[indices], np.repeat(classes[:, None],
                                                                 shots + queries, axis=1))
        seen |= set(classes)
    assert seen == set(pool)  # every class of the pool is drawn at some point


def test_the_same_seed_gives_the_same_episodes_and_each_pass_new_ones_when_reshuffled():
    labels = labelled_pool()

    def passes(reshuffle, seed=3):
        dataset = episode_indices(labels, range(7), ways=3, shots=1, queries=2, count=4,
                                  seed=seed, reshuffle=reshuffle)
        return [np.stack([i for i, _ in dataset.as_numpy_iterator()]) for _ in range(2)]

    first, second = passes(True)
    np.testing.assert_array_equal(first, passes(True)[0])
    assert not np.array_equal(first, second)
    fixed = passes(False)
    np.testing.assert_array_equal(fixed[0], fixed[1])
    assert not np.array_equal(passes(False, seed=4)[0], fixed[0])


def test_episodes_carry_the_images_of_their_indices_class_by_class():
    labels = labelled_pool()
    images = labels.astype("float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")
    inputs, query_labels = next(iter(episodes(images, labels, range(7), ways=3, shots=2,
                                              queries=2, count=1, seed=0)))
    support = inputs["support"].numpy()[:, 0, 0, 0].reshape(3, 2)
    query = inputs["query"].numpy()[:, 0, 0, 0].reshape(3, 2)
    assert np.all(support == support[:, :1]) and np.all(query == support[:, :1])
    np.testing.assert_array_equal(inputs["support_onehot"].numpy(),
                                  np.eye(3)[[0, 0, 1, 1, 2, 2]])
    np.testing.assert_array_equal(query_labels.numpy(), [0, 0, 1, 1, 2, 2])


def test_no_held_out_class_reaches_a_training_episode():
    """The task's training and validation episodes, on a dataset whose every image is its own
    label: the pixels say which classes the episodes drew from."""
    from keras_dl.training.preparation import RunData

    splits = keras_dl.data.info("fewshot_rotations").class_splits
    y = np.tile(np.arange(80), 4).astype("int32")  # every class, test classes included
    x = y.astype("float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")
    run = RunData(x[:200], y[:200], x[200:], y[200:], x[:0], y[:0])
    config = {"dataset": "fewshot_rotations", "seed": 0,
              "builder_kwargs": {**TINY, "train_ways": 20, "episodes_per_epoch": 30}}
    train, validation, _ = tasks.get("episodic").fit_datasets(config, None, run)
    for dataset, allowed, least in ((train, splits["train"], 40),
                                    (validation, splits["validation"], 2)):
        drawn = set()
        for inputs, _ in dataset.as_numpy_iterator():
            drawn |= set(inputs["support"].ravel().astype(int)) | set(
                inputs["query"].ravel().astype(int))
        assert drawn <= set(allowed) and drawn.isdisjoint(splits["test"])
        assert len(drawn) >= least  # the check could fail: many classes were drawn


@pytest.mark.parametrize("settings, message", [
    ({"ways": 8}, "ways 8 exceeds the 7 classes available; allowed: 1..7"),
    ({"shots": 5, "queries": 2}, "shots 5 \\+ queries 2 = 7 exceeds the 6 examples of the "
                                 "poorest of the classes; allowed: shots \\+ queries ≤ 6"),
    ({"queries": 0}, "queries must be a positive integer, got 0"),
])
def test_impossible_episodes_are_refused_in_one_line(settings, message):
    kwargs = {"ways": 3, "shots": 1, "queries": 1, **settings}
    with pytest.raises(ValueError, match=message):
        episode_indices(labelled_pool(), range(7), count=1, **kwargs)


# === the prototype classifier ==================================================================


def numpy_probabilities(support, support_labels, query, ways):
    prototypes = np.stack([support[support_labels == k].mean(axis=0) for k in range(ways)])
    distances = ((query[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=-1)
    scores = np.exp(-distances - (-distances).max(axis=1, keepdims=True))
    return -distances, scores / scores.sum(axis=1, keepdims=True)


def test_prototypical_logits_match_numpy():
    rng = np.random.default_rng(0)
    support, query = rng.normal(size=(12, 5)), rng.normal(size=(7, 5))
    support_labels = np.repeat(np.arange(4), 3)
    logits = np.asarray(layers.PrototypicalLogits(dtype="float64")(
        [support, np.eye(4)[support_labels], query]))
    expected, _ = numpy_probabilities(support, support_labels, query, 4)
    np.testing.assert_allclose(logits, expected, rtol=1e-10, atol=1e-10)


def test_the_episode_model_classifies_by_the_embeddings_prototypes():
    model = keras_dl.create_model("prototypical_network", input_shape=(8, 8, 1), **TINY)
    fit_model = tasks.get("episodic").training_model(model, None, keras.optimizers.Adam)
    rng = np.random.default_rng(1)
    support, query = rng.random((6, 8, 8, 1), "float32"), rng.random((4, 8, 8, 1), "float32")
    labels = np.array([0, 1, 2, 0, 1, 2])
    logits = np.asarray(fit_model({"support": support, "support_onehot": np.eye(3)[labels],
                                   "query": query}, training=False))
    embed = lambda x: np.asarray(model(x, training=False), "float64")  # noqa: E731
    expected, _ = numpy_probabilities(embed(support), labels, embed(query), 3)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)


def test_scores_and_their_confidence_interval_match_a_recomputation():
    """Catches a confidence interval that is not 1.96 · std / √episodes, or episodes that
    differ from the sampler's."""
    rng = np.random.default_rng(2)
    labels = labelled_pool(classes=6, per_class=8, seed=2)
    embeddings = rng.normal(size=(len(labels), 3)) + labels[:, None] * 0.7
    scores = prototype_scores(embeddings, labels, ways=4, shots=2, queries=3, episodes=50,
                              seed=5)
    accuracies = []
    for indices, _ in episode_indices(labels, np.unique(labels), ways=4, shots=2, queries=3,
                                      count=50, seed=5).as_numpy_iterator():
        points = embeddings[indices]
        support = points[:, :2].reshape(8, 3)
        query = points[:, 2:].reshape(12, 3)
        _, p = numpy_probabilities(support, np.repeat(np.arange(4), 2), query, 4)
        accuracies.append(np.mean(p.argmax(axis=1) == np.repeat(np.arange(4), 3)))
    assert scores["accuracy"] == pytest.approx(np.mean(accuracies))
    assert scores["accuracy_ci95"] == pytest.approx(
        1.96 * np.std(accuracies, ddof=1) / np.sqrt(50))
    assert 0 < scores["accuracy_ci95"] and scores["episodes"] == 50
    separated = prototype_scores(labels[:, None] * 100.0, labels, ways=4, shots=1, queries=2,
                                 episodes=10)
    assert separated["accuracy"] == 1.0 and separated["accuracy_ci95"] == 0.0


# === a run, and its export =====================================================================


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from keras_dl.training import train

    folder = tmp_path_factory.mktemp("protonet")
    return train("prototypical_network", dataset="fewshot_rotations", run_dir=folder / "run",
                 epochs=1, limit=400, verbose=0, builder_kwargs=TINY)


def test_a_run_trains_on_episodes_and_tests_on_held_out_classes(tiny_run):
    metrics, config = tiny_run.metrics, tiny_run.config
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(tiny_run.history[-1])
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["test_episodes"] == 5
    assert metrics["test_accuracy_ci95"] >= 0
    saved = json.loads((tiny_run.run_dir / "config.json").read_text())
    assert {key: saved["builder_kwargs"][key] for key in TINY} == TINY == {
        key: config["builder_kwargs"][key] for key in TINY}
    loaded = keras.models.load_model(tiny_run.run_dir / "model.keras")
    assert loaded.output.shape[-1] == 7 * 7 * 4  # 28×28 through 2 blocks of 4 filters


def test_the_export_serves_embeddings_and_episodes(tiny_run, tmp_path):
    from keras_dl.export import ServedModel, export_saved_model

    model = tiny_run.model
    result = export_saved_model(model, tmp_path, "protonet")
    assert result.output_names == ("embeddings",) and result.max_abs_diff <= 1e-5
    served = ServedModel(result.path)
    assert set(served.signature_names) == {"serving_default", "episode"}
    rng = np.random.default_rng(3)
    support, query = rng.random((6, 28, 28, 1), "float32"), rng.random((5, 28, 28, 1),
                                                                       "float32")
    labels = np.array([2, 0, 1, 0, 1, 2], "int32")
    got = served.signature_named("episode").function(
        support=support, support_labels=labels, query=query)["probabilities"].numpy()
    embed = lambda x: np.asarray(model(x, training=False), "float64")  # noqa: E731
    _, expected = numpy_probabilities(embed(support), labels, embed(query), 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(served(query)["embeddings"], embed(query), atol=1e-5)
    # checked calls (`keras-dl predict --signature episode`, the server): 6 support examples
    # and 5 queries are two batches; within the support set the sizes must agree
    checked = served.run("episode", {"support": support, "support_labels": labels,
                                     "query": query})["probabilities"]
    np.testing.assert_allclose(checked, expected, atol=1e-5)
    with pytest.raises(ValueError, match="different numbers of examples"):
        served.run("episode", {"support": support, "support_labels": labels[:4],
                               "query": query})


def test_evaluate_a_run_dir_uses_the_runs_episode_settings(tiny_run, capsys):
    """A `.keras` file does not keep `episode_settings`: `keras-dl evaluate RUN_DIR` takes
    them from the run's config (5 test episodes of 2 ways), not the builder's defaults."""
    from _cli import run_cli

    code, out, err = run_cli(capsys, "evaluate", tiny_run.run_dir, "--limit", "200")
    assert code == 0, err
    assert json.loads(out)["test_episodes"] == TINY["test_episodes"]
