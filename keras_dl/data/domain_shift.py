"""Domain-shift datasets for unsupervised domain adaptation (Ganin et al. 2016, DANN).

A domain-shift dataset's training split mixes labelled *source* examples with *target*
examples whose labels are hidden: their label is `UNLABELLED` (−1). The two alternate, so any
prefix (`limit=N`) holds both. Its test split is the target domain, labelled: what adaptation
is judged on. `info(name).domain_shift` is True; only domain-adaptation models train on them.
`source_and_target(name, split)` gives the two domains apart, with every label (for a
source-only baseline and a target-trained "oracle").

- `moons_shift`: the inter-twinning moons of Ganin et al. 2016 (§5.1): scikit-learn's
  `make_moons` with noise 0.1 as the source, and the target drawn the same way and rotated by
  35° about the moons' centre. 300 source and 300 target examples to train on, 1,000 target
  examples to test on (fixed seeds).
- `fashion_mnist_m`: an MNIST-M-like shift made from Fashion-MNIST. Ganin & Lempitsky 2015 made
  MNIST-M by blending each digit with a patch of a colour photograph, `|patch − digit|` per
  channel. The photographs (BSDS500) are not available offline, so each target image is blended
  the same way with a procedural colour texture, a few random coloured sinusoidal gratings
  whose values are squeezed into a random window inside [0, 0.5] (`TEXTURE_WINDOW`). The window
  calibrates the shift's difficulty to MNIST-M's: a network trained on the source alone
  scores about 0.50 on the target (0.52 on MNIST-M; bench/RESULTS.md), where full-range
  textures left it at chance.
  It is a stand-in for MNIST-M, and its numbers are not MNIST-M's. The source is the grey image
  copied to three channels. The training split pairs the first 30,000 Fashion-MNIST training
  images, as source, with the other 30,000, as target, so no image is in both domains. The test
  split is the 10,000 test images as target.
"""

from __future__ import annotations

import math

import numpy as np

from keras_dl.data import sources

UNLABELLED = -1
MOONS_ROTATION_DEGREES = 35.0
MOONS_NOISE = 0.1
MOONS_SEEDS = {"source": 0, "target": 1, "test": 2}
MOONS_COUNTS = {"train": 300, "test": 1000}
TEXTURE_WAVES = 4
TEXTURE_CYCLES = (1.0, 6.0)  # cycles of a grating over the image
TEXTURE_WINDOW = (0.0, 0.5)  # where a texture's values lie: |texture − image| keeps the image
CHUNK = 2048


# === The moons ==================================================================================


def _moons(count, seed, rotate):
    from sklearn.datasets import make_moons

    x, y = make_moons(count, noise=MOONS_NOISE, random_state=seed)
    if rotate:
        angle = math.radians(MOONS_ROTATION_DEGREES)
        centre = np.array([0.5, 0.25])
        turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        x = (x - centre) @ turn.T + centre
    return x.astype("float32"), y.astype("int32")


def _moons_domains(split):
    if split == "train":
        return (_moons(MOONS_COUNTS["train"], MOONS_SEEDS["source"], False),
                _moons(MOONS_COUNTS["train"], MOONS_SEEDS["target"], True))
    target = _moons(MOONS_COUNTS["test"], MOONS_SEEDS["test"], True)
    return target, target


# === Fashion-MNIST-M ============================================================================


def colour_textures(count, height, width, seed):
    """`count` procedural colour textures, shape (count, height, width, 3): each the sum of
    `TEXTURE_WAVES` sinusoidal gratings of random direction, frequency (1 to 6 cycles over the
    image), phase and colour, rescaled image by image to a window [a, b] drawn uniformly
    inside `TEXTURE_WINDOW`. Deterministic by `seed`."""
    rng = np.random.default_rng(seed)
    rows = np.arange(height, dtype="float32")[:, None] / height
    cols = np.arange(width, dtype="float32")[None, :] / width
    out = np.empty((count, height, width, 3), "float32")
    for start in range(0, count, CHUNK):
        n = min(CHUNK, count - start)
        angle = rng.uniform(0, math.pi, (n, TEXTURE_WAVES, 1, 1)).astype("float32")
        cycles = rng.uniform(*TEXTURE_CYCLES, (n, TEXTURE_WAVES, 1, 1)).astype("float32")
        phase = rng.uniform(0, 2 * math.pi, (n, TEXTURE_WAVES, 1, 1)).astype("float32")
        colour = rng.uniform(0, 1, (n, TEXTURE_WAVES, 3)).astype("float32")
        waves = np.sin(2 * math.pi * cycles * (np.cos(angle) * rows + np.sin(angle) * cols)
                       + phase)  # (n, waves, height, width)
        texture = np.einsum("nkhw,nkc->nhwc", 0.5 + 0.5 * waves, colour)
        low = texture.min(axis=(1, 2, 3), keepdims=True)
        high = texture.max(axis=(1, 2, 3), keepdims=True)
        ends = np.sort(rng.uniform(*TEXTURE_WINDOW, (n, 2)), axis=1).astype("float32")
        window_low, window_size = ends[:, :1, None, None], np.diff(ends, axis=1)[:, :, None, None]
        out[start:start + n] = window_low + window_size * (texture - low) / np.maximum(
            high - low, 1e-6)
    return out


def blend(images, textures):
    """MNIST-M's blend, `|texture − image|` per channel, of grey `images` (n, h, w, 1) in
    [0, 1] with colour `textures` (n, h, w, 3)."""
    return np.abs(textures - images).astype("float32")


def _fashion_domains(split):
    x, y = sources.KNOWN["fashion_mnist"]._load(split)
    rgb = np.repeat(x, 3, axis=-1)
    if split == "train":
        half = len(x) // 2
        textures = colour_textures(len(x) - half, *x.shape[1:3], seed=0)
        return (rgb[:half], y[:half]), (blend(x[half:], textures), y[half:])
    target = (blend(x, colour_textures(len(x), *x.shape[1:3], seed=1)), y)
    return target, target


# === The datasets ===============================================================================

DOMAINS = {"moons_shift": _moons_domains, "fashion_mnist_m": _fashion_domains}


def source_and_target(name, split="train"):
    """`((x_source, y_source), (x_target, y_target))` of the domain-shift dataset `name`, every
    label shown. For the test split both are the labelled target test examples."""
    if name not in DOMAINS:
        raise ValueError(f"unknown domain-shift dataset {name!r}; allowed: "
                         f"{', '.join(DOMAINS)}")
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; allowed: train, test")
    return DOMAINS[name](split)


def _mixed(name):
    def load(split):
        (x_source, y_source), (x_target, y_target) = source_and_target(name, split)
        if split == "test":
            return x_target, y_target
        count = min(len(x_source), len(x_target))
        x = np.empty((2 * count, *x_source.shape[1:]), "float32")
        x[0::2], x[1::2] = x_source[:count], x_target[:count]  # alternating: any prefix has both
        y = np.full(2 * count, UNLABELLED, "int32")
        y[0::2] = y_source[:count]
        return x, y
    return load


def _fashion_offline():
    return sources.KNOWN["fashion_mnist"].available_offline()


DATASETS = {
    "moons_shift": sources.DatasetInfo(
        name="moons_shift",
        input_shape=(2,),
        num_classes=2,
        class_names=("upper moon", "lower moon"),
        source="scikit-learn's make_moons: source, and a target rotated by 35° (Ganin et al. "
        "2016); training labels of the target hidden (−1)",
        how_to_get="install scikit-learn",
        domain_shift=True,
        _offline=lambda: True,
        _load=_mixed("moons_shift"),
    ),
    "fashion_mnist_m": sources.DatasetInfo(
        name="fashion_mnist_m",
        input_shape=(28, 28, 3),
        num_classes=10,
        class_names=sources.FASHION_MNIST_CLASSES,
        source="fashion_mnist in RGB (source) and blended with procedural colour textures "
        "(target; an MNIST-M-like stand-in); training labels of the target hidden (−1)",
        how_to_get=sources.KNOWN["fashion_mnist"].how_to_get,
        domain_shift=True,
        _offline=_fashion_offline,
        _load=_mixed("fashion_mnist_m"),
    ),
}

sources.KNOWN.update(DATASETS)
