"""Smoke runs of the training-dynamics apps (`-m apps`): tiny settings, every file written, the
quality bars in results.json, and bad options refused with one line (exit 2)."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_tiny_example_writes_its_figures_and_meets_the_lectures_claims(tmp_path):
    """Catches a figure or a quality bar missing, or the lecture's 0.25 / 0.35 claims and the
    saddle exercise no longer holding with the app's own settings."""
    results = load_app("tiny_example").main(["--steps", "300", "--output", str(tmp_path)])
    for name in ("trajectories.png", "gradient_descent.png", "distance.png", "saddle.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["quality_bars"] == results["quality_bars"]
    assert all(saved["quality_bars"].values()), saved["quality_bars"]
    assert saved["methods"]["Newton"]["steps_to_tolerance"] < 20


def test_universal_approximation_writes_its_figures(tmp_path):
    """Catches a figure missing or the XOR results not recorded as the lecture says."""
    results = load_app("universal_approximation").main(
        ["--widths", "1", "8", "--steps", "600", "--xor-steps", "600", "--output", str(tmp_path)])
    for name in ("xor.png", "approximation.png", "error_per_width.png", "activations.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["xor"]["one_sigmoid_unit"]["accuracy"] <= 0.75
    assert saved["xor"]["two_layers"]["accuracy"] == 1.0
    assert [e["width"] for e in saved["error_per_width"]] == [1, 8]
    assert results["xor"]["best_threshold_unit_on_grid"] == 0.75


@pytest.mark.parametrize("app, argv, message", [
    ("tiny_example", ["--steps", "10"], "--steps must be an integer of at least 52, got 10"),
    ("tiny_example", ["--tolerance", "0"], "--tolerance must be a positive number, got 0.0"),
    ("tiny_example", ["--start", "nan", "1"], "--start must be two numbers in [-10, 10], got nan 1.0"),
    ("universal_approximation", ["--widths", "4", "0"], "--widths must be integers from 1 to 1024, got 0"),
    ("universal_approximation", ["--steps", "0"], "--steps must be a positive integer, got 0"),
])
def test_bad_options_are_one_line_and_exit_2(app, argv, message, tmp_path, capsys):
    """Catches a bad number reaching the run (a traceback, or a half-written output folder)."""
    with pytest.raises(SystemExit) as exit_info:
        load_app(app).main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()
