"""`keras-dl tune` killed with SIGKILL at seeded points, then rerun; and tune on a full disk
(issue 36).

One search directory (3 trials of one epoch) is killed again and again, each time at a later
point, and rerun each time with the same command: in a trial's `trial.json` (KerasTuner's
record of it), in a trial's checkpoint, in `oracle.json` at a trial's end (between the oracle's
two saves), in `tuner0.json`, just before the next trial's folder is made, between a new
trial's record and the oracle's, during a trial's training, then in each of tune's own outputs
(`best/model.keras`, `best/hyperparameters.json`, `best/config.json`, `trials.json`). Then it
is run to the end. The points are observed events in the child (tests/_faults.py), so a kill
lands inside the write it names; which write and how long after are drawn from a seed.

Checked after every kill: nothing half-written is visible (`check_complete`: every `.json`
parses, every `.keras` loads); no trial that had finished (its `trial.json` says COMPLETED) is
run again: its `trial.json` and checkpoint are never rewritten (same inode and mtime), and a
process begins (prints "Running Trial") no more trials than were unfinished when it started.
At the end: exit 0, `trials.json` lists the 3 trials, each COMPLETED with a score, the best
model loads and carries the best trial's values.

The full disk: a search under `RLIMIT_FSIZE` (writes past it fail with EFBIG), once failing at
KerasTuner's first `trial.json`, once at the best model after the search: non-zero exit,
nothing half-written visible. And a search left half-written by a tune that wrote in place
(before issue 36): a cut `trial.json` is run again, alone; a cut `oracle.json` is one line.
"""

import json
import random
import re
import shutil

import pytest

from _faults import ForkServer, KillPoint, check_complete

# About two minutes of worker time: under `-m apps` (CI runs it) to keep the default suite
# inside its 10-minute budget.
pytestmark = pytest.mark.apps

MAX_TRIALS = 3
TUNE = ["tune", "mlp", "--dataset", "digits", "--max-trials", MAX_TRIALS, "--epochs", 1,
        "--limit", 200, "--seed", 1, "--batch-size", 64, "--dir", "t"]


def tune_points(seed: int) -> list[KillPoint]:
    """The kill points of one sweep, in the order the search reaches them; which write and how
    long after an event are drawn from `seed`."""
    draw = random.Random(seed)
    return [
        KillPoint("trial 0's trial.json half-written", "write", "search/trial_0/*trial.json*",
                  nth=draw.randint(1, 3)),
        KillPoint("trial 0's checkpoint half-written", "h5",
                  "search/trial_0/checkpoint.weights.h5", nth=draw.randint(1, 3)),
        # 2: the oracle's save as trial 0 ends; 3: the tuner's save just after (the oracle
        # on disk still lists the finished trial as running)
        KillPoint("oracle.json half-written at trial 0's end", "write", "search/*oracle.json*",
                  nth=draw.choice([2, 3])),
        KillPoint("tuner0.json half-written at trial 1's end", "write", "search/*tuner0.json*"),
        KillPoint("between trials: trial 2's folder about to be made", "mkdir",
                  "search/trial_2"),
        KillPoint("trial 2 recorded, oracle.json half-written", "write", "search/*oracle.json*"),
        KillPoint("during trial 2's training", "write", "search/*oracle.json*",
                  delay_ms=draw.uniform(300, 1200)),
        KillPoint("best/model.keras half-written", "write", "best/*model*.keras",
                  chunk=draw.randint(1, 4)),
        KillPoint("best/hyperparameters.json half-written", "write",
                  "best/*hyperparameters.json*"),
        KillPoint("best/config.json half-written", "write", "best/*config.json*"),
        KillPoint("trials.json half-written", "write", "*trials.json*"),
    ]


@pytest.fixture(scope="module")
def server():
    # unbuffered: what a killed child printed ("Running Trial") reaches its stdout file
    with ForkServer(env={"PYTHONUNBUFFERED": "1"}) as fork_server:
        yield fork_server


def finished_trials(search) -> dict:
    """`{trial_id: identity}` of every trial whose `trial.json` says COMPLETED; the identity
    (inode and mtime of its `trial.json` and checkpoint) changes if either is written again."""
    finished = {}
    for path in sorted(search.glob("trial_*/trial.json")):
        try:
            status = json.loads(path.read_text())["status"]
        except ValueError:  # half-written: not finished (and reported by check_complete)
            continue
        if status == "COMPLETED":
            files = (path, path.parent / "checkpoint.weights.h5")
            finished[path.parent.name.removeprefix("trial_")] = [
                (p.stat().st_ino, p.stat().st_mtime_ns) for p in files]
    return finished


def begun_trials(stdout: str) -> int:
    return len(re.findall(r"^Search: Running Trial #", stdout, re.M))


@pytest.fixture(scope="module")
def killed_search(server, tmp_path_factory):
    """The search killed at each of `tune_points(36)` in turn, then run to the end: the
    workdir, and one record a run: (label, outcome, half-written files, finished trials
    written again, trials begun, trials unfinished when it started)."""
    workdir = tmp_path_factory.mktemp("tune")
    search = workdir / "t" / "search"
    records = []
    for point in [*tune_points(seed=36), None]:
        before = finished_trials(search) if search.exists() else {}
        outcome = server.run(TUNE, workdir=workdir, kill=point)
        after = finished_trials(search)
        rewritten = sorted(t for t in before if after.get(t) != before[t])
        records.append((point.label if point else "final run", outcome,
                        check_complete(workdir), rewritten, begun_trials(outcome.stdout),
                        MAX_TRIALS - len(before)))
    return workdir, records


def test_tune_killed_anywhere_resumes_and_runs_each_trial_once(killed_search):
    """Catches: KerasTuner's trial.json / oracle.json / tuner0.json, or tune's best model,
    hyperparameters.json, config.json or trials.json, left half-written in view (written in
    place); a finished trial run again after a kill between the oracle's saves at its end
    (the oracle lists it as running) or before the tuner's first save (KerasTuner starts
    over); a trial recorded but unknown to the oracle never run again (the search ends with
    it RUNNING); a rerun that crashes on what a kill left."""
    workdir, records = killed_search
    for label, outcome, half_written, rewritten, begun, unfinished in records:
        if label != "final run":
            assert outcome.killed, f"{label}: not reached ({outcome.code}) " \
                f"{outcome.stderr[-1500:]}"
        assert half_written == [], label
        assert rewritten == [], f"{label}: finished trials {rewritten} were run again"
        assert begun <= unfinished, f"{label}: began {begun} trials, {unfinished} unfinished"
    final = records[-1][1]
    assert final.code == 0, final.stderr[-2000:]
    trials = json.loads((workdir / "t" / "trials.json").read_text())
    assert sorted(t["trial"] for t in trials) == [str(i) for i in range(MAX_TRIALS)]
    assert all(t["status"] == "COMPLETED" and t["score"] is not None for t in trials), trials
    best = json.loads((workdir / "t" / "best" / "hyperparameters.json").read_text())
    assert best == trials[0]["hyperparameters"]


@pytest.fixture(scope="module")
def full_disk_runs(server, killed_search, tmp_path_factory):
    """`{label: (outcome, workdir)}`: a new search whose first trial.json cannot be written
    (500 bytes a file), and the finished search (its best model and trials.json removed)
    rerun with 20 000 bytes a file (its state loads; the best model, larger, fails)."""
    fresh = tmp_path_factory.mktemp("disk")
    outcomes = {"trial.json": (server.run(TUNE, workdir=fresh, fsize=500), fresh)}
    rerun = tmp_path_factory.mktemp("disk")
    shutil.copytree(killed_search[0] / "t" / "search", rerun / "t" / "search")
    outcomes["best model"] = (server.run(TUNE, workdir=rerun, fsize=20_000), rerun)
    return outcomes


def test_tune_on_a_full_disk_fails_and_leaves_nothing_half_written(full_disk_runs):
    """Catches a state file or output written in place, left half-written by a write that
    failed (EFBIG), and a search that reports success."""
    for label, (outcome, workdir) in full_disk_runs.items():
        assert outcome.code != 0, label
        assert check_complete(workdir) == [], label
        assert "File too large" in outcome.stderr, f"{label}: {outcome.stderr[-1500:]}"
    _, rerun = full_disk_runs["best model"]
    assert not (rerun / "t" / "best" / "model.keras").exists()


@pytest.fixture(scope="module")
def damaged_runs(server, killed_search, tmp_path_factory):
    """The finished search, its best model and trials.json removed, with one state file cut in
    half as a search that wrote in place (before issue 36) left it, rerun: `{file: (outcome,
    search dir, finished trials before the rerun)}`."""
    runs = {}
    for name in ("trial_2/trial.json", "oracle.json"):
        workdir = tmp_path_factory.mktemp("damaged")
        search = workdir / "t" / "search"
        shutil.copytree(killed_search[0] / "t" / "search", search)
        text = (search / name).read_text()
        (search / name).write_text(text[:len(text) // 2])
        before = finished_trials(search)
        runs[name] = (server.run(TUNE, workdir=workdir), search, before)
    return runs


def test_tune_resumes_a_search_left_half_written_by_an_in_place_writer(damaged_runs):
    """Catches a rerun that crashes with a traceback (JSONDecodeError) on every try after a
    half-written trial.json, instead of running that trial again (and no other); and a
    half-written oracle.json, which cannot be repaired, reported as a traceback instead of
    one line saying how to start over."""
    outcome, search, before = damaged_runs["trial_2/trial.json"]
    assert outcome.code == 0, outcome.stderr[-2000:]
    assert begun_trials(outcome.stdout) == 1
    after = finished_trials(search)
    assert sorted(after) == ["0", "1", "2"]
    assert {t: after[t] for t in ("0", "1")} == {t: before[t] for t in ("0", "1")}
    assert check_complete(search.parent) == []

    outcome, _, _ = damaged_runs["oracle.json"]
    lines = outcome.stderr.strip().splitlines()
    assert outcome.code == 2 and len(lines) == 1, outcome.stderr[-2000:]
    assert "oracle.json" in lines[0] and "--overwrite" in lines[0], lines
