"""Smoke runs of the initialisation and vanishing-gradient apps (tiny networks, one or two
epochs, 200 images)."""

import json

import numpy as np
import pytest
from _scripts import load_app

TINY = ["--depth", "4", "--width", "16", "--epochs", "1", "--train-size", "200",
        "--test-size", "100", "--probe-size", "100", "--batch-size", "50"]


@pytest.mark.apps
def test_initialisation_app_shows_the_collapse_and_writes_its_figures(tmp_path):
    """Catches an app whose ±0.01 network does not collapse while Glorot's keeps its spread
    (the lecture's point, even at width 16: each tanh layer scales the spread by about
    √(16 · 0.01²/3) ≈ 0.023), a missing figure, or records without per-layer statistics."""
    app = load_app("initialisation")
    assert app.main([*TINY, "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    networks = results["networks"]
    assert len(networks) == 8
    small, glorot = networks["tanh_small_uniform"], networks["tanh_glorot_uniform"]
    assert len(small["std_at_init"]) == 4
    assert small["std_at_init"][-1] < 1e-3 * small["std_at_init"][0]
    assert np.all(np.diff(small["std_at_init"]) < 0)
    assert glorot["std_at_init"][-1] > 0.1
    assert set(small["layers_at_init"]["hidden1_act"]) >= {"mean", "std", "saturated", "dead"}
    assert networks["relu_he_normal"]["layers_at_init"]["hidden1_act"]["dead"] is not None
    assert len(glorot["gradient_norms_at_init"]) == 5  # 4 hidden layers and the softmax
    check = results["linear_network_variance"]["glorot_uniform"]
    np.testing.assert_allclose(check["measured_output_variance"],
                               check["predicted_output_variance"], rtol=0.5)
    names = ["activation_std.png", "gradient_norms.png", "linear_variance.png",
             *[f"histograms_{name}.png" for name in networks]]
    for name in names:
        assert (tmp_path / name).stat().st_size > 1000, name


@pytest.mark.apps
def test_vanishing_gradients_app_records_norms_and_accuracy_per_epoch(tmp_path):
    """Catches gradient norms or accuracies not recorded before training and after each
    epoch, a sigmoid network whose gradient does not shrink per layer by about its mean
    σ'(z) ≤ ¼ while the residual one's does not, or a missing figure."""
    app = load_app("vanishing_gradients")
    assert app.main([*TINY, "--epochs", "2", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    networks = results["networks"]
    assert set(networks) == {"sigmoid", "tanh", "relu", "relu_bn", "residual_sigmoid"}
    for record in networks.values():
        assert len(record["gradient_norms"]) == 3 and len(record["test_accuracy"]) == 3
        assert all(len(norms) == 4 for norms in record["gradient_norms"])
        assert len(record["shrink_factors_at_init"]) == 3
    sigmoid = networks["sigmoid"]
    assert sigmoid["derivative_bound"] == 0.25
    assert sigmoid["geometric_mean_shrink_factor_at_init"] < 0.4
    assert networks["residual_sigmoid"]["geometric_mean_shrink_factor_at_init"] > 0.5
    for name in ("gradient_norms.png", "shrink_factors.png", "test_accuracy.png"):
        assert (tmp_path / name).stat().st_size > 1000, name


@pytest.mark.apps
@pytest.mark.parametrize("app_name, argv, message", [
    ("initialisation", ["--probe-size", "500", "--train-size", "100"],
     "--probe-size must be at most --train-size (100), got 500"),
    ("initialisation", ["--train-size", "70000"],
     "--train-size must be at most 60000, got 70000"),
    ("vanishing_gradients", ["--depth", "2"],
     ("--depth must be at least 3 (a shrink factor compares two hidden layers above the "
      "first), got 2")),
    ("vanishing_gradients", ["--lr", "-0.1"], "argument --lr: -0.1 is not a positive number"),
    ("initialisation", ["--width", "0"], "argument --width: 0 is not a positive integer"),
])
def test_apps_refuse_bad_numbers_in_one_line(app_name, argv, message, tmp_path, capsys):
    app = load_app(app_name)
    with pytest.raises(SystemExit) as exit_:
        app.main([*argv, "--output", str(tmp_path / "out")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists()
