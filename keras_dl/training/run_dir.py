"""The run directory: creating it, recognising an unfinished run to resume, the record of its
settings (`config.json`), its history and its training clock.

A run dir holds `config.json` (every setting, resolved), `history.csv`, `metrics.json`,
`model.keras`, `checkpoints/best.keras`, `tensorboard/`, `elapsed.json` and, while the run is
unfinished, `backup/`. A rerun with the same settings resumes; with other settings it stops
with one line naming the first setting that differs.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import keras

from keras_dl.settings import OPTIONAL_RECORDS


class RunDirError(ValueError):
    """A run directory that cannot be used as asked (finished, or holding other settings)."""


def prepare_run_dir(run_dir: Path, config: dict, overwrite: bool) -> bool:
    """Create or reuse `run_dir` for the resolved `config`; True when resuming an unfinished
    run. `RunDirError` for a finished run, another run's settings, or a folder of other files."""
    config_file = run_dir / "config.json"
    if overwrite and run_dir.exists():
        shutil.rmtree(run_dir)
    if not config_file.exists():
        # other workers of a multi-worker run may already have made their own folders here
        if run_dir.exists() and any(p.name not in ("workers", "backup")
                                    for p in run_dir.iterdir()):
            raise RunDirError(
                f"run dir {str(run_dir)!r} is not empty and holds no keras_dl run; "
                "choose another run dir (--run-dir, run_dir=)"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        config_file.write_text(json.dumps(config, indent=2) + "\n")
        return False
    if (run_dir / "metrics.json").exists():
        raise RunDirError(
            f"run dir {str(run_dir)!r} already holds a finished run; choose another run dir "
            "(--run-dir, run_dir=) or pass --overwrite (overwrite=True) to start it over"
        )
    changed = changed_setting(run_dir, config)
    if changed:
        key, held, wanted = changed
        raise RunDirError(
            f"run dir {str(run_dir)!r} holds an unfinished run with {key}={held!r}, "
            f"not {wanted!r}; rerun with its settings to resume, or pass --overwrite "
            "(overwrite=True)"
        )
    return True


def changed_setting(run_dir, config: dict):
    """`(key, held, wanted)`: the first setting in which the run in `run_dir` differs from
    `config` (a `resolve_config` result), or None when they agree or `run_dir` holds no run.

    A setting recorded only when it differs from its default (`settings.OPTIONAL_RECORDS`)
    counts as its default where a `config.json` lacks it, so runs written before it existed
    resume unchanged. A `config.json` that is not a JSON object is reported as such."""
    config_file = Path(run_dir) / "config.json"
    if not config_file.exists():
        return None
    try:
        held = json.loads(config_file.read_text())
    except ValueError:
        held = None
    if not isinstance(held, dict):
        raise RunDirError(f"run dir {str(run_dir)!r} has a config.json that is not a keras_dl "
                          "run's settings; choose another run dir (--run-dir, run_dir=) or "
                          "pass --overwrite (overwrite=True)")
    for key in [*config, *(key for key in OPTIONAL_RECORDS if key not in config)]:
        default = OPTIONAL_RECORDS.get(key)
        if held.get(key, default) != config.get(key, default):
            return key, held.get(key, default), config.get(key, default)
    return None


def read_history(path: Path) -> list[dict]:
    """Rows of a `history.csv`, one per epoch (a row repeated by a resume counts once)."""
    if not path.exists():
        return []
    rows = {}
    with path.open() as stream:
        for row in csv.DictReader(stream):
            rows[int(row["epoch"])] = {
                k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""
            }
    return [rows[k] for k in sorted(rows)]


class TrainingClock(keras.callbacks.Callback):
    """Training seconds summed over every finished epoch, across resumes (`elapsed.json`)."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.path = run_dir / "elapsed.json"
        self.seconds = json.loads(self.path.read_text())["seconds"] if self.path.exists() else 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self._start
        self.path.write_text(json.dumps({"seconds": self.seconds, "epochs": epoch + 1}))
