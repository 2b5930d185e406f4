"""Smoke run of apps/image_to_image.py (`-m apps`): tiny settings, every file written, the
figures and the quality bar in results.json, and bad options refused with one line (exit 2)."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_image_to_image_writes_its_figures_and_results(tmp_path):
    """Catches a figure, a run's sample grids or a model's figures missing from the output."""
    results = load_app("image_to_image").main(["--epochs", "1", "--limit", "200", "--filters",
                                               "4", "--classifier-limit", "1000",
                                               "--output", str(tmp_path)])
    assert (tmp_path / "side_by_side.png").stat().st_size > 5_000
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["quality_bars"] == results["quality_bars"]
    assert isinstance(saved["quality_bars"]["pix2pix_frechet_below_l1_only"], bool)
    assert set(saved["models"]) == {"pix2pix", "unet_translation"}
    for name, row in saved["models"].items():
        assert 0 < row["test_l1"] < 1, name
        assert row["pixel_frechet_distance"] > 0 and row["classifier_frechet_distance"] > 0
        assert 0 <= row["classifier_accuracy_on_outputs"] <= 1
        assert (tmp_path / "runs" / name / "samples" / "epoch_001.png").exists()
        assert row["sample_grids"] == [str(tmp_path / "runs" / name / "samples" /
                                           "epoch_001.png")]
    assert saved["test_examples"] == 200 and saved["epochs"] == 1
    assert 0 < saved["classifier"]["test_accuracy"] <= 1


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "argument --epochs: 0 is not a positive integer"),
    (["--limit", "-5"], "argument --limit: -5 is not a positive integer"),
    (["--seed", "-1"], "argument --seed: -1 is not a non-negative integer"),
    (["--dataset", "mnist"], "argument --dataset: invalid choice: 'mnist'"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    """Catches a bad option reaching the runs (a traceback, or a half-written output folder)."""
    with pytest.raises(SystemExit) as exit_info:
        load_app("image_to_image").main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()
