#!/usr/bin/env bash
# Install, then run the test suite. Extra arguments go to pytest (e.g. -k contract).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# The suite runs on three worker processes (pytest-xdist): on 2 CPU cores a third worker fills
# the time the others spend waiting on subprocesses, servers and TensorFlow's start-up. All of
# one model's contract tests stay on one worker. KERAS_DL_TEST_WORKERS=0 runs it in one process.
exec python -m pytest -n "${KERAS_DL_TEST_WORKERS:-3}" --dist loadgroup "$@"
