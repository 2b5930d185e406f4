"""The upstream workarounds in keras_dl.compat still target real, unchanged internals."""

import gc

import keras
import numpy as np

import keras_dl
from keras_dl import compat
from keras_dl.training import compile_classifier


def test_internals_are_where_the_workarounds_expect_them():
    compat.check_internals()


def _fit_one_model():
    model = keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(3,), num_classes=2)
    compile_classifier(model)
    x = np.random.default_rng(0).random((16, 4), dtype="float32")
    model.fit(x, (x[:, 0] > 0.5).astype("int32"), epochs=1, verbose=0)


def test_tensorflow_still_leaks_custom_gradients_and_the_workaround_releases_them():
    before = compat.custom_gradient_registrations()
    _fit_one_model()
    leaked = compat.custom_gradient_registrations() - before
    # If this fails, TensorFlow no longer registers (and leaks) a custom gradient per traced
    # train step: the workaround may be obsolete — check and remove it.
    assert leaked, "fit() registered no graph-mode custom gradient"

    before = compat.custom_gradient_registrations()
    with compat.released_custom_gradients():
        _fit_one_model()
        assert compat.custom_gradient_registrations() - before  # registered while training
    keras.backend.clear_session()
    gc.collect()
    assert compat.custom_gradient_registrations() == before  # and released afterwards
