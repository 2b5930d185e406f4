"""The models a server offers: every `BASE/NAME/VERSION/` SavedModel under a base directory.

Like TensorFlow Serving's file-system source, the repository looks at the base directory on
each request, so a version exported while the server runs is served from the next request on,
without a restart; the newest version of each model is the default.

Names come from the network, so only what lies inside the base is ever served: a name is one
path component (not empty, not hidden, no `/` or NUL), and a model or version folder whose
resolved path (symbolic links followed) is outside the resolved base is treated as absent
(NOT_FOUND), so a link to a SavedModel elsewhere is never loaded. Links that stay inside the
base (`best -> resnet18`) are served like the folder they point to.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from keras_dl.export import ServedModel, existing_versions

MAX_LOADED = 8  # loaded SavedModels kept in memory (least recently used go first)


class ServableNotFound(LookupError):
    """No such model, or no such version of it (TF Serving's NOT_FOUND)."""


class ModelRepository:
    """Loads and caches the SavedModels under `base_dir`, thread-safely.

    Args:
        base_dir: the model base directory (`saved_models`).
        max_loaded: how many loaded versions to keep in memory.
    """

    def __init__(self, base_dir, max_loaded: int = MAX_LOADED):
        self.base_dir = Path(base_dir)
        if not self.base_dir.is_dir():
            raise ValueError(f"model base {str(self.base_dir)!r} is not a directory")
        self._resolved_base = self.base_dir.resolve()
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[tuple[str, int], ServedModel] = OrderedDict()
        self._lock = threading.Lock()

    def model_names(self) -> list[str]:
        """Names of the models with at least one complete version."""
        return sorted(
            d.name for d in self.base_dir.iterdir()
            if d.is_dir() and not d.name.startswith(".") and self.versions(d.name)
        )

    def versions(self, name: str) -> list[int]:
        """Complete versions of `name` (with a saved_model.pb), ascending; [] for a name that
        is not a model folder inside the base."""
        model_dir = self._inside(name)
        if model_dir is None:
            return []
        return [v for v in existing_versions(model_dir)
                if self._inside(name, v) is not None
                and (model_dir / str(v) / "saved_model.pb").is_file()]

    def _inside(self, name: str, version: int | None = None):
        """The resolved folder of `name` (or of its `version`) if it is a directory strictly
        inside the resolved base, else None: `..`, `a/b`, `/abs`, `""` and links leading out
        of the base all give None."""
        if (not isinstance(name, str) or not name or name.startswith(".")
                or "/" in name or "\\" in name or "\0" in name):
            return None
        path = self.base_dir / name if version is None else self.base_dir / name / str(version)
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a link loop
            return None
        if resolved == self._resolved_base or not resolved.is_relative_to(self._resolved_base):
            return None
        return resolved if resolved.is_dir() else None

    def get(self, name: str, version: int | None = None) -> tuple[int, ServedModel]:
        """`(version, model)` for `name` at `version` (None: the newest)."""
        versions = self.versions(name)
        if not versions:
            raise ServableNotFound(f"Servable not found for request: Latest({name})")
        if version is None:
            version = versions[-1]
        elif version not in versions:
            raise ServableNotFound(
                f"Servable not found for request: Specific({name}, {version})"
            )
        key = (name, version)
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return version, self._loaded[key]
        path = self._inside(name, version)  # load what was checked, not a path named again
        if path is None:
            raise ServableNotFound(f"Servable not found for request: Specific({name}, {version})")
        model = ServedModel(path)  # slow: outside the lock
        with self._lock:
            self._loaded[key] = model
            self._loaded.move_to_end(key)
            while len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
        return version, model
