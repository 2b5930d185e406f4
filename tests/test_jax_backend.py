"""keras_dl's custom layers train on Keras' JAX backend too (DESIGN.md: `keras.ops` and
`keras.random` only). tests/_jax_layers.py runs in a fresh process with KERAS_BACKEND=jax."""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import keras

from keras_dl import layers

SCRIPT = Path(__file__).with_name("_jax_layers.py")


def test_every_custom_layer_fits_predicts_and_reloads_on_jax():
    environment = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          env=environment, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    assert {name: result for name, result in report["results"].items() if result != "ok"} == {}

    exported = {name for name in layers.__all__
                if inspect.isclass(getattr(layers, name))
                and issubclass(getattr(layers, name), keras.layers.Layer)}
    assert exported - set(report["covered"]) == set(), "layers with no JAX case"

    # On JAX the RBM keeps no metrics of its own (Keras runs the forward pass statelessly),
    # and its loss is the reconstruction error, which CD-1 brings down.
    rbm = report["rbm"]
    assert rbm["logs"] == ["loss"]
    assert rbm["last_loss"] < 0.6 * rbm["first_loss"]
    assert rbm["evaluate"] < 0.6 * rbm["first_loss"]
