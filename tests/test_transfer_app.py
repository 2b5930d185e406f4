"""Smoke run of `apps/transfer_learning.py` (`-m apps`): tiny settings, the figures written, the
three methods scored at every size, the quality bar recorded, bad options refused in one line."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_transfer_learning_writes_its_figures_and_results(tmp_path):
    """Catches a figure or a method missing, a size not run, or a bar that does not compare
    the better transfer method with training from scratch."""
    load_app("transfer_learning").main(["--quick", "--output", str(tmp_path)])
    for name in ("learning_curve.png", "tasks.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    scores = saved["test_accuracy"]
    assert set(scores) == {"head_only", "fine_tuned", "from_scratch"}
    for method in scores.values():
        assert set(method) == {"1", "10"}
        for entry in method.values():
            assert 0 <= entry["mean"] <= 1 and len(entry["draws"]) == 1
    best = max(scores["head_only"]["10"]["mean"], scores["fine_tuned"]["10"]["mean"])
    assert saved["quality_bars"] == {
        "transfer_beats_scratch_at_10_per_class": best > scores["from_scratch"]["10"]["mean"]}
    config = json.loads((tmp_path / "runs" / "fine_tuned_10_0" / "config.json").read_text())
    assert config["dataset"] == "fashion_mnist:classes=5-9,per_class=10,seed=0"
    assert config["builder_kwargs"]["source"] == str(tmp_path / "runs" / "task_a")


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "1,x"], "argument --sizes: 'x' is not a positive integer or 'all'"),
    (["--draws", "0"], "argument --draws: 0 is not a positive integer"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("transfer_learning").main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()
