"""What `keras-dl` accepts from its user, checked before anything runs: options (one-line
argparse errors), `--set` builder arguments, output directories, the input files of `predict`
and the model files the commands load.

Every refusal is a `UsageError` (or argparse's exit): one line naming the bad value and what is
allowed, exit code 2. Importing this imports no TensorFlow (the loaders import it when called).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
from pathlib import Path

from keras_dl import settings

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def printable(text: str) -> str:
    """`text` as it can be printed on any terminal: a path's non-UTF-8 bytes (which Python
    holds as lone surrogates, PEP 383) become `\\xff` escapes instead of failing to encode."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        raw = text.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (`keras-dl train: error: argument --epochs:
    -1 is not a positive integer`) and exit code 2, not the usage block."""

    def error(self, message):
        commands = getattr(self, "command_names", None)
        if commands and message.endswith("required: COMMAND"):
            message += f" (one of {', '.join(commands)})"
        self.exit(EXIT_USAGE, printable(f"{self.prog}: error: {message}") + "\n")


def add_unsafe_load_option(parser) -> None:
    """`--unsafe-load`: trust the `.keras` files this command loads to run the Python code
    they hold (a Lambda layer's function); without it such a file is refused (Keras'
    safe mode)."""
    parser.add_argument("--unsafe-load", action="store_true",
                        help="load .keras files holding Python code (a Lambda layer's "
                        "function), which runs on loading: only for files you trust "
                        "(refused by default: Keras' safe mode)")


def check_output_dir(path, option: str) -> None:
    """`UsageError`, before anything runs, when the directory `path` (given by `option`)
    cannot be made or written: it, or the nearest folder above it that exists, is a file, or
    that folder is not writable."""
    path = Path(path)
    existing = path
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        is_dir = existing.is_dir()
    except OSError:  # a folder on the way that cannot be searched
        is_dir = False
    if not is_dir:
        where = "is a file" if existing == path else f"is under {existing}, a file"
        raise UsageError(f"{option} {path} {where}; give a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {existing} is not writable; give a directory "
                         "you can write to")


positive_int = settings.cli_int(1, "positive")
non_negative_int = settings.cli_int(0, "non-negative")
positive_float = settings.cli_positive_float


def parse_value(text: str):
    """A `--set` value: JSON (numbers, true/false/null, lists), a Python literal, else a string."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            continue
    if text.lower() in ("true", "false", "none"):
        return {"true": True, "false": False, "none": None}[text.lower()]
    return text


# How `--set KEY=VALUE` may spell a boolean builder argument (one whose default is a bool).
BOOLEAN_WORDS = {"true": True, "yes": True, "on": True, "1": True,
                 "false": False, "no": False, "off": False, "0": False}


def parse_boolean(key: str, text: str) -> bool:
    try:
        return BOOLEAN_WORDS[text.lower()]
    except KeyError:
        raise UsageError(f"--set {key} takes true or false (or yes/no, on/off, 1/0), got "
                         f"{text!r}") from None


def parse_settings(items, booleans=()) -> dict:
    """`--set` items as builder arguments; the keys in `booleans` (the builder's arguments
    whose default is a bool) take only true/false, yes/no, on/off or 1/0."""
    settings = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise UsageError(f"--set takes key=value, got {item!r}")
        settings[key] = parse_boolean(key, value) if key in booleans else parse_value(value)
    return settings


PREDICT_FORMATS = (".npy (one numeric array, as numpy.save writes it; an array of str for a "
                   "text model) or, for a text model, .txt (UTF-8, one text per line)")


def unit_range(dataset):
    """(0.0, 1.0) when the training split of `dataset` lies in [0, 1] (keras_dl's images do),
    else None (no range is enforced); None too when the data is not on this machine."""
    import numpy as np

    from keras_dl import data

    try:
        if not data.info(dataset).available_offline():
            return None
        x, _ = data.load_numpy(dataset, "train")
    except (ValueError, OSError, data.DatasetUnavailableError):
        return None
    if not np.issubdtype(x.dtype, np.number):  # texts: no range
        return None
    return (0.0, 1.0) if x.size and x.min() >= 0 and x.max() <= 1 else None


def load_inputs(input_file: Path):
    """The array in `input_file`; `UsageError` naming the file and the format predict reads."""
    import numpy as np

    if not input_file.is_file():
        raise UsageError(f"input file {input_file} does not exist")
    if input_file.suffix == ".txt":  # a text model's examples, one a line
        from keras_dl.data.text import read_lines

        try:
            lines = read_lines(input_file)
        except ValueError as error:
            raise UsageError(str(error)) from None
        if not lines:
            raise UsageError(f"{input_file} holds no line; give one text per line")
        return np.array(lines)
    try:
        inputs = np.load(input_file, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        inputs = None
    if not isinstance(inputs, np.ndarray):  # not a .npy (a .json, .csv, .npz, pickle ...)
        if inputs is not None:
            inputs.close()
        raise UsageError(f"{input_file} is not a .npy array file; predict reads {PREDICT_FORMATS}")
    if not np.issubdtype(inputs.dtype, np.number) and inputs.dtype.kind != "U":
        raise UsageError(f"{input_file} holds an array of dtype {inputs.dtype}; predict reads "
                         f"{PREDICT_FORMATS}")
    return inputs


def check_inputs(inputs, input_file: Path, served, metadata: dict, allow_any_range: bool):
    """A batch for `served` from the array of `input_file` (a batch, or one example):
    `UsageError` for another shape, an empty array, non-finite values, or values outside the
    range of the data the model was trained on."""
    import numpy as np

    want = served.input_shape
    takes_text = served.input_spec.dtype.name == "string"
    if (inputs.dtype.kind == "U") != takes_text:
        raise UsageError(
            f"{input_file} holds {'strings' if inputs.dtype.kind == 'U' else 'numbers'}; the "
            f"model's input {served.input_name!r} takes "
            + ("strings (a text model: give a .txt file, one text per line)" if takes_text
               else f"numbers ({served.input_spec.dtype.name})"))
    batch = inputs[None] if inputs.ndim == len(want) else inputs
    fits = batch.ndim == len(want) + 1 and all(
        w is None or w == got for w, got in zip(want, batch.shape[1:]))
    if not fits:
        dims = ", ".join("?" if d is None else str(d) for d in want)
        raise UsageError(
            f"{input_file}: input of shape {tuple(inputs.shape)} does not fit the model's input "
            f"{served.input_name!r}, which takes (batch, {dims}) or one example ({dims}"
            f"{',' if len(want) == 1 else ''})")
    if not batch.size:
        raise UsageError(f"{input_file} holds no values (shape {tuple(inputs.shape)}); "
                         "predict takes one example or a batch of at least one")
    if batch.dtype.kind == "U":  # texts: the served model checks them (keras_dl.export)
        return batch
    if not np.isfinite(batch).all():
        raise UsageError(f"{input_file} holds NaN or infinite values; the model takes finite "
                         "numbers")
    dataset = metadata.get("dataset")
    input_range = metadata.get("input_range")
    if input_range is None and dataset and "input_range" not in metadata:
        input_range = unit_range(dataset)  # exported before the range was recorded
    if input_range is not None and not allow_any_range:
        low, high = (float(v) for v in input_range)
        found_low, found_high = float(batch.min()), float(batch.max())
        if found_low < low or found_high > high:
            raise UsageError(
                f"{input_file} holds values from {found_low:g} to {found_high:g}, but the model "
                f"was trained on {dataset or 'data'!r} in [{low:g}, {high:g}]: scale the inputs "
                "to that range (e.g. 0-255 pixels / 255), or pass --allow-out-of-range")
    return batch


def load_keras_model(path: Path):
    """The model of a `.keras` file or of a run dir's `model.keras`, loaded in Keras' safe
    mode unless the command runs with `--unsafe-load` (`keras_dl.cli.main`); `keras_dl.load_model`'s
    refusals are one line naming the file."""
    import keras_dl

    model_file = path / "model.keras" if path.is_dir() else path
    if not model_file.is_file():
        raise UsageError(f"{path} is neither a .keras model file nor a run dir holding model.keras")
    if model_file.suffix != ".keras":
        raise UsageError(f"{model_file} is not a .keras model file")
    return keras_dl.load_model(model_file)


def load_saved_model(path):
    """`ServedModel(path)`; a SavedModel that TensorFlow cannot read (a corrupt or truncated
    saved_model.pb, missing variables) or that has no serving signature is one `UsageError`."""
    import tensorflow as tf

    from keras_dl.export import SIGNATURE, ServedModel

    try:
        return ServedModel(path)
    except KeyError:
        raise UsageError(f"{path} has no {SIGNATURE!r} signature, which predict calls; "
                         "export the model with keras-dl export") from None
    except (OSError, tf.errors.OpError) as error:
        first = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"{path} could not be loaded as a SavedModel: {first}") from None
