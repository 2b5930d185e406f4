"""TensorFlow Serving's layout, `BASE/NAME/VERSION/`, written atomically.

TensorFlow Serving serves the highest numeric VERSION under `BASE/NAME`; an export is first
written to a hidden, non-numeric directory beside it (which Serving ignores), checked, and only
then renamed into place, so a failed or interrupted export never leaves a half-written version.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


ONNX_DIR = "onnx"  # BASE/onnx/NAME/VERSION/model.onnx: the ONNX repository beside the SavedModels


class ExportError(ValueError):
    """An export that cannot be done as asked (bad name or version, existing version, ...)."""


def check_name(name: str) -> str:
    """`name` if it can be a model's directory name; `ExportError` naming what is allowed."""
    if not isinstance(name, str) or not name or name.startswith(".") or os.sep in name:
        raise ExportError(
            f"model name {name!r} is not usable as a directory name; use letters, digits, '-', '_'"
        )
    if not all(c.isalnum() or c in "-_." for c in name):
        raise ExportError(f"model name {name!r} may hold only letters, digits, '-', '_' and '.'")
    return name


def existing_versions(model_dir) -> list[int]:
    """The numeric version directories under `BASE/NAME` (names of ASCII digits only, as
    TensorFlow Serving reads them: not `.tmp-*` staging, nor `²`), ascending."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir()
                  if p.is_dir() and p.name.isascii() and p.name.isdigit())


def target_version(model_dir: Path, version, overwrite: bool):
    """`(version, final_path)` for an export into `model_dir`; `ExportError` if not allowed."""
    versions = existing_versions(model_dir)
    if version is None:
        version = (versions[-1] + 1) if versions else 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ExportError(f"version must be a positive integer, got {version!r}")
    final = model_dir / str(version)
    if final.exists() and not overwrite:
        raise ExportError(
            f"{final} already exists; pass overwrite=True (--overwrite) to replace it, "
            f"or choose another version (next free: {max(versions + [0]) + 1})"
        )
    return version, final


@contextlib.contextmanager
def staged(model_dir: Path, version: int, final: Path):
    """A hidden staging directory, renamed to `final` when the block succeeds, else removed.

    With an existing `final` (overwrite), the old version is swapped out, the new one in, and
    the old one deleted, so `final` is never missing or half-written.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir))
    staging.chmod(0o755)  # mkdtemp makes it private; a Serving process may run as another user
    try:
        yield staging
        if final.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".old-{version}-", dir=model_dir))
            os.rename(final, retired / "v")
            os.rename(staging, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def resolve_saved_model_dir(path) -> Path:
    """A SavedModel directory from either `BASE/NAME/VERSION` or `BASE/NAME` (newest version)."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    versions = existing_versions(path)
    if versions and (path / str(versions[-1]) / "saved_model.pb").is_file():
        return path / str(versions[-1])
    raise ExportError(
        f"{path} is not a SavedModel directory (no saved_model.pb) nor a model directory with "
        "numeric version subdirectories"
    )
