"""Data augmentation as a Keras preprocessing pipeline for the training input only.

Lecture 004 ("data augmentation as a form of regularization"): mirroring, small
translations, rotations, cropping; affine transforms (stretch, shear) and perspective
distortion; contrast enhancement, adding noise, and colour jitter along the principal
components of the RGB values (Krizhevsky et al. 2012). Beyond the lecture: Random Erasing
(Zhong et al. 2020). `build_augmentation` turns a spec such as

    "flip,translate=0.1,rotate=10,shear=0.1,crop=4,contrast=0.2,noise=0.05,pca_jitter=0.1,erase=0.5"

into a `keras.Sequential` of preprocessing layers, applied in that order (every name is in
the table below). The trainer maps it over the training `tf.data` pipeline only
(`to_dataset(..., augment=...)`): validation and test data are never augmented, and the
layers never enter the model, so nothing of them is saved or exported into the serving graph.

| name         | value (default)           | layer                                              |
|--------------|---------------------------|----------------------------------------------------|
| `flip`       | —                         | `RandomFlip("horizontal")` (mirroring)             |
| `translate`  | fraction of the size (0.1)| `RandomTranslation(v, v)`                          |
| `rotate`     | degrees (10)              | `RandomRotation(v / 360)`                          |
| `shear`      | shear factor (0.1)        | `RandomShear(v, v)` (an affine map)                |
| `zoom`       | fraction (0.1)            | `RandomZoom(v)` (one factor for both sides)        |
| `stretch`    | fraction (0.1)            | `RandomZoom(v, v)`: height and width scaled by     |
|              |                           | separate factors (changes the aspect ratio)        |
| `perspective`| distortion (0.2)          | `RandomPerspective(v)`: corners pulled inwards by  |
|              |                           | up to v · half the size, a random homography       |
| `crop`       | padding in pixels (4)     | `RandomPaddedCrop(v)`: zero-pad by `v`, crop back  |
|              |                           | to the size at a random offset for each image      |
| `contrast`   | factor (0.2)              | `RandomContrast(v)` on [0, 1] images               |
| `noise`      | standard deviation (0.05) | `GaussianNoise(v)` (additive noise)                |
| `pca_jitter` | σ of α (0.1)              | `PCAColorJitter` fitted on the training images     |
| `erase`      | probability (0.5)         | `RandomErasing(v)`: a random rectangle of the image|
|              |                           | refilled with uniform noise (Zhong et al. 2020)    |

`pca_jitter` needs RGB images: on grey-scale data (Fashion-MNIST) it raises `ValueError`
rather than silently doing nothing.
"""

from __future__ import annotations

import keras

from keras_dl.layers import PCAColorJitter, RandomErasing, RandomPaddedCrop, RandomPerspective

DEFAULTS = {
    "flip": None,
    "translate": 0.1,
    "rotate": 10.0,
    "shear": 0.1,
    "zoom": 0.1,
    "stretch": 0.1,
    "perspective": 0.2,
    "crop": 4,
    "contrast": 0.2,
    "noise": 0.05,
    "pca_jitter": 0.1,
    "erase": 0.5,
}
AUGMENTATIONS = tuple(DEFAULTS)


def parse_augment(spec) -> dict:
    """`{name: value}` from a spec string ("flip,rotate=10") or a dict; `ValueError` if bad.

    Values default to `DEFAULTS`; `None`/"" give no augmentation (an empty dict).
    """
    if spec is None or spec == "" or spec == {}:
        return {}
    if isinstance(spec, dict):
        items = list(spec.items())
    elif isinstance(spec, str):
        items = []
        for part in spec.split(","):
            key, sep, value = part.strip().partition("=")
            items.append((key.strip(), value.strip() if sep else None))
    else:
        raise ValueError(f"augment must be a string like 'flip,rotate=10', got {spec!r}")
    parsed = {}
    for key, value in items:
        if key not in DEFAULTS:
            raise ValueError(
                f"unknown augmentation {key!r}; allowed: {', '.join(AUGMENTATIONS)}"
            )
        if key == "flip":
            if value not in (None, "", True):
                raise ValueError(f"flip takes no value, got {value!r}")
            parsed[key] = None
            continue
        if value is None or value == "":
            value = DEFAULTS[key]
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"augmentation {key} needs a number, got {value!r}") from None
        if not number > 0 or number != number or number == float("inf"):
            raise ValueError(f"augmentation {key} needs a positive number, got {value!r}")
        if key == "crop":
            if number != int(number):
                raise ValueError(f"crop is a padding in whole pixels, got {value!r}")
            number = int(number)
        elif key in ("translate", "zoom", "stretch", "contrast") and number >= 1:
            raise ValueError(f"augmentation {key} is a fraction in (0, 1), got {value!r}")
        elif key == "erase" and number > 1:
            raise ValueError(f"augmentation erase is a probability in (0, 1], got {value!r}")
        elif key == "perspective" and number > 1:
            raise ValueError(f"augmentation perspective is a distortion in (0, 1], "
                             f"got {value!r}")
        parsed[key] = number
    return parsed


def format_augment(spec) -> str | None:
    """The canonical spec string of `spec` (for configs and logs); None for no augmentation."""
    parsed = parse_augment(spec)
    if not parsed:
        return None
    return ",".join(key if value is None else f"{key}={value:g}" for key, value in parsed.items())


def augment_option(text, *, channels=None) -> str:
    """A command line's `--augment` value checked: `""` for "none", else the canonical spec.

    `ValueError` (one line naming the bad part and the allowed ones) for a bad spec, or for
    `pca_jitter` when `channels` says the images are not RGB.
    """
    if text.strip().lower() == "none":
        return ""
    spec = format_augment(text)
    if spec is None:
        raise ValueError(f"--augment needs a spec such as 'flip,crop=4' or 'none', got {text!r}")
    if "pca_jitter" in parse_augment(spec) and channels is not None and channels != 3:
        raise ValueError(f"pca_jitter needs RGB images with 3 channels, got {channels}; "
                         "drop pca_jitter")
    return spec


def build_augmentation(spec, *, input_shape=None, images=None, seed=0):
    """A `keras.Sequential` applying the augmentations of `spec`, or None for none.

    Args:
        spec: a spec string or dict (see the module docstring).
        input_shape: `(height, width, channels)` of the images (taken from `images` if not
            given); needed by `pca_jitter`.
        images: training images; `pca_jitter` computes its principal components from them.
        seed: seed of the random layers (each gets `seed + its position`).
    """
    parsed = parse_augment(spec)
    if not parsed:
        return None
    if input_shape is None and images is not None:
        input_shape = tuple(images.shape[1:])
    layers = []
    for index, (key, value) in enumerate(parsed.items()):
        layer_seed = seed + index
        if key == "flip":
            layers.append(keras.layers.RandomFlip("horizontal", seed=layer_seed, name="flip"))
        elif key == "translate":
            layers.append(keras.layers.RandomTranslation(value, value, fill_mode="constant",
                                                         seed=layer_seed, name="translate"))
        elif key == "rotate":
            layers.append(keras.layers.RandomRotation(value / 360.0, fill_mode="constant",
                                                      seed=layer_seed, name="rotate"))
        elif key == "shear":
            layers.append(keras.layers.RandomShear(value, value, fill_mode="constant",
                                                   seed=layer_seed, name="shear"))
        elif key == "zoom":
            layers.append(keras.layers.RandomZoom(value, fill_mode="constant",
                                                  seed=layer_seed, name="zoom"))
        elif key == "stretch":
            layers.append(keras.layers.RandomZoom(value, value, fill_mode="constant",
                                                  seed=layer_seed, name="stretch"))
        elif key == "perspective":
            layers.append(RandomPerspective(value, seed=layer_seed, name="perspective"))
        elif key == "crop":
            layers.append(RandomPaddedCrop(value, seed=layer_seed, name="crop"))
        elif key == "contrast":
            layers.append(keras.layers.RandomContrast(value, value_range=(0, 1),
                                                      seed=layer_seed, name="contrast"))
        elif key == "noise":
            layers.append(keras.layers.GaussianNoise(value, seed=layer_seed, name="noise"))
        elif key == "pca_jitter":
            channels = None if input_shape is None else input_shape[-1]
            if channels != 3:
                raise ValueError(
                    f"pca_jitter needs RGB images with 3 channels, got {channels} "
                    "(grey-scale images have no colour to jitter); drop pca_jitter"
                )
            if images is None:
                raise ValueError("pca_jitter needs the training images to compute the "
                                 "principal components of their RGB values")
            layers.append(PCAColorJitter.from_images(images, stddev=value, seed=layer_seed,
                                                     name="pca_jitter"))
        elif key == "erase":
            layers.append(RandomErasing(value, seed=layer_seed, name="erase"))
    return keras.Sequential(layers, name="augmentation")
