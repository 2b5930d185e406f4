"""Multitask learning (lecture 002 §8.5): the two-label-set dataset, each task's batches, the
joint loss against a sum computed apart, unlabelled examples contributing nothing, the
alternating rule updating one head per step, and a run of each rule."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_dl
from keras_dl import data, tasks
from keras_dl.data import multitask as groups
from keras_dl.models.multitask_training import AlternatingTrainer, head_layers
from keras_dl.training import train

TASK = tasks.get("multitask")


def tiny_model(mode="joint", loss_weights=(1.0, 1.0), head_classes=(3, 2), **kwargs):
    keras.utils.set_random_seed(0)
    return keras_dl.create_model("multitask", input_shape=(5,), head_classes=head_classes,
                                 trunk_kwargs={"hidden_units": [6]}, mode=mode,
                                 loss_weights=loss_weights, **kwargs)


def labels_with_gaps(count=12, seed=0):
    """Two label columns (3 and 2 classes) with some labels hidden (−1)."""
    rng = np.random.default_rng(seed)
    y = np.stack([rng.integers(0, 3, count), rng.integers(0, 2, count)], 1).astype("int32")
    y[rng.random(count) < 0.4, 0] = -1
    y[rng.random(count) < 0.3, 1] = -1
    return rng.random((count, 5), dtype="float32"), y


def weights_of(layers):
    return [np.array(v) for layer in layers for v in layer.weights]


# === The dataset =================================================================================


def test_fashion_mnist_groups_pairs_the_fine_class_with_its_group():
    x, y = data.load_numpy("fashion_mnist_groups", "train")
    x_plain, y_plain = data.load_numpy("fashion_mnist", "train")
    np.testing.assert_array_equal(x, x_plain)
    np.testing.assert_array_equal(y[:, 0], y_plain)
    # tops: T-shirt, pullover, dress, coat, shirt; bottoms: trouser; footwear: sandal,
    # sneaker, ankle boot; bags: bag
    assert [sorted(set(y[y[:, 1] == g, 0])) for g in range(4)] == [[0, 2, 3, 4, 6], [1],
                                                                   [5, 7, 9], [8]]
    np.testing.assert_array_equal(np.bincount(y[:, 1]), [30000, 6000, 18000, 6000])
    info = data.info("fashion_mnist_groups")
    assert info.label_names == ("fine", "coarse") and info.head_classes == (10, 4)
    np.testing.assert_array_equal(groups.coarse_groups([-1, 8, 3]), [-1, 3, 0])


def test_hide_labels_keeps_n_per_class_of_one_column():
    y = np.stack([np.arange(40) % 4, np.arange(40) % 2], 1).astype("int32")
    hidden = groups.hide_labels(y, column=0, per_class=3, seed=1)
    np.testing.assert_array_equal(np.bincount(hidden[hidden[:, 0] >= 0, 0]), [3, 3, 3, 3])
    np.testing.assert_array_equal(hidden[:, 1], y[:, 1])
    kept = hidden[:, 0] >= 0
    np.testing.assert_array_equal(hidden[kept, 0], y[kept, 0])
    assert not np.array_equal(kept, groups.hide_labels(y, 0, 3, seed=2)[:, 0] >= 0)
    with pytest.raises(ValueError, match="column 2 is not a label column"):
        groups.hide_labels(y, column=2)


# === Each task's batches =========================================================================


def test_alternating_batches_hold_one_task_each_in_turn():
    x, y = labels_with_gaps(30)
    fine, coarse = int((y[:, 0] >= 0).sum()), int((y[:, 1] >= 0).sum())
    steps = -(-max(fine, coarse) // 4)
    batches = list(groups.task_batches(x, y, 4, seed=0).as_numpy_iterator())
    assert len(batches) == 2 * steps
    for index, (xb, yb) in enumerate(batches):
        assert len(xb) == 4
        assert np.all(yb[:, index % 2] >= 0) and np.all(yb[:, 1 - index % 2] == -1)
        for row, labels in zip(xb, yb):  # each example with its own label
            source = np.flatnonzero(np.all(x == row, axis=1))[0]
            assert labels[index % 2] == y[source, index % 2]
    # every labelled example of the larger task once an epoch; the other cycles through
    larger = int(coarse > fine)
    seen = np.concatenate([xb for i, (xb, _) in enumerate(batches) if i % 2 == larger])
    assert len({row.tobytes() for row in seen}) == max(fine, coarse)


def test_joint_batches_join_one_batch_of_each_task_and_reshuffle_each_epoch():
    x, y = labels_with_gaps(30)
    dataset = groups.task_batches(x, y, 4, together=True, seed=0)
    epoch1 = list(dataset.as_numpy_iterator())
    epoch2 = list(dataset.as_numpy_iterator())
    for _, yb in epoch1:
        assert len(yb) == 8 and np.all(yb[:4, 0] >= 0) and np.all(yb[:4, 1] == -1)
        assert np.all(yb[4:, 1] >= 0) and np.all(yb[4:, 0] == -1)
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(epoch1, epoch2))
    again = list(groups.task_batches(x, y, 4, together=True, seed=0).as_numpy_iterator())
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(epoch1, again))
    only_fine = list(groups.task_batches(x, y, 4, heads=[0], seed=0).as_numpy_iterator())
    assert all(np.all(yb[:, 1] == -1) for _, yb in only_fine)
    no_fine = y.copy()
    no_fine[:, 0] = -1
    with pytest.raises(ValueError, match="no training example has a label in column 0"):
        groups.task_batches(x, no_fine, 4)


# === The losses ==================================================================================


def _cross_entropy(probabilities, labels):
    return -np.log(probabilities[np.arange(len(labels)), labels])


def test_joint_loss_is_the_weighted_sum_of_each_heads_mean_over_its_labelled_examples():
    """Catches a head's loss averaged over the whole batch (unlabelled examples counted in the
    denominator), a −1 label used as a class, or loss weights not applied."""
    model = tiny_model(loss_weights=(1.0, 0.25))
    TASK.compile(model, keras.optimizers.SGD(0.0))
    x, y = labels_with_gaps(12)
    batch = TASK.adapt_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(12), model)
    fine, coarse = model.predict(x, verbose=0)
    expected_fine = _cross_entropy(fine, y[:, 0].clip(0))[y[:, 0] >= 0].mean()
    expected_coarse = _cross_entropy(coarse, y[:, 1].clip(0))[y[:, 1] >= 0].mean()
    scores = TASK.evaluate(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(12))
    assert scores["fine_loss"] == pytest.approx(expected_fine, rel=1e-5)
    assert scores["coarse_loss"] == pytest.approx(expected_coarse, rel=1e-5)
    assert scores["loss"] == pytest.approx(expected_fine + 0.25 * expected_coarse, rel=1e-5)
    labelled = y[:, 0] >= 0
    assert scores["fine_accuracy"] == pytest.approx(
        np.mean(fine.argmax(1)[labelled] == y[labelled, 0]))
    # the joint rule's training loss (Keras' fit, learning rate 0) is the same sum
    history = model.fit(batch, epochs=1, verbose=0).history
    assert history["loss"][0] == pytest.approx(expected_fine + 0.25 * expected_coarse, rel=1e-5)
    # and the alternating rule validates on the same sum
    trainer = TASK.training_model(tiny_model("alternating", (1.0, 0.25)), None,
                                  lambda: keras.optimizers.SGD(0.0))
    assert trainer.evaluate(batch, verbose=0, return_dict=True)["loss"] == pytest.approx(
        scores["loss"], rel=1e-5)


def test_examples_without_a_label_change_nothing():
    """One joint step on a batch, and on the same batch plus examples labelled −1 in every
    column (and wildly different inputs), gives the same weights."""
    x, y = labels_with_gaps(12)
    extra = np.full((5, 5), 50.0, "float32"), np.full((5, 2), -1, "int32")
    results = []
    for xs, ys in ((x, y), (np.concatenate([x, extra[0]]), np.concatenate([y, extra[1]]))):
        model = tiny_model()
        TASK.compile(model, keras.optimizers.SGD(0.5))
        model.fit(TASK.adapt_dataset(tf.data.Dataset.from_tensor_slices((xs, ys)).batch(32),
                                     model), epochs=1, verbose=0)
        results.append([np.array(v) for v in model.weights])
    for before, after in zip(*results):
        np.testing.assert_allclose(before, after, atol=1e-6)


# === The alternating rule ========================================================================


class Snapshots(keras.callbacks.Callback):
    def __init__(self, heads, trunk):
        super().__init__()
        self.heads, self.trunk = heads, trunk
        self.taken = [self._take()]

    def _take(self):
        return [weights_of(layers) for layers in self.heads], weights_of(self.trunk)

    def on_train_batch_end(self, batch, logs=None):
        self.taken.append(self._take())


def _changed(before, after):
    return [not np.array_equal(b, a) for b, a in zip(before, after)]


def test_each_alternating_step_updates_one_head_and_the_trunk():
    """Catches the inactive head moved by the optimizer (Adam's momentum applies to a zero
    gradient), a step that backpropagates from both heads, or the turn not alternating."""
    model = tiny_model("alternating")
    trainer = TASK.training_model(model, None, lambda: keras.optimizers.Adam(0.05))
    assert isinstance(trainer, AlternatingTrainer)
    heads = head_layers(model)
    assert [[layer.name for layer in layers] for layers in heads] == [["fine"], ["coarse"]]
    snapshots = Snapshots(heads, [model.get_layer("trunk")])
    x, y = labels_with_gaps(40)
    batches = TASK.adapt_dataset(groups.task_batches(x, y, 4, seed=0), trainer)
    history = trainer.fit(batches.take(6), epochs=1, verbose=0, callbacks=[snapshots]).history
    for step, ((heads_before, trunk_before), (heads_after, trunk_after)) in enumerate(
            zip(snapshots.taken, snapshots.taken[1:])):
        active = step % 2  # the batches come fine, coarse, fine, ...
        assert all(_changed(heads_before[active], heads_after[active])), step
        assert not any(_changed(heads_before[1 - active], heads_after[1 - active])), step
        assert all(_changed(trunk_before, trunk_after)), step
    assert {"loss", "fine_loss", "coarse_loss", "fine_accuracy", "coarse_accuracy"} == set(
        history)


def test_on_mixed_batches_the_heads_take_turns():
    model = tiny_model("alternating")
    trainer = TASK.training_model(model, None, lambda: keras.optimizers.Adam(0.05))
    heads = head_layers(model)
    snapshots = Snapshots(heads, [model.get_layer("trunk")])
    x = np.random.default_rng(0).random((16, 5), dtype="float32")
    y = np.stack([np.arange(16) % 3, np.arange(16) % 2], 1)  # every example both labels
    trainer.fit(TASK.adapt_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(4),
                                   trainer), epochs=1, verbose=0, callbacks=[snapshots])
    moved = [[any(_changed(before[0][k], after[0][k])) for k in (0, 1)]
             for before, after in zip(snapshots.taken, snapshots.taken[1:])]
    assert moved == [[True, False], [False, True], [True, False], [False, True]]


def test_a_head_of_weight_zero_is_never_trained():
    x, y = labels_with_gaps(24)
    for mode in ("joint", "alternating"):
        model = tiny_model(mode, loss_weights=(1.0, 0.0))
        coarse = weights_of([model.get_layer("coarse")])
        TASK.compile(model, keras.optimizers.Adam(0.05))
        fit_model = TASK.training_model(model, None, lambda: keras.optimizers.Adam(0.05))
        fit_model.run_eagerly = True  # a few tiny steps: tracing would cost more
        batches = groups.task_batches(x, y, 4, heads=[0], together=mode == "joint")
        fit_model.fit(TASK.adapt_dataset(batches, fit_model), epochs=1, verbose=0)
        assert not any(_changed(coarse, weights_of([model.get_layer("coarse")]))), mode


def test_the_trainer_saves_and_loads_whole(tmp_path):
    trainer = TASK.training_model(tiny_model("alternating", (1.0, 0.5)), None,
                                  lambda: keras.optimizers.Adam(0.05))
    trainer.save(tmp_path / "trainer.keras")
    loaded = keras.models.load_model(tmp_path / "trainer.keras")
    assert isinstance(loaded, AlternatingTrainer) and loaded.loss_weights == (1.0, 0.5)
    x = np.random.default_rng(0).random((3, 5), dtype="float32")
    for got, want in zip(loaded(x), trainer(x)):
        np.testing.assert_allclose(got, want, atol=1e-6)


# === The builder and the task ===================================================================


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "sparkle"}, "mode must be one of 'joint', 'alternating'; got 'sparkle'"),
    ({"loss_weights": (1.0, -0.5)}, "loss weight -0.5 must be a finite number ≥ 0"),
    ({"loss_weights": (0, 0)}, "loss_weights (0, 0) are all 0"),
    ({"loss_weights": (1.0,)}, "give one per head"),
    ({"head_classes": (10,)}, "two or more heads"),
    ({"head_names": ("a", "a")}, "repeat a name"),
    ({"trunk": "autoencoder"}, "trunk 'autoencoder' is not a registered classifier"),
    ({"trunk_kwargs": {"num_classes": 3}}, "trunk_kwargs may not set 'num_classes'"),
])
def test_bad_builder_arguments_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError) as raised:
        keras_dl.create_model("multitask", **{"input_shape": (5,), **kwargs})
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_any_registered_classifier_can_be_the_trunk():
    model = keras_dl.create_model("multitask", input_shape=(28, 28, 1), trunk="lenet5",
                                  trunk_kwargs={"modern": True}, head_units=(8,))
    assert [output.shape[-1] for output in model.outputs] == [10, 4]
    assert [[layer.name for layer in layers] for layers in head_layers(model)] == [
        ["fine", "fine_dense1"], ["coarse", "coarse_dense1"]]
    assert TASK.output_names(model) == ("fine_probabilities", "coarse_probabilities")


def test_a_run_records_each_head_and_saves_the_network(tmp_path):
    """A joint run end to end (the alternating rule's runs: tests/test_determinism.py)."""
    result = train("multitask", dataset="fashion_mnist_groups", run_dir=tmp_path / "run",
                   epochs=1, limit=200, batch_size=32, verbose=0, monitor="val_accuracy",
                   builder_kwargs={"trunk_kwargs": {"hidden_units": [8]},
                                   "loss_weights": [1.0, 0.5]})
    assert {"val_fine_accuracy", "val_coarse_accuracy", "val_loss", "fine_loss"} <= set(
        result.history[-1])
    assert {"test_fine_accuracy", "test_coarse_accuracy"} <= set(result.metrics)
    assert result.metrics["best_val_accuracy"] == result.history[-1]["val_fine_accuracy"]
    assert result.config["builder_kwargs"]["loss_weights"] == [1.0, 0.5]
    assert result.config["builder_kwargs"]["head_classes"] == [10, 4]
    saved = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert [output.shape[-1] for output in saved.outputs] == [10, 4]
