"""keras-dl end to end, and every bad input ending in exit code 2 with one clear line."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _cli import run_cli
from keras_dl import cli


def assert_usage_error(capsys, argv, *fragments):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    message = lines[-1]
    assert message.startswith(("keras-dl: error:", "keras-dl train: error:",
                               "keras-dl export: error:", "keras-dl predict: error:")), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    code = cli.main(["train", "mlp", "--dataset", "digits", "--epochs", "2", "--limit", "300",
                     "--set", "hidden_units=[16]", "--run-dir", str(run)])
    assert code == 0
    return run


def test_list_and_datasets(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    assert "lenet5" in out and "60,850" in out and "mlp" in out
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    for name in ("digits", "fashion_mnist", "mnist1d"):
        assert name in out
    assert "yes" in out


def test_train_evaluate_export_predict(trained_run, capsys, tmp_path):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2
    config = json.loads((trained_run / "config.json").read_text())
    assert config["builder_kwargs"]["hidden_units"] == [16]

    code, out, _ = run_cli(capsys, "evaluate", trained_run, "--limit", "300")  # as trained
    assert code == 0
    assert json.loads(out)["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)

    base = tmp_path / "exports"
    code, out, _ = run_cli(capsys, "export", trained_run / "model.keras", "--name", "digits_mlp",
                           "--base", base)
    assert code == 0 and str(base / "digits_mlp" / "1") in out

    import keras_dl
    from keras_dl import data

    # Catches predict (or export) serving other weights than the run's, or other rows, or
    # printing another class than the most probable one.
    images, labels = data.load_numpy("digits", "test", limit=4)
    np.save(tmp_path / "x.npy", images)
    expected = keras_dl.load_model(trained_run / "model.keras", compile=False).predict(
        images, verbose=0)
    assert expected.shape == (4, 10)
    code, out, _ = run_cli(capsys, "predict", base / "digits_mlp", "--input", tmp_path / "x.npy",
                           "--json")
    assert code == 0
    probabilities = np.array(json.loads(out)["probabilities"])
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    code, out, _ = run_cli(capsys, "predict", base / "digits_mlp" / "1", "--input",
                           tmp_path / "x.npy")
    assert code == 0
    printed = [line for line in out.splitlines() if "class " in line]
    assert [int(line.split("class ")[1].split()[0]) for line in printed] == \
        expected.argmax(axis=1).tolist()

    code, out, _ = run_cli(capsys, "export", trained_run, "--name", "digits_mlp", "--base", base,
                           "--format", "onnx")
    assert code == 0 and str(base / "onnx" / "digits_mlp" / "1" / "model.onnx") in out


def test_bad_inputs_exit_2_with_one_clear_line(trained_run, capsys, tmp_path):
    np.save(tmp_path / "wrong.npy", np.zeros((2, 5), "float32"))
    (tmp_path / "text.npy").write_text("not numpy")
    base = tmp_path / "exports"
    assert run_cli(capsys, "export", trained_run, "--name", "m", "--base", base)[0] == 0
    cases = [
        (["train", "resnet9000"], ["unknown model 'resnet9000'", "lenet5, mlp"]),
        (["train", "mlp", "--dataset", "nope"], ["unknown dataset 'nope'", "digits"]),
        (["train", "mlp", "--set", "depth=3"], ["takes no argument 'depth'", "hidden_units"]),
        (["train", "mlp", "--set", "novalue"], ["--set takes key=value", "'novalue'"]),
        (["train", "mlp", "--set", "activation=swish"], ["activation must be one of", "'swish'"]),
        (["train", "mlp", "--epochs", "0"], ["--epochs", "0 is not a positive integer"]),
        (["train", "mlp", "--epochs", "-2"], ["-2 is not a positive integer"]),
        (["train", "mlp", "--lr", "abc"], ["'abc' is not a number"]),
        (["train", "lenet5", "--dataset", "mnist1d"], ["input_shape must be 3 positive integers"]),
        (["train", "mlp", "--pretrain-epochs", "-1"], ["-1 is not a non-negative integer"]),
        (["train", "mlp", "--finetune", "top"], ["--finetune top needs pre-trained layers"]),
        (["train", "mlp", "--pretrain-epochs", "2"], ["no pre-training unit of its own"]),
        (["train", "mlp", "--pretrain-epochs", "2", "--pretrain-unit", "pca"],
         ["unknown pre-training unit 'pca'", "supervised"]),
        (["train", "mlp", "--finetune", "middle"], ["--finetune", "'middle'"]),
        (["train", "mlp", "--run-dir", trained_run, "--dataset", "digits"],
         ["already holds a finished run", "--overwrite"]),
        (["train", "mlp", "--dataset", "digits", "--init-from", tmp_path / "nowhere"],
         ["init from", "nowhere", "no such file or run dir"]),
        (["train", "mlp", "--dataset", "digits", "--init-from", trained_run,
          "--set", "hidden_units=[8]", "--run-dir", tmp_path / "warm"],
         ["init from", "has shape (64, 16) there but (64, 8)", "same architecture"]),
        (["evaluate", tmp_path / "missing"], ["does not exist"]),
        (["evaluate", trained_run, "--dataset", "fashion_mnist"],
         ["inputs of shape (28, 28, 1)", "model takes (8, 8, 1)"]),
        (["export", tmp_path / "missing.keras", "--name", "m"], ["does not exist"]),
        (["export", trained_run, "--name", "m", "--base", base, "--version", "1"],
         ["already exists", "--overwrite"]),
        (["export", trained_run, "--name", "bad/name", "--base", base], ["bad/name"]),
        (["predict", base / "m", "--input", tmp_path / "missing.npy"], ["does not exist"]),
        (["predict", base / "m", "--input", tmp_path / "wrong.npy"],
         ["shape (2, 5) does not fit", "(batch, 8, 8, 1)"]),
        (["predict", base / "m", "--input", tmp_path / "text.npy"], ["not a .npy array file"]),
        (["predict", tmp_path, "--input", tmp_path / "wrong.npy"], ["not a SavedModel directory"]),
    ]
    for argv, fragments in cases:
        assert_usage_error(capsys, argv, *fragments)
    assert sorted(p.name for p in (base / "m").iterdir()) == ["1"]  # nothing half-written
    assert not (tmp_path / "warm").exists()


def test_console_script_exit_code_and_clean_output(tmp_path):
    script = shutil.which("keras-dl", path=str(Path(sys.executable).parent)) or "keras-dl"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([script, "train", "mlp", "--set", "depth=3"], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "keras-dl: error: model 'mlp' takes no argument 'depth'; allowed: input_shape, "
        "num_classes, hidden_units, activation, initializer, batch_norm, dropout, l1, l2, "
        "input_noise, sigmoid_slope, leaky_relu_slope, maxout_pieces, small_uniform_range, "
        "include_top, classifier_activation, seed, name"
    ]
    assert result.stdout == ""


def test_predict_runs_the_signature_it_is_asked_for(tmp_path, capsys):
    """Catches `predict --signature` ignored (serving_default answering encode), the code
    printed as if it were class scores, a decode refused for the image range it does not take,
    and an unknown signature not refused with one line listing those the SavedModel has."""
    import keras_dl
    from keras_dl.export import export_saved_model
    from keras_dl.models import autoencoders

    model = keras_dl.create_model("autoencoder", input_shape=(8, 8, 1), code_size=3,
                                  hidden_units=(6,))
    export_saved_model(model, tmp_path, "ae", 1, metadata={"input_range": [0.0, 1.0]})
    x = np.random.default_rng(2).random((2, 8, 8, 1), dtype="float32")
    code = np.asarray(autoencoders.encoder(model)(x))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "code.npy", code * 10 - 5)  # a code needs no [0, 1] range
    np.save(tmp_path / "wide.npy", np.zeros((2, 4), "float32"))

    status, out, _ = run_cli(capsys, "predict", tmp_path / "ae", "--input", tmp_path / "x.npy",
                             "--signature", "encode", "--json")
    assert status == 0 and set(json.loads(out)) == {"code"}
    np.testing.assert_allclose(json.loads(out)["code"], code, atol=1e-5)
    status, out, _ = run_cli(capsys, "predict", tmp_path / "ae", "--input",
                             tmp_path / "code.npy", "--signature", "decode", "--json")
    assert status == 0
    np.testing.assert_allclose(json.loads(out)["reconstruction"],
                               autoencoders.decoder(model)(code * 10 - 5), atol=1e-5)
    status, out, _ = run_cli(capsys, "predict", tmp_path / "ae", "--input", tmp_path / "x.npy",
                             "--signature", "encode")
    assert status == 0 and "from 'code'" in out and "class" not in out
    status, out, _ = run_cli(capsys, "predict", tmp_path / "ae", "--input", tmp_path / "x.npy",
                             "--json")
    assert status == 0 and set(json.loads(out)) == {"reconstruction"}

    assert_usage_error(capsys, ["predict", tmp_path / "ae", "--input", tmp_path / "x.npy",
                                "--signature", "sample"],
                       f"{tmp_path / 'ae' / '1'} has no signature 'sample'; it has "
                       "serving_default, decode, encode")
    assert_usage_error(capsys, ["predict", tmp_path / "ae", "--input", tmp_path / "wide.npy",
                                "--signature", "decode"],
                       "input of shape (2, 4) does not fit", "'code'", "(batch, 3)")
