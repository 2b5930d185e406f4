"""Smoke run of `apps/multitask.py` (`-m apps`): tiny settings, every figure written, the three
ways of training scored and compared, bad options refused in one line."""

import json

import numpy as np
import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_multitask_writes_its_figures_and_results(tmp_path):
    """Catches a figure or a rule missing, a gain that is not (rule − single task), a rule
    trained with another rule's settings, or scores outside [0, 1]."""
    load_app("multitask").main(["--epochs", "1", "--single-epochs", "2", "--limit", "2000",
                                "--hidden", "16", "--output", str(tmp_path)])
    for name in ("accuracy.png", "validation.png", "per_class.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["runs"]) == {"single_task", "joint", "alternating"}
    single = saved["summary"]["single_task"]["fine_accuracy"]["mean"]
    for rule in ("joint", "alternating"):
        assert saved["fine_accuracy_gain_over_single_task"][rule] == pytest.approx(
            saved["summary"][rule]["fine_accuracy"]["mean"] - single)
    for runs in saved["runs"].values():
        (run,) = runs
        assert 0 <= run["fine_accuracy"] <= 1 and len(run["fine_accuracy_per_class"]) == 10
        assert run["fine_labels_trained_on"] < run["train_examples"]
    # the single task trains the fine head alone; the multitask runs learn the 4 groups too
    assert saved["runs"]["single_task"][0]["loss_weights"] == [1.0, 0.0]
    assert saved["runs"]["alternating"][0]["mode"] == "alternating"
    assert saved["runs"]["joint"][0]["coarse_head_accuracy"] > 0.6
    assert set(saved["quality_bars"]) == {"joint_beats_single_task_on_fine_classes",
                                          "alternating_beats_single_task_on_fine_classes"}
    assert np.isclose(sum(saved["summary"]["joint"]["fine_accuracy_per_class"]) / 10,
                      saved["summary"]["joint"]["fine_accuracy"]["mean"], atol=0.1)


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "argument --epochs: 0 is not a positive integer"),
    (["--per-class", "x"], "argument --per-class: 'x' is not an integer"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("multitask").main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()
