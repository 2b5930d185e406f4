"""apps/lenet5_published.py: LeNet-5 as published beside the modern variant and lecture 003's
MNIST table; its smoke run (`-m apps`) and its refusals (default suite, no training)."""

import json
import math

import pytest

from _scripts import load_app


@pytest.mark.apps
def test_quick_run_trains_both_variants_and_writes_the_lecture_table(tmp_path):
    app = load_app("lenet5_published")
    assert app.main(["--quick", "--output", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    rows = {row["variant"]: row for row in results["rows"]}
    assert set(rows) == {"lenet5_published", "lenet5_modern", "mlp_300"}
    for row in rows.values():
        assert math.isfinite(row["test_error"]) and 0 <= row["test_error"] <= 1
        assert len(row["val_error_per_epoch"]) == row["epochs_run"] == 1
    # bug caught: both runs built the same network (modern=False dropped or ignored); the
    # paper's network is 60,850 parameters with the softmax head, the modern one 61,706
    assert rows["lenet5_published"]["parameters"] == 60_850
    assert rows["lenet5_modern"]["parameters"] == 61_706
    assert rows["mlp_300"]["parameters"] == 784 * 300 + 300 + 3010  # the 1998 paper's 300 HU
    # bug caught: the published column drifting from the lecture's slide
    published = {p["classifier"]: p["test_error_percent"] for p in results["published_mnist"]}
    assert published["Convolutional net LeNet-5"] == 0.80
    assert published["SVM, Gaussian Kernel"] == 1.40
    assert published["Unsupervised Stacked RBM + backprop"] == 0.95
    assert published["LeNet-5, no distortions (1998)"] == 0.95
    assert len(published) == 9
    table = (tmp_path / "results.md").read_text()
    expected = f"| LeNet-5, no distortions (1998) | 0.95 | lenet5_published " \
               f"{100 * rows['lenet5_published']['test_error']:.2f}, lenet5_modern "
    assert expected in table and "on fashion_mnist" in table
    assert (tmp_path / "learning_curves.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be a positive integer, got 0"),
    (["--limit", "-3"], "--limit must be a positive integer, got -3"),
    (["--svm", "-1"], "--svm must be 0 (no SVM) or a positive number of images, got -1"),
    (["--dataset", "cifar10"],
     "--dataset: unknown dataset 'cifar10'; allowed: fashion_mnist, mnist"),
])
def test_bad_arguments_are_one_line_exit_2_and_nothing_written(argv, message, tmp_path, capsys):
    """Bug caught: a bad value accepted (training starts, or a traceback) or an output folder
    made before the refusal."""
    app = load_app("lenet5_published")
    with pytest.raises(SystemExit) as exit_:
        app.main(argv + ["--output", str(tmp_path / "out")])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unavailable_dataset_fails_fast_in_one_line(tmp_path, capsys, monkeypatch):
    """Bug caught: MNIST missing offline ends in a traceback, or after an output folder is made
    (the real check asks tensorflow-datasets and the network; here the loader says no)."""
    app = load_app("lenet5_published")

    def unavailable(name, split="train", limit=None):
        raise app.data.DatasetUnavailableError(f"dataset {name!r} is not on this machine\nmore")

    monkeypatch.setattr(app.data, "load_numpy", unavailable)
    assert app.main(["--dataset", "mnist", "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == "lenet5_published: error: dataset 'mnist' is not on this machine\n"
    assert not (tmp_path / "out").exists()
