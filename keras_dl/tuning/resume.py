"""Resuming a KerasTuner search that was killed at any instant (issue 36).

KerasTuner keeps a search's state in JSON files under `DIRECTORY/search/`: each trial's
`trial_ID/trial.json` (its values, metrics and status), the oracle's `oracle.json` (the trial
running, the order trials ended in, the random state), `tuner0.json` (whose presence tells
KerasTuner to reload rather than start over) and `trial_ID/build_config.json`. It writes each in
place, and records one event in several files, one after the other. Killed (as
`tests/test_faults_tune.py` kills `keras-dl tune` at each of these writes), it can leave:

- a half-written file: a `JSONDecodeError` on every rerun. `atomic_state_writes` sends every
  one of KerasTuner's JSON writes through a hidden temporary file renamed into place, so each
  file is whole or absent;
- whole files that disagree, which `repair_search` reconciles before KerasTuner reads them:

  - a trial whose `trial.json` says COMPLETED while `oracle.json` still lists it as running
    (killed between the oracle's two saves at a trial's end): KerasTuner's reload would send
    it to be run again, so a finished trial was redone;
  - a `trial.json` saying RUNNING that `oracle.json` does not know (killed between writing a
    new trial and the oracle): KerasTuner would never run it again, and the search would end
    one trial short with a trial that never finished;
  - a `trial.json` that does not parse (left by a search that wrote in place): the trial is
    dropped and run again;

  and `resume_oracle` reloads the oracle when `oracle.json` exists but `tuner0.json` does not
  (the first trial killed after it ended, before the tuner saved): KerasTuner would start the
  search over and redo it.

A trial that was running when killed is run again from its start (KerasTuner keeps no epoch
backup of a trial); a trial whose end was recorded never is.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

from keras_dl import compat
from keras_dl.training.run_dir import write_atomically

RUNNING, COMPLETED, FAILED = "RUNNING", "COMPLETED", "FAILED"
ORACLE, TUNER = "oracle.json", "tuner0.json"


class DamagedSearchError(ValueError):
    """A search directory whose state cannot be repaired (its `oracle.json` does not parse)."""


@contextlib.contextmanager
def atomic_state_writes():
    """While open, KerasTuner writes its JSON state (every `trial.json`, `oracle.json`,
    `tuner0.json`, `build_config.json`: all go through `keras_tuner`'s one `save_json`,
    swapped by `keras_dl.compat.swapped_tuner_json_writer`) to a hidden temporary file renamed
    over the file, never in place. Remote paths (`gs://...`, written through `tf.io.gfile`)
    keep KerasTuner's own writer."""
    with compat.swapped_tuner_json_writer(write_atomically):
        yield


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _trial_statuses(project: Path) -> dict[str, str]:
    """`{trial_id: status}` of every trial whose `trial.json` parses; a trial folder whose
    `trial.json` does not is removed (its trial is run again)."""
    statuses = {}
    for path in sorted(project.glob("trial_*/trial.json")):
        state = _read_json(path)
        if not isinstance(state, dict) or not {"trial_id", "status"} <= state.keys():
            shutil.rmtree(path.parent)
            continue
        statuses[state["trial_id"]] = state["status"]
    return statuses


def reconciled(state: dict, statuses: dict[str, str]) -> dict:
    """`oracle.json`'s `state` made to agree with the trials' own records (`statuses`): only
    trials still RUNNING stay ongoing; a RUNNING trial the oracle lost is queued to run again;
    an ended trial (COMPLETED, FAILED) is in the end order and queued for nothing; references
    to trials that are gone are dropped."""
    state = dict(state)
    ongoing = {tuner: trial for tuner, trial in state.get("ongoing_trials", {}).items()
               if statuses.get(trial) == RUNNING}
    retry = [trial for trial in dict.fromkeys(state.get("retry_queue", []))
             if trial in statuses and statuses[trial] not in (COMPLETED, FAILED)
             and trial not in ongoing.values()]
    retry += [trial for trial, status in statuses.items() if status == RUNNING
              and trial not in retry and trial not in ongoing.values()]
    ended = [trial for trial in state.get("end_order", []) if trial in statuses]
    ended += [trial for trial, status in statuses.items()
              if status in (COMPLETED, FAILED) and trial not in ended]
    started = [trial for trial in state.get("start_order", []) if trial in statuses]
    started += [trial for trial in statuses if trial not in started]
    state.update(ongoing_trials=ongoing, retry_queue=retry, end_order=ended,
                 start_order=started,
                 run_times={k: v for k, v in state.get("run_times", {}).items()
                            if k in statuses},
                 id_to_hash={k: v for k, v in state.get("id_to_hash", {}).items()
                             if k in statuses})
    return state


def repair_search(project_dir) -> None:
    """Make the search state in `project_dir` (`DIRECTORY/search`) agree with itself before
    KerasTuner reloads it (see the module docstring). `DamagedSearchError` when `oracle.json`
    is there but does not parse: the search cannot resume."""
    project = Path(project_dir)
    if not project.is_dir():
        return
    statuses = _trial_statuses(project)
    oracle_file = project / ORACLE
    if not oracle_file.exists():
        return  # killed before the first trial was recorded: the search starts over
    state = _read_json(oracle_file)
    if not isinstance(state, dict) or "ongoing_trials" not in state:
        raise DamagedSearchError(
            f"search state {str(oracle_file)!r} is damaged (written in place by a search that "
            "was killed); pass --overwrite (overwrite=True) to start the search over")
    repaired = reconciled(state, statuses)
    if repaired != state:
        write_atomically(oracle_file, json.dumps(repaired))


def has_tuner_state(project_dir) -> bool:
    """Whether KerasTuner will reload the search in `project_dir` by itself."""
    return (Path(project_dir) / TUNER).exists()


def resume_oracle(tuner, reloaded: bool) -> None:
    """Reload `tuner`'s oracle when KerasTuner did not (`reloaded` False: no `tuner0.json`)
    but the search has recorded trials (`oracle.json`): else it would start over and redo
    them."""
    if not reloaded and (Path(tuner.project_dir) / ORACLE).exists():
        tuner.oracle.reload()
