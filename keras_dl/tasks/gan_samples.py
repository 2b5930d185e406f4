"""The sample grids a GAN run writes: `RUN_DIR/samples/epoch_NNN.png` after every epoch.

The noise is drawn once, when the callback is made, so the grids of successive epochs show the
same `z` going through the generator as it learns (Radford et al. 2016's figures). A
conditional generator gets one row per class, the same noise in every row, so a row shows a
class and a column a style.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import keras
import numpy as np


def tile(images, rows: int, columns: int, padding: int = 1) -> np.ndarray:
    """`images` (n, h, w, c) in [0, 1] as one uint8 mosaic of `rows` × `columns` tiles,
    row by row, on a white background; (H, W) for one channel, (H, W, c) otherwise."""
    images = np.clip(np.asarray(images, dtype="float32"), 0.0, 1.0)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or len(images) > rows * columns:
        raise ValueError(f"a {rows}×{columns} grid cannot hold images of shape {images.shape}")
    _, height, width, channels = images.shape
    mosaic = np.ones((rows * (height + padding) - padding, columns * (width + padding) - padding,
                      channels), dtype="float32")
    for index, image in enumerate(images):
        top, left = divmod(index, columns)
        top, left = top * (height + padding), left * (width + padding)
        mosaic[top:top + height, left:left + width] = image
    mosaic = np.round(mosaic * 255).astype("uint8")
    return mosaic[..., 0] if channels == 1 else mosaic


def write_png(mosaic: np.ndarray, path) -> Path:
    """Write the uint8 `mosaic` as a PNG at `path` through a temporary file renamed over it
    (a reader never sees part of one)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(handle)
    try:
        Image.fromarray(mosaic).save(temporary, format="PNG")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, the generator's images from fixed noise as
    `directory/epoch_NNN.png` (NNN: the 1-based epoch).

    Args:
        generator: the generator (inputs "noise", and "label" for a conditional one).
        directory: where the PNGs go (a run's `samples/`).
        num_classes: the conditional generator's classes (one row each); None for an
            unconditional generator (an 8 × 8 grid).
        columns: samples per row.
        seed: seed of the fixed noise.
    """

    def __init__(self, generator, directory, *, num_classes=None, columns=8, seed=0):
        super().__init__()
        self.generator = generator
        self.directory = Path(directory)
        self.columns = int(columns)
        self.rows = int(num_classes) if num_classes else self.columns
        latent_dim = int(generator.inputs[0].shape[-1])
        rng = np.random.default_rng(seed)
        if num_classes:
            noise = np.tile(rng.standard_normal((self.columns, latent_dim)), (self.rows, 1))
            labels = np.repeat(np.arange(self.rows), self.columns).astype("int32")
            self.inputs = [noise.astype("float32"), labels]
        else:
            noise = rng.standard_normal((self.rows * self.columns, latent_dim))
            self.inputs = noise.astype("float32")

    def path(self, epoch: int) -> Path:
        """The grid of the (0-based) `epoch`."""
        return self.directory / f"epoch_{epoch + 1:03d}.png"

    def on_epoch_end(self, epoch, logs=None):
        images = keras.ops.convert_to_numpy(self.generator(self.inputs, training=False))
        write_png(tile(images, self.rows, self.columns), self.path(epoch))
