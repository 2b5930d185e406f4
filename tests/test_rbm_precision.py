"""The RBM under Keras' mixed-precision policies: the products run in 16 bits, while the
weights, their updates and the sums the layer reports stay float32."""

import keras
import numpy as np
import pytest

from keras_dl.layers import RBM
from keras_dl.training.precision import precision_policy


def _data(visible="bernoulli"):
    rng = np.random.default_rng(0)
    prototypes = (rng.random((3, 16)) < 0.5).astype("float32")
    x = prototypes[rng.integers(0, 3, 320)]
    x = np.where(rng.random(x.shape) < 0.05, 1 - x, x).astype("float32")
    return x if visible == "bernoulli" else (x - x.mean(0)) / (x.std(0) + 1e-3)


def _fit(policy, x, **options):
    with precision_policy(policy):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((x.shape[1],)), RBM(8, seed=0, **options)])
        model.compile(keras.optimizers.SGD(0.1))
        history = model.fit(x, epochs=4, batch_size=16, verbose=0).history
    return model, history


@pytest.mark.parametrize("options", [{}, {"persistent": True, "chains": 16},
                                     {"visible": "gaussian"}],
                         ids=["cd1", "pcd", "gaussian"])
def test_mixed_bfloat16_multiplies_in_bfloat16_and_keeps_float32_sums(options):
    x = _data(options.get("visible", "bernoulli"))
    _, reference = _fit("float32", x, **options)
    model, history = _fit("mixed_bfloat16", x, **options)
    layer = model.layers[0]
    assert layer.compute_dtype == "bfloat16"
    assert {w.dtype for w in layer.weights} == {"float32"}
    # The logged error is the loss, summed in float32 (Keras' autocasting would have read the
    # metric's running sum in bfloat16, off by about 1e-3 of the value).
    for name in ("reconstruction_error", "pseudo_log_likelihood"):
        if name in history:
            assert np.all(np.isfinite(history[name]))
    if "reconstruction_error" in history:
        np.testing.assert_allclose(history["reconstruction_error"], history["loss"], rtol=1e-5)
    # it learns as the float32 layer does, to bfloat16's precision
    assert history["loss"][-1] < history["loss"][0]
    assert history["loss"][-1] == pytest.approx(reference["loss"][-1], rel=0.1)

    # the conditionals, energies and prediction take float32 data and compute in bfloat16
    hidden = layer.hidden_probabilities(x[:4])
    assert str(hidden.dtype) in ("bfloat16", "<dtype: 'bfloat16'>")
    assert np.all(np.isfinite(np.asarray(layer.free_energy(x[:4]), "float32")))
    predicted = model.predict(x[:4], verbose=0)
    np.testing.assert_allclose(np.asarray(predicted, "float32"),
                               np.asarray(hidden, "float32"), atol=1e-2)
    evaluated = model.evaluate(x, verbose=0, return_dict=True)
    assert np.isfinite(evaluated["loss"])
