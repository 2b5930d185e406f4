"""Diagnostics callbacks: per-layer activation statistics, gradient norms, weight norms and
update ratios, recorded while any model trains.

Each probe measures every `every` epochs (and after the last one, or the one after which early
stopping ends the fit), plus once before training (epoch 0, the network at initialisation),
and writes into `run_dir`:

- `probes/NAME.csv`: one row per (epoch, layer), the whole file rewritten atomically after each
  measurement; a resumed run keeps the rows of the epochs before the resume and replaces the
  others, so each (epoch, layer) is in the file once;
- `probes/NAME.json`: a summary, the epochs recorded and the first and last values per layer;
- TensorBoard scalars `NAME/LAYER/STATISTIC` (step = epoch) under `tensorboard_dir`
  (default `run_dir/probes/tensorboard`).

The statistics are `keras_dl.evaluation.layer_statistics`' (see it for their definitions).
"""

from __future__ import annotations

import abc
import csv
import io
import json
from pathlib import Path

import keras
import numpy as np

from keras_dl.evaluation import layer_statistics as stats
from keras_dl.training.run_dir import write_atomically

PROBE_DIR = "probes"


class _Probe(keras.callbacks.Callback, abc.ABC):
    """What every probe shares: when to measure, the CSV, the JSON summary and TensorBoard.

    A subclass sets `name` and `columns` (after "epoch" and "layer") and implements
    `measure(epoch) -> dict[layer, dict[column, value]]`; `check_layers(model)` returns the
    layers it measures or raises ValueError naming a bad one.
    """

    name = ""
    columns: tuple[str, ...] = ()

    def __init__(self, run_dir, every=1, layers=None, tensorboard_dir=None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"probe frequency every={every!r} is not allowed; "
                             "allowed: a whole number of epochs ≥ 1")
        self.run_dir = Path(run_dir)
        self.every = every
        self.layers = None if layers is None else list(layers)
        self.tensorboard_dir = (Path(tensorboard_dir) if tensorboard_dir is not None
                                else self.run_dir / PROBE_DIR / "tensorboard")
        self.rows: list[dict] | None = None
        self._writer = None

    # === files ===
    @property
    def csv_path(self) -> Path:
        return self.run_dir / PROBE_DIR / f"{self.name}.csv"

    @property
    def json_path(self) -> Path:
        return self.run_dir / PROBE_DIR / f"{self.name}.json"

    def _load_rows(self) -> list[dict]:
        if not self.csv_path.exists():
            return []
        with self.csv_path.open() as stream:
            return [dict(row, epoch=int(row["epoch"])) for row in csv.DictReader(stream)]

    def _record(self, epoch: int, values: dict[str, dict]):
        """Replace any rows of `epoch` and later (a resumed run) by `values`, then write."""
        self.rows = [row for row in self.rows if row["epoch"] < epoch]
        self.rows += [{"epoch": epoch, "layer": layer, **row} for layer, row in values.items()]
        header = ["epoch", "layer", *self.columns]
        text = io.StringIO()
        writer = csv.DictWriter(text, header, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({key: _cell(row.get(key)) for key in header})
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.csv_path, text.getvalue())
        write_atomically(self.json_path, json.dumps(self._summary(), indent=2) + "\n")
        self._write_scalars(epoch, values)

    def _summary(self) -> dict:
        epochs = sorted({row["epoch"] for row in self.rows})
        def at(epoch):
            return {row["layer"]: {c: _value(row.get(c)) for c in self.columns}
                    for row in self.rows if row["epoch"] == epoch}
        return {"probe": self.name, "epochs": epochs, "every": self.every,
                "layers": list(dict.fromkeys(row["layer"] for row in self.rows)),
                "first": at(epochs[0]) if epochs else {},
                "last": at(epochs[-1]) if epochs else {}}

    def _write_scalars(self, epoch: int, values: dict[str, dict]):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.tensorboard_dir))
        with self._writer.as_default():
            for layer, row in values.items():
                for column, value in row.items():
                    number = _value(value)
                    if isinstance(number, float):  # not None, not a name
                        tf.summary.scalar(f"{self.name}/{layer}/{column}", number, step=epoch)
        self._writer.flush()

    # === when to measure ===
    def on_train_begin(self, logs=None):
        self.layers = self.check_layers(self.model)
        self.prepare()
        self.rows = self._load_rows()
        if not self.rows:  # a resumed run has its initial row already
            self._record(0, self.measure(0))

    def on_epoch_end(self, epoch, logs=None):
        if self._measured_epoch(epoch) or getattr(self.model, "stop_training", False):
            self._record(epoch + 1, self.measure(epoch + 1))

    def _measured_epoch(self, epoch) -> bool:
        """Every `every` epochs and the last one (0-based `epoch`); an epoch after which early
        stopping ends the fit is measured too, when the probe runs after the EarlyStopping
        callback (as in `keras-dl train`, where probes come last)."""
        done = epoch + 1
        return done % self.every == 0 or done == self.params.get("epochs")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # === what subclasses provide ===
    @abc.abstractmethod
    def check_layers(self, model) -> list[str]:
        """The layers this probe measures in `model`, or ValueError naming a bad one."""

    def prepare(self):
        """Called once the model is known, before the first measurement."""

    @abc.abstractmethod
    def measure(self, epoch: int) -> dict[str, dict]:
        """`{layer: {column: value}}` after `epoch`."""


def _cell(value):
    return "" if value is None else value


def _value(value):
    """A CSV cell (or a measured value) as a float, a string for a name, None when empty."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return str(value)


def _batch(x, name):
    if x is None:
        raise ValueError(f"the {name} probe needs a validation batch; got x=None")
    return x


class ActivationProbe(_Probe):
    """Per-layer activation statistics (mean, std, saturated share, dead units) of a fixed
    validation batch `x`, in inference mode. `layers`: default
    `layer_statistics.default_layer_names`."""

    name = "activations"
    columns = ("activation", "mean", "std", "saturated", "dead", "dead_units")

    def __init__(self, x, run_dir, every=1, layers=None, tensorboard_dir=None,
                 saturation_margin=0.02):
        super().__init__(run_dir, every, layers, tensorboard_dir)
        self.x = _batch(x, self.name)
        self.saturation_margin = saturation_margin
        self._extractor = None

    def check_layers(self, model):
        if self.layers is None:
            return stats.default_layer_names(model)
        return stats.check_layer_names(model, self.layers)

    def prepare(self):
        self._extractor = stats.output_extractor(self.model, self.layers)

    def measure(self, epoch):
        outputs = self._extractor(self.x, training=False)
        if len(self.layers) == 1 and not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        values = {}
        for name, output in zip(self.layers, outputs):
            layer = self.model.get_layer(name)
            row = stats.layer_output_statistics(layer, keras.ops.convert_to_numpy(output),
                                                self.saturation_margin)
            values[name] = {"activation": stats.activation_name(layer) or "", **row}
        return values


class _KernelProbe(_Probe):
    """A probe of layers with a kernel (`layers`: default all of them)."""

    def check_layers(self, model):
        return kernel_layers(model, self.layers)


def kernel_layers(model, layers=None) -> list[str]:
    """The layers of `layers` (default: all) that have a kernel; ValueError naming a layer the
    model lacks, or when none of `layers` has a kernel."""
    allowed = stats.kernel_layer_names(model)
    if layers is None:
        return allowed
    names = stats.check_layer_names(model, layers)
    chosen = [name for name in names if name in allowed]
    if not chosen:
        raise ValueError(f"none of the layers {', '.join(names)} has a kernel to probe; "
                         f"layers with a kernel: {', '.join(allowed) or '(none)'}")
    return chosen


class GradientProbe(_KernelProbe):
    """The L2 norm of the loss gradient with respect to each layer's kernel on a fixed
    validation batch `(x, y)` (`layer_statistics.gradient_norms`; `loss_fn` default: the
    compiled loss)."""

    name = "gradients"
    columns = ("gradient_norm",)

    def __init__(self, x, y, run_dir, every=1, layers=None, tensorboard_dir=None, loss_fn=None):
        super().__init__(run_dir, every, layers, tensorboard_dir)
        self.x = _batch(x, self.name)
        if y is None:
            raise ValueError("the gradients probe needs the validation batch's labels; got y=None")
        self.y = y
        self.loss_fn = loss_fn

    def measure(self, epoch):
        norms = stats.gradient_norms(self.model, self.x, self.y, self.loss_fn, self.layers)
        return {name: {"gradient_norm": value} for name, value in norms.items()}


class WeightProbe(_KernelProbe):
    """Per layer: the kernel's norm ‖W‖; `update_ratio`, ‖ΔW‖/‖W‖ since the previous
    measurement (empty at the first); `step_update_ratio`, the same over the first training
    step of the epoch (the per-step scale that CS231n's rule of thumb, ~1e-3, is about; with
    `steps_per_execution` > 1, over the first execution)."""

    name = "weights"
    columns = ("weight_norm", "update_ratio", "step_update_ratio")

    def __init__(self, run_dir, every=1, layers=None, tensorboard_dir=None):
        super().__init__(run_dir, every, layers, tensorboard_dir)
        self._previous = None
        self._epoch_start = None
        self._step_ratios = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._step_ratios = {}
        self._epoch_start = (stats.kernel_snapshot(self.model, self.layers)
                             if self._measured_epoch(epoch) else None)

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch_start is not None:
            after = stats.kernel_snapshot(self.model, self.layers)
            self._step_ratios = stats.update_ratios(self._epoch_start, after)
            self._epoch_start = None

    def measure(self, epoch):
        current = stats.kernel_snapshot(self.model, self.layers)
        ratios = ({} if self._previous is None
                  else stats.update_ratios(self._previous, current))
        self._previous = current
        return {name: {"weight_norm": float(np.linalg.norm(kernel)),
                       "update_ratio": ratios.get(name),
                       "step_update_ratio": self._step_ratios.get(name)}
                for name, kernel in current.items()}
