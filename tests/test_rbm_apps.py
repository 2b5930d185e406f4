"""Smoke runs of the RBM / DBN apps (`--quick`): they run end to end and write what they promise."""

import json

import pytest

from _scripts import load_app, load_script


@pytest.mark.apps
def test_rbm_digits_app(tmp_path, capsys):
    app = load_app("rbm_digits")
    assert app.main(["--quick", "--datasets", "digits,fashion_mnist",
                     "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    for dataset in ("digits", "fashion_mnist"):
        homework = results["datasets"][dataset]["seen_vs_unseen"]
        assert sorted(homework["per_class_test_mse"]) == [str(c) for c in range(10)]
        assert homework["seen_test_mse"] > 0 and homework["unseen_test_mse"] > 0
        for figure in ("filters", "gibbs_chain", "reconstructions", "seen_vs_unseen"):
            assert (tmp_path / f"{dataset}_{figure}.png").stat().st_size > 1000
    assert "unseen (5-9) MSE" in capsys.readouterr().out


@pytest.mark.apps
def test_rbm_features_app(tmp_path, capsys):
    app = load_app("rbm_features")
    x, y = app.nudged_digits(limit=10)
    assert x.shape == (50, 64) and 0 <= x.min() and x.max() <= 1 and len(y) == 50
    assert app.main(["--quick", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["results"]) == {"keras_dl RBM (CD-1) + LR", "keras_dl RBM (PCD-1) + LR",
                                       "scikit-learn BernoulliRBM + LR", "raw-pixel LR"}
    assert all(0 <= row["test_accuracy"] <= 1 for row in results["results"].values())
    assert (tmp_path / "filters.png").stat().st_size > 1000
    assert (tmp_path / "accuracy.png").stat().st_size > 1000
    assert "raw-pixel LR" in capsys.readouterr().out


@pytest.mark.apps
def test_pretraining_table_app(tmp_path, capsys):
    from keras_dl.training import pretraining

    app = load_app("pretraining_table")
    assert app.main(["--quick", "--dataset", "digits", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    rows = results["rows"]
    assert len(rows) == 5
    autoencoder = rows["Deep net, auto-associator pre-training"]
    assert (autoencoder.get("status") == "pending") == ("autoencoder" not in
                                                       pretraining.list_units())
    dbn = rows["DBN, unsupervised pre-training"]
    assert dbn["unit"] == "rbm" and dbn["hidden_units"] == [16, 16]
    assert rows["Shallow net, no pre-training"]["hidden_units"] == [32]
    assert 0 <= dbn["test_error"] <= 1
    assert (tmp_path / "errors.png").stat().st_size > 1000
    assert "published MNIST" in capsys.readouterr().out


@pytest.mark.apps
def test_rbm_vs_sklearn_bench(tmp_path, capsys):
    bench = load_script("bench", "rbm_vs_sklearn")
    output = tmp_path / "rbm.json"
    assert bench.main(["--limit", "640", "--rounds", "1", "--epochs", "2", "--units", "32",
                       "--configs", "plain,cd1,fit_floor,tf_loop", "--sklearn", "sklearn",
                       "--profile", "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert report["settings"]["keras_backend"] == "tensorflow"
    summary = report["summary"]
    assert set(summary) == {"sklearn", "plain", "cd1", "fit_floor", "tf_loop", "matmul",
                            "loop_parts"}
    for name in ("sklearn", "plain", "cd1", "tf_loop"):
        assert summary[name]["samples_per_second"] > 0
        assert 0 < summary[name]["test_reconstruction_mse"] < 0.5
        assert 0 < summary[name]["last_epoch_seconds"] <= 2 * summary[name]["seconds_per_epoch"]
        assert summary[name]["cpu_seconds_per_epoch"] > 0
    assert summary["sklearn"]["speedup_vs_best_sklearn"] == 1.0
    assert summary["tf_loop"]["time_vs_tf_loop"] == 1.0
    assert summary["fit_floor"]["samples_per_second"] > 0
    assert list(summary["loop_parts"]) == ["products", "activations", "sampling", "update"]
    assert all(part["seconds_per_epoch"] > 0 for part in summary["loop_parts"].values())
    assert summary["matmul"]["tensorflow_gflops"] > 0
    out = capsys.readouterr().out
    assert "floor" in out and "bare loop up to" in out
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--configs", "cd9"])
    assert exit_info.value.code == 2
    assert "unknown config 'cd9'" in capsys.readouterr().err
