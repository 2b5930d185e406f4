"""Smoke runs of the apps (one epoch): they run end to end and write what they promise."""

import json
from pathlib import Path

import numpy as np
import pytest

from _scripts import load_app, load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_main_job_trains_exports_reloads_and_predicts(tmp_path, capsys):
    app = load_app("lenet5_fashion_mnist")
    # 2 epochs on 10,000 images (9,000 to train): the whole path at a sixth of the cost
    assert app.main(["--epochs", "2", "--limit", "10000", "--output", str(tmp_path / "out"),
                     "--base", str(tmp_path / "saved")]) == 0
    out = capsys.readouterr().out
    assert "test accuracy:" in out and "SavedModel exported to:" in out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["test_accuracy"] > 0.7  # measured 0.82; chance is 0.1
    assert (tmp_path / "saved" / "lenet5_fashion_mnist" / "1" / "saved_model.pb").is_file()
    assert len(results["predictions"]) == 8
    assert (tmp_path / "out" / "predictions.png").stat().st_size > 1000


@pytest.mark.apps
def test_mlp_first_layer_app_writes_snapshots_and_activity(tmp_path):
    app = load_app("mlp_first_layer")
    assert app.main(["--epochs", "2", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["snapshot_epochs"] == [1, 2]
    assert np.isclose(results["test_error"], 1 - results["test_accuracy"])
    for name in ("first_layer_epoch_01.png", "first_layer_epoch_02.png",
                 "first_layer_over_epochs.png", "unit_activity.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert set(results["dead_units"]) == {"hidden layer 1", "hidden layer 2"}


def test_apps_reject_bad_arguments(capsys):
    app = load_app("mlp_first_layer")
    with pytest.raises(SystemExit) as exit_:
        app.main(["--epochs", "0"])
    assert exit_.value.code == 2
    assert "--epochs must be a positive integer, got 0" in capsys.readouterr().err


SCRIPTS = [("apps", path.stem) for path in sorted((ROOT / "apps").glob("*.py"))] + [
    ("bench", name) for name in ("attacks_vs_art", "augment_throughput", "cnn_throughput",
                                 "lenet_throughput", "lenet_vs_pytorch", "rbm_vs_sklearn",
                                 "serving_latency", "serving_load")]


@pytest.mark.parametrize("folder, name", SCRIPTS, ids=[f"{f}/{n}" for f, n in SCRIPTS])
def test_every_script_answers_a_bad_option_in_one_line(folder, name, capsys):
    """Catches an app or benchmark whose bad option prints argparse's usage block before the
    error (the one-line promise of docs/bad_inputs.md), or exits with another code."""
    script = load_script(folder, name)
    with pytest.raises(SystemExit) as exit_:
        script.main(["--no-such-option"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unrecognized arguments: --no-such-option" in err, err
