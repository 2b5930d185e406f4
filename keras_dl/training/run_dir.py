"""The run directory: creating it, recognising an unfinished run to resume, the record of its
settings (`config.json`), its history and its training clock.

A run dir holds `config.json` (every setting, resolved), `history.csv`, `metrics.json`,
`model.keras`, `checkpoints/best.keras`, `tensorboard/`, `elapsed.json` and, while the run is
unfinished, `backup/`. A rerun with the same settings resumes; with other settings it stops
with one line naming the first setting that differs.

A run may be killed at any instant (tests/test_faults_train.py does it at every write): every
file a user reads is written to a hidden temporary name and renamed into place
(`write_atomically`, `save_atomically`), so it is whole or absent, and `ResumeRepair` makes
what a kill can leave half-made (Keras' backup, the history's last row) whole again before a
resume reads it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
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
        # other workers of a multi-worker run may already have made their own folders here,
        # and a run killed while writing its config.json left only a hidden temporary file
        if run_dir.exists() and any(p.name not in ("workers", "backup")
                                    and not p.name.startswith(".") for p in run_dir.iterdir()):
            raise RunDirError(
                f"run dir {str(run_dir)!r} is not empty and holds no keras_dl run; "
                "choose another run dir (--run-dir, run_dir=)"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(config_file, json.dumps(config, indent=2) + "\n")
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


def write_atomically(path, text: str):
    """Write `text` to `path` through a hidden temporary file renamed over it: a reader (or a
    resume after a kill) sees the old file or the new one, never part of one."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def save_atomically(model, path):
    """`model.save(path)` through a hidden temporary `.keras` file renamed over `path` (Keras
    writes the zip in place: a kill in the middle would leave a `model.keras` that does not
    load)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".keras",
                                         dir=path.parent)
    os.close(handle)
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


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
        write_atomically(self.path, json.dumps({"seconds": self.seconds, "epochs": epoch + 1}))


# BackupAndRestore's files (Keras 3): the weights, then the epoch record, each copied to
# `NAME.bkp` before being rewritten (`double_checkpoint=True`)
BACKUP_WEIGHTS = "latest.weights.h5"
BACKUP_EPOCH = "training_metadata.json"
PREVIOUS = ".bkp"


class ResumeRepair(keras.callbacks.Callback):
    """Makes what a kill can leave half-made whole before a resume reads it; first in the list.

    `BackupAndRestore` writes the weights, then the epoch record, in place. Killed in between,
    the backup pairs new weights with the old epoch (the epoch would be trained again from
    the weights it produced); killed in the epoch record, the record does not parse (Keras
    stops with a traceback on every rerun); killed during the first backup, weights without
    any record are loaded as if no epoch had run. `repair_backup` falls back to the previous
    whole pair, or clears the backup. Then `history.csv` loses a half-written last row and
    the rows of epochs the backup does not hold (they are trained again), so each epoch is in
    it once. Both happen at `on_train_begin`, before `BackupAndRestore` and `CSVLogger` read.
    """

    def __init__(self, backup_dir, history=None):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.history = None if history is None else Path(history)
        self.resumed_epoch = 0

    def on_train_begin(self, logs=None):
        self.resumed_epoch = repair_backup(self.backup_dir)
        if self.history is not None:
            trim_history(self.history, self.resumed_epoch)


def _recorded_epoch(path: Path):
    try:
        return json.loads(path.read_text())["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def backed_up_epochs(backup_dir) -> int:
    """The finished epochs the (repaired) backup in `backup_dir` records; 0 without one."""
    return _recorded_epoch(Path(backup_dir) / BACKUP_EPOCH) or 0


def _copy_atomically(source: Path, target: Path):
    temporary = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def repair_backup(backup_dir) -> int:
    """Leave in `backup_dir` a whole `BackupAndRestore` backup (or none); returns the number
    of finished epochs it holds.

    A whole pair has an epoch record that parses and differs from its previous copy (the
    record is written after the weights, and copied to `.bkp` before them): otherwise the
    previous pair is put back if it is whole, else the backup is cleared (the run starts
    over)."""
    backup_dir = Path(backup_dir)
    weights, record = backup_dir / BACKUP_WEIGHTS, backup_dir / BACKUP_EPOCH
    old_weights, old_record = (backup_dir / (BACKUP_WEIGHTS + PREVIOUS),
                               backup_dir / (BACKUP_EPOCH + PREVIOUS))
    epoch, old_epoch = _recorded_epoch(record), _recorded_epoch(old_record)
    if epoch is not None and epoch != old_epoch and weights.exists():
        return epoch
    if old_epoch is not None and old_weights.exists():
        _copy_atomically(old_weights, weights)
        _copy_atomically(old_record, record)
        return old_epoch
    for path in (weights, record):
        if path.exists():
            path.unlink()
    return 0


def trim_history(path, epochs: int):
    """Keep in `history.csv` its header and the whole rows of the first `epochs` epochs."""
    path = Path(path)
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    whole = [line for line in lines if line.endswith("\n")]
    if not whole:  # not even the header was written
        path.unlink()
        return
    header, rows = whole[0], whole[1:]
    keep = [row for row in rows if _epoch_of(row) is not None and _epoch_of(row) < epochs]
    if len(keep) != len(lines) - 1:
        write_atomically(path, header + "".join(keep))


def _epoch_of(row: str):
    try:
        return int(row.split(",", 1)[0])
    except ValueError:
        return None
