"""Smoke run of `apps/rbm_image.py` (`--quick`): lecture 003's RBM on image patches, its feature
maps and homework task 2 run end to end, write what they promise, and refuse bad arguments."""

import json

import numpy as np
import pytest
from _scripts import load_app

from keras_dl.data.patches import grey_photograph


@pytest.mark.apps
def test_rbm_image_app(tmp_path, capsys):
    app = load_app("rbm_image")
    assert app.main(["--quick", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["rbms"]) == {"bernoulli", "gaussian"}
    # the right quarter of the 80×80 crop is held out (a wrong cut trains on what it tests)
    image = grey_photograph("china", size=80)
    assert results["held_out_columns"] == [60, 80]
    np.testing.assert_allclose(results["pixel_variance"]["held_out_region"],
                               np.var(image[:, 60:]), rtol=1e-5)
    assert set(results["patch_mean_baseline"]) == {"stride_10", "stride_5"}
    for row in results["rbms"].values():
        assert set(row["errors"]) == {"stride_10", "stride_5"}
        for by_features in row["errors"].values():
            assert set(by_features) == {"binary", "real"}
            for errors in by_features.values():
                assert set(errors) == {"train_image", "seen_region", "held_out_region",
                                       "other_image"}
                # grey levels in [0, 1]: an error is positive and below the worst possible, 1
                assert all(0 < value < 0.25 for value in errors.values())
    # --quick uses an 80×80 crop: 71×71 maps of every 10×10 patch, 17×17 after 4×4 pooling
    assert results["feature_maps"] == {"maps": [49, 71, 71], "max_pool": [49, 17, 17],
                                       "average_pool": [49, 17, 17]}
    for figure in ("weights_bernoulli", "weights_gaussian", "reconstructions_stride10",
                   "reconstructions_stride5", "feature_maps", "feature_maps_max_pool",
                   "feature_maps_average_pool"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 1000
    assert "held-out region" in capsys.readouterr().out


@pytest.mark.apps
@pytest.mark.parametrize("argv, message", [
    (["--patch", "500"],
     ("--patch 500 does not fit: patches overlap from 2 px and must fit the held-out strip "
      "(50 px, a quarter of --size 200); allowed: 2 to 50")),
    (["--patch", "30", "--quick"], "the held-out strip (20 px, a quarter of --size 80)"),
    (["--patch", "1"], "--patch 1 does not fit"),
    (["--size", "300"], "--size 300 is larger than the halved photographs; allowed: 1 to 213"),
    (["--overlap-stride", "10"],
     "--overlap-stride 10 does not overlap patches of 10 px; allowed: 1 to 9"),
    (["--units", "0"], "--units 0 is not allowed; give a positive integer"),
    (["--train-image", "dog.jpg"], "argument --train-image: invalid choice: 'dog.jpg'"),
])
def test_rbm_image_app_refuses_bad_arguments(tmp_path, capsys, argv, message):
    """Catches a bad argument going on to a traceback (or a half-written output directory)."""
    app = load_app("rbm_image")
    with pytest.raises(SystemExit) as exit_info:
        app.main([*argv, "--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert message in error[-1]
    assert not (tmp_path / "out").exists()
