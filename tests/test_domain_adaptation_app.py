"""Smoke run of `apps/domain_adaptation.py` (`-m apps`): tiny settings, every figure written,
the three target accuracies and the share of the gap recorded, bad options refused in one line."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_domain_adaptation_writes_its_figures_and_results(tmp_path):
    """Catches a figure or a reference point missing, or a share of the gap that is not
    (dann − source only) / (oracle − source only)."""
    load_app("domain_adaptation").main(["--epochs", "1", "--moons-epochs", "3", "--limit", "200",
                                        "--output", str(tmp_path)])
    for name in ("moons.png", "features.png", "target_samples.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    for scores in saved["target_accuracy"].values():
        assert {"source_only", "dann", "train_on_target"} <= set(scores)
        gap = scores["train_on_target"] - scores["source_only"]
        if gap > 0:
            assert scores["share_of_gap_closed"] == pytest.approx(
                (scores["dann"] - scores["source_only"]) / gap)
    assert saved["published"]["dann"] == 0.7666
    assert set(saved["quality_bars"]) == {"dann_closes_half_the_gap_on_fashion_mnist_m",
                                          "dann_beats_source_only_on_the_moons"}


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "argument --epochs: 0 is not a positive integer"),
    (["--limit", "x"], "argument --limit: 'x' is not an integer"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("domain_adaptation").main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()
