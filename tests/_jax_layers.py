"""Every custom layer of keras_dl on Keras' JAX backend, in one subprocess for the whole suite.

DESIGN.md asks the layers to use `keras.ops` and `keras.random` only, so that they also run on
JAX (the backend of the GPU benchmarks). Run with KERAS_BACKEND=jax, this script takes every
case of the layer contract (tests/test_layer_contract.py), runs its checks after one `fit`
step, then trains an RBM until its reconstruction error falls. It prints one JSON object: the
backend, "ok" or the error for each case, and the RBM's training figures.

    KERAS_BACKEND=jax python tests/_jax_layers.py

`jax_report()` runs it once per test process, for tests/test_layer_contract.py,
tests/test_jax_backend.py and tests/test_jax_models.py alike: before it, TensorFlow's
reference of the representative models `JAX_MODELS` is written (tests/_jax_models.py) and the
same process checks them on JAX (no process of their own: the default suite's budget).
"""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# A classifier trained through a jit-compiled step, and a text model, which must refuse JAX.
JAX_MODELS = ("mlp", "bow_classifier")


@functools.lru_cache(maxsize=None)
def jax_report() -> dict:
    """The report of this script run on JAX (CPU) in a fresh process."""
    import tempfile

    from _jax_models import reference

    with tempfile.TemporaryDirectory(prefix="keras_dl_jax_") as directory:
        reference(Path(directory), JAX_MODELS)  # this process's backend: TensorFlow
        environment = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
                       "KERAS_DL_JAX_REFERENCE": directory}
        done = subprocess.run([sys.executable, __file__], capture_output=True, text=True,
                              env=environment, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def rbm_learns():
    """An RBM on noisy copies of four binary prototypes: its reconstruction error falls."""
    import keras
    import numpy as np

    from keras_dl import layers

    rng = np.random.default_rng(0)
    prototypes = (rng.random((4, 16)) < 0.5).astype("float32")
    x = prototypes[rng.integers(0, 4, 512)]
    x = np.where(rng.random(x.shape) < 0.05, 1 - x, x).astype("float32")
    inputs = keras.Input((16,))
    model = keras.Model(inputs, layers.RBM(8, seed=0)(inputs))
    model.compile(keras.optimizers.SGD(0.1))
    history = model.fit(x, epochs=20, batch_size=32, verbose=0).history
    return {"logs": sorted(history), "first_loss": history["loss"][0],
            "last_loss": history["loss"][-1], "evaluate": model.evaluate(x, verbose=0)}


def gradient_reversal_backward():
    """The gradient reversal on JAX: the identity forward, −λ × the upstream gradient back."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from keras_dl import layers

    layer = layers.GradientReversal(0.7)
    layer.build((3,))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(4, 3)), dtype="float32")
    upstream = jnp.asarray(rng.normal(size=(4, 3)), dtype="float32")
    gradient = jax.grad(lambda v: jnp.sum(layer(v) * upstream))(x)
    return {"forward_is_identity": bool(jnp.all(layer(x) == x)),
            "largest_backward_error": float(jnp.max(jnp.abs(gradient + 0.7 * upstream)))}


def main():
    import keras

    from test_layer_contract import CASES, check_case

    results = {}
    for case in CASES:
        try:
            check_case(case, fit=True)
            results[case.id] = "ok"
        except Exception as error:  # reported, so that one failure does not hide others
            lines = str(error).strip().splitlines() or [""]
            results[case.id] = f"{type(error).__name__}: {lines[0]}"
    models = {}
    if os.environ.get("KERAS_DL_JAX_REFERENCE"):
        from _jax_models import check_model

        models = {name: check_model(name, Path(os.environ["KERAS_DL_JAX_REFERENCE"]))
                  for name in JAX_MODELS}
    print(json.dumps({"backend": keras.backend.backend(), "results": results,
                      "rbm": rbm_learns(), "gradient_reversal": gradient_reversal_backward(),
                      "models": models}))


if __name__ == "__main__":
    main()
