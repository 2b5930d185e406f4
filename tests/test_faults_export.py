"""`keras-dl export` killed with SIGKILL during its staging and its rename, then rerun
(issue 36; how a kill is placed: tests/_faults.py).

Checked after every kill: every visible `BASE/NAME/VERSION/` loads with TensorFlow's own
loader and has its metadata (a staging `.tmp-*` folder may remain: it is hidden), and the
server's repository (`keras_dl.serving.ModelRepository`) lists only those versions. After
the last rerun the export is there, whole, at the version asked for.
"""

import random

import pytest

from _faults import ForkServer, KillPoint, check_complete, saved_model_versions
from keras_dl.serving import ModelRepository

TRAIN = ["train", "mlp", "--dataset", "digits", "--epochs", 1, "--batch-size", 64,
         "--limit", 200, "--seed", 1, "--set", "hidden_units=[8]", "--run-dir", "run"]


def export_points(seed: int) -> list[KillPoint]:
    """Kill points of an export of version 1, then of an overwrite of it, in order."""
    draw = random.Random(seed)
    return [
        KillPoint("while TensorFlow writes the staged SavedModel", "mkdir", "models/m/.tmp-*",
                  delay_ms=draw.uniform(5, 60)),
        KillPoint("later in staging (writing or checking the SavedModel)", "mkdir",
                  "models/m/.tmp-*", delay_ms=draw.uniform(30, 90)),
        KillPoint("staged metadata half-written", "write", "models/m/.tmp-*/keras_dl.json"),
        KillPoint("just before the staging is renamed", "rename", "models/m/.tmp-*"),
    ]


OVERWRITE_POINTS = [
    KillPoint("overwrite: just before the old version is moved aside", "rename",
              "models/m/1", nth=1),
    KillPoint("overwrite: between moving the old version aside and the new one in", "rename",
              "models/m/.tmp-*", nth=1),
]


@pytest.fixture(scope="module")
def server():
    with ForkServer() as fork_server:
        yield fork_server


def assert_only_whole_versions(base):
    assert check_complete(base) == []
    repository = ModelRepository(base)
    listed = repository.versions("m")
    assert listed == [int(p.name) for p in saved_model_versions(base)]
    for version in listed:  # what the server would serve loads and answers
        _, served = repository.get("m", version)
        assert served.path.name == str(version)


def test_export_killed_in_staging_and_rename_never_shows_a_partial_version(server, tmp_path):
    """Catches: a version directory visible before it is whole (written in place, or renamed
    before its metadata); a staging folder the repository would serve; a rerun refused or
    failing because of what a killed export left behind."""
    trained = server.run(TRAIN, workdir=tmp_path)
    assert trained.code == 0, trained.stderr[-2000:]
    (tmp_path / "models").mkdir()
    export = ["export", "run", "--name", "m", "--base", "models", "--version", 1]
    for point in export_points(seed=36):
        outcome = server.run(export, workdir=tmp_path, kill=point)
        assert outcome.killed, f"{point.label}: not reached ({outcome.code}) {outcome.stderr}"
        assert not (tmp_path / "models" / "m" / "1").exists(), point.label
        assert_only_whole_versions(tmp_path / "models")
    done = server.run(export, workdir=tmp_path)
    assert done.code == 0, done.stderr[-2000:]
    assert_only_whole_versions(tmp_path / "models")
    assert ModelRepository(tmp_path / "models").versions("m") == [1]
    for point in OVERWRITE_POINTS:
        outcome = server.run([*export, "--overwrite"], workdir=tmp_path, kill=point)
        assert outcome.killed, f"{point.label}: not reached ({outcome.code}) {outcome.stderr}"
        assert_only_whole_versions(tmp_path / "models")
    done = server.run([*export, "--overwrite"], workdir=tmp_path)
    assert done.code == 0, done.stderr[-2000:]
    assert_only_whole_versions(tmp_path / "models")
    assert ModelRepository(tmp_path / "models").versions("m") == [1]
