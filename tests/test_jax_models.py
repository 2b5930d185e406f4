"""Every registered model on Keras' JAX backend (issue 35 item 4): it builds, predicts, trains
one step as the model contract trains it, and gives TensorFlow's outputs under TensorFlow's
weights (tests/_jax_models.py runs it, each backend in a fresh process). A model that cannot
run on JAX (a text model: JAX has no string tensors) refuses to build there with an error that
says why; the test asserts that error.

The default suite checks two representative models inside the shared JAX subprocess of the
layer checks (tests/_jax_layers.py, no process of its own); the full sweep and
`keras-dl train` on JAX, exported by TensorFlow, are app-tier tests (`-m apps`).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _jax_layers import JAX_MODELS, jax_report
from _jax_models import jax_models_report

import keras_dl
from keras_dl import tasks

ROOT = Path(__file__).resolve().parent.parent
# TensorFlow's and JAX's kernels differ in summation order; float32 outputs of the smoke
# models agree to ~3e-7 (bench/RESULTS.md), and a wrong weight or layer differs by ~1e-2.
TOLERANCE = 1e-4
REFUSAL = "needs the TensorFlow backend"
BATCHES = 4


def _runs_on_jax(name: str) -> bool:
    """Whether the model must run on JAX: every model but those taking raw strings."""
    return not tasks.get(keras_dl.model_info(name).task).text


def _failures(models: dict) -> list[str]:
    """One line per model that does not meet the bar (or, for a text model, does not refuse
    with the clear error)."""
    failures = []
    for name, entry in models.items():
        error = entry.get("error")
        if not _runs_on_jax(name):
            if not (error and error.startswith("build: ") and REFUSAL in error):
                failures.append(f"{name}: expected the build to refuse JAX ({REFUSAL!r}), "
                                f"got {error or 'no error'}")
        elif error:
            failures.append(f"{name}: {error}")
        elif not entry["max_abs_diff"] <= TOLERANCE:
            failures.append(f"{name}: outputs differ from TensorFlow's by "
                            f"{entry['max_abs_diff']:.3g} > {TOLERANCE}")
    return failures


@pytest.mark.xdist_group("jax_backend")  # the layer checks' worker: their one JAX process
def test_representative_models_on_jax():
    report = jax_report()
    models = report["models"]
    assert sorted(models) == sorted(JAX_MODELS)
    assert not _failures(models), "\n".join(_failures(models))
    assert models["mlp"]["max_abs_diff"] <= TOLERANCE and np.isfinite(models["mlp"]["loss"])
    assert "TextVectorization" in models["bow_classifier"]["error"]


def _batch(index: int) -> tuple[str, ...]:
    return tuple(keras_dl.list_models()[index::BATCHES])


@pytest.mark.apps
@pytest.mark.parametrize("index", range(BATCHES))
def test_every_registered_model_on_jax(index):
    """One quarter of the registry per test (each a TensorFlow and a JAX process), so that
    pytest-xdist can spread the sweep; the assertion lists every model that fails."""
    names = _batch(index)
    report = jax_models_report(names)
    assert report["backend"] == "jax"
    assert report["reference"]["errors"] == {}, report["reference"]["errors"]
    assert sorted(report["models"]) == sorted(names)
    failures = _failures(report["models"])
    assert not failures, f"{len(failures)} of {len(names)} models:\n" + "\n".join(failures)


_PREDICT_ON_JAX = """
import json, sys
import keras, numpy as np
x = np.load(sys.argv[2])
model = keras.saving.load_model(sys.argv[1])
print(json.dumps({"backend": keras.backend.backend(),
                  "outputs": np.asarray(model.predict(x, verbose=0)).tolist()}))
"""


@pytest.mark.apps
def test_train_on_jax_then_export_on_tensorflow(tmp_path):
    """`keras-dl train` on JAX writes a `.keras` file that TensorFlow exports as a SavedModel
    serving the JAX model's outputs; a tf.distribute strategy is refused on JAX."""
    import tensorflow as tf

    jax = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "keras_dl.cli", "train", "mlp", "--dataset", "digits",
               "--epochs", "1", "--run-dir", str(run_dir)]
    done = subprocess.run(command, env=jax, capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    refused = subprocess.run([*command[:-1], str(tmp_path / "refused"), "--strategy",
                              "mirrored"], env=jax, capture_output=True, text=True,
                             timeout=300, cwd=ROOT)
    assert refused.returncode == 2
    assert "--strategy mirrored needs the TensorFlow backend" in refused.stderr
    assert not (tmp_path / "refused").exists()

    x = np.random.default_rng(0).random((5, 8, 8, 1), dtype="float32") * 16
    np.save(tmp_path / "x.npy", x)
    predicted = subprocess.run([sys.executable, "-c", _PREDICT_ON_JAX,
                                str(run_dir / "model.keras"), str(tmp_path / "x.npy")],
                               env=jax, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    on_jax = json.loads(predicted.stdout.strip().splitlines()[-1])
    assert on_jax["backend"] == "jax"

    tensorflow = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    exported = subprocess.run([sys.executable, "-m", "keras_dl.cli", "export", str(run_dir),
                               "--name", "mlp", "--base", str(tmp_path / "saved")],
                              env=tensorflow, capture_output=True, text=True, timeout=300,
                              cwd=ROOT)
    assert exported.returncode == 0, exported.stderr[-3000:]
    [version] = (tmp_path / "saved" / "mlp").iterdir()
    serve = tf.saved_model.load(str(version)).signatures["serving_default"]
    [name] = serve.structured_input_signature[1]
    served = serve(**{name: tf.constant(x)})["probabilities"].numpy()
    np.testing.assert_allclose(served, np.asarray(on_jax["outputs"]), atol=1e-5)
