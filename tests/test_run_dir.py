"""The run directory's bookkeeping (keras_dl/training/run_dir.py), unit by unit: deciding to
start, resume or refuse; the settings comparison behind a resume; the history a resume reads;
the training clock. Each test names the bug it is there to catch."""

import json
import re

import pytest

from keras_dl.settings import OPTIONAL_RECORDS
from keras_dl.training.run_dir import (RunDirError, TrainingClock, changed_setting,
                                       prepare_run_dir, read_history)

CONFIG = {"model": "mlp", "dataset": "digits", "epochs": 3, "seed": 0}
OPTIONAL = next(iter(OPTIONAL_RECORDS))  # a setting recorded only when set


def test_a_new_run_dir_is_made_with_the_config(tmp_path):
    """Catches a fresh run reported as a resume, or its settings not recorded."""
    run = tmp_path / "a" / "run"
    assert prepare_run_dir(run, CONFIG, overwrite=False) is False
    # the record is meant to be read by people too: indented, one setting a line
    assert (run / "config.json").read_text() == json.dumps(CONFIG, indent=2) + "\n"


def test_an_unfinished_run_with_the_same_settings_resumes(tmp_path):
    """Catches a resume refused, or its files cleared, when the settings agree."""
    prepare_run_dir(tmp_path, CONFIG, overwrite=False)
    (tmp_path / "history.csv").write_text("epoch,loss\n0,1.0\n")
    assert prepare_run_dir(tmp_path, dict(CONFIG), overwrite=False) is True
    assert (tmp_path / "history.csv").exists()


def test_a_finished_run_is_refused_unless_overwritten(tmp_path):
    """Catches a finished run resumed (or silently replaced) without --overwrite."""
    prepare_run_dir(tmp_path / "run", CONFIG, overwrite=False)
    (tmp_path / "run" / "metrics.json").write_text("{}")
    with pytest.raises(RunDirError, match=re.escape(
            f"run dir {str(tmp_path / 'run')!r} already holds a finished run; choose another "
            "run dir (--run-dir, run_dir=) or pass --overwrite (overwrite=True) to start it over")):
        prepare_run_dir(tmp_path / "run", CONFIG, overwrite=False)
    assert (tmp_path / "run" / "metrics.json").exists()
    assert prepare_run_dir(tmp_path / "run", {**CONFIG, "epochs": 5}, overwrite=True) is False
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 5


def test_an_unfinished_run_with_other_settings_names_the_first_difference(tmp_path):
    """Catches a resume under changed settings, or an error that hides which setting changed."""
    prepare_run_dir(tmp_path, CONFIG, overwrite=False)
    with pytest.raises(RunDirError, match=re.escape(
            f"run dir {str(tmp_path)!r} holds an unfinished run with epochs=3, not 4; rerun "
            "with its settings to resume, or pass --overwrite (overwrite=True)")):
        prepare_run_dir(tmp_path, {**CONFIG, "epochs": 4, "seed": 1}, overwrite=False)
    assert json.loads((tmp_path / "config.json").read_text()) == CONFIG


def test_a_folder_of_other_files_is_refused_but_worker_folders_are_not(tmp_path):
    """Catches a run written into a folder of unrelated files, or a multi-worker run refused
    because another worker made its folder first."""
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match=re.escape(
            f"run dir {str(tmp_path / 'other')!r} is not empty and holds no keras_dl run; "
            "choose another run dir (--run-dir, run_dir=)")):
        prepare_run_dir(tmp_path / "other", CONFIG, overwrite=False)
    assert not (tmp_path / "other" / "config.json").exists()
    for held in ("workers", "backup"):
        (tmp_path / held / held).mkdir(parents=True)
        assert prepare_run_dir(tmp_path / held, CONFIG, overwrite=False) is False
        assert (tmp_path / held / held).is_dir()


def test_changed_setting_reports_key_held_and_wanted(tmp_path):
    """Catches a comparison that swaps the held and wanted values or misses a new key."""
    assert changed_setting(tmp_path, CONFIG) is None  # no run here
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    assert changed_setting(tmp_path, dict(CONFIG)) is None
    assert changed_setting(tmp_path, {**CONFIG, "seed": 7}) == ("seed", 0, 7)
    assert changed_setting(tmp_path, {**CONFIG, "limit": 50}) == ("limit", None, 50)


def test_optional_records_count_as_their_default_where_absent(tmp_path):
    """Catches an old run dir (written before a setting existed) that no longer resumes, and a
    non-default value of such a setting that goes unnoticed."""
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    default = OPTIONAL_RECORDS[OPTIONAL]
    assert changed_setting(tmp_path, {**CONFIG, OPTIONAL: default}) is None
    assert changed_setting(tmp_path, {**CONFIG, OPTIONAL: "other"}) == (OPTIONAL, default, "other")
    (tmp_path / "config.json").write_text(json.dumps({**CONFIG, OPTIONAL: "other"}))
    assert changed_setting(tmp_path, CONFIG) == (OPTIONAL, "other", default)


@pytest.mark.parametrize("content", ["not json", "[1, 2]", "3"])
def test_a_config_that_is_not_a_runs_settings_is_refused(tmp_path, content):
    """Catches a traceback (or a resume) on a config.json that is not a settings object."""
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(RunDirError, match=re.escape(
            f"run dir {str(tmp_path)!r} has a config.json that is not a keras_dl run's "
            "settings; choose another run dir (--run-dir, run_dir=) or pass --overwrite "
                          "(overwrite=True)")):
        changed_setting(tmp_path, CONFIG)


def test_history_rows_are_typed_sorted_and_counted_once(tmp_path):
    """Catches a history that repeats an epoch a resume wrote twice, keeps the stale row,
    loses the order, or returns strings."""
    path = tmp_path / "history.csv"
    assert read_history(path) == []
    path.write_text("epoch,loss,val_accuracy\n1,0.5,0.7\n0,0.9,\n1,0.4,0.75\n2,0.3,0.8\n")
    rows = read_history(path)
    assert rows == [{"epoch": 0, "loss": 0.9}, {"epoch": 1, "loss": 0.4, "val_accuracy": 0.75},
                    {"epoch": 2, "loss": 0.3, "val_accuracy": 0.8}]
    assert all(type(row["epoch"]) is int and type(row["loss"]) is float for row in rows)


def test_the_training_clock_sums_epochs_across_resumes(tmp_path, monkeypatch):
    """Catches a clock that restarts at zero on a resume or counts time between epochs."""
    now = iter([10.0, 12.5, 100.0, 101.0, 200.0, 204.0])
    monkeypatch.setattr("keras_dl.training.run_dir.time.perf_counter", lambda: next(now))
    clock = TrainingClock(tmp_path)
    assert clock.seconds == 0.0
    clock.on_epoch_begin(0)
    clock.on_epoch_end(0)
    clock.on_epoch_begin(1)
    clock.on_epoch_end(1)
    assert json.loads((tmp_path / "elapsed.json").read_text()) == {"seconds": 3.5, "epochs": 2}
    resumed = TrainingClock(tmp_path)
    assert resumed.seconds == 3.5
    resumed.on_epoch_begin(2)
    resumed.on_epoch_end(2)
    assert json.loads((tmp_path / "elapsed.json").read_text()) == {"seconds": 7.5, "epochs": 3}
