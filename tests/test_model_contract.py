"""The model contract: every registered model, on a tiny input, must

- build with its `smoke_kwargs` and give outputs of the declared shape, without NaN;
- round-trip `.keras` save/load (the model rebuilt from its `get_config`) with identical outputs;
- export as a SavedModel whose `serving_default` signature gives the same outputs;
- build from its declared KerasTuner search space;
- train one `fit` step with a finite loss, as its task trains it.

What the model is fed, how it is compiled and what it serves are its task's to say
(`keras_dl.tasks`): the contract asks the task, never the model's name.

A model that is registered is a model that works.

Speed (the suite runs on 2 CPU cores and the zoo has networks of 500 layers): the suite runs
on both cores (pytest-xdist, `--dist loadgroup`: all of one model's tests on one worker); each
model is built once and shared by its tests (a module-scoped fixture, so pytest runs one model's
tests together and then drops it); the fit step runs last, on that shared model. Keras'
per-test `clear_session` (tests/conftest.py) skips its full garbage collection (it costs
seconds per test once big graphs have lived in the process). Two checks cost time that grows with depth and
are therefore limited, while every model keeps every other check, SavedModel parity
included:

- models of more than `GRAPH_FIT_LAYERS` layers take their one `fit` step eagerly: tracing
  a training graph costs about half a second per layer on 2 busy cores;
- models of more than `ONNX_LAYERS` layers skip the ONNX conversion (tf2onnx's cost grows
  with the graph too).

What those models are made of is still traced, trained and converted: their layer types
(Conv2D, BatchNormalization, ReLU, Add, pooling, Concatenate, Dense) pass both checks in the
shallower models here, and every shared block of the CNN zoo (basic with projection and
zero-padded shortcuts, bottleneck, pre-activation, inception, fire, fractal with drop-path,
stochastic depth) trains in graph mode and converts to ONNX with parity in
tests/test_cnn_models.py::test_shared_blocks_train_in_graph_mode_and_convert_to_onnx.
"""

import gc

import keras
import keras_tuner
import numpy as np
import pytest

import keras_dl
from keras_dl import compat, tasks
from keras_dl.export import export_saved_model
from keras_dl.training import make_optimizer
from keras_dl.tuning import build_from_hyperparameters

MODELS = keras_dl.list_models()
GRAPH_FIT_LAYERS = 50
ONNX_LAYERS = 70


def _tiny(name):
    """`(info, model, x)`: the registration, its smoke instance and the batch its task feeds."""
    info = keras_dl.model_info(name)
    keras.utils.set_random_seed(1234)
    model = keras_dl.create_model(name, **info.smoke_kwargs)
    return info, model, tasks.get(info.task).smoke_inputs(model)


def test_every_registered_task_is_a_task():
    assert sorted(keras_dl.registry.TASKS) == tasks.list_tasks()
    assert {keras_dl.model_info(name).task for name in MODELS} <= set(tasks.list_tasks())


@pytest.fixture(scope="module",
                params=[pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in MODELS])
def tiny(request):
    """`(info, model, x)` for one registered model, built once for all its tests."""
    yield _tiny(request.param)
    gc.collect()


def test_registry_is_not_empty():
    assert {"mlp", "lenet5"} <= set(MODELS)


def _each_output(outputs):
    """A model's outputs as a list of arrays (a multitask model has one output per head)."""
    return [np.asarray(y) for y in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def test_output_shape_and_finite(tiny):
    info, model, x = tiny
    assert isinstance(model, keras.Model)
    if len(model.outputs) > 1:  # one output per head: the task gives one shape per output
        shapes = tasks.get(info.task).smoke_output_shape(info, model)
        for y, shape, layer in zip(_each_output(model(x, training=False)), shapes,
                                   compat.output_layers(model), strict=True):
            assert y.shape == (4, *shape) and np.all(np.isfinite(y)), layer.name
            if getattr(layer, "activation", None) is keras.activations.softmax:
                np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
        return
    y = np.asarray(model(x, training=False))
    assert y.shape == (4, *tasks.get(info.task).smoke_output_shape(info, model))
    assert np.all(np.isfinite(y))
    if getattr(model.layers[-1], "activation", None) is keras.activations.softmax:
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_config_and_keras_file_round_trip(tiny, tmp_path):
    """`.keras` save/load rebuilds the model from `get_config` (through `from_config`): same
    layers, same outputs."""
    info, model, x = tiny
    path = tmp_path / f"{info.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.__class__ is model.__class__
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    for got, want in zip(_each_output(loaded(x, training=False)),
                         _each_output(model(x, training=False)), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_saved_model_parity(tiny, tmp_path):
    """Catches a SavedModel that serves other outputs than the model even when the exporter's
    own parity check is blind (issue 37: it compared the SavedModel with itself)."""
    info, model, x = tiny
    result = export_saved_model(model, tmp_path, info.name, verify_inputs=x)
    assert result.max_abs_diff <= 1e-5  # export reloaded it with TensorFlow's loader
    if len(model.layers) <= ONNX_LAYERS:  # a second, independent load (costly when deep)
        import tensorflow as tf

        signature = tf.saved_model.load(str(result.path)).signatures["serving_default"]
        names = tasks.get(info.task).output_names(model)
        assert sorted(signature.structured_outputs) == sorted(names)
        feeds = x if isinstance(x, dict) else {result.input_name: x}  # several inputs: by name
        served = signature(**{key: tf.constant(value) for key, value in feeds.items()})
        expected = model(x, training=False)
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        for name, want in zip(names, expected, strict=True):
            np.testing.assert_allclose(served[name], want, atol=1e-5, err_msg=name)


def test_search_space_builds(tiny):
    info = tiny[0]
    assert info.search_space is not None, f"{info.name} declares no search space"
    hp = keras_tuner.HyperParameters()
    model, training = build_from_hyperparameters(info.name, hp, **info.smoke_kwargs)
    assert isinstance(model, keras.Model)
    assert len(hp.space) >= 1
    assert set(training) <= set(keras_dl.settings.TUNABLE)


def test_onnx_parity(tiny, tmp_path):
    from keras_dl.export import ExportError, export_onnx, output_names, random_ops
    from keras_dl.export import serving_function

    info, model, x = tiny
    name = info.name
    if len(model.layers) > ONNX_LAYERS:
        pytest.skip(f"{len(model.layers)} layers: ONNX is checked on its blocks and layer "
                    "types (see the module docstring); SavedModel parity is checked")
    import tensorflow as tf

    if str(model.inputs[0].dtype) == "string":  # a text model: no ONNX for its vectorizer
        with pytest.raises(ExportError, match="takes raw strings"):
            export_onnx(model, tmp_path, name, verify_inputs=x)
        return
    serve, signature = serving_function(model, output_names(model))
    if random_ops(tf.function(serve, input_signature=signature)):
        with pytest.raises(ExportError, match="samples at inference"):
            export_onnx(model, tmp_path, name, verify_inputs=x)
        return
    result = export_onnx(model, tmp_path, name, verify_inputs=x)
    assert result.max_abs_diff <= 1e-5


def test_one_fit_step(tiny):
    """Last for each model: it trains the shared instance."""
    info, model, x = tiny
    task = tasks.get(info.task)
    task.compile(model, make_optimizer("adam", 1e-3), info)
    fit_model = task.training_model(model, info, lambda: make_optimizer("adam", 1e-3))
    if len(model.layers) > GRAPH_FIT_LAYERS:
        fit_model.run_eagerly = True  # a deep sibling: see the module docstring
    before = [np.array(w) for w in model.trainable_weights]
    # what the training model takes: the smoke inputs and labels as targets (one per output
    # of a training model with extra heads); a GAN's trainer takes images, not the noise
    inputs, targets = task.smoke_fit_data(info, model, fit_model, x)
    history = fit_model.fit(inputs, targets, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history[task.monitor_key("loss", fit_model)][0])
    changed = [not np.array_equal(b, np.array(w)) for b, w in zip(before, model.trainable_weights)]
    assert any(changed), "one optimizer step changed no weight"
