#!/usr/bin/env bash
# Mutation testing of the modules where a silent bug costs users most (on demand, not in CI):
# install (with the mutation extra, mutmut), then run scripts/mutation.py. Arguments go to it:
#   bash scripts/mutation.sh              # every group (about an hour on 2 cores)
#   bash scripts/mutation.sh registry     # one group; --list names them
# See docs/testing.md for the groups, the scores and the mutants judged equivalent.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
if ! python -c 'import mutmut' 2>/dev/null; then
  printf '[setup] installing the mutation extra (mutmut)\n' >&2
  python -m pip install -q -e '.[test,mutation]'
fi
exec python scripts/mutation.py "$@"
