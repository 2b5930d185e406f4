"""Smoke run of `apps/sequence_models.py` (`-m apps`): tiny settings, every file written, the
quality bars recorded as measured, and bad options refused with one line (exit 2)."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_sequence_models_writes_its_figures_and_records_the_bars(tmp_path):
    """Catches a figure or a bar missing, a bar recorded as passed that its figure fails,
    or a model trained on the wrong view of the data (the RNN needs (steps, features))."""
    results = load_app("sequence_models").main(
        ["--models", "logreg,mlp,cnn,cnn_benchmark,gru,fashion", "--epochs", "1", "--limit", "64",
         "--fashion-limit", "64", "--fashion-epochs", "1", "--output", str(tmp_path)])
    for name in ("accuracy.png", "learning_curves.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["quality_bars"] == results["quality_bars"]
    assert set(saved["quality_bars"]) == {"gru_mnist1d_test_accuracy>=0.91",
                                          "cnn_mnist1d_test_accuracy>=0.94",
                                          "mlp_mnist1d_test_accuracy>=0.68"}
    models = saved["models"]
    assert (saved["quality_bars"]["gru_mnist1d_test_accuracy>=0.91"]
            == (models["gru"]["test_accuracy"] >= 0.91))
    assert models["gru"]["dataset"] == "mnist1d_sequence"
    assert models["logreg"]["parameters"] == 40 * 10 + 10  # softmax regression
    # the CNN's bar is judged on the row trained as the benchmark's script trains it: every
    # training example (64 here), nothing held out
    assert (saved["quality_bars"]["cnn_mnist1d_test_accuracy>=0.94"]
            == (models["cnn_benchmark"]["test_accuracy"] >= 0.94))
    assert models["cnn_benchmark"]["training_examples"] == 64
    assert models["cnn_benchmark"]["parameters"] == models["cnn"]["parameters"] == 5_210
    assert {"fashion_lstm", "fashion_cnn"} <= set(models)
    assert saved["published"]["test_accuracy"]["gru"] == 0.91


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "argument --epochs"),
    (["--models", "gru,transformer"], "transformer"),
    (["--fashion-limit", "-3"], "argument --fashion-limit"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    """Catches a bad value reaching a run (a traceback, or a half-written output folder)."""
    output = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        load_app("sequence_models").main([*argv, "--output", str(output)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and message in error, error
    assert not output.exists()
