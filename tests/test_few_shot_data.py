"""The few-shot datasets (`keras_dl.data.few_shot`): classes split by base class, rotations as
classes, prefixes that hold every class, Omniglot's split and its failing fast offline, and the
trainer refusing to mix few-shot datasets with other models."""

from __future__ import annotations

import time
import types

import numpy as np
import pytest

from keras_dl import data
from keras_dl.data import few_shot, sources


def test_classes_split_by_base_class_with_every_rotation_together():
    """Catches a held-out class that shares its base class with a training class (a rotation of
    a training class is no new class to a network that has learnt the upright one)."""
    splits = data.info("fewshot_rotations").class_splits
    assert {part: len(labels) for part, labels in splits.items()} == {
        "train": 48, "validation": 8, "test": 24}
    labels = [set(splits[part]) for part in few_shot.PARTS]
    assert set.union(*labels) == set(range(80))
    assert sum(map(len, labels)) == 80  # disjoint
    bases = {part: {label // few_shot.ROTATIONS for label in splits[part]}
             for part in few_shot.PARTS}
    assert bases["train"].isdisjoint(bases["test"]) and bases["train"].isdisjoint(
        bases["validation"]) and bases["validation"].isdisjoint(bases["test"])
    for part in few_shot.PARTS:  # all four rotations of a base class in the same part
        assert set(splits[part]) == {4 * b + r for b in bases[part] for r in range(4)}
    # the digits 6 and 9 (base classes 16 and 19: 10 + the digit) are held out together
    assert {16, 19} <= bases["test"]


def test_each_class_is_a_rotation_of_its_base_class():
    x, y = data.load_numpy("fewshot_rotations", "test")
    splits = data.info("fewshot_rotations").class_splits
    assert set(np.unique(y)) == set(splits["test"]) and x.shape[1:] == (28, 28, 1)
    assert 0 <= x.min() and x.max() <= 1
    for base in sorted({label // 4 for label in splits["test"]}):
        upright = x[y == 4 * base]
        for rotation in (1, 2, 3):
            turned = x[y == 4 * base + rotation]
            assert len(turned) == len(upright)
            np.testing.assert_array_equal(turned, np.rot90(upright, rotation, axes=(1, 2)))
    x_train, y_train = data.load_numpy("fewshot_rotations", "train")
    assert set(np.unique(y_train)) == set(splits["train"]) | set(splits["validation"])
    counts = np.bincount(y_train, minlength=80)
    assert np.all(counts[[c for c in splits["train"] if c < 40]] == 200)  # Fashion-MNIST
    assert np.all(counts[[c for c in splits["train"] if c >= 40]] >= 170)  # every digit


def test_any_prefix_holds_every_class_of_its_split():
    _, y = data.load_numpy("fewshot_rotations", "train", limit=56)
    assert len(set(y)) == 56
    _, y = data.load_numpy("fewshot_rotations", "test", limit=48)
    assert np.all(np.bincount(y)[np.unique(y)] == 2) and len(set(y)) == 24


def test_round_robin_interleaves_classes():
    order = few_shot.round_robin([np.array([0, 1, 2]), np.array([10]), np.array([20, 21])])
    assert order.tolist() == [0, 10, 20, 1, 21, 2]


def test_omniglot_uses_the_background_evaluation_split_in_four_rotations():
    splits = data.info("omniglot").class_splits
    assert len(splits["train"]) + len(splits["validation"]) == 964 * 4
    assert len(splits["test"]) == 659 * 4 and min(splits["test"]) == 964 * 4
    assert data.info("omniglot").input_shape == (28, 28, 1)


def test_omniglot_fails_fast_offline_saying_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "_tfds_builder",
                        lambda name: types.SimpleNamespace(data_dir=str(tmp_path)))
    monkeypatch.setattr(sources, "is_online", lambda *a, **k: False)
    start = time.perf_counter()
    with pytest.raises(data.DatasetUnavailableError, match="omniglot.*connect to the internet"):
        data.load_numpy("omniglot", "train")
    assert time.perf_counter() - start < 10
    assert not data.info("omniglot").available_offline()


@pytest.mark.parametrize("model, dataset, message", [
    ("mlp", "fewshot_rotations", "holds out whole classes for few-shot testing; model 'mlp' is "
                                 "classification"),
    ("prototypical_network", "digits", "model 'prototypical_network' learns from episodes; "
                                       "dataset 'digits' is no few-shot dataset"),
])
def test_few_shot_data_and_episodic_models_go_together(model, dataset, message):
    from keras_dl.training import resolve_config

    with pytest.raises(ValueError, match=message):
        resolve_config(model, dataset=dataset)
