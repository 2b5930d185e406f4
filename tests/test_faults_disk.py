"""A full disk during `keras-dl train` and `export` (issue 36): each command runs with a
file-size limit (`RLIMIT_FSIZE`, SIGXFSZ ignored, so a write past it fails with EFBIG, as
on a full disk; tests/_faults.py), chosen so that a different write fails each time.

Asserted: the command fails (exit code 1), and nothing half-written is visible: no
`config.json`, `model.keras`, checkpoint, `metrics.json` or SavedModel version that does not
load; and it says so in one line naming the file (`keras_dl.cli.main`), not a traceback. Below
them, in-process tests of how `main` recognises a full disk in the shapes it comes in (an
`OSError`, TensorFlow's and h5py's wrapped errors, an error raised from one).
"""

import errno
import os

import pytest

from _cli import run_cli
from _faults import ForkServer, check_complete, saved_model_versions

TRAIN = ["train", "mlp", "--dataset", "digits", "--epochs", 2, "--batch-size", 64,
         "--limit", 200, "--seed", 1, "--set", "hidden_units=[8]"]
# bytes a file may hold: 500 stops the run at its config.json, 20000 at the first
# checkpoint or model file (the small model's .keras zip is larger)
TRAIN_LIMITS = {"config.json": 500, "a .keras file": 20_000}
EXPORT_LIMIT = 4_000  # the SavedModel's saved_model.pb / variables are larger
# the file each command's one line names (the hidden temporary file, where one is written)
NAMED = {"train, config.json": "cannot write run/config.json: File too large",
         "train, a .keras file": "cannot write run/checkpoints/.best.partial.keras: File too",
         "export": "cannot write models/m/.tmp-1-"}


@pytest.fixture(scope="module")
def server():
    with ForkServer() as fork_server:
        yield fork_server


@pytest.fixture(scope="module")
def full_disk_runs(server, tmp_path_factory):
    """Each command's outcome under its limit: {label: (outcome, workdir)}."""
    outcomes = {}
    for label, limit in TRAIN_LIMITS.items():
        workdir = tmp_path_factory.mktemp("disk")
        outcomes[f"train, {label}"] = (
            server.run([*TRAIN, "--run-dir", "run"], workdir=workdir, fsize=limit), workdir)
    workdir = tmp_path_factory.mktemp("export")
    trained = server.run([*TRAIN, "--run-dir", "run"], workdir=workdir)
    assert trained.code == 0, trained.stderr[-2000:]
    outcomes["export"] = (server.run(["export", "run", "--name", "m", "--base", "models"],
                                     workdir=workdir, fsize=EXPORT_LIMIT), workdir)
    return outcomes


def test_a_full_disk_fails_the_command_and_leaves_nothing_half_written(full_disk_runs):
    """Catches a write that fails half-way and leaves its file (a config.json, .keras,
    metrics.json or SavedModel version) in view, and a command that reports success."""
    for label, (outcome, workdir) in full_disk_runs.items():
        assert outcome.code != 0, label
        assert check_complete(workdir) == [], label
    _, export_dir = full_disk_runs["export"]
    assert saved_model_versions(export_dir / "models") == []


def test_a_full_disk_is_one_clear_line(full_disk_runs):
    """Catches a full disk reported as a traceback (or several lines) instead of one line
    naming the file and the cause, an exit code other than 1 (2 says the input was bad), and
    a line that names no file or another one."""
    for label, (outcome, _) in full_disk_runs.items():
        lines = outcome.stderr.strip().splitlines()
        assert "Traceback" not in outcome.stderr, label
        assert len(lines) == 1 and lines[0].startswith("keras-dl: error: "), (label, lines)
        assert "File too large" in lines[0] or "No space" in lines[0], label
        assert NAMED[label] in lines[0], (label, lines[0])
        assert outcome.code == 1, label


# --- how main recognises a full disk (in-process, no fork server) -----------------------------


def _list_failing_with(monkeypatch, capsys, fail):
    """`keras-dl list` whose library call runs `fail()`: (exit code, stdout, stderr)."""
    import keras_dl

    monkeypatch.setattr(keras_dl, "list_models", lambda *args, **kwargs: fail())
    return run_cli(capsys, "list")


def _raise_os_error(code, filename=None):
    raise OSError(code, os.strerror(code), *([filename] if filename else []))


def _wrapped(code):
    try:
        _raise_os_error(code)
    except OSError as error:
        raise ValueError("could not save the model") from error


def _tensorflow_error():
    import tensorflow as tf

    raise tf.errors.ResourceExhaustedError(
        None, None, "models/m/.tmp-1-x/saved_model.pb.tmp0a1b; No space left on device")


def _h5py_error():  # as h5py words a failed write: no errno attribute, all in the message
    raise OSError("Can't synchronously write data (file write failed: time = Sun Dec  6, "
                  "filename = 'run/backup/w.weights.h5', file descriptor = 7, errno = 122, "
                  "error message = 'Disk quota exceeded', buf = 0x1, total write size = 9)")


def _writing(path):
    """A write that fails in a file object opened on `path` (the OSError names no file)."""
    def fail():
        with open(path, "wb") as stream:
            stream.write(b"x")
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
    return fail


def _path_local(path):
    """A failed write in a function holding the file's path as `path` (run_dir's writers)."""
    def fail():
        assert not path.exists()  # the writer's argument, in its frame
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return fail


@pytest.mark.parametrize("make, line", [
    (lambda tmp: lambda: _raise_os_error(errno.ENOSPC, "/data/run/model.keras"),
     "cannot write /data/run/model.keras: No space left on device"),
    (lambda tmp: lambda: _wrapped(errno.EDQUOT), "cannot write to disk: Disk quota exceeded"),
    (lambda tmp: _tensorflow_error,
     "cannot write models/m/.tmp-1-x/saved_model.pb.tmp0a1b: No space left on device"),
    (lambda tmp: _h5py_error, "cannot write run/backup/w.weights.h5: Disk quota exceeded"),
    (lambda tmp: _writing(tmp / "out.bin"), "cannot write {tmp}/out.bin: File too large"),
    (lambda tmp: _path_local(tmp / "config.json"),
     "cannot write {tmp}/config.json: No space left on device"),
], ids=["oserror", "raised-from", "tensorflow", "h5py", "open-file", "path-local"])
def test_main_tells_a_full_disk_in_one_line(monkeypatch, capsys, tmp_path, make, line):
    """Catches each shape of a full disk (ENOSPC, EFBIG, EDQUOT; an `OSError`, one raised
    from inside a `ValueError`, TensorFlow's `ResourceExhaustedError`, h5py's errno-less
    `OSError`) ending in a traceback or as a bad input (exit code 2), and a line that does not
    name the file being written where it is known."""
    code, out, err = _list_failing_with(monkeypatch, capsys, make(tmp_path))
    assert (code, out) == (1, "")
    assert err == f"keras-dl: error: {line.format(tmp=tmp_path)}\n"


def test_other_failures_are_not_a_full_disk(monkeypatch, capsys):
    """Catches every OSError (an I/O error, a refused connection) being reported as a full
    disk, which would hide its traceback, and bad input no longer ending with exit code 2."""
    with pytest.raises(OSError, match="Input/output error"):
        _list_failing_with(monkeypatch, capsys, lambda: _raise_os_error(errno.EIO, "/dev/sda"))
    code, _, err = _list_failing_with(monkeypatch, capsys, lambda: _wrapped(errno.ECONNREFUSED))
    assert (code, err) == (2, "keras-dl: error: could not save the model\n")
