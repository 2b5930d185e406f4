"""Silence TensorFlow's C++ start-up chatter for command-line programs (CLI, apps, benches)."""

import os
import sys


def quiet_tensorflow():
    """Import TensorFlow with its start-up log lines hidden (set TF_CPP_MIN_LOG_LEVEL to see them).

    TensorFlow 2.21 logs through absl before its log level is read, so the environment
    variable alone does not silence the lines about oneDNN and missing CUDA drivers: the import
    and the first device query run with file descriptor 2 pointed at /dev/null. Python
    exceptions are raised after it is restored, so real failures still show. Call it before
    anything imports Keras; it does nothing when TF_CPP_MIN_LOG_LEVEL is already set.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
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
