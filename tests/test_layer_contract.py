"""The layer contract: every custom layer in `keras_dl.layers.__all__`, checked from one table.

Each case gives a layer's constructor arguments, one example's input shape, the number of
`keras.random.SeedGenerator`s the layer owns, and what it is at inference (`training=False`):
the identity (noise and augmentation that act only in training) or merely deterministic. The
layer is called inside a small functional model (`Input → Dense → layer`, the Dense starting
as the identity so gradients reach something trainable in front of the layer); on TensorFlow:

- `get_config` → JSON → `from_config` gives the same config;
- a `.keras` save/load round trip gives the same inference outputs;
- it owns the declared number of seed generators (randomness from `keras.random` only);
- at inference it is the identity or, where not, two calls give equal outputs;

and on the JAX backend (one subprocess for every case, tests/_jax_layers.py) the same, after
one `fit` step. An exported layer class with no case fails `test_every_exported_layer_has_a_case`:
adding a layer means adding one case here.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import tempfile
from typing import Callable

import keras
import numpy as np
import pytest
from _jax_layers import jax_report

from keras_dl import compat, layers

# names in `keras_dl.layers.__all__` that are not layer classes, and what they are
NOT_LAYERS = {
    "LENET5_C3_TABLE": "LeNet-5's C3 connection table (a tuple of strings)",
    "corruption_layer": "a factory returning one of the corruption layers",
    "dann_lambda": "the gradient reversal's strength schedule of Ganin et al. 2016",
    "linear_survival_probability": "stochastic depth's linear decay rule",
    "rbm_to_conv2d": "a factory: a trained RBM on k×k patches as a Conv2D over whole images",
    "rgb_principal_components": "PCAColorJitter's principal components of RGB pixels",
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One row of the contract (see the module docstring)."""

    layer: str  # the class's name in keras_dl.layers
    arguments: dict
    input_shape: tuple  # one example's
    seed_generators: int
    inference: str  # "identity" or "deterministic"
    wire: Callable | None = None  # (layer, x) → output, for layers not called as layer(x)
    binary: bool = False  # 0/1 inputs (a Bernoulli RBM), else uniform in [0, 1)
    own_loss: bool = False  # fitted on the losses it adds, not on a target
    label: str = ""  # the test id, when a layer has several cases

    @property
    def id(self):
        return self.label or self.layer


def _after_dense(name, units):
    """`layer(Dense(units, name=name)(x))`: a layer resolving a named Dense upstream."""
    return lambda layer, x: layer(keras.layers.Dense(units, name=name)(x))


def _fractal_join(layer, x):
    path = layers.FractalPathSampler(2, seed=1)(x)
    return layer([keras.layers.Dense(4)(x), keras.layers.Dense(4)(x), path])


def _sampling(layer, x):
    return layer([keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)])


def _on_reconstruction(layer, x):
    return layer([x, keras.layers.Dense(x.shape[-1], activation="sigmoid")(x)])


def _prototypes(layer, x):
    """Support and queries: the same embeddings; soft class rows from a softmax."""
    return layer([x, keras.layers.Dense(3, activation="softmax")(x), x])


def _residual(layer, x):
    return layer([x, keras.layers.Dense(x.shape[-1])(x)])


VECTOR, IMAGE = (6,), (8, 8, 3)
IDENTITY, DETERMINISTIC = "identity", "deterministic"

CASES = [
    Case("BinaryCode", {"seed": 0}, VECTOR, 1, DETERMINISTIC),
    Case("ChannelPadding", {"extra": 2}, IMAGE, 0, DETERMINISTIC),
    Case("ConnectionTableConv2D", {"kernel_size": 5}, (10, 10, 6), 0, DETERMINISTIC),
    Case("ContractiveActivation", {"dense": "code_dense", "activation": "sigmoid",
                                   "weight": 0.3}, VECTOR, 0, DETERMINISTIC,
         wire=_after_dense("code_dense", 4)),
    Case("FractalJoin", {"columns": [0, 1], "seed": 2}, VECTOR, 1, DETERMINISTIC,
         wire=_fractal_join),
    Case("FractalPathSampler", {"num_columns": 2, "seed": 1}, VECTOR, 1, DETERMINISTIC),
    Case("GaussianCorruption", {"stddev": 0.1, "seed": 0}, VECTOR, 1, IDENTITY),
    Case("GradientReversal", {"strength": 0.5}, VECTOR, 0, IDENTITY),
    Case("LocalResponseNormalization", {}, IMAGE, 0, DETERMINISTIC),
    Case("MaskedGlobalMaxPooling1D", {}, (5, 3), 0, DETERMINISTIC),
    Case("MaskingCorruption", {"rate": 0.3, "seed": 0}, VECTOR, 1, IDENTITY),
    Case("Maxout", {"units": 3}, VECTOR, 0, DETERMINISTIC),
    Case("PCAColorJitter", {"eigenvalues": [1.0, 0.5, 0.1],
                            "eigenvectors": np.eye(3).tolist(), "seed": 0},
         IMAGE, 1, IDENTITY),
    Case("PrototypicalLogits", {}, VECTOR, 0, DETERMINISTIC, wire=_prototypes),
    Case("RBM", {"units": 4, "seed": 0}, VECTOR, 1, DETERMINISTIC, binary=True, own_loss=True),
    Case("RBM", {"units": 4, "k": 2, "persistent": True, "chains": 8, "seed": 0}, VECTOR, 1,
         DETERMINISTIC, binary=True, own_loss=True, label="RBM-persistent-CD2"),
    Case("RBM", {"units": 4, "visible": "gaussian", "seed": 0}, VECTOR, 1, DETERMINISTIC,
         own_loss=True, label="RBM-gaussian"),
    Case("RandomErasing", {"probability": 1.0, "seed": 0}, IMAGE, 1, IDENTITY),
    Case("RandomPaddedCrop", {"padding": 2, "seed": 0}, IMAGE, 1, IDENTITY),
    Case("RandomPerspective", {"distortion": 0.3, "seed": 0}, IMAGE, 1, IDENTITY),
    Case("ReconstructionLoss", {"distribution": "bernoulli"}, VECTOR, 0, DETERMINISTIC,
         wire=_on_reconstruction, own_loss=True),
    Case("SaltAndPepperCorruption", {"rate": 0.2, "seed": 0}, VECTOR, 1, IDENTITY),
    Case("Sampling", {"seed": 0}, VECTOR, 1, DETERMINISTIC, wire=_sampling),
    Case("ScaledTanh", {}, VECTOR, 0, DETERMINISTIC),
    Case("SlopedSigmoid", {"beta": 2.0}, VECTOR, 0, DETERMINISTIC),
    Case("SparsityPenalty", {"weight": 0.1}, VECTOR, 0, DETERMINISTIC),
    Case("StochasticDepth", {"survival_probability": 0.5, "seed": 0}, VECTOR, 1,
         DETERMINISTIC, wire=_residual),
    Case("Subsampling2D", {}, IMAGE, 0, DETERMINISTIC),
    Case("TiedDense", {"tied_to": "encoder", "activation": "sigmoid"}, VECTOR, 0,
         DETERMINISTIC, wire=_after_dense("encoder", 3)),
]


# --- building and checking one case (also run on JAX by tests/_jax_layers.py) ------------------


def build(case):
    """`(model, layer)`: `Input → Dense (identity at first) → layer`, wired as the case says."""
    layer = getattr(layers, case.layer)(**case.arguments)
    inputs = keras.Input(case.input_shape, name="inputs")
    channels = case.input_shape[-1]
    x = keras.layers.Dense(channels, kernel_initializer="identity", name="front")(inputs)
    outputs = case.wire(layer, x) if case.wire else layer(x)
    return keras.Model(inputs, outputs), layer


def example_data(case, batch=8):
    rng = np.random.default_rng(0)
    x = rng.random((batch, *case.input_shape))
    return (x < 0.5 if case.binary else x).astype("float32")


def check_config_round_trip(layer):
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    assert json.loads(json.dumps(clone.get_config())) == config


def check_save_and_load(model, x, folder):
    path = os.path.join(folder, "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(reloaded(x, training=False)),
                               np.asarray(model(x, training=False)), rtol=1e-5, atol=1e-6)


def check_seed_generators(case, layer):
    owned = len(compat.seed_generators(layer))
    assert owned == case.seed_generators, (
        f"{case.layer} owns {owned} SeedGenerators, the contract says {case.seed_generators}")


def check_inference(case, model, layer, x):
    first = np.asarray(model(x, training=False))
    assert np.all(np.isfinite(first))
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), first)
    if case.inference == IDENTITY:
        np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    elif case.inference != DETERMINISTIC:
        raise ValueError(f"inference must be {IDENTITY!r} or {DETERMINISTIC!r}")


def check_one_fit_step(case, model, x):
    model.compile(keras.optimizers.SGD(0.01), loss=None if case.own_loss else "mse")
    target = None if case.own_loss else np.zeros((len(x), *model.output.shape[1:]), "float32")
    logs = model.fit(x, target, batch_size=len(x), epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in logs.values()), logs


def check_case(case, *, fit=False):
    """Every check of the contract on one case, in the current backend."""
    model, layer = build(case)
    x = example_data(case)
    check_config_round_trip(layer)
    check_seed_generators(case, layer)
    if fit:
        check_one_fit_step(case, model, x)
    check_inference(case, model, layer, x)
    with tempfile.TemporaryDirectory() as folder:
        check_save_and_load(model, x, folder)


# --- the tests -------------------------------------------------------------------------------------


def _exported_layer_classes():
    return {name for name in layers.__all__
            if inspect.isclass(getattr(layers, name))
            and issubclass(getattr(layers, name), keras.layers.Layer)}


def test_every_exported_layer_has_a_case():
    exported = _exported_layer_classes()
    assert exported - {case.layer for case in CASES} == set(), "layers with no contract case"
    assert {case.layer for case in CASES} - exported == set(), "cases of unexported layers"
    assert set(layers.__all__) - exported == set(NOT_LAYERS), "classify each non-layer name"
    assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_layer_keeps_the_contract(case):
    check_case(case)


@pytest.mark.xdist_group("jax_backend")  # with tests/test_jax_backend.py: one JAX run
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_layer_keeps_the_contract_on_jax(case):
    report = jax_report()  # every case, checked in one subprocess (the first call runs it)
    assert report["backend"] == "jax"
    assert report["results"][case.id] == "ok"
