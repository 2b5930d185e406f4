"""Keep TensorFlow's start-up chatter off the terminal for command-line programs (CLI, apps,
benches); `KERAS_DL_VERBOSE_TF=1` brings it back for debugging."""

import os
import sys

# Set to 1 (or true, yes, on) to see TensorFlow's own start-up and C++ log lines.
VERBOSE_VARIABLE = "KERAS_DL_VERBOSE_TF"


def verbose_tensorflow() -> bool:
    """True when `KERAS_DL_VERBOSE_TF` asks for TensorFlow's log lines."""
    return os.environ.get(VERBOSE_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def quiet_tensorflow():
    """Import TensorFlow with its start-up log lines hidden, unless `KERAS_DL_VERBOSE_TF=1`.

    TensorFlow 2.21 logs through absl before its log level is read, so TF_CPP_MIN_LOG_LEVEL
    alone does not silence the lines about oneDNN and missing CUDA drivers (they appear
    whatever its value): the import and the first device query (which logs the cuInit
    failure on machines without a GPU) run with file descriptor 2 pointed at /dev/null.
    TF_CPP_MIN_LOG_LEVEL is set to 2 (errors only) for what TensorFlow logs later, unless it
    is already set. Nothing else changes: oneDNN stays as TensorFlow chooses
    (TF_ENABLE_ONEDNN_OPTS is left alone). Python exceptions are raised after file
    descriptor 2 is restored, so real failures still show. Call it after the command line is
    parsed (so `--help` stays fast) and before anything imports Keras.
    """
    if verbose_tensorflow():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stdout.flush()
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
    except ImportError:
        pass  # reported, with its traceback, at the real import
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
