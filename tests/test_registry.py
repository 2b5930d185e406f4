import keras
import pytest

import keras_dl
from keras_dl import registry


def test_list_models_filters_by_pattern_and_family():
    assert keras_dl.list_models("lenet*") == ["lenet5"]
    assert keras_dl.list_models(family="mlp") == ["mlp"]
    assert keras_dl.list_models("nothing*") == []
    assert keras_dl.list_models() == sorted(keras_dl.list_models())


def test_create_model_returns_built_functional_model():
    model = keras_dl.create_model("mlp", input_shape=(4,), num_classes=2, hidden_units=(3,))
    assert isinstance(model, keras.Model) and model.built
    assert model.count_params() == 4 * 3 + 3 + 3 * 2 + 2


def test_unknown_model_names_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown model 'resnet9000'.*lenet5, mlp"):
        keras_dl.create_model("resnet9000")


def test_unknown_argument_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"takes no argument 'depth'; allowed: input_shape"):
        keras_dl.create_model("mlp", depth=3)


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        registry.register_model("mlp", family="mlp")(lambda: None)


def test_model_info_describes_the_builder():
    info = keras_dl.model_info("lenet5")
    assert info.family == "cnn"
    assert "modern" in info.parameters
    assert info.defaults()["input_shape"] == (32, 32, 1)
    assert info.description.startswith("LeNet-5")
    assert info.train_defaults["epochs"] >= 1


def test_load_model_registers_the_custom_layers_in_a_fresh_process(tmp_path):
    import os
    import subprocess
    import sys

    inputs = keras.Input((4, 4, 2))
    padded = keras_dl.layers.ChannelPadding(3, name="pad")(inputs)  # a keras_dl layer
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(padded)))
    path = tmp_path / "custom.keras"
    model.save(path)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = ("import sys, keras_dl; m = keras_dl.load_model(sys.argv[1]); "
              "print('LOADED', m.count_params(), type(m.get_layer('pad')).__name__)")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          text=True, timeout=120, cwd=root,
                          env=dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="2"))
    assert f"LOADED {model.count_params()} ChannelPadding" in done.stdout, done.stderr[-2000:]
