"""Smoke run of `apps/prototypical_networks.py` (`-m apps`): tiny settings, every figure written,
the three methods scored on the same configurations with confidence intervals, the published
Omniglot table beside ours, bad options refused in one line."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_prototypical_networks_writes_its_figures_and_results(tmp_path):
    """Catches a figure, a method or a configuration missing, an interval that is not
    reported, or quality bars that do not follow from the accuracies."""
    load_app("prototypical_networks").main([
        "--epochs", "1", "--episodes", "2", "--train-ways", "5", "--test-episodes", "20",
        "--test-queries", "5", "--limit", "1000", "--output", str(tmp_path)])
    for name in ("accuracy.png", "episode.png", "training.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    configurations = {"5-way 1-shot", "5-way 5-shot", "20-way 1-shot", "20-way 5-shot"}
    assert set(saved["accuracy"]) == {"prototypical_network", "classifier_features",
                                      "raw_pixels"}
    for scores in saved["accuracy"].values():
        assert set(scores) == configurations
        for score in scores.values():
            assert 0 <= score["accuracy"] <= 1 and score["accuracy_ci95"] >= 0
            assert score["episodes"] == 20
    protonet = saved["accuracy"]["prototypical_network"]["5-way 1-shot"]["accuracy"]
    pixels = saved["accuracy"]["raw_pixels"]["5-way 1-shot"]["accuracy"]
    assert saved["quality_bars"]["protonet_beats_raw_pixels_5_way_1_shot"] == (protonet > pixels)
    assert saved["omniglot"]["published"]["20-way 5-shot"] == 0.989
    assert saved["omniglot"]["ours"]["run"] is False


@pytest.mark.parametrize("argv, message", [
    (["--episodes", "0"], "argument --episodes: 0 is not a positive integer"),
    (["--train-ways", "x"], "argument --train-ways: 'x' is not an integer"),
    (["--train-ways", "60"], "ways 60 exceeds the 48 training classes available; allowed: "
                             "1..48"),
    (["--limit", "500"], "shots 1 + queries 15 = 16 exceeds the 8 examples of the poorest of "
                         "the validation classes; allowed: shots + queries ≤ 8"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("prototypical_networks").main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()

