"""The image-to-image datasets made from Fashion-MNIST: fashion_mnist_edges (binary Sobel edge
map → image) and fashion_mnist_inpainting (image with a masked square → image)."""

import numpy as np
import pytest

from _cli import run_cli
from keras_dl import data
from keras_dl.data import image_pairs, sources

PAIRS = ("fashion_mnist_edges", "fashion_mnist_inpainting")


@pytest.mark.parametrize("name", PAIRS)
def test_pairs_have_fashion_mnists_split_and_images_as_targets(name):
    info = data.info(name)
    assert info.input_shape == info.target_shape == (28, 28, 1)
    assert info.num_classes == 0 and info.available_offline()
    assert data.info("fashion_mnist").target_shape is None  # label datasets keep None
    for split in ("train", "test"):
        inputs, targets = data.load_numpy(name, split)
        images, _ = data.load_numpy("fashion_mnist", split)
        assert inputs.shape == targets.shape == images.shape  # 60,000 / 10,000 × 28×28×1
        assert inputs.dtype == targets.dtype == np.float32
        assert 0 <= inputs[::7].min() and inputs[::7].max() <= 1
        np.testing.assert_array_equal(targets[::7], images[::7])  # same images, same order
    x, y = next(iter(data.load(name, "test", batch_size=8)))
    assert x.shape == y.shape == (8, 28, 28, 1)


def test_edges_are_the_thresholded_sobel_map_and_deterministic():
    inputs, _ = data.load_numpy("fashion_mnist_edges", "test")
    images, _ = data.load_numpy("fashion_mnist", "test")
    assert set(np.unique(inputs)) == {0.0, 1.0}  # binary, as edges2shoes
    np.testing.assert_array_equal(inputs[:100], image_pairs.sobel_edges(images[:100]))
    np.testing.assert_array_equal(data.info("fashion_mnist_edges")._load("test")[0], inputs)
    assert 0.05 < inputs.mean() < 0.4  # outlines, neither empty nor everything


def test_sobel_edges_of_constant_and_step_images():
    constant = np.full((3, 9, 9, 2), 0.7, np.float32)
    assert not image_pairs.sobel_edges(constant).any()
    assert not image_pairs.sobel_edges(constant, threshold=None).any()
    step = np.zeros((1, 8, 8, 1), np.float32)
    step[:, :, 4:] = 1.0  # a vertical edge between columns 3 and 4
    magnitude = image_pairs.sobel_edges(step, threshold=None)[0, :, :, 0]
    np.testing.assert_allclose(magnitude[:, 3:5], 1 / np.sqrt(2), rtol=1e-6)  # |gx| = 4 of 4√2
    assert not magnitude[:, :3].any() and not magnitude[:, 5:].any()
    np.testing.assert_array_equal(image_pairs.sobel_edges(step)[0, :, :, 0], magnitude > 0)
    with pytest.raises(ValueError, match="threshold must be a number in \\(0, 1\\] or None"):
        image_pairs.sobel_edges(step, threshold=2)


def test_inpainting_masks_the_documented_square_and_nothing_else():
    inputs, targets = data.load_numpy("fashion_mnist_inpainting", "test")
    boxes = image_pairs.inpainting_boxes(len(inputs), "test")
    size = image_pairs.MASK_SIZE
    assert boxes.min() >= 0 and boxes.max() <= 28 - size
    rows, cols = np.arange(28), np.arange(28)
    inside = (((rows >= boxes[:, :1]) & (rows < boxes[:, :1] + size))[:, :, None]
              & ((cols >= boxes[:, 1:]) & (cols < boxes[:, 1:] + size))[:, None, :])[..., None]
    assert np.all(inputs[inside] == image_pairs.MASK_FILL)
    np.testing.assert_array_equal(inputs[~inside], targets[~inside])
    np.testing.assert_array_equal(inputs == image_pairs.MASK_FILL, inside)  # mask recoverable
    np.testing.assert_array_equal(data.info("fashion_mnist_inpainting")._load("test")[0],
                                  inputs)  # the same squares on every load
    assert not np.array_equal(image_pairs.inpainting_boxes(100, "train"), boxes[:100])
    assert len(np.unique(boxes, axis=0)) > 200  # the squares move from image to image


def test_pairs_are_listed_and_unknown_names_refused(capsys):
    assert set(PAIRS) <= set(data.list_datasets())
    with pytest.raises(ValueError, match="unknown dataset 'fashion_mnist_edge'; known: .*"
                                         "fashion_mnist_inpainting"):
        data.info("fashion_mnist_edge")
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        data.load_numpy("fashion_mnist_edges", "validation")
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0 and "fashion_mnist_edges" in out and "images 28×28×1" in out


def test_missing_fashion_mnist_fails_fast_with_fashion_mnists_message(monkeypatch):
    monkeypatch.setattr(sources, "fashion_mnist_dir", lambda: None)
    monkeypatch.setattr(sources, "is_online", lambda *a, **k: False)
    messages = []
    for name in ("fashion_mnist", *PAIRS):
        assert not data.info(name).available_offline()
        with pytest.raises(data.DatasetUnavailableError, match="apt-get install") as error:
            data.info(name)._load("test")  # not through load_numpy's cache
        messages.append(str(error.value))
    assert messages[0] == messages[1] == messages[2]
