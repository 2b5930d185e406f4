"""Class-split dataset views (`keras_dl.data.views`): `BASE:classes=...,per_class=...,seed=...`."""

import dataclasses

import numpy as np
import pytest

from keras_dl import data, training
from keras_dl.data import sources, views


def test_a_class_subset_keeps_those_classes_renumbered():
    info = data.info("digits:classes=2+5-7")
    assert info.num_classes == 4 and info.class_names == ("2", "5", "6", "7")
    base_x, base_y = data.load_numpy("digits", "test")
    x, y = data.load_numpy("digits:classes=2+5-7", "test")
    kept = np.isin(base_y, [2, 5, 6, 7])
    np.testing.assert_array_equal(x, base_x[kept])  # the base's order, nothing else
    np.testing.assert_array_equal(y, np.searchsorted([2, 5, 6, 7], base_y[kept]))
    assert y.dtype == np.int32


def test_per_class_draws_n_training_examples_of_each_class_by_seed():
    x, y = data.load_numpy("digits:classes=0-4,per_class=7,seed=1", "train")
    np.testing.assert_array_equal(np.bincount(y), [7] * 5)
    again = data.load_numpy("digits:classes=0-4,per_class=7,seed=1", "train")[0]
    other = data.load_numpy("digits:classes=0-4,per_class=7,seed=2", "train")[0]
    assert np.array_equal(x, again) and not np.array_equal(x, other)
    # one seed's draws are nested: the 7 per class lie among the 20 per class
    larger = data.load_numpy("digits:classes=0-4,per_class=20,seed=1", "train")[0]
    assert {bytes(a) for a in x} <= {bytes(a) for a in larger}
    # the test split keeps every example of the kept classes
    _, test_y = data.load_numpy("digits:classes=0-4,per_class=7,seed=1", "test")
    _, base_test_y = data.load_numpy("digits", "test")
    assert len(test_y) == np.isin(base_test_y, range(5)).sum()


@pytest.mark.parametrize("name, message", [
    ("digits:classes=3-11", "dataset 'digits' has no class 10; its classes are 0-9"),
    ("digits:classes=4-2", "write a range A-B (A ≤ B)"),
    ("digits:classes=1+1", "names class 1 more than once"),
    ("digits:clases=1", "unknown key 'clases'; allowed: classes, per_class, seed"),
    ("digits:per_class=0", "per_class='0' is not an integer of at least 1"),
    ("digits:per_class=2,per_class=3", "gives per_class twice"),
    ("fashion_mnist_edges:classes=0-1", "class views are for classification datasets"),
])
def test_a_bad_view_is_named_with_what_is_allowed(name, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("+", r"\+")):
        data.info(name)


def test_more_labels_than_a_class_has_names_the_class_and_its_count():
    with pytest.raises(ValueError, match=r"class 3 \(3\) has 146 training example\(s\), "
                                         "fewer than per_class=900"):
        data.load_numpy("digits:classes=3-4,per_class=900")


def test_a_version_suffix_is_no_view():
    assert not views.is_view("mnist:3.0.1") and views.is_view("mnist:classes=0-4")


def test_validation_comes_from_each_class_and_leaves_each_class_an_example():
    name = "digits:classes=0-4,per_class=10"
    x, y = data.load_numpy(name)
    x_fit, y_fit, x_val, y_val = data.train_validation_split(x, y, 0.1, dataset=name)
    np.testing.assert_array_equal(np.bincount(y_val), [1] * 5)
    np.testing.assert_array_equal(np.bincount(y_fit), [9] * 5)
    x_fit, y_fit, x_val, y_val = data.train_validation_split(x, y, 0.5, dataset=name)
    np.testing.assert_array_equal(np.bincount(y_fit), [5] * 5)
    # one example per class: nothing can be held out; validation is the training set
    name = "digits:classes=0-4,per_class=1"
    x, y = data.load_numpy(name)
    x_fit, y_fit, x_val, y_val = data.train_validation_split(x, y, 0.1, dataset=name)
    assert len(x_fit) == 5 and np.array_equal(x_val, x_fit)


def test_two_label_sets_the_view_acts_on_column_zero(monkeypatch):
    rng = np.random.default_rng(0)
    fine = np.repeat(np.arange(4, dtype="int32"), 5)  # 4 classes of 5 examples
    coarse = (fine // 2).astype("int32")
    x = rng.random((20, 3), dtype="float32")

    def load(split):
        return x, np.stack([fine, coarse], axis=1)

    base = dataclasses.replace(sources.KNOWN["digits"], name="two_labels_h1", input_shape=(3,),
                               num_classes=4, class_names=("a", "b", "c", "d"), _load=load,
                               label_names=("fine", "coarse"), head_classes=(4, 2))
    monkeypatch.setitem(sources.KNOWN, "two_labels_h1", base)
    info = data.info("two_labels_h1:classes=1-3,per_class=2")
    assert info.num_classes == 3 and info.head_classes == (3, 2)
    assert info.label_names == ("fine", "coarse")
    _, y = data.load_numpy("two_labels_h1:classes=1-3,per_class=2", "train")
    assert len(y) == 15  # class 0's examples left; every other example stays
    labelled = y[:, 0] >= 0
    np.testing.assert_array_equal(np.bincount(y[labelled, 0]), [2, 2, 2])
    assert set(y[~labelled, 0]) == {-1}
    np.testing.assert_array_equal(y[:, 1], coarse[fine >= 1])  # the other labels untouched
    _, y_test = data.load_numpy("two_labels_h1:classes=1-3,per_class=2", "test")
    assert (y_test[:, 0] >= 0).all() and len(y_test) == 15


def test_a_run_records_the_view_and_trains_on_its_classes(tmp_path):
    name = "digits:classes=0-2,per_class=4,seed=3"
    result = training.train("mlp", run_dir=tmp_path / "run", dataset=name, epochs=1,
                            builder_kwargs={"hidden_units": [4]}, verbose=0)
    assert result.config["dataset"] == name
    assert result.config["builder_kwargs"]["num_classes"] == 3
    assert result.model.output_shape == (None, 3)
    assert result.metrics["train_examples"] == 9 and result.metrics["validation_examples"] == 3
    _, base_test_y = data.load_numpy("digits", "test")
    assert result.metrics["test_examples"] == np.isin(base_test_y, range(3)).sum()
