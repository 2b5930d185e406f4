"""Probes: callbacks that record what happens inside a model while it trains.

- `WeightSnapshots`: copies of one layer's kernel after chosen epochs (lecture 001's figure);
- `ActivationProbe`, `GradientProbe`, `WeightProbe` (in `probe_callbacks`): per-layer
  statistics written to `RUN_DIR/probes/` as CSV, JSON and TensorBoard scalars;
- `make_probes(spec, x_val, y_val, run_dir)`: those callbacks from a `--probe` spec such as
  "activations,gradients" or "all".
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl.settings import PROBES
from keras_dl.evaluation.layer_statistics import check_layer_names, default_layer_names
from keras_dl.training.probe_callbacks import (
    ActivationProbe,
    GradientProbe,
    WeightProbe,
    kernel_layers,
)

MAX_PROBE_EXAMPLES = 256


class WeightSnapshots(keras.callbacks.Callback):
    """Keeps copies of one layer's kernel after chosen epochs (and after the last one).

    Lecture 001 shows the first-layer weights `W1` "after epoch 1, 2, 3, 4, 5, 10 and 50
    (final)"; `WeightSnapshots("hidden1_dense", epochs=(1, 2, 3, 4, 5, 10))` collects exactly
    those in `snapshots`, a dict from 1-based epoch to a numpy array.
    """

    def __init__(self, layer_name, epochs=(1, 2, 3, 4, 5, 10)):
        super().__init__()
        self.layer_name = layer_name
        self.epochs = tuple(epochs)
        self.snapshots: dict[int, np.ndarray] = {}
        self._latest = None

    def _kernel(self):
        return np.array(self.model.get_layer(self.layer_name).kernel)

    def on_epoch_end(self, epoch, logs=None):
        # Kept every epoch, so the final snapshot is the last epoch's weights even when a
        # callback (early stopping with restore_best_weights) changes them at the end.
        self._latest = (epoch + 1, self._kernel())
        if epoch + 1 in self.epochs:
            self.snapshots[epoch + 1] = self._latest[1]

    def on_train_end(self, logs=None):
        if self._latest is not None:
            self.snapshots[self._latest[0]] = self._latest[1]


def parse_probe_spec(spec: str) -> list[str]:
    """The probe names of a comma list such as "activations,weights" ("all": every probe), in
    `PROBES` order; ValueError (one line) naming an unknown or missing name."""
    allowed = ", ".join((*PROBES, "all"))
    names = [part.strip() for part in str(spec).split(",")]
    if not any(names):
        raise ValueError(f"empty probe list {spec!r}; allowed: a comma list of {allowed}")
    for name in names:
        if name not in (*PROBES, "all"):
            raise ValueError(f"unknown probe {name!r}; allowed: {allowed}")
    return list(PROBES) if "all" in names else [p for p in PROBES if p in names]


def _parse_layers(layers):
    if layers is None or isinstance(layers, (list, tuple)):
        return None if layers is None else list(layers)
    names = [part.strip() for part in str(layers).split(",") if part.strip()]
    if not names:
        raise ValueError(f"empty probe layer list {layers!r}; allowed: a comma list of "
                         "layer names, or none for the default layers")
    return names


def _first(data, count):
    return None if data is None else keras.tree.map_structure(lambda a: a[:count], data)


def make_probes(spec: str, x_val, y_val, run_dir, layers=None, *, every=1, model=None,
                tensorboard_dir=None, max_examples=MAX_PROBE_EXAMPLES) -> list:
    """The probe callbacks that `spec` names (a comma list of `PROBES`, or "all"), measuring
    on the first `max_examples` of `(x_val, y_val)` and writing under `run_dir/probes/`.

    `layers`: layer names (a list or a comma string; default: each probe's default layers);
    the kernel probes keep the named layers that have a kernel. With `model`, the layers are
    checked now (a ValueError before training, naming the layer and those allowed); without,
    when training starts. `every`: measure every that many epochs.
    """
    names = parse_probe_spec(spec)
    layers = _parse_layers(layers)
    if model is not None and layers is not None:
        if "activations" in names:
            check_layer_names(model, layers)
        if {"gradients", "weights"} & set(names):
            kernel_layers(model, layers)
    x, y = _first(x_val, max_examples), _first(y_val, max_examples)
    common = {"every": every, "layers": layers, "tensorboard_dir": tensorboard_dir}
    made = {"activations": lambda: ActivationProbe(x, run_dir, **common),
            "gradients": lambda: GradientProbe(x, y, run_dir, **common),
            "weights": lambda: WeightProbe(run_dir, **common)}
    return [made[name]() for name in names]


__all__ = [
    "MAX_PROBE_EXAMPLES",
    "PROBES",
    "ActivationProbe",
    "GradientProbe",
    "WeightProbe",
    "WeightSnapshots",
    "default_layer_names",
    "make_probes",
    "parse_probe_spec",
]
