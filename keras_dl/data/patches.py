"""Image patches: cut a grey image into k×k patches and put (reconstructed) patches back.

Lecture 003's "RBM for an image" trains an RBM on 10×10 patches of one photograph and shows
the photograph rebuilt from the RBM's reconstructions of its patches. `extract_patches` cuts
the patches (tiles when `stride == size`, overlapping ones when `stride < size`);
`assemble_patches` is its inverse, averaging every pixel over the patches that cover it, so
`assemble_patches(extract_patches(x, k, s), x.shape, s)` is `x` again for any stride ≤ k.
`grey_photograph` gives the offline photographs the demo uses (the two JPEGs scikit-learn
ships in its wheel).

```python
image = grey_photograph("china", size=200)             # (200, 200) in [0, 1]
patches = extract_patches(image, size=10, stride=5)    # (1521, 10, 10)
again = assemble_patches(patches, image.shape, stride=5)
```
"""

from __future__ import annotations

import numbers

import numpy as np

PHOTOGRAPHS = ("china", "flower")


def _positive_int(value, what):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _grey_shape(shape, what):
    shape = tuple(shape)
    if len(shape) != 2:
        raise ValueError(f"{what} must be a 2-D grey image (height, width), got shape {shape}")
    return shape


def patch_positions(image_shape, size, stride):
    """The top-left corners `(rows, columns)` of the patches `extract_patches` cuts.

    Corners step by `stride` from 0; when the last step does not reach the image's edge, one
    more patch flush with the edge is added, so every pixel lies in at least one patch.
    """
    height, width = _grey_shape(image_shape, "image")
    size = _positive_int(size, "patch size")
    stride = _positive_int(stride, "patch stride")
    if size > min(height, width):
        raise ValueError(f"patch size {size} is larger than the {height}×{width} image; "
                         f"allowed: 1 to {min(height, width)}")

    def corners(length):
        starts = list(range(0, length - size + 1, stride))
        if starts[-1] != length - size:
            starts.append(length - size)
        return np.asarray(starts)

    return corners(height), corners(width)


def extract_patches(image, size, stride=None):
    """All `size`×`size` patches of a grey `image` (H, W), row by row: shape (n, size, size).

    `stride` defaults to `size` (tiles). See `patch_positions` for where the patches lie.
    """
    image = np.asarray(image)
    stride = size if stride is None else stride
    rows, columns = patch_positions(_grey_shape(image.shape, "image"), size, stride)
    return np.stack([image[r:r + size, c:c + size] for r in rows for c in columns])


def assemble_patches(patches, image_shape, stride=None):
    """The image (H, W) whose patches are `patches` (n, k, k), each pixel the mean of its patches.

    The inverse of `extract_patches(image, k, stride)` with the same `image_shape` and
    `stride` (default: k): where patches overlap, their values are averaged.
    """
    patches = np.asarray(patches, dtype="float64")
    if patches.ndim != 3 or patches.shape[1] != patches.shape[2]:
        raise ValueError(f"patches must have shape (n, k, k), got {patches.shape}")
    size = patches.shape[1]
    stride = size if stride is None else stride
    rows, columns = patch_positions(image_shape, size, stride)
    if len(patches) != len(rows) * len(columns):
        raise ValueError(f"{len(patches)} patches do not tile a {tuple(image_shape)} image with "
                         f"stride {stride}; it takes {len(rows) * len(columns)}")
    total = np.zeros(tuple(image_shape))
    count = np.zeros(tuple(image_shape))
    corners = ((r, c) for r in rows for c in columns)
    for patch, (r, c) in zip(patches, corners):
        total[r:r + size, c:c + size] += patch
        count[r:r + size, c:c + size] += 1
    return total / count


def grey_photograph(name, size=None):
    """One of scikit-learn's bundled photographs ("china", "flower"; 427×640 RGB) in grey.

    Grey levels are the ITU-R 601 luma `0.299 R + 0.587 G + 0.114 B`, scaled to [0, 1]. With
    `size`, the photograph is halved (2×2 block means, 213×320) and its centre `size`×`size`
    crop is returned (lecture 003's demo uses a 200×200 photograph).
    """
    if name not in PHOTOGRAPHS:
        raise ValueError(f"unknown photograph {name!r}; allowed: {', '.join(PHOTOGRAPHS)}")
    from sklearn.datasets import load_sample_image

    rgb = load_sample_image(f"{name}.jpg").astype("float64") / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    if size is None:
        return grey.astype("float32")
    height, width = (grey.shape[0] // 2) * 2, (grey.shape[1] // 2) * 2
    half = grey[:height, :width].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    size = _positive_int(size, "photograph size")
    if size > min(half.shape):
        raise ValueError(f"photograph size {size} is larger than the halved photograph "
                         f"({half.shape[0]}×{half.shape[1]}); allowed: 1 to {min(half.shape)}")
    top, left = (half.shape[0] - size) // 2, (half.shape[1] - size) // 2
    return half[top:top + size, left:left + size].astype("float32")
