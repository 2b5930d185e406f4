"""Smoke run of apps/backprop_by_hand.py (`-m apps`): the NumPy and Keras MLPs trained side by
side stay equal, and the app's refusals are one line with exit code 2."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_the_app_writes_equal_weights_a_figure_and_results(tmp_path):
    """Bug: the app's NumPy and Keras runs drifting apart (a different step, batch or dtype)
    or its outputs missing."""
    app = load_app("backprop_by_hand")
    assert app.main(["--steps", "15", "--batch-size", "16", "--hidden", "8",
                     "--activation", "sigmoid", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["layers"] == [64, 8, 10] and results["steps"] == 15
    assert set(results["max_abs_difference"]) == {"hidden1/kernel", "hidden1/bias",
                                                  "output/kernel", "output/bias"}
    assert results["max_abs_difference_overall"] < 1e-13
    assert results["test_accuracy"]["numpy"] == results["test_accuracy"]["keras"]
    assert (tmp_path / "loss_curves.png").stat().st_size > 10_000


@pytest.mark.parametrize("argv, message", [
    (["--lr", "0"], "--lr must be a positive number, got 0.0"),
    (["--activation", "elu"], "--activation must be one of sigmoid, tanh, relu, got 'elu'"),
    (["--dtype", "float16"], "--dtype must be one of float64, float32, got 'float16'"),
    (["--hidden", "8,x"], "--hidden must be positive integers"),
    (["--steps", "0"], "0 is not a positive integer"),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    app = load_app("backprop_by_hand")
    with pytest.raises(SystemExit) as exit_:
        app.main([*argv, "--output", str(tmp_path / "out")])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()
