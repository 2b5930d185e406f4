"""Named datasets on their offline sources, the IDX reader, and failing fast when offline."""

import gzip
import struct
import time

import numpy as np
import pytest

from keras_dl import data
from keras_dl.data import idx, sources


def _write_idx(path, array, compress=True):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(">u1").tobytes()
    (gzip.open if compress else open)(path, "wb").write(payload)


def test_read_idx_round_trips_plain_and_gzipped(tmp_path):
    array = np.arange(2 * 3 * 4, dtype="uint8").reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", array)
    _write_idx(tmp_path / "a", array, compress=False)
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "a.gz"), array)
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "a"), array)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x12\x34\x56\x78rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        idx.read_idx(tmp_path / "junk")
    array = np.zeros((4, 4), "uint8")
    _write_idx(tmp_path / "short", array, compress=False)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        idx.read_idx(tmp_path / "short")


def test_digits_split_is_fixed_and_stratified():
    x_train, y_train = data.load_numpy("digits", "train")
    x_test, y_test = data.load_numpy("digits", "test")
    assert x_train.shape == (1437, 8, 8, 1) and x_test.shape == (360, 8, 8, 1)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() == 1.0
    test_share = np.bincount(y_test, minlength=10) / np.bincount(
        np.concatenate([y_train, y_test]), minlength=10
    )
    assert np.all(np.abs(test_share - 0.2) < 0.02)  # every class split 80/20
    data._cached_arrays.cache_clear()
    np.testing.assert_array_equal(data.load_numpy("digits", "test")[1], y_test)


def test_fashion_mnist_reads_the_debian_idx_files():
    assert sources.fashion_mnist_dir() is not None, (
        "Fashion-MNIST IDX files not found: the test command installs dataset-fashion-mnist"
    )
    x, y = data.load_numpy("fashion_mnist", "train")
    x_test, y_test = data.load_numpy("fashion_mnist", "test")
    assert x.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    # The published files begin with these labels, and every class has 6,000 / 1,000 images.
    assert list(y[:10]) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert list(y_test[:10]) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert set(np.bincount(y)) == {6000} and set(np.bincount(y_test)) == {1000}
    assert data.info("fashion_mnist").class_names[9] == "Ankle boot"


def test_mnist1d_is_generated_offline():
    x, y = data.load_numpy("mnist1d", "train")
    x_test, _ = data.load_numpy("mnist1d", "test")
    assert x.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert set(np.unique(y)) == set(range(10))


def test_load_gives_batched_shuffled_pipelines():
    train = data.load("digits", "train", batch_size=100, seed=3)
    x, y = next(iter(train))
    assert x.shape == (100, 8, 8, 1) and y.shape == (100,)
    first_epoch = np.concatenate([b.numpy() for _, b in train])
    second_epoch = np.concatenate([b.numpy() for _, b in train])
    assert sorted(first_epoch) == sorted(second_epoch)
    assert not np.array_equal(first_epoch, second_epoch)  # reshuffled every epoch
    test = data.load("digits", "test", batch_size=360)
    np.testing.assert_array_equal(next(iter(test))[1], data.load_numpy("digits", "test")[1])


def test_limit_and_bad_arguments():
    assert data.load_numpy("digits", "train", limit=10)[0].shape[0] == 10
    with pytest.raises(ValueError, match="unknown split 'validation'; allowed: train, test"):
        data.load_numpy("digits", "validation")
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        data.load_numpy("digits", "train", limit=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        data.load("digits", batch_size=0)
    with pytest.raises(ValueError, match="unknown dataset 'no_such_data'; known: digits"):
        data.info("no_such_data")


def test_train_validation_split_is_disjoint_and_seeded():
    x = np.arange(100)[:, None]
    y = np.arange(100)
    x_fit, y_fit, x_val, y_val = data.train_validation_split(x, y, 0.1, seed=5)
    assert len(x_val) == 10 and len(x_fit) == 90
    assert set(y_fit).isdisjoint(y_val) and set(y_fit) | set(y_val) == set(range(100))
    np.testing.assert_array_equal(data.train_validation_split(x, y, 0.1, seed=5)[3], y_val)


def test_missing_dataset_fails_within_seconds_saying_how_to_get_it(monkeypatch):
    monkeypatch.setattr(sources, "is_online", lambda *a, **k: False)
    start = time.perf_counter()
    with pytest.raises(data.DatasetUnavailableError, match="connect to the internet"):
        data.load_numpy("kmnist", "train")
    assert time.perf_counter() - start < 10


def test_is_online_gives_up_on_a_hanging_lookup(monkeypatch):
    def hang(*args, **kwargs):
        time.sleep(3)
        raise OSError("timed out")

    monkeypatch.setattr(sources.socket, "create_connection", hang)
    start = time.perf_counter()
    assert sources.is_online(timeout=0.5) is False
    assert time.perf_counter() - start < 2


def test_offline_availability_is_reported():
    assert data.info("digits").available_offline()
    assert data.info("mnist1d").available_offline()
    assert data.info("fashion_mnist").available_offline()
    assert data.info("sequential_fashion_mnist").available_offline()
    assert data.list_datasets() == ["dates_to_iso", "digits", "fashion_mnist",
                                    "fashion_mnist_edges", "fashion_mnist_groups",
                                    "fashion_mnist_inpainting", "fashion_mnist_m",
                                    "fewshot_rotations", "lee_background", "mnist1d",
                                    "mnist1d_sequence", "moons_shift", "omniglot",
                                    "pang_lee_polarity", "sequential_fashion_mnist",
                                    "wiki_sample"]


def test_sequence_views_are_the_same_examples_read_as_sequences():
    """sequential_fashion_mnist: image i's row t is time step t; mnist1d_sequence: the signal
    as 40 steps of 1 value. Catches a transposed view (columns as steps), another split, or
    labels out of step with the examples."""
    for split in ("train", "test"):
        images, labels = data.load_numpy("fashion_mnist", split, limit=50)
        rows, row_labels = data.load_numpy("sequential_fashion_mnist", split, limit=50)
        assert rows.shape == (50, 28, 28) and rows.dtype == np.float32
        np.testing.assert_array_equal(rows, images[..., 0])
        np.testing.assert_array_equal(row_labels, labels)
    signals, signal_labels = data.load_numpy("mnist1d", "test")
    steps, step_labels = data.load_numpy("mnist1d_sequence", "test")
    assert steps.shape == (len(signals), 40, 1)
    np.testing.assert_array_equal(steps[..., 0], signals)
    np.testing.assert_array_equal(step_labels, signal_labels)
    assert data.info("sequential_fashion_mnist").input_shape == (28, 28)
    assert data.info("mnist1d_sequence").input_shape == (40, 1)
