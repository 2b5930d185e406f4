"""Smoke run of `apps/text_classification.py` (`-m apps`): tiny settings, every model scored
on every fold, the figure and results written, bad options refused in one line."""

import json

import numpy as np
import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_text_classification_cross_validates_every_model(tmp_path):
    """Catches a model left out, a fold not scored, or a summary that is not the folds' mean
    and standard error."""
    app = load_app("text_classification")
    app.main(["--folds", "2", "--epochs", "1", "--rnn-epochs", "1", "--output", str(tmp_path)])
    assert (tmp_path / "accuracy.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["accuracy"]) == {*app.MODELS, app.SKLEARN}
    for found in saved["accuracy"].values():
        folds = np.asarray(found["folds"])
        assert len(folds) == 2 and np.all((folds >= 0) & (folds <= 1))
        assert found["mean"] == pytest.approx(folds.mean())
        assert found["standard_error"] == pytest.approx(folds.std(ddof=1) / np.sqrt(2))
    assert saved["published"]["svm_bigrams"] == 0.777


@pytest.mark.parametrize("argv, message", [
    (["--folds", "1"], "--folds must be from 2 to 100"),
    (["--epochs", "0"], "argument --epochs: 0 is not a positive integer"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("text_classification").main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()
