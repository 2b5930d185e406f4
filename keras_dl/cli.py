"""keras-dl: list models and datasets, train, evaluate, export and predict from the shell.

`main` is the `keras-dl` console script: it parses the arguments (`cli_parser.py`), runs the
command (`cli_commands.py`) and turns how the command failed into one line on stderr:

- bad input (an unknown model or dataset, a `--set` key the builder does not take, a
  non-positive count, a missing file, an input of the wrong shape): exit code 2 and one line
  `keras-dl: error: ...` (or `keras-dl COMMAND: error: ...` for a bad option) naming the bad
  value and what is allowed (docs/bad_inputs.md lists every case). A `.keras` file holding
  Python code (a Lambda layer's function) is refused unless its command has `--unsafe-load`;
- a full disk (or a file-size limit, or a disk quota) anywhere in the command, TensorFlow's
  and Keras' writes included: exit code 1 and `keras-dl: error: cannot write FILE: No space
  left on device` (docs/faults.md). keras_dl writes its results through temporary files, so
  nothing half-written is left in view.

The arguments are parsed before TensorFlow is imported, so `--help`, `--version` and a bad
option answer at once; TensorFlow's start-up log lines are kept off the terminal
(`KERAS_DL_VERBOSE_TF=1` shows them, `keras_dl.quiet`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import sys

from keras_dl.cli_inputs import EXIT_USAGE, UsageError, printable
from keras_dl.cli_parser import build_parser
from keras_dl.quiet import quiet_tensorflow

EXIT_FAILURE = 1  # the command could not finish (a full disk), though its input was good
DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
# how a wrapped error words them: TensorFlow "PATH; File too large", h5py "error message = '...'"
DISK_FULL_REASONS = tuple(os.strerror(code) for code in DISK_FULL)
# the file an h5py message names ("name = 'x.h5'", "filename = 'x.h5'") or TensorFlow's
_NAMED_FILE = (re.compile(r"\b(?:file)?name = '([^']+)'"),
               re.compile(r"^(.+?); (?:" + "|".join(map(re.escape, DISK_FULL_REASONS)) + ")"))
# a local of the function whose write failed that holds the file's path
_PATH_LOCALS = ("filepath", "filename", "file_path", "path")


def main(argv=None) -> int:
    """Run `keras-dl argv` (default: `sys.argv[1:]`); the exit code."""
    args = build_parser().parse_args(argv)  # before TensorFlow: --help and bad options are fast
    quiet_tensorflow()
    import keras_dl
    from keras_dl.data import DatasetUnavailableError

    usage_errors = (UsageError, ValueError, FileNotFoundError, FileExistsError,
                    NotADirectoryError, IsADirectoryError, PermissionError,
                    DatasetUnavailableError)
    trust = keras_dl.unsafe_loading() if getattr(args, "unsafe_load", False) else \
        contextlib.nullcontext()
    try:
        with trust:  # safe mode (the default) refuses .keras files holding Python code
            args.run(args)
    except KeyboardInterrupt:
        print("keras-dl: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 (a full disk may come wrapped in anything)
        full = disk_full(error)
        if full is not None:
            _say(f"keras-dl: error: {full}")
            return EXIT_FAILURE
        if not isinstance(error, usage_errors):
            raise
        message = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
        _say(f"keras-dl: error: {message}")
        return EXIT_USAGE
    return 0


def _say(line: str) -> None:
    """Print `line` on stderr; a stderr on the full disk itself leaves only the exit code."""
    try:
        print(printable(line), file=sys.stderr, flush=True)
    except OSError:
        pass


# --- a full disk ---------------------------------------------------------------------------


def disk_full(error: BaseException) -> str | None:
    """"cannot write FILE: REASON" when `error`, or an error it was raised from or while
    handling, is a full disk, a file-size limit or a disk quota (`DISK_FULL`), else None.

    It may be an `OSError` with that errno, or an error that only says so in its message:
    TensorFlow's file writers raise `tf.errors.OpError`s ("PATH; No space left on device"),
    h5py's `OSError`s carry no errno ("... errno = 28, error message = '...'"). FILE is the
    path the error names, else the file the failed function was writing (`_file_written`);
    without either the line says "cannot write to disk"."""
    chain = _chain(error)
    reason = next(filter(None, map(_disk_full_reason, chain)), None)
    if reason is None:
        return None
    file = next(filter(None, map(_file_named, chain)), None) or \
        next(filter(None, (_file_written(link.__traceback__) for link in chain)), None)
    return f"cannot write {os.fsdecode(file)}: {reason}" if file else \
        f"cannot write to disk: {reason}"


def _chain(error: BaseException) -> list:
    """`error` and the errors it was raised from or while handling, outermost first."""
    chain = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _disk_full_reason(error: BaseException) -> str | None:
    if isinstance(error, OSError) and error.errno in DISK_FULL:
        return error.strerror or os.strerror(error.errno)
    text = str(error)
    return next((reason for reason in DISK_FULL_REASONS if reason in text), None)


def _file_named(error: BaseException):
    if isinstance(error, OSError) and error.filename not in (None, ""):
        return error.filename
    text = str(error).splitlines()[0] if str(error).strip() else ""
    for pattern in _NAMED_FILE:
        found = pattern.search(text)
        if found and ": " not in found[1]:  # a path, not prose
            return found[1]
    return None


def _file_written(traceback):
    """The path of the file whose write failed, from the frames `traceback` went through:
    a file object open for writing in any of them (innermost first), else a path held by the
    innermost frame's `filepath`/`filename`/`file_path`/`path` (keras_dl's and Keras' writers
    name it so), when it is not a directory."""
    frames = []
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            if isinstance(value, io.IOBase) and _is_path(getattr(value, "name", None)) and \
                    set(getattr(value, "mode", "")) & set("wax+"):
                return value.name
    innermost = frames[-1].f_locals if frames else {}
    return next((innermost[name] for name in _PATH_LOCALS
                 if _is_path(innermost.get(name)) and not os.path.isdir(innermost[name])), None)


def _is_path(value) -> bool:
    """A file's path: not empty, not a stream's `<stdout>`/`<stderr>`, not a descriptor."""
    if not isinstance(value, (str, bytes, os.PathLike)):
        return False
    text = os.fsdecode(value)
    return bool(text) and not text.startswith("<")


if __name__ == "__main__":
    sys.exit(main())
