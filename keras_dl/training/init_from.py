"""`--init-from`: starting a run from a trained model's weights (fine-tuning, or a warm
restart of the schedule: SGDR, Loshchilov & Hutter 2017)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keras


def init_model_file(path) -> Path:
    """The absolute path of the `.keras` file that `path` (the file or a run dir holding
    `model.keras`) names; `ValueError` when there is none."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"init from {str(path)!r}: no such file or run dir; give a .keras "
                         "model file or a run dir holding model.keras")
    model_file = path / "model.keras" if path.is_dir() else path
    if not model_file.is_file():
        raise ValueError(f"init from {str(path)!r}: a run dir without model.keras (an "
                         "unfinished run?); give a finished run dir or a .keras model file")
    if model_file.suffix != ".keras":
        raise ValueError(f"init from {str(path)!r}: not a .keras model file")
    return model_file.resolve()


def load_initial_weights(model: keras.Model, model_file) -> None:
    """Set every weight of `model` (trainable or not: batch-norm statistics too) from the
    model saved in `model_file`, which must have the same weights in the same order and
    shapes: the same architecture with the same builder arguments. `ValueError` otherwise."""
    import keras_dl

    try:  # safe mode unless inside keras_dl.unsafe_loading() (keras-dl --unsafe-load)
        source = keras_dl.load_model(model_file, compile=False)
    except (ValueError, OSError) as error:  # one line naming the file (keras_dl.load_model)
        unsafe = isinstance(error, keras_dl.UnsafeModelFileError)
        raise (keras_dl.UnsafeModelFileError if unsafe else ValueError)(
            f"init from {error}") from None
    held, wanted = source.weights, model.weights
    if len(held) != len(wanted):
        raise ValueError(f"init from {model_file}: it holds {len(held)} weights, model "
                         f"{model.name!r} has {len(wanted)}; it must be the same architecture "
                         "with the same builder arguments")
    for index, (a, b) in enumerate(zip(held, wanted)):
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f"init from {model_file}: weight {index} ({b.path}) has shape "
                             f"{tuple(a.shape)} there but {tuple(b.shape)} in model "
                             f"{model.name!r}; it must be the same architecture with the same "
                             "builder arguments")
    model.set_weights(source.get_weights())


def warn_if_validation_was_trained_on(config: dict) -> None:
    """Print a warning when the run that `config["init_from"]` came from split the same dataset
    differently, so this run's validation examples may have been its training examples."""
    source = Path(config["init_from"]).parent / "config.json"
    try:
        held = json.loads(source.read_text())
    except (OSError, ValueError):  # no config (a bare .keras file) or an unreadable one
        return
    if not isinstance(held, dict) or held.get("dataset") != config["dataset"]:
        return
    for key in ("seed", "validation_fraction", "limit"):
        if held.get(key) != config[key]:
            print(f"keras_dl: warning: the initial weights were trained with {key}="
                  f"{held.get(key)!r}, this run has {key}={config[key]!r}: its validation "
                  "split may hold examples those weights were trained on", file=sys.stderr)
            return
