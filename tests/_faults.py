"""Fault injection for `keras-dl`: SIGKILL a real CLI process at a chosen point, or run it
with a file-size limit (a full disk), and look at what it left on disk.

Starting TensorFlow costs seconds a process, and a sweep of kill points needs dozens of
processes, so the commands run in children forked from one *fork server*: a process that has
imported keras_dl, Keras, KerasTuner and TensorFlow but run no TensorFlow op (forking a process
whose thread pools run can deadlock), started as `python tests/_faults.py`. Each child is a
fresh process running `keras_dl.cli.main(argv)`, as `keras-dl ARGV` would; it kills itself
with SIGKILL at its kill point, so nothing in it (no `finally`, no `atexit`) runs after.

A kill point (`KillPoint`) is an observed event in the child, not a time:

- `write`: the `nth` opening for writing of a file whose path matches `match` (Python's
  `open`, `pathlib`, zipfile, numpy, KerasTuner's files); the child dies in the middle of it,
  at its `chunk`-th write, after writing half of that write's bytes (a file written in fewer
  writes, or by `sendfile` as `shutil.copy` does, is cut to half its size as it is closed);
- `h5`: the `nth` dataset created in an HDF5 file whose path matches (Keras' weights files);
- `rename`: just before the `nth` `os.rename`/`os.replace` whose source or target matches;
- `mkdir`: the `nth` directory made whose path matches (staging folders, KerasTuner's trial
  folders);

each with an optional `delay_ms`: the child then dies that long after the event, in whatever
it is doing (an epoch, TensorFlow writing a SavedModel).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300  # seconds for one command: a hung child fails the test, never CI


@dataclasses.dataclass(frozen=True)
class KillPoint:
    """Where a child SIGKILLs itself (see the module docstring)."""

    label: str
    op: str
    match: str
    nth: int = 1
    chunk: int = 1
    delay_ms: float | None = None


@dataclasses.dataclass
class Outcome:
    """How a command ended: exit code (negative: the signal), what it printed, the kill hit."""

    code: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL


class ForkServer:
    """A fork server (see the module docstring); `run` one command at a time."""

    def __init__(self, env=None):
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_NUM_INTRAOP_THREADS": "1",
                       "TF_NUM_INTEROP_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
                       "PYTHONPATH": str(ROOT), **(env or {})}
        self.process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=environment,
                                        cwd=ROOT)
        assert self._reply() == {"ready": True}

    def _reply(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"fork server ended (exit code {self.process.wait()})")
        return json.loads(line)

    def run(self, argv, *, workdir, kill: KillPoint | None = None, fsize: int | None = None,
            timeout: float = TIMEOUT) -> Outcome:
        """Run `keras-dl ARGV` in `workdir` in a forked child; killed at `kill` if it gets
        there, with writes limited to `fsize` bytes a file (EFBIG past it) if given."""
        workdir = Path(workdir)
        out, err = workdir / "faults.stdout", workdir / "faults.stderr"
        request = {"argv": [str(a) for a in argv], "cwd": str(workdir), "stdout": str(out),
                   "stderr": str(err), "kill": kill and dataclasses.asdict(kill),
                   "fsize": fsize, "timeout": timeout}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        code = self._reply()["code"]
        return Outcome(code, out.read_text(), err.read_text())

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- what a test asserts after a kill --------------------------------------------------------


def visible_files(root) -> list[Path]:
    """Files a user (or a server) would take as results: not in a hidden `.tmp-*`/`.old-*`
    staging folder, not a hidden temporary file, not in a run's `backup/` (Keras' own resume
    state, made whole before a resume reads it: checked by resuming, not here)."""
    root = Path(root)
    return [p for p in sorted(root.rglob("*")) if p.is_file()
            and not any(part.startswith(".") or part == "backup"
                        for part in p.relative_to(root).parts)]


def check_complete(root) -> list[str]:
    """The half-written results under `root`, as lines: a `.keras` that does not load, a
    `.json` that does not parse, a SavedModel version directory (`NAME/DIGITS/`) that
    `tf.saved_model.load` refuses. Empty when all is whole."""
    import keras_dl

    problems = []
    for path in visible_files(root):
        try:
            if path.suffix == ".keras":
                keras_dl.load_model(path, compile=False)
            elif path.suffix == ".json":
                json.loads(path.read_text())
        except Exception as error:  # noqa: BLE001 (any failure to read is the finding)
            problems.append(f"{path}: {type(error).__name__}: {str(error)[:120]}")
    for version in saved_model_versions(root):
        problems += saved_model_problems(version)
    return problems


def saved_model_versions(root) -> list[Path]:
    """Every visible `NAME/VERSION` directory (a version as TensorFlow Serving reads it)."""
    root = Path(root)
    return [p for p in sorted(root.rglob("*")) if p.is_dir() and p.name.isdigit()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)]


def saved_model_problems(version: Path) -> list[str]:
    """Why the SavedModel in `version` is not whole (empty if it is)."""
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(version))
        loaded.signatures["serving_default"]
        json.loads((version / "assets.extra" / "keras_dl.json").read_text())
    except Exception as error:  # noqa: BLE001
        return [f"{version}: {type(error).__name__}: {str(error)[:120]}"]
    return []


def zip_is_whole(path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError):
        return False


# --- the fork server's side ------------------------------------------------------------------


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


class _Trigger:
    """Counts the events that match the kill point and fires at the `nth`."""

    def __init__(self, kill: dict):
        self.kill = kill
        self.count = 0

    def matches(self, op, *paths) -> bool:
        if op != self.kill["op"] or not any(
                fnmatch.fnmatch(os.path.abspath(os.fsdecode(p)), "*" + self.kill["match"])
                for p in paths if isinstance(p, (str, bytes, os.PathLike))):
            return False
        self.count += 1
        return self.count == self.kill["nth"]

    def fire_later(self) -> bool:
        """Start the delayed kill if the point has a delay; True if it has."""
        if self.kill["delay_ms"] is None:
            return False
        threading.Timer(self.kill["delay_ms"] / 1000, _die).start()
        return True


class _HalfWritten:
    """A file opened for writing that kills the process in the middle of its `chunk`-th write."""

    def __init__(self, stream, path, chunk):
        self._stream, self._path, self._chunk, self._writes = stream, path, chunk, 0

    def write(self, data):
        self._writes += 1
        if self._writes == self._chunk:
            self._stream.write(data[:len(data) // 2])
            self._stream.flush()
            _die()
        return self._stream.write(data)

    def close(self):
        self._stream.flush()
        size = os.path.getsize(self._path)
        os.truncate(self._path, size // 2)
        _die()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _arm(kill: dict):
    """Install the child's kill point."""
    import builtins
    import io

    import h5py
    from keras_tuner.src.backend import io as tuner_io

    trigger = _Trigger(kill)

    def opener(real):
        def patched(file, mode="r", *args, **kwargs):
            stream = real(file, mode, *args, **kwargs)
            # a file opened by descriptor (`os.fdopen`, `tempfile`): its path
            path = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else file
            if isinstance(mode, str) and set(mode) & set("wax+") and trigger.matches(
                    "write", path):
                if trigger.fire_later():
                    return stream
                return _HalfWritten(stream, os.fsdecode(path), kill["chunk"])
            return stream
        return patched

    builtins.open = io.open = opener(io.open)
    tuner_io.File = opener(tuner_io.File)

    create_dataset = h5py.Group.create_dataset

    def counted_create_dataset(self, *args, **kwargs):
        if trigger.matches("h5", self.file.filename) and not trigger.fire_later():
            self.file.flush()
            _die()
        return create_dataset(self, *args, **kwargs)

    h5py.Group.create_dataset = counted_create_dataset

    # KerasTuner makes its folders (a trial's `trial_ID/`) through TensorFlow, which no audit
    # event sees: counted as a `mkdir` just before the folder is made
    tuner_makedirs = tuner_io.makedirs

    def counted_makedirs(path):
        if trigger.matches("mkdir", path) and not trigger.fire_later():
            _die()
        return tuner_makedirs(path)

    tuner_io.makedirs = counted_makedirs

    def audit(event, args):
        if event == "os.rename" and trigger.matches("rename", args[0], args[1]):
            trigger.fire_later() or _die()
        elif event == "os.mkdir" and trigger.matches("mkdir", args[0]):
            trigger.fire_later() or _die()

    sys.addaudithook(audit)


def _child(request: dict):
    """The forked child: run the command as `keras-dl` would, then exit with its code."""
    import resource

    os.chdir(request["cwd"])
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    signal.alarm(int(request["timeout"]))  # a hung child ends (SIGALRM), never the suite
    if request["fsize"] is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize"], request["fsize"]))
    if request["kill"]:
        _arm(request["kill"])
    from keras_dl import cli

    try:
        code = cli.main(request["argv"])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # noqa: BLE001  (what an uncaught error does in `keras-dl`)
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _serve():
    """The fork server: import everything a command needs, then fork a child per request."""
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401
    import tensorflow  # noqa: F401

    import keras_dl.cli  # noqa: F401
    import keras_dl.export  # noqa: F401
    import keras_dl.models  # noqa: F401
    import keras_dl.serving  # noqa: F401
    import keras_dl.training  # noqa: F401
    import keras_dl.tuning  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(json.dumps({"code": code}), flush=True)


if __name__ == "__main__":
    _serve()
