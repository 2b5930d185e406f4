import re

import keras
import pytest

import keras_dl
from keras_dl import registry


def test_list_models_filters_by_pattern_and_family():
    assert keras_dl.list_models("lenet*") == ["lenet5"]
    assert keras_dl.list_models(family="mlp") == ["deep_mlp", "mlp"]
    assert keras_dl.list_models("nothing*") == []
    assert keras_dl.list_models() == sorted(keras_dl.list_models())


def test_an_unknown_family_is_refused_in_one_line_naming_the_families():
    """Catches a misspelt family read as "no models" (an empty list, silently), and a refusal
    that does not name the family given or the families there are."""
    families = sorted({keras_dl.model_info(name).family for name in keras_dl.list_models()})
    assert {"cnn", "mlp", "dbn"} <= set(families)
    with pytest.raises(ValueError) as raised:
        keras_dl.list_models(family="nope")
    assert str(raised.value) == f"unknown family 'nope'; families: {', '.join(families)}"
    assert keras_dl.list_models("zzz*", family="cnn") == []  # a known family: no error


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


# --- registration itself, on a private registry (the package's models are registered at import
# time, before a test could observe a wrong registration; these register their own builders)

@pytest.fixture
def private_registry(monkeypatch):
    table = {}
    monkeypatch.setattr(registry, "_REGISTRY", table)
    return table


def _builder(*, width=3, depth, activation="relu"):
    """A builder used by the registry tests.

    Its second docstring line."""


def test_registration_stores_every_field_as_given(private_registry):
    """Catches a registration that drops, defaults or aliases a field it was given."""
    smoke, defaults, options = {"width": 1}, {"epochs": 2}, {"loss_weights": [1.0]}
    returned = registry.register_model(
        "custom", family="toy", search_space=len, smoke_kwargs=smoke, train_defaults=defaults,
        task="classification_with_aux", smoke_output_shape=[4, 2], default_params=7,
        task_options=options)(_builder)
    assert returned is _builder
    info = registry.model_info("custom")
    assert (info.name, info.family, info.builder, info.search_space) == (
        "custom", "toy", _builder, len)
    assert (info.smoke_kwargs, info.train_defaults, info.task_options) == (
        smoke, defaults, options)
    assert info.task == "classification_with_aux" and info.loss is None
    assert info.smoke_output_shape == (4, 2) and info.default_params == 7
    assert info.pretraining is None
    smoke["width"], defaults["epochs"], options["loss_weights"] = 9, 9, None
    assert (info.smoke_kwargs, info.train_defaults, info.task_options) == (
        {"width": 1}, {"epochs": 2}, {"loss_weights": [1.0]}), "it kept the caller's dicts"


def test_registration_defaults(private_registry):
    """Catches wrong defaults: the function's name, empty dicts, no loss outside reconstruction."""
    registry.register_model(family="toy")(_builder)
    info = registry.model_info("_builder")
    assert info.name == "_builder" and info.task == "classification"
    assert info.smoke_kwargs == {} and info.train_defaults == {} and info.task_options == {}
    assert info.loss is None and info.smoke_output_shape is None and info.search_space is None
    assert info.default_params is None and info.pretraining is None


def test_a_reconstruction_model_gets_mse_unless_it_names_its_loss(private_registry):
    """Catches a reconstruction model registered without a loss, or an explicit loss replaced."""
    registry.register_model("ae", family="toy", task="reconstruction")(_builder)
    registry.register_model("bce", family="toy", task="reconstruction",
                            loss="binary_crossentropy")(_builder)
    assert registry.model_info("ae").loss == "mse"
    assert registry.model_info("bce").loss == "binary_crossentropy"


def test_registration_refuses_an_unknown_task_naming_the_allowed_ones(private_registry):
    """Catches a typo in a task name registering a model no task can train."""
    with pytest.raises(ValueError, match=r"^unknown task 'clasification'; allowed: "
                                         r"classification, classification_with_aux, "):
        registry.register_model("x", family="toy", task="clasification")
    assert private_registry == {}


@pytest.mark.parametrize("task, pretraining", [("pretrained_classification", None),
                                               ("classification", "rbm")])
def test_pretraining_and_its_task_go_together(private_registry, task, pretraining):
    """Catches a DBN registered without its pre-training unit, or a unit on a plain classifier."""
    with pytest.raises(ValueError, match=rf"goes with task 'pretrained_classification'.*got task "
                                         rf"'{task}' with pretraining {pretraining!r}"):
        registry.register_model("x", family="toy", task=task, pretraining=pretraining)
    registry.register_model("dbn_like", family="toy", task="pretrained_classification",
                            pretraining="rbm")(_builder)
    assert registry.model_info("dbn_like").pretraining == "rbm"


def test_a_second_registration_under_one_name_leaves_the_first(private_registry):
    """Catches a duplicate name replacing the model already registered."""
    registry.register_model("one", family="toy")(_builder)
    with pytest.raises(ValueError, match=r"^model 'one' is already registered$"):
        registry.register_model("one", family="other")(len)
    assert registry.model_info("one").builder is _builder


def test_listing_filters_by_pattern_and_family_together(private_registry):
    """Catches a filter that ORs pattern and family, or ignores either."""
    for name, family in [("b_net", "cnn"), ("a_net", "cnn"), ("a_mlp", "mlp")]:
        registry.register_model(name, family=family)(_builder)
    assert registry.list_models() == ["a_mlp", "a_net", "b_net"]
    assert registry.list_models("a_*") == ["a_mlp", "a_net"]
    assert registry.list_models("a_*", family="cnn") == ["a_net"]
    assert registry.list_models(family="mlp") == ["a_mlp"]
    assert registry.list_models("b_*", family="mlp") == []


def test_model_info_and_argument_checks_name_what_is_allowed(private_registry):
    """Catches error lines that lose the bad value or the allowed values."""
    registry.register_model("b", family="toy")(_builder)
    registry.register_model("a", family="toy")(_builder)
    with pytest.raises(ValueError, match=r"^unknown model 'c'; registered models: a, b$"):
        registry.model_info("c")
    with pytest.raises(ValueError, match=r"^model 'a' takes no argument 'colour'; allowed: "
                                         r"width, depth, activation$"):
        registry.check_builder_kwargs("a", {"zebra": 1, "colour": 2, "width": 3})
    registry.check_builder_kwargs("a", {"width": 3, "depth": 1})  # all known: no error


def test_model_info_reads_the_builder(private_registry):
    """Catches a description, parameter list or defaults read from the wrong place."""
    registry.register_model("toy", family="toy")(_builder)
    info = registry.model_info("toy")
    assert info.description == "A builder used by the registry tests."
    assert info.parameters == ("width", "depth", "activation")
    assert info.defaults() == {"width": 3, "activation": "relu"}
    registry.register_model("bare", family="toy")(lambda: None)
    assert registry.model_info("bare").description == ""


def test_create_model_checks_before_building(private_registry):
    """Catches a builder called with an argument it does not take (or not called at all)."""
    calls = []

    def toy(*, width=1):
        calls.append(width)
        return width

    registry.register_model(family="toy")(toy)
    assert registry.create_model("toy", width=5) == 5 and calls == [5]
    with pytest.raises(ValueError, match="takes no argument 'depth'"):
        registry.create_model("toy", depth=2)
    assert calls == [5]


def test_a_boolean_argument_takes_only_a_bool(private_registry):
    """Catches batch_norm="no" (or 0) read for its truth value instead of refused, through every
    path that builds: create_model, train() and the tuner all check through the registry."""
    def toy(*, batch_norm=False, width=1):
        return batch_norm

    registry.register_model(family="toy")(toy)
    for value in ("no", 0, None, "False"):
        with pytest.raises(ValueError, match=rf"^batch_norm must be True or False, got "
                                             rf"{re.escape(repr(value))}$"):
            registry.create_model("toy", batch_norm=value)
    assert registry.create_model("toy", batch_norm=True) is True
    registry.check_builder_kwargs("toy", {"width": "any"})  # not boolean: not checked here
