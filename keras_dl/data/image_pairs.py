"""Image-to-image datasets: Fashion-MNIST images paired with an input made from each of them,
for conditional generators such as pix2pix (Isola et al. 2017).

A pair dataset's `load_numpy(name, split)` gives `(inputs, targets)`: both float32 images in
[0, 1] of shape (28, 28, 1), the target being the Fashion-MNIST image itself, in the same order
and with the same train/test split as `fashion_mnist` (so `load_numpy("fashion_mnist", split)`
gives the class labels of the pairs). Its `info(name)` has `target_shape` (28, 28, 1) and
`num_classes` 0: its targets are images, not labels.

- `fashion_mnist_edges`: input = the binary edge map of the image (`sobel_edges`): 1 where the
  Sobel gradient magnitude reaches `EDGE_THRESHOLD` of its maximum, 0 elsewhere. Isola et al.'s
  edges2shoes and edges2handbags inputs are binary edge maps of photographs, found by HED
  (holistically-nested edge detection; Xie & Tu 2015) and thresholded; on 28×28 images the
  classic Sobel operator (Sobel & Feldman 1968) finds the same outlines without a network. The
  edges are white (1) on black (0), Fashion-MNIST's own polarity; edges2shoes draws them black
  on white (`1 - x` converts).
- `fashion_mnist_inpainting`: input = the image with a `MASK_SIZE`×`MASK_SIZE` square set to
  `MASK_FILL` (0.5), target = the whole image (the inpainting task of Pathak et al.'s context
  encoders, which fill the hole with a constant too). Where the square lies is drawn once per
  image from a seeded generator (`inpainting_boxes`: seed 0 for train, 1 for test), so an
  image's mask is the same on every load. No Fashion-MNIST pixel equals 0.5 exactly (they are
  multiples of 1/255), so `inputs == MASK_FILL` recovers the mask.

Both are computed with vectorised NumPy when first loaded (all 70,000 images in about a second)
and are deterministic. They need the Fashion-MNIST files that `fashion_mnist` reads (Debian's
`dataset-fashion-mnist`) and, without them, fail with `fashion_mnist`'s message.

Reference:
    Isola, Zhu, Zhou, Efros. "Image-to-Image Translation with Conditional Adversarial
    Networks", CVPR 2017 (pix2pix; edges2shoes from Yu & Grauman's UT Zappos50K);
    Xie & Tu. "Holistically-Nested Edge Detection", ICCV 2015; Pathak, Krähenbühl, Donahue,
    Darrell, Efros. "Context Encoders: Feature Learning by Inpainting", CVPR 2016.
"""

from __future__ import annotations

import numpy as np

from keras_dl.data import sources

# The Sobel magnitude of an image in [0, 1] is at most 4·√2 (a full step across both
# directions); edges are where it reaches this fraction of that maximum.
SOBEL_MAX = 4.0 * np.sqrt(2.0)
EDGE_THRESHOLD = 0.2
MASK_SIZE = 12
MASK_FILL = 0.5
MASK_SEEDS = {"train": 0, "test": 1}
IMAGE_SHAPE = (28, 28, 1)
CHUNK = 2048  # images per vectorised step of `sobel_edges`


def _check_images(images):
    images = np.asarray(images)
    if images.ndim != 4 or not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"images must be a numeric array of shape (count, height, width, "
                         f"channels), got shape {images.shape} and dtype {images.dtype}")
    return images.astype(np.float32, copy=False)


def sobel_edges(images, threshold: float | None = EDGE_THRESHOLD) -> np.ndarray:
    """Edge maps of `images` (count, height, width, channels) in [0, 1], float32, same shape.

    The Sobel operator, each channel on its own: horizontal and vertical derivatives of the
    image smoothed across the other axis with [1, 2, 1], with the border pixels repeated (so a
    constant image, border included, has no edges). Its magnitude `sqrt(gx² + gy²)` is divided
    by its largest possible value 4·√2, giving [0, 1]. With `threshold` (a fraction in (0, 1]),
    the map is binary: 1.0 where that normalised magnitude is at least `threshold`, 0.0
    elsewhere; with None, the normalised magnitude itself.

    Args:
        images: float images in [0, 1], shape (count, height, width, channels).
        threshold: the edge threshold on the normalised magnitude, or None.

    Reference:
        Sobel & Feldman, "A 3×3 isotropic gradient operator for image processing" (1968).
    """
    images = _check_images(images)
    if threshold is not None and (isinstance(threshold, bool) or
                                  not isinstance(threshold, (int, float)) or
                                  not 0 < threshold <= 1):
        raise ValueError(f"threshold must be a number in (0, 1] or None, got {threshold!r}")
    edges = np.empty(images.shape, np.float32)
    for start in range(0, len(images), CHUNK):  # chunks that stay in the CPU cache: 4× faster
        edges[start:start + CHUNK] = _sobel(images[start:start + CHUNK], threshold)
    return edges


def _sobel(images, threshold):
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    smoothed_down = padded[:, :-2] + 2 * padded[:, 1:-1] + padded[:, 2:]  # [1, 2, 1] on rows
    gx = smoothed_down[:, :, 2:] - smoothed_down[:, :, :-2]
    smoothed_across = padded[:, :, :-2] + 2 * padded[:, :, 1:-1] + padded[:, :, 2:]
    gy = smoothed_across[:, 2:] - smoothed_across[:, :-2]
    squared = gx * gx + gy * gy
    if threshold is None:
        return np.minimum(np.sqrt(squared) / np.float32(SOBEL_MAX), 1)
    return squared >= np.float32((threshold * SOBEL_MAX) ** 2)


def inpainting_boxes(count: int, split: str, image_size: int = IMAGE_SHAPE[0],
                     size: int = MASK_SIZE) -> np.ndarray:
    """The masked squares of `fashion_mnist_inpainting`'s `split`: an int array (count, 2) of
    each square's top row and left column; square i covers rows `top..top+size-1` and columns
    `left..left+size-1` of image i. Drawn uniformly (the square wholly inside the image) from
    `numpy.random.default_rng(MASK_SEEDS[split])`."""
    if split not in MASK_SEEDS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(MASK_SEEDS)}")
    if not 0 < size <= image_size:
        raise ValueError(f"mask size must be in 1..{image_size}, got {size!r}")
    rng = np.random.default_rng(MASK_SEEDS[split])
    return rng.integers(0, image_size - size + 1, size=(count, 2))


def mask_squares(images, boxes, size: int = MASK_SIZE, fill: float = MASK_FILL) -> np.ndarray:
    """A copy of `images` (count, height, width, channels) with square i, `size` pixels wide at
    `boxes[i] = (top, left)`, set to `fill` in every channel."""
    images = _check_images(images)
    boxes = np.asarray(boxes)
    if boxes.shape != (len(images), 2):
        raise ValueError(f"boxes must have shape ({len(images)}, 2), one (top, left) per "
                         f"image; got {boxes.shape}")
    rows = np.arange(images.shape[1])
    cols = np.arange(images.shape[2])
    in_rows = (rows >= boxes[:, :1]) & (rows < boxes[:, :1] + size)  # (count, height)
    in_cols = (cols >= boxes[:, 1:]) & (cols < boxes[:, 1:] + size)  # (count, width)
    inside = in_rows[:, :, None, None] & in_cols[:, None, :, None]
    return np.where(inside, np.float32(fill), images).astype(np.float32)


def _load_fashion_mnist_edges(split):
    images, _ = sources._load_fashion_mnist(split)
    return sobel_edges(images), images


def _load_fashion_mnist_inpainting(split):
    images, _ = sources._load_fashion_mnist(split)
    return mask_squares(images, inpainting_boxes(len(images), split)), images


def _fashion_mnist_offline():
    return sources.fashion_mnist_dir() is not None or sources._tfds_prepared("fashion_mnist")


DATASETS = {
    "fashion_mnist_edges": sources.DatasetInfo(
        name="fashion_mnist_edges",
        input_shape=IMAGE_SHAPE,
        num_classes=0,
        class_names=(),
        source="fashion_mnist pairs: input the binary Sobel edge map (edges2shoes-like), "
        "target the image (the same images and split)",
        how_to_get=sources.KNOWN["fashion_mnist"].how_to_get,
        target_shape=IMAGE_SHAPE,
        _offline=_fashion_mnist_offline,
        _load=_load_fashion_mnist_edges,
    ),
    "fashion_mnist_inpainting": sources.DatasetInfo(
        name="fashion_mnist_inpainting",
        input_shape=IMAGE_SHAPE,
        num_classes=0,
        class_names=(),
        source=f"fashion_mnist pairs: input the image with a {MASK_SIZE}×{MASK_SIZE} square set "
        f"to {MASK_FILL} (seeded per split), target the image (the same images and split)",
        how_to_get=sources.KNOWN["fashion_mnist"].how_to_get,
        target_shape=IMAGE_SHAPE,
        _offline=_fashion_mnist_offline,
        _load=_load_fashion_mnist_inpainting,
    ),
}

sources.KNOWN.update(DATASETS)
