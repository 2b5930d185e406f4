"""Pictures the lectures show: weight mosaics and unit-activity statistics.

Numpy in, numpy (or a PNG file) out; matplotlib is imported only by the `save_*` functions.
"""

from __future__ import annotations

import math

import numpy as np


def tile_images(images, grid=None, padding=1, normalize="each"):
    """Arrange `images` (n, h, w) into one mosaic array, row by row.

    Args:
        images: array of shape (n, h, w).
        grid: (rows, cols); by default the squarest grid that holds n.
        padding: pixels between tiles (filled with the mosaic's minimum).
        normalize: "each" scales every tile to [0, 1] on its own (filters with different
            norms stay visible), "global" scales the mosaic as a whole, None leaves values.
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width), got {images.shape}")
    n, h, w = images.shape
    if grid is None:
        cols = math.ceil(math.sqrt(n))
        grid = (math.ceil(n / cols), cols)
    rows, cols = grid
    if rows * cols < n:
        raise ValueError(f"a {rows}×{cols} grid cannot hold {n} images")
    if normalize == "each":
        low = images.min(axis=(1, 2), keepdims=True)
        span = images.max(axis=(1, 2), keepdims=True) - low
        images = (images - low) / np.where(span > 0, span, 1)
    elif normalize == "global":
        span = images.max() - images.min()
        images = (images - images.min()) / (span if span > 0 else 1)
    elif normalize is not None:
        raise ValueError(f"normalize must be 'each', 'global' or None, got {normalize!r}")
    mosaic = np.full(
        (rows * h + (rows - 1) * padding, cols * w + (cols - 1) * padding),
        images.min() if n else 0, dtype="float32",
    )
    for index in range(n):
        r, c = divmod(index, cols)
        top, left = r * (h + padding), c * (w + padding)
        mosaic[top:top + h, left:left + w] = images[index]
    return mosaic


def kernel_images(kernel, image_shape):
    """A dense layer's kernel (inputs × units) as one image per unit: (units, h, w)."""
    kernel = np.asarray(kernel)
    if kernel.ndim != 2 or kernel.shape[0] != int(np.prod(image_shape)):
        raise ValueError(
            f"kernel of shape {kernel.shape} does not map images of shape {image_shape} to units"
        )
    return kernel.T.reshape((kernel.shape[1], *image_shape))


def activity_rates(activations, threshold=0.0):
    """For each unit (last axis), the fraction of examples on which it exceeds `threshold`.

    Lecture 001, "On sparsity": "How often h_i > 0? Histogram over units i. (Sometimes units
    become completely dead.)"
    """
    activations = np.asarray(activations)
    return (activations.reshape(-1, activations.shape[-1]) > threshold).mean(axis=0)


def save_image_grid(images, path, title, grid=None, cmap="gray"):
    """Save a mosaic of `images` (n, h, w) as a PNG with a title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mosaic = tile_images(images, grid)
    figure, axis = plt.subplots(figsize=(7, 7 * mosaic.shape[0] / mosaic.shape[1] + 0.6))
    axis.imshow(mosaic, cmap=cmap, interpolation="nearest")
    axis.set_title(title)
    axis.set_xticks([])
    axis.set_yticks([])
    save_figure(figure, path, dpi=120)


def save_figure(figure, path, dpi=110, tight="layout"):
    """Lay out `figure`, write it to `path` (PNG) and close it (pyplot keeps open figures alive).

    `tight="layout"` runs `figure.tight_layout()` first; `tight="bbox"` crops the saved image
    to its contents instead (for figures whose colour bars or insets tight_layout can't place).
    """
    import matplotlib.pyplot as plt

    if tight not in ("layout", "bbox"):
        raise ValueError(f"tight must be 'layout' or 'bbox', got {tight!r}")
    if tight == "layout":
        figure.tight_layout()
    figure.savefig(path, dpi=dpi, **({"bbox_inches": "tight"} if tight == "bbox" else {}))
    plt.close(figure)
