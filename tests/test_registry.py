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
