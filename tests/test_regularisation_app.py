"""Smoke run of apps/regularisation.py (`--quick`): every regime, the ensemble and the
first-layer-only demonstration run end to end and write what the app promises."""

import json

import numpy as np
import pytest

from _scripts import load_app

REGIMES = ["none", "l2", "l1", "noise", "dropout", "early_stopping", "augment", "ensemble"]


@pytest.mark.apps
def test_quick_run_writes_every_regime_figure_and_the_demo(tmp_path):
    """Catches a regime dropped from results.json or the figures, curves one epoch short,
    an early-stopping point outside the epochs run, an ensemble whose evaluated test error
    is not that of its averaged prediction, or a demo that trains more than the first layer."""
    app = load_app("regularisation")
    assert app.main(["--quick", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    regimes = results["regimes"]
    assert list(regimes) == REGIMES
    epochs = results["settings"]["epochs"]
    for name, record in regimes.items():
        assert len(record["train_error"]) == len(record["validation_loss"]), name
        assert 0 <= record["final_test_error"] <= 1, name
        assert record["gap"] == pytest.approx(record["final_test_error"]
                                              - record["final_train_error"]), name
        if name != "early_stopping":
            assert record["epochs_run"] == epochs, name
    stopping = regimes["early_stopping"]
    assert 1 <= stopping["best_epoch"] <= stopping["epochs_run"] <= epochs
    ensemble = regimes["ensemble"]
    assert ensemble["test_error_by_evaluate"] == pytest.approx(ensemble["final_test_error"])
    assert len(ensemble["member_final_test_error"]) == results["settings"]["members"]
    # the unregularised run is the ensemble's first member
    assert ensemble["member_final_test_error"][0] == pytest.approx(
        regimes["none"]["final_test_error"])
    demo = results["first_layer_demo"]
    assert demo["trained_layer"] == "hidden1_dense"
    hidden = results["settings"]["hidden_units"][0]
    assert demo["first_layer_only"]["trainable_parameters"] == 784 * hidden + hidden
    assert demo["all_layers"]["trainable_parameters"] > 784 * hidden + hidden
    for name in ("regimes_error.png", "regimes_loss.png", "regimes_summary.png",
                 "ensemble.png", "first_layer_only.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert np.isfinite(results["total_seconds"])
