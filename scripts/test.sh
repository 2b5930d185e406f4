#!/usr/bin/env bash
# Install, then run the test suite. Extra arguments go to pytest (e.g. -k contract).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec python -m pytest "$@"
