"""keras_dl: classic deep learning in Keras 3, the lecture made executable.

```python
import keras_dl
keras_dl.list_models()
model = keras_dl.create_model("lenet5", input_shape=(28, 28, 1), modern=True)
```

Importing keras_dl is cheap: Keras (and TensorFlow) load when a model, layer or dataset is
first asked for, so the command line can configure TensorFlow's logging before that happens.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import json
import re
import zipfile
from pathlib import Path

from keras_dl import registry as _registry

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "UnsafeModelFileError",
    "create_model",
    "data",
    "export",
    "layers",
    "list_models",
    "load_model",
    "model_info",
    "models",
    "register_model",
    "tasks",
    "training",
    "unsafe_loading",
]

register_model = _registry.register_model


def _load_builders():
    importlib.import_module("keras_dl.models")  # registers every builder


def create_model(model_name: str, /, **kwargs):
    """Build a registered model by name (see `keras_dl.registry.create_model`)."""
    _load_builders()
    return _registry.create_model(model_name, **kwargs)


def list_models(pattern: str = "*", family: str | None = None) -> list[str]:
    """Names of the registered models matching a shell-style pattern (and family)."""
    _load_builders()
    return _registry.list_models(pattern, family)


def model_info(name: str):
    """What the registry knows about a model (family, builder, search space, ...)."""
    _load_builders()
    return _registry.model_info(name)


class UnsafeModelFileError(ValueError):
    """A model file holding Python code (a `Lambda` layer's function, a lambda activation)
    that loading would run: refused in safe mode, the default."""


_unsafe_loading = contextvars.ContextVar("keras_dl_unsafe_loading", default=False)


@contextlib.contextmanager
def unsafe_loading():
    """Within the block, `load_model` calls that do not pass `safe_mode` load in Keras' unsafe
    mode, running the Python code a file holds: what `keras-dl ... --unsafe-load` runs its
    command under (an `--init-from` file is loaded deep inside `train`). Only for files whose
    source you trust."""
    token = _unsafe_loading.set(True)
    try:
        yield
    finally:
        _unsafe_loading.reset(token)


def load_model(path, **kwargs):
    """`keras.saving.load_model` with keras_dl's custom layers registered first, in Keras'
    safe mode, and with one-line refusals naming the file.

    `import keras_dl` stays cheap by not importing Keras, so a `.keras` file holding a
    keras_dl layer (an RBM, a FractalNet join, ...) fails to load through
    `keras.saving.load_model` alone until `keras_dl.layers` is imported; this does that.
    `kwargs` go to `keras.saving.load_model` (`compile`, `custom_objects`, `safe_mode`).
    `safe_mode` defaults to True (False inside `unsafe_loading()`): a file whose layers hold
    Python code raises `UnsafeModelFileError` unless you pass `safe_mode=False` for a file you
    trust. A missing file raises `FileNotFoundError`; a corrupt or truncated file, or one
    naming a class that is not registered, `ValueError`.
    """
    _load_builders()  # the models import every custom layer
    import keras

    kwargs.setdefault("safe_mode", not _unsafe_loading.get())
    path = _check_model_file(path)
    try:
        return keras.saving.load_model(path, **kwargs)
    except (ValueError, TypeError, KeyError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise _refusal(path, error) from None


_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def _check_model_file(path) -> Path:
    """`path` as a `Path`, when it names a model file Keras can try to read: a `.keras` zip
    archive (or a `.keras` folder, Keras' unzipped format) or a legacy `.h5` file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist")
    if path.suffix not in _MODEL_SUFFIXES:
        raise ValueError(f"{path} is not a model file: keras_dl loads .keras files (what "
                         "model.save writes) and legacy .h5 files")
    if path.suffix == ".keras" and path.is_file() and not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a .keras archive (a zip file): it is corrupt or "
                         "truncated")
    return path


_UNKNOWN_NAME = re.compile(r"Could not (?:locate class|locate function|deserialize) '([^']+)'")


def _refusal(path: Path, error: Exception) -> ValueError:
    """The one-line error for a model file Keras failed to load with `error`."""
    text = str(error)
    if isinstance(error, ValueError) and "safe_mode" in text:  # Keras' safe-mode refusal
        return UnsafeModelFileError(
            f"{path} holds Python code (a lambda, as in a Lambda layer), which loading would "
            "run: refused in safe mode; if you trust the file's source, load it with "
            "safe_mode=False (keras-dl: --unsafe-load)")
    unknown = _UNKNOWN_NAME.search(text)
    if unknown:
        return ValueError(
            f"{path} names {unknown[1]!r}, which is not a registered Keras class or function "
            "here: import the module that registers it (keras.saving."
            "register_keras_serializable) before loading, or pass custom_objects")
    if isinstance(error, json.JSONDecodeError):
        return ValueError(f"{path} holds a config.json that is not JSON ({error.msg}, "
                          f"character {error.pos}): the file is corrupt")
    first = text.splitlines()[0] if text.strip() else type(error).__name__
    return ValueError(f"{path} could not be loaded as a Keras model: {first[:300]}")


def __getattr__(name):
    if name in ("data", "export", "layers", "models", "settings", "tasks", "training", "tuning",
                "visualize", "evaluation"):
        return importlib.import_module(f"keras_dl.{name}")
    raise AttributeError(f"module 'keras_dl' has no attribute {name!r}")
