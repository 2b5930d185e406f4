"""Smoke run of `apps/generative_dbn.py` (`--quick`): it runs end to end, writes what it
promises, and refuses bad command-line input with one line and exit code 2."""

import json

import pytest
from _scripts import load_app


@pytest.mark.apps
def test_generative_dbn_app(tmp_path, capsys):
    app = load_app("generative_dbn")
    assert app.main(["--quick", "--dataset", "digits", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["dataset"] == "digits" and results["paper_mnist_test_error"] == 0.0125
    for key in ("test_error_after_greedy", "test_error_after_up_down",
                "generated_classified_as_their_label"):
        assert 0 <= results[key] <= 1
    assert results["settings"]["snapshots"] == [1, 10, 20]
    assert len(results["up_down_reconstruction_mse"]) == 1
    assert (tmp_path / "digits_samples.png").stat().st_size > 1000
    assert "paper, MNIST (other data)" in capsys.readouterr().out


@pytest.mark.apps
@pytest.mark.parametrize("argv, message", [
    (["--dataset", "mnist"], "invalid choice: 'mnist'"),
    (["--gibbs-steps", "0"], "--gibbs-steps: 0 is not a positive integer"),
])
def test_generative_dbn_app_bad_input(tmp_path, capsys, argv, message):
    app = load_app("generative_dbn")
    with pytest.raises(SystemExit) as exit_info:
        app.main([*argv, "--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written
