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
    assert app.main(["--quick", "--dataset", "digits", "--seeds", "3,4", "--lr-grid",
                     "1e-3,3e-3", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["settings"]["seeds"] == [3, 4]
    rows = results["rows"]
    assert len(rows) == 5
    autoencoder = rows["Deep net, auto-associator pre-training"]
    assert (autoencoder.get("status") == "pending") == ("autoencoder" not in
                                                       pretraining.list_units())
    dbn = rows["DBN, unsupervised pre-training"]
    assert dbn["unit"] == "rbm" and dbn["hidden_units"] == [16, 16]
    assert rows["Shallow net, no pre-training"]["hidden_units"] == [32]
    # the rate with the lowest first-seed validation error is chosen, and used for seed 4
    assert set(dbn["selection"]) == {"0.001", "0.003"}
    assert dbn["selection"][f"{dbn['learning_rate']:g}"] == min(dbn["selection"].values())
    assert [(r["seed"], r["learning_rate"]) for r in dbn["runs"]] == [
        (3, dbn["learning_rate"]), (4, dbn["learning_rate"])]
    tests = [r["test_error"] for r in dbn["runs"]]
    assert dbn["test_error"] == pytest.approx(sum(tests) / 2)
    assert dbn["test_error_std"] == pytest.approx(abs(tests[0] - tests[1]) / 2 ** 0.5)
    assert 0 <= dbn["test_error"] <= 1
    measured = sum(row.get("status") != "pending" for row in rows.values())
    assert len(results["ordering"]) == measured * (measured - 1) // 2
    assert sum(results["ordering_summary"].values()) == len(results["ordering"])
    assert (tmp_path / "errors.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "published MNIST" in out and "published test ordering" in out


def test_pretraining_table_ordering_verdicts():
    """A pair holds only when the gap in the published direction exceeds both spreads added."""
    app = load_app("pretraining_table")
    rows = {
        "DBN, unsupervised pre-training": {"test_error": 0.100, "test_error_std": 0.002},
        "Shallow net, no pre-training": {"test_error": 0.105, "test_error_std": 0.002},
        "Deep net, supervised pre-training": {"test_error": 0.095, "test_error_std": 0.001},
        "Deep net, no pre-training": {"test_error": 0.106, "test_error_std": 0.005},
        "Deep net, auto-associator pre-training": {"status": "pending"},
    }
    verdicts = {(app.SHORT[p["better"]], app.SHORT[p["worse"]]): p["verdict"]
                for p in app.ordering(rows)}
    assert verdicts == {
        ("dbn", "shallow"): "holds",             # gap +0.5 %, spread 0.4 %
        ("dbn", "supervised"): "reversed",       # -0.5 %, beyond 0.3 %
        ("dbn", "none"): "within spread",        # +0.6 %, not beyond 0.7 %
        ("shallow", "supervised"): "reversed",   # -1.0 %, beyond 0.3 %
        ("shallow", "none"): "within spread",    # +0.1 %, 0.7 %
        ("supervised", "none"): "holds",         # +1.1 %, 0.6 %
    }


def test_pretraining_table_refuses_bad_lists(capsys):
    app = load_app("pretraining_table")
    for argv, fragment in ((["--seeds", "0,x"], "--seeds: bad item 'x' in '0,x'"),
                           (["--seeds", "1,1"], "--seeds: bad item '1' in '1,1'"),
                           (["--lr-grid", "1e-3,-1"], "--lr-grid: bad item '-1'"),
                           (["--lr-grid", "inf"], "--lr-grid: bad item 'inf'"),
                           (["--rows", "dbn,deep"], "unknown row 'deep'")):
        with pytest.raises(SystemExit) as exit_info:
            app.parse_args(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err


@pytest.mark.apps
def test_rbm_vs_sklearn_bench(tmp_path, capsys):
    bench = load_script("bench", "rbm_vs_sklearn")
    output = tmp_path / "rbm.json"
    assert bench.main(["--limit", "640", "--rounds", "1", "--epochs", "2", "--units", "32",
                       "--configs", "plain,plain_bf16,cd1,fit_floor,tf_loop,tf_loop_bf16",
                       "--sklearn", "sklearn",
                       "--profile", "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert report["settings"]["keras_backend"] == "tensorflow"
    summary = report["summary"]
    assert set(summary) == {"sklearn", "plain", "plain_bf16", "cd1", "fit_floor", "tf_loop",
                            "tf_loop_bf16", "matmul", "loop_parts"}
    for name in ("sklearn", "plain", "plain_bf16", "cd1", "tf_loop", "tf_loop_bf16"):
        assert summary[name]["samples_per_second"] > 0
        assert 0 < summary[name]["test_reconstruction_mse"] < 0.5
        assert 0 < summary[name]["last_epoch_seconds"] <= 2 * summary[name]["seconds_per_epoch"]
        assert summary[name]["cpu_seconds_per_epoch"] > 0
    assert summary["sklearn"]["speedup_vs_best_sklearn"] == 1.0
    assert summary["tf_loop"]["time_vs_tf_loop"] == 1.0
    assert summary["fit_floor"]["samples_per_second"] > 0
    # products in bfloat16 learn what float32 learns, to bfloat16's precision
    for name in ("plain", "tf_loop"):
        assert (summary[name + "_bf16"]["test_reconstruction_mse"]
                == pytest.approx(summary[name]["test_reconstruction_mse"], rel=0.05))
    assert list(summary["loop_parts"]) == ["products", "activations", "sampling", "update"]
    assert all(part["seconds_per_epoch"] > 0 for part in summary["loop_parts"].values())
    assert summary["matmul"]["tensorflow_gflops"] > 0
    out = capsys.readouterr().out
    assert "floor" in out and "bare loop up to" in out
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--configs", "cd9"])
    assert exit_info.value.code == 2
    assert "unknown config 'cd9'" in capsys.readouterr().err
