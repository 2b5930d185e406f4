"""Smoke runs of the CNN apps and the throughput bench: they run and write what they promise."""

import json
import time

import numpy as np
import pytest

from _scripts import load_script


def test_pooling_and_convolution_reproduces_the_lecture_examples(tmp_path):
    app = load_script("apps", "pooling_and_convolution")
    assert app.main(["--output", str(tmp_path), "--channels", "8"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["pooling"]["max"] == [[4, 6], [7, 2]]
    assert results["pooling"]["average"] == [[2.5, 3.5], [4, 1.25]]
    shared = results["shared_weights"]
    assert shared["max_abs_difference_conv_vs_dense"] < 1e-5
    assert shared["distinct_weights"] == shared["conv_parameters"] == 9
    counts = results["parameters_200x200"]["counts"]
    assert counts["fully_connected"] == 16_000_000_000  # the lecture's "16 billion"
    assert counts["locally_connected"] == 40_000_000  # "40 million"
    assert all(a == b for a, b in results["parameters_200x200"]["small_image_checks"].values())
    stacked = results["stacked_convolutions"]
    assert [stacked[k]["receptive_field"] for k in ("one 7x7", "two 3x3", "three 3x3")] == [7, 5, 7]
    assert [stacked[k]["parameters"] for k in ("one 7x7", "two 3x3", "three 3x3")] == [
        49 * 64, 18 * 64, 27 * 64]
    assert (tmp_path / "pooling_example.png").stat().st_size > 1000


@pytest.mark.apps
def test_cnn_zoo_quick(tmp_path):
    app = load_script("apps", "cnn_zoo")
    assert app.main(["--quick", "--models", "lenet5,resnet20", "--width-multiplier", "0.25",
                     "--learning-rate", "0.002", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert [row["model"] for row in results["rows"]] == ["lenet5", "resnet20"]
    for row in results["rows"]:
        assert row["parameters"] > 0 and 0 <= row["test_accuracy"] <= 1
        assert row["seconds_per_epoch"] > 0
        assert (tmp_path / f"filters_{row['model']}.png").stat().st_size > 1000
        assert (tmp_path / f"feature_maps_{row['model']}.png").stat().st_size > 1000
    assert results["rows"][1]["augment"] == "flip,crop=4"
    assert results["rows"][1]["builder_kwargs"]["width_multiplier"] == 0.25
    assert "width_multiplier" not in results["rows"][0]["builder_kwargs"]  # LeNet-5 takes none
    config = json.loads((tmp_path / "runs" / "resnet20" / "config.json").read_text())
    assert config["learning_rate"] == 0.002
    table = (tmp_path / "results.md").read_text()
    assert "ResNet18 with augmentation" not in table and "2-conv CNN 0.916" in table


class _Interrupt(Exception):
    pass


def test_cnn_zoo_resume_continues_an_interrupted_run_and_keeps_a_finished_one(tmp_path, capsys):
    import keras

    from keras_dl import training

    class InterruptAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise _Interrupt  # after the trainer's backup of epoch 0

    app = load_script("apps", "cnn_zoo")
    run = tmp_path / "runs" / "lenet5"
    with pytest.raises(_Interrupt):  # what `--quick --epochs 2` trains, cut after one epoch
        training.train("lenet5", dataset="fashion_mnist", run_dir=run, epochs=2, batch_size=128,
                       limit=1000, seed=0, builder_kwargs=dict(app.ZOO["lenet5"]["kwargs"]),
                       verbose=0, extra_callbacks=[InterruptAfterFirstEpoch()])
    assert (run / "backup").exists() and not (run / "metrics.json").exists()

    argv = ["--quick", "--epochs", "2", "--models", "lenet5", "--output", str(tmp_path)]
    assert app.main(argv + ["--resume"]) == 0
    row = json.loads((tmp_path / "results.json").read_text())["rows"][0]
    assert row["resumed"] is True and row["reused"] is False and row["epochs"] == 2
    out = capsys.readouterr().out  # by default Keras' line per epoch: the second one only
    assert "Epoch 2/2" in out and "Epoch 1/2" not in out and "val_loss" in out
    assert [r["epoch"] for r in training.read_history(run / "history.csv")] == [0, 1]
    saved = (run / "model.keras").stat().st_mtime_ns

    assert app.main(argv + ["--resume"]) == 0  # finished: reported, not retrained
    again = json.loads((tmp_path / "results.json").read_text())["rows"][0]
    assert again["reused"] is True and (run / "model.keras").stat().st_mtime_ns == saved
    assert again["test_accuracy"] == row["test_accuracy"]
    assert again["parameters"] == row["parameters"]
    capsys.readouterr()

    # other settings: refused before anything trains (AlexNet comes first), nothing lost
    assert app.main(["--quick", "--epochs", "3", "--models", "alexnet,lenet5", "--resume",
                     "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "finished run with epochs=2, not 3" in err
    assert (run / "model.keras").stat().st_mtime_ns == saved
    assert not (tmp_path / "runs" / "alexnet").exists()
    (run / "model.keras").rename(run / "moved.keras")  # a finished run without its model
    assert app.main(argv + ["--resume"]) == 2
    assert "finished run without its model.keras" in capsys.readouterr().err
    (run / "moved.keras").rename(run / "model.keras")

    assert app.main(argv + ["--verbose", "0"]) == 0  # without --resume: trained again
    assert "Epoch" not in capsys.readouterr().out
    fresh = json.loads((tmp_path / "results.json").read_text())["rows"][0]
    assert fresh["resumed"] is False and fresh["reused"] is False
    assert (run / "model.keras").stat().st_mtime_ns != saved


def test_cnn_zoo_augment_replaces_each_models_own_augmentation():
    app = load_script("apps", "cnn_zoo")

    def augment(*argv):
        runs = app.plan(app.parse_args(["--models", "resnet18,nin", *argv]))
        return {name: settings["augment"] for name, _, settings in runs}

    assert augment() == {"resnet18": "flip,crop=4", "nin": None}  # the zoo's own
    assert augment("--augment", "flip, erase") == {"resnet18": "flip,erase=0.5",
                                                  "nin": "flip,erase=0.5"}
    assert augment("--augment", "none") == {"resnet18": None, "nin": None}


@pytest.mark.parametrize("script, argv, message", [
    ("apps/cnn_zoo", ["--models", "resnet9000"], "unknown model 'resnet9000'"),
    ("apps/cnn_zoo", ["--width-multiplier", "0"],
     "--width-multiplier must be a positive number, got 0.0"),
    ("apps/cnn_zoo", ["--learning-rate", "-1"],
     "--learning-rate must be a positive number, got -1.0"),
    ("apps/cnn_zoo", ["--precision", "half"], "--precision: invalid choice: 'half'"),
    ("apps/cnn_zoo", ["--monitor", "accuracy"], "--monitor: invalid choice: 'accuracy'"),
    ("apps/cnn_zoo", ["--verbose", "3"], "--verbose: invalid choice: 3"),
    ("apps/cnn_zoo", ["--augment", "flip,blur"], "--augment: unknown augmentation 'blur'; "
     "allowed: flip, translate"),
    ("apps/cnn_zoo", ["--augment", "pca_jitter"], "pca_jitter needs RGB images"),
    ("bench/augment_throughput", ["--names", "flip,pca_jitter"],
     "--names: unknown augmentation 'pca_jitter'; allowed: flip, translate"),
    ("bench/augment_throughput", ["--batches", "0"], "--batches: 0 is not a positive integer"),
    ("bench/cnn_gpu", ["train", "resnet18", "--augment", "erase=2"],
     "--augment: augmentation erase is a probability in (0, 1], got '2'"),
    ("bench/cnn_gpu", ["train", "resnet18", "--augment", ""], "--augment needs a spec"),
    ("bench/cnn_gpu", ["train", "resnet18", "--monitor", "loss"],
     "--monitor: invalid choice: 'loss'"),
    ("bench/cnn_gpu", ["train", "resnet7"], "unknown model 'resnet7'; allowed: lenet5"),
    ("bench/cnn_gpu", ["train", "resnet18", "--precision", "float32,mixed_float16"],
     "train takes one --precision"),
    ("bench/cnn_gpu", ["throughput", "--precision", "half"],
     "unknown precision 'half'; allowed: float32"),
    ("bench/cnn_gpu", ["train", "resnet18", "--budget", "0"],
     "must be a positive number, got '0'"),
    ("bench/cnn_gpu", ["train", "resnet18", "--weight-decay", "-1"],
     "--weight-decay: must be a number in [0, 1), got '-1'"),
    ("bench/cnn_gpu", ["train", "resnet18", "--optimizer", "lbfgs"],
     "--optimizer: invalid choice: 'lbfgs'"),
])
def test_cnn_scripts_reject_bad_arguments_with_exit_2(capsys, script, argv, message):
    script = load_script(*script.split("/"))
    with pytest.raises(SystemExit) as exit_:
        script.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.apps
def test_augment_bench_quick(tmp_path):
    bench = load_script("bench", "augment_throughput")
    assert bench.main(["--quick", "--names", "flip,perspective,erase",
                       "--output", str(tmp_path / "a.json")]) == 0
    rows = json.loads((tmp_path / "a.json").read_text())["results"]
    assert list(rows) == ["none", "flip", "perspective", "erase"]
    assert rows["erase"]["spec"] == "erase=0.5" and rows["flip"]["spec"] == "flip"
    assert all(row["images_per_s"] > 0 for row in rows.values())


@pytest.mark.apps
def test_throughput_bench_quick(tmp_path, capsys):
    bench = load_script("bench", "cnn_throughput")
    assert bench.main(["--quick", "--models", "nin", "--output", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    row = report["results"]["nin"]
    assert row["train_samples_per_s"] > 0 and row["inference_samples_per_s"] > 0
    assert row["finite_loss"]


@pytest.mark.apps
def test_gpu_bench_trains_a_zoo_network_and_times_resnet50(tmp_path, capsys):
    """bench/cnn_gpu.py on the CPU and the default backend: the same code the GPU runs."""
    bench = load_script("bench", "cnn_gpu")
    log = tmp_path / "epochs.jsonl"
    assert bench.main(["train", "resnet18", "--quick", "--epochs", "2", "--budget", "600",
                       "--monitor", "val_accuracy", "--log", str(log), "--optimizer",
                       "momentum", "--learning-rate", "0.05", "--weight-decay", "5e-3",
                       "--augment", "flip,crop=4,erase",
                       "--output", str(tmp_path / "t.json")]) == 0
    train = json.loads((tmp_path / "t.json").read_text())["train"]
    accuracies = train["history"]["val_accuracy"]
    assert train["monitor"] == "val_accuracy"
    assert (train["optimizer"], train["learning_rate"], train["weight_decay"]) == \
        ("momentum", 0.05, 5e-3)
    assert train["best_epoch"] == accuracies.index(max(accuracies)) + 1
    assert train["augment"] == "flip,crop=4,erase=0.5"  # --augment, not the zoo's flip,crop=4
    assert train["builder_kwargs"]["width_multiplier"]
    assert train["epochs_run"] == len(train["epoch_seconds"]) == 2
    assert train["augmentation_runs"] == "in the compiled step"  # flip, crop, erase compile
    assert train["train_examples"] == 900 and train["test_examples"] == 500
    assert 0 <= train["test_accuracy"] <= 1 and train["published"][1] == 0.949
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [row["epoch"] for row in lines] == [1, 2]
    assert lines[0]["learning_rate"] == pytest.approx(0.05)
    assert lines[1]["learning_rate"] < lines[0]["learning_rate"]  # the cosine over 2 epochs
    assert bench.main(["throughput", "--precision", "float32,mixed_bfloat16", "--batch", "2",
                       "--steps", "1", "--warmup", "1", "--image-size", "32",
                       "--output", str(tmp_path / "p.json")]) == 0
    rows = json.loads((tmp_path / "p.json").read_text())["throughput"]
    assert [row["precision"] for row in rows] == ["float32", "mixed_bfloat16"]
    assert all(row["train_images_per_s"] > 0 and row["finite_loss"] for row in rows)


def test_budget_fixes_the_epoch_count_after_the_second_epoch():
    bench = load_script("bench", "cnn_gpu")

    class Model:
        stop_training = False

    timer = bench.EpochBudget(30, budget=100)
    timer.set_model(Model())
    timer.on_train_begin()
    timer._train_start -= 25  # 25 s so far: the first epoch (with compilation) took 15 s
    timer.seconds = [15.0]
    timer._epoch_start = timer._train_start + 15
    timer.on_epoch_end(1)  # the second took 10 s: 75 s left, room for 7 more epochs
    assert timer.epochs == 9 and not timer.model.stop_training
    timer.budget = None
    timer._epoch_start = time.perf_counter()
    timer.on_epoch_end(8)
    assert timer.model.stop_training and not timer.cut_short
    timer = bench.EpochBudget(30, budget=50)  # running slower than the second epoch said
    timer.set_model(Model())
    timer.model.stop_training = False
    timer.on_train_begin()
    timer._train_start -= 48
    timer._epoch_start = timer._train_start + 38
    timer.on_epoch_end(4)  # 48 s spent, and another 10 s epoch would end at 58 s > 1.1 × 50
    assert timer.model.stop_training and timer.cut_short


def test_gpu_bench_compiles_flip_and_crop_and_augments_other_layers_before_the_step():
    from keras_dl.data.augment import build_augmentation

    bench = load_script("bench", "cnn_gpu")
    assert bench.compiles(build_augmentation("flip,crop=4,erase", input_shape=(8, 8, 1)))
    rotate = build_augmentation("flip,rotate=10", input_shape=(8, 8, 1))
    assert not bench.compiles(rotate)  # Keras' RandomRotation: supports_jit = False
    x = np.random.default_rng(0).random((10, 8, 8, 1)).astype("float32") + 1
    y = np.arange(10)
    batches = bench.AugmentedBatches(x, y, 4, rotate, seed=0)
    assert len(batches) == 3
    seen = []
    for index in range(len(batches)):
        images, labels = batches[index]
        assert images.shape == (len(labels), 8, 8, 1)
        assert not np.allclose(images, x[labels])  # augmented
        seen += labels.tolist()
    assert sorted(seen) == list(range(10)) and seen != list(range(10))  # shuffled, all once
    first = batches.order.copy()
    batches.on_epoch_end()
    assert not np.array_equal(first, batches.order)
