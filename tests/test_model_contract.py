"""The model contract: every registered model, on a tiny input, must

- build with its `smoke_kwargs` and give outputs of the declared shape, without NaN;
- train one `fit` step with a finite loss;
- round-trip `get_config`/`from_config` and `.keras` save/load with identical outputs;
- export as a SavedModel whose `serving_default` signature gives the same outputs;
- build from its declared KerasTuner search space.

A model that is registered is a model that works.
"""

import keras
import keras_tuner
import numpy as np
import pytest

import keras_dl
from keras_dl.export import export_saved_model, verify_saved_model
from keras_dl.training import compile_for_task, fit_data
from keras_dl.tuning import build_from_hyperparameters

MODELS = keras_dl.list_models()


def _tiny(name):
    info = keras_dl.model_info(name)
    model = keras_dl.create_model(name, **info.smoke_kwargs)
    shape = tuple(model.inputs[0].shape[1:])
    x = np.random.default_rng(0).random((4, *shape), dtype="float32")
    return info, model, x


def _output_shape(info, model):
    """The per-example output shape the registration promises for the smoke instance."""
    if info.smoke_output_shape is not None:
        return tuple(info.smoke_output_shape)
    if info.task == "classification":
        return (info.smoke_kwargs["num_classes"],)
    return tuple(model.inputs[0].shape[1:])


def test_registry_is_not_empty():
    assert {"mlp", "lenet5"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_output_shape_and_finite(name):
    info, model, x = _tiny(name)
    assert isinstance(model, keras.Model)
    y = np.asarray(model(x, training=False))
    assert y.shape == (4, *_output_shape(info, model))
    assert np.all(np.isfinite(y))
    if model.layers[-1].activation is keras.activations.softmax:
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_one_fit_step(name):
    info, model, x = _tiny(name)
    labels = np.arange(4) % info.smoke_kwargs.get("num_classes", 1)
    inputs, targets = fit_data(info.task, x, labels)
    compile_for_task(model, info.task, loss=info.loss)
    before = [np.array(w) for w in model.trainable_weights]
    history = model.fit(inputs, targets, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    changed = [not np.array_equal(b, np.array(w)) for b, w in zip(before, model.trainable_weights)]
    assert any(changed), "one optimizer step changed no weight"


@pytest.mark.parametrize("name", MODELS)
def test_config_round_trip(name):
    _, model, x = _tiny(name)
    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x, training=False), model(x, training=False), atol=1e-6)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("name", MODELS)
def test_keras_file_round_trip(name, tmp_path):
    _, model, x = _tiny(name)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_saved_model_parity(name, tmp_path):
    _, model, x = _tiny(name)
    result = export_saved_model(model, tmp_path, name, verify_inputs=x)
    assert result.max_abs_diff <= 1e-5
    # independently of export's own check: TensorFlow's loader, the served signature
    assert verify_saved_model(result.path, model, x) <= 1e-5


@pytest.mark.parametrize("name", MODELS)
def test_search_space_builds(name):
    info = keras_dl.model_info(name)
    assert info.search_space is not None, f"{name} declares no search space"
    hp = keras_tuner.HyperParameters()
    model, training = build_from_hyperparameters(name, hp, **info.smoke_kwargs)
    assert isinstance(model, keras.Model)
    assert len(hp.space) >= 1
    assert set(training) <= {"learning_rate", "batch_size", "optimizer"}


@pytest.mark.parametrize("name", MODELS)
def test_onnx_parity(name, tmp_path):
    from keras_dl.export import ExportError, _random_ops, _serving_function, export_onnx

    _, model, x = _tiny(name)
    import tensorflow as tf

    serve, signature = _serving_function(model, "inputs", "outputs")
    if _random_ops(tf.function(serve, input_signature=signature)):
        with pytest.raises(ExportError, match="samples at inference"):
            export_onnx(model, tmp_path, name, verify_inputs=x)
        return
    result = export_onnx(model, tmp_path, name, verify_inputs=x)
    assert result.max_abs_diff <= 1e-5
