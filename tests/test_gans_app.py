"""Smoke run of `apps/gans.py` (`-m apps`): one epoch on 256 images, every figure written, every
measure per epoch and model in results.json with the quality bars, and bad options refused in
one line (exit 2)."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps

MODELS = ("gan", "dcgan", "conditional_gan", "conditional_dcgan", "vae")


def test_gans_app_writes_its_figures_and_every_measure(tmp_path):
    """Catches a figure missing, a model or an epoch without its scores, the conditional GAN
    without its label accuracy, or a quality bar not recorded."""
    results = load_app("gans").main(["--epochs", "1", "--limit", "256", "--classifier-limit",
                                     "256", "--output", str(tmp_path)])
    for name in ("samples_over_training.png", "frechet_per_epoch.png", "mode_coverage.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["quality_bars"] == results["quality_bars"]
    assert set(saved["quality_bars"]) == {
        "dcgan_frechet_below_vae", "conditional_label_accuracy_at_least_85_percent",
        "unconditional_samples_cover_all_10_classes_none_above_25_percent"}
    assert all(isinstance(value, bool) for value in saved["quality_bars"].values())
    assert list(saved["models"]) == list(MODELS)
    for name, run in saved["models"].items():
        (row,) = run["per_epoch"]
        assert row["epoch"] == 1 and row["frechet_distance"] > 0, name
        assert len(row["class_shares"]) == 10 and sum(row["class_shares"]) == pytest.approx(1)
        assert ("label_accuracy" in row) == name.startswith("conditional_"), name
        assert row["samples"] == 1000
        assert all(count > 0 for count in run["parameters"].values()), name
        assert (tmp_path / "runs" / name / "generative_scores.json").is_file()
    assert saved["models"]["dcgan"]["parameters"]["generator"] == 858_945
    assert saved["real_images"]["frechet_distance"] >= 0


def test_quality_bars_need_their_models_and_read_the_last_epoch():
    """Catches a bar judged without the models it compares (it must be null), or on the
    wrong side of its threshold."""
    app = load_app("gans")

    def run(distance, covered=10, largest=0.2, accuracy=None):
        last = {"frechet_distance": distance, "classes_covered": covered,
                "largest_class_share": largest}
        return {"last": last if accuracy is None else {**last, "label_accuracy": accuracy}}

    bars = app.quality_bars({"gan": run(50.0, covered=9)})
    assert bars == {"dcgan_frechet_below_vae": None,
                    "conditional_label_accuracy_at_least_85_percent": None,
                    "unconditional_samples_cover_all_10_classes_none_above_25_percent": False}
    bars = app.quality_bars({"dcgan": run(9.0, largest=0.25), "vae": run(10.0),
                             "conditional_gan": run(30.0, accuracy=0.85)})
    assert all(bars.values()), bars
    bars = app.quality_bars({"dcgan": run(11.0, largest=0.26), "vae": run(10.0),
                             "conditional_gan": run(30.0, accuracy=0.84)})
    assert not any(bars.values()), bars
    # the label bar asks it of every conditional GAN run
    bars = app.quality_bars({"conditional_gan": run(30.0, accuracy=0.84),
                             "conditional_dcgan": run(9.0, accuracy=0.95)})
    assert bars["conditional_label_accuracy_at_least_85_percent"] is False


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "argument --epochs: 0 is not a positive integer"),
    (["--limit", "50"], "--limit must be at least 64 (two batches), got 50"),
    (["--models", "wgan"], "argument --models: invalid choice: 'wgan'"),
    (["--classifier-limit", "5"], "--classifier-limit must be at least 20, got 5"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    """Catches a bad value reaching the training (a traceback, or a half-made output folder)."""
    with pytest.raises(SystemExit) as exit_info:
        load_app("gans").main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()
