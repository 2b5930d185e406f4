"""Every custom layer of keras_dl, trained on Keras' JAX backend (run by tests/test_jax_backend.py).

DESIGN.md asks the layers to use `keras.ops` and `keras.random` only, so that they also run on
JAX (the backend of the GPU benchmarks). For each layer this builds a tiny functional model
around it, fits it for one epoch of two batches, predicts, and saves and reloads it as a
`.keras` file; then it trains an RBM until its reconstruction error falls. It prints one JSON
object: the backend, the layer classes it covered, and "ok" or the error for each case.

    KERAS_BACKEND=jax python tests/_jax_layers.py
"""

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import layers  # noqa: E402

rng = np.random.default_rng(0)


def vectors(width=6):
    return rng.random((8, width)).astype("float32")


def images(size=8, channels=3):
    return rng.random((8, size, size, channels)).astype("float32")


def binary(width=6):
    return (rng.random((8, width)) < 0.5).astype("float32")


def on_vectors(layer, before=None, after=True, width=6):
    """Input → [Dense] → layer → [Dense]: a model with something trainable around `layer`."""
    inputs = keras.Input((width,))
    x = keras.layers.Dense(width)(inputs) if before else inputs
    x = layer(x)
    return keras.Model(inputs, keras.layers.Dense(width)(x) if after else x)


def on_images(layer, before=True, size=8, channels=3):
    inputs = keras.Input((size, size, channels))
    x = keras.layers.Conv2D(4, 3)(inputs) if before else layer(inputs)
    return keras.Model(inputs, layer(x) if before else keras.layers.Conv2D(2, 3)(x))


def contractive():
    inputs = keras.Input((6,))
    dense = keras.layers.Dense(4, name="code_dense")
    code = layers.ContractiveActivation(dense, "sigmoid", weight=0.3)(dense(inputs))
    return keras.Model(inputs, keras.layers.Dense(6)(code))


def fractal():
    inputs = keras.Input((6,))
    path = layers.FractalPathSampler(2, seed=1)(inputs)
    columns = [keras.layers.Dense(4)(inputs), keras.layers.Dense(4)(inputs)]
    return keras.Model(inputs, layers.FractalJoin([0, 1], seed=2)([*columns, path]))


def reconstruction_loss():
    inputs = keras.Input((6,))
    reconstruction = keras.layers.Dense(6, activation="sigmoid")(inputs)
    return keras.Model(inputs, layers.ReconstructionLoss("bernoulli")([inputs, reconstruction]))


def sampling():
    inputs = keras.Input((6,))
    mean, log_var = keras.layers.Dense(2)(inputs), keras.layers.Dense(2)(inputs)
    return keras.Model(inputs, keras.layers.Dense(6)(layers.Sampling(seed=0)([mean, log_var])))


def stochastic_depth():
    inputs = keras.Input((6,))
    residual = keras.layers.Dense(6)(inputs)
    return keras.Model(inputs, layers.StochasticDepth(0.5, seed=0)([inputs, residual]))


def tied_dense():
    inputs = keras.Input((6,))
    encoder = keras.layers.Dense(3, name="encoder")
    return keras.Model(inputs, layers.TiedDense(encoder, activation="sigmoid")(encoder(inputs)))


# name: (layer classes it exercises, model builder, data, trained with a target (mse) or not
# (the model's own losses))
CASES = {
    "SlopedSigmoid": (["SlopedSigmoid"], lambda: on_vectors(layers.SlopedSigmoid(2.0), True),
                      vectors, True),
    "ScaledTanh": (["ScaledTanh"], lambda: on_vectors(layers.ScaledTanh(), True), vectors, True),
    "BinaryCode": (["BinaryCode"], lambda: on_vectors(layers.BinaryCode(seed=0), True),
                   vectors, True),
    "ChannelPadding": (["ChannelPadding"], lambda: on_images(layers.ChannelPadding(2)),
                       images, True),
    "ConnectionTableConv2D": (["ConnectionTableConv2D"],
                              lambda: on_images(layers.ConnectionTableConv2D(5), False, 10, 6),
                              lambda: images(10, 6), True),
    "ContractiveActivation": (["ContractiveActivation"], contractive, vectors, True),
    "GaussianCorruption": (["GaussianCorruption"],
                           lambda: on_vectors(layers.GaussianCorruption(0.1, seed=0)),
                           vectors, True),
    "MaskingCorruption": (["MaskingCorruption"],
                          lambda: on_vectors(layers.MaskingCorruption(0.3, seed=0)),
                          vectors, True),
    "SaltAndPepperCorruption": (["SaltAndPepperCorruption"],
                                lambda: on_vectors(layers.SaltAndPepperCorruption(0.2, seed=0)),
                                vectors, True),
    "FractalJoin": (["FractalJoin", "FractalPathSampler"], fractal, vectors, True),
    "LocalResponseNormalization": (["LocalResponseNormalization"],
                                   lambda: on_images(layers.LocalResponseNormalization()),
                                   images, True),
    "Maxout": (["Maxout"], lambda: on_vectors(layers.Maxout(3), True), vectors, True),
    "PCAColorJitter": (["PCAColorJitter"],
                       lambda: on_images(layers.PCAColorJitter(
                           np.ones(3, "float32"), np.eye(3, dtype="float32"), seed=0), False),
                       images, True),
    "RandomErasing": (["RandomErasing"],
                      lambda: on_images(layers.RandomErasing(1.0, seed=0), False),
                      images, True),
    "RandomPaddedCrop": (["RandomPaddedCrop"],
                         lambda: on_images(layers.RandomPaddedCrop(2, seed=0), False),
                         images, True),
    "RandomPerspective": (["RandomPerspective"],
                          lambda: on_images(layers.RandomPerspective(0.3, seed=0), False),
                          images, True),
    "RBM": (["RBM"], lambda: on_vectors(layers.RBM(4, seed=0), after=False), binary, False),
    "RBM persistent CD-2": (["RBM"], lambda: on_vectors(
        layers.RBM(4, k=2, persistent=True, chains=8, seed=0), after=False), binary, False),
    "RBM gaussian": (["RBM"], lambda: on_vectors(layers.RBM(4, visible="gaussian", seed=0),
                                                 after=False), vectors, False),
    "ReconstructionLoss": (["ReconstructionLoss"], reconstruction_loss, vectors, False),
    "Sampling": (["Sampling"], sampling, vectors, True),
    "SparsityPenalty": (["SparsityPenalty"], lambda: on_vectors(layers.SparsityPenalty(0.1), True),
                        vectors, True),
    "StochasticDepth": (["StochasticDepth"], stochastic_depth, vectors, True),
    "Subsampling2D": (["Subsampling2D"], lambda: on_images(layers.Subsampling2D()), images, True),
    "TiedDense": (["TiedDense"], tied_dense, vectors, True),
}


def run_case(build, make_data, with_target, folder):
    model = build()
    x = make_data()
    model.compile(keras.optimizers.SGD(0.01), loss="mse" if with_target else None)
    target = np.zeros((len(x), *model.output.shape[1:]), "float32") if with_target else None
    history = model.fit(x, target, epochs=1, batch_size=4, verbose=0).history
    if not all(np.isfinite(value[-1]) for value in history.values()):
        return f"non-finite logs {history}"
    path = os.path.join(folder, "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    # inference calls run eagerly (one XLA compilation per model, fit's, is enough here)
    output = np.asarray(model(x, training=False))
    gap = float(np.max(np.abs(np.asarray(reloaded(x, training=False)) - output)))
    if not np.all(np.isfinite(output)):
        return "non-finite output"
    return "ok" if gap < 1e-5 else f"reloaded model differs by {gap:.3g}"


def rbm_learns():
    """An RBM on noisy copies of four binary prototypes: its reconstruction error falls."""
    prototypes = (rng.random((4, 16)) < 0.5).astype("float32")
    x = prototypes[rng.integers(0, 4, 512)]
    x = np.where(rng.random(x.shape) < 0.05, 1 - x, x).astype("float32")
    inputs = keras.Input((16,))
    model = keras.Model(inputs, layers.RBM(8, seed=0)(inputs))
    model.compile(keras.optimizers.SGD(0.1))
    history = model.fit(x, epochs=20, batch_size=32, verbose=0).history
    return {"logs": sorted(history), "first_loss": history["loss"][0],
            "last_loss": history["loss"][-1], "evaluate": model.evaluate(x, verbose=0)}


def main():
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, (_, build, make_data, with_target) in CASES.items():
            try:
                results[name] = run_case(build, make_data, with_target, folder)
            except Exception as error:  # reported, so that one failure does not hide others
                results[name] = f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
    covered = sorted({cls for classes, *_ in CASES.values() for cls in classes})
    print(json.dumps({"backend": keras.backend.backend(), "covered": covered,
                      "results": results, "rbm": rbm_learns()}))


if __name__ == "__main__":
    main()
