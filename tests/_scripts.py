"""Load an app or benchmark script (`apps/NAME.py`, `bench/NAME.py`) as a module, for smoke runs."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_script(folder, name):
    """The module `ROOT/folder/name.py`, executed (its `main` is not run)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_app(name):
    return load_script("apps", name)
