"""Smoke runs (`--quick`) of the autoencoder apps: they run end to end and write what they
promise."""

import json

import numpy as np
import pytest

from _scripts import load_app


def _pngs(path, names):
    for name in names:
        assert (path / name).stat().st_size > 5000, name


@pytest.mark.apps
def test_autoencoders_app(tmp_path):
    assert load_app("autoencoders").main(["--quick", "--output", str(tmp_path)]) == 0
    _pngs(tmp_path, ["reconstructions.png", "denoising.png"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["models"]) == 8
    assert all(np.isfinite(row["test_mse"]) for row in results["models"].values())
    assert all(0 <= v <= 1 for v in results["sparse_active_fraction"].values())
    assert all(v > 0 for v in results["contractive_jacobian_frobenius_norm"].values())


@pytest.mark.apps
def test_vae_latent_space_app(tmp_path):
    assert load_app("vae_latent_space").main(["--quick", "--output", str(tmp_path)]) == 0
    _pngs(tmp_path, ["latent_spaces.png", "latent_grid.png"])
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["variants"]) == 3
    for row in results["variants"].values():
        assert np.isclose(row["elbo"], -(row["reconstruction_nll"] + row["kl"]), rtol=1e-5)


@pytest.mark.apps
def test_semantic_hashing_app(tmp_path):
    assert load_app("semantic_hashing").main(["--quick", "--output", str(tmp_path)]) == 0
    _pngs(tmp_path, ["precision.png", "retrieval.png", "code_histogram.png"])
    (row,) = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert row["bits"] == 16
    assert 0 <= row["autoencoder_precision"] <= 1 and 0 <= row["random_projection_precision"] <= 1
