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

import importlib

from keras_dl import registry as _registry

__version__ = "0.1.0"

__all__ = [
    "__version__",
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


def load_model(path, **kwargs):
    """`keras.saving.load_model` with keras_dl's custom layers registered first.

    `import keras_dl` stays cheap by not importing Keras, so a `.keras` file holding a
    keras_dl layer (an RBM, a FractalNet join, ...) fails to load through
    `keras.saving.load_model` alone until `keras_dl.layers` is imported; this does that.
    `kwargs` go to `keras.saving.load_model` (`compile`, `safe_mode`, ...).
    """
    _load_builders()  # the models import every custom layer
    import keras

    return keras.saving.load_model(path, **kwargs)


def __getattr__(name):
    if name in ("data", "export", "layers", "models", "settings", "tasks", "training", "tuning",
                "visualize", "evaluation"):
        return importlib.import_module(f"keras_dl.{name}")
    raise AttributeError(f"module 'keras_dl' has no attribute {name!r}")
