"""The CNN zoo: parameter counts against the canonical ones at the papers' input sizes,
the small-image variants, GoogLeNet's auxiliary classifiers, stochastic depth, FractalNet's
expansion rule, and clear errors. (Every registered name also runs the model contract.)"""

import warnings

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl.export import export_saved_model
from keras_dl.models import googlenet_training_model
from keras_dl.models.googlenet import AUX_LOSS_WEIGHT, aux_loss_weights
from keras_dl.models.resnet import cifar_resnet
from keras_dl.models.wide_resnets import wide_resnet

CNNS = [n for n in keras_dl.list_models(family="cnn") if n != "lenet5"]

# Trainable parameters at the paper's input size and 1000 classes (10 for the CIFAR nets),
# which is what torchvision counts (batch norm's moving statistics are buffers there).
CANONICAL_TRAINABLE = {
    "resnet18": 11_689_512,  # torchvision
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "vgg11": 132_863_336,  # torchvision (= keras.applications for 16 and 19)
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "squeezenet1_0": 1_248_424,  # torchvision
    "squeezenet1_1": 1_235_496,
    "wrn28_10": 36_479_194,  # Zagoruyko & Komodakis: 36.5M
}
# keras.applications gives its ResNet convolutions a bias: its count is ours plus one bias
# per conv output channel.
KERAS_APPLICATIONS_RESNET = {"resnet50": 25_636_712, "resnet101": 44_707_176,
                             "resnet152": 60_419_944}
# Published rounded figures in millions, as printed: ours must round to them.
# He et al. 2016 Table 6; Zagoruyko & Komodakis 2016.
PAPER_MILLIONS = {
    "resnet20": "0.27", "resnet32": "0.46", "resnet44": "0.66", "resnet56": "0.85",
    "resnet110": "1.7", "wrn16_4": "2.7", "wrn28_10": "36.5",
}


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.slow
@pytest.mark.parametrize("name", CNNS)
def test_declared_default_params_and_canonical_counts(name):
    """Building each model at its defaults confirms the count `keras-dl list` prints."""
    info = keras_dl.model_info(name)
    model = keras_dl.create_model(name)
    assert info.default_params == model.count_params()
    if name in CANONICAL_TRAINABLE:
        assert _trainable(model) == CANONICAL_TRAINABLE[name]
    if name in PAPER_MILLIONS:
        printed = PAPER_MILLIONS[name]
        decimals = len(printed.split(".")[1])
        assert f"{_trainable(model) / 1e6:.{decimals}f}" == printed
    if name in KERAS_APPLICATIONS_RESNET:
        conv_channels = sum(layer.filters for layer in model.layers
                            if isinstance(layer, keras.layers.Conv2D))
        assert model.count_params() + conv_channels == KERAS_APPLICATIONS_RESNET[name]


@pytest.mark.slow
def test_keras_applications_agree():
    from keras.applications import VGG16, ResNet50

    apps = ResNet50(weights=None)
    ours = keras_dl.create_model("resnet50")
    conv_channels = sum(layer.filters for layer in ours.layers
                        if isinstance(layer, keras.layers.Conv2D))
    assert apps.count_params() == KERAS_APPLICATIONS_RESNET["resnet50"]
    assert ours.count_params() + conv_channels == apps.count_params()
    assert VGG16(weights=None).count_params() == keras_dl.model_info("vgg16").default_params


def test_alexnet_towers_and_torchvision_variant():
    assert keras_dl.model_info("alexnet").default_params == 62_378_344  # single tower
    two_gpu = keras_dl.create_model("alexnet", groups=2)
    assert two_gpu.count_params() == 60_965_224  # the paper's "60 million parameters"
    assert two_gpu.get_layer("conv2").groups == 2 and two_gpu.get_layer("conv3").groups == 1
    torchvision = keras_dl.create_model("alexnet", filters=(64, 192, 384, 256, 256), lrn=False)
    assert torchvision.count_params() == 61_100_840
    assert torchvision.get_layer("pool5").output.shape[1:] == (6, 6, 256)


def test_googlenet_matches_table_1():
    model = keras_dl.create_model("googlenet")
    assert model.get_layer("inception3a_5x5_conv").kernel_size == (5, 5)

    def weights(prefix):  # kernels only, as Table 1 counts, in units of 1024
        return sum(int(np.prod(w.shape)) for layer in model.layers
                   if layer.name.startswith(prefix) for w in layer.weights
                   if len(w.shape) > 1) / 1024

    exact = {"conv2": 112, "inception3a": 159, "inception3b": 380, "inception4b": 437,
             "predictions": 1000}
    for prefix, table in exact.items():
        assert abs(weights(prefix) - table) <= 1.5, prefix
    loose = {"inception4a": 364, "inception4c": 463, "inception4d": 580, "inception4e": 840,
             "inception5a": 1072, "inception5b": 1388}
    for prefix, table in loose.items():  # Table 1 is inconsistent here (module docstring)
        assert abs(weights(prefix) / table - 1) < 0.1, prefix


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "nin", "googlenet", "resnet18",
                                  "resnet20", "wrn16_4", "squeezenet1_0", "squeezenet1_1",
                                  "fractalnet"])
def test_small_image_variants_on_fashion_mnist_shapes(name):
    kwargs = {"input_shape": (28, 28, 1), "num_classes": 10}
    if name not in ("nin", "resnet20", "alexnet", "squeezenet1_0", "squeezenet1_1"):
        kwargs["width_multiplier"] = 0.125  # thin: only shapes matter here
    model = keras_dl.create_model(name, **kwargs)
    out = np.asarray(model(np.random.rand(2, 28, 28, 1).astype("float32")))
    assert out.shape == (2, 10) and np.allclose(out.sum(axis=1), 1, atol=1e-5)


def test_small_variants_change_the_stem():
    small = keras_dl.create_model("resnet18", input_shape=(32, 32, 3), width_multiplier=0.125)
    assert small.get_layer("conv1_conv").kernel_size == (3, 3)
    assert small.get_layer("conv1_conv").strides == (1, 1)
    assert "pool1" not in [layer.name for layer in small.layers]
    paper = keras_dl.create_model("resnet18", input_shape=(32, 32, 3), small_inputs=False,
                                  width_multiplier=0.125)
    assert paper.get_layer("conv1_conv").kernel_size == (7, 7)
    assert keras_dl.create_model("vgg11", input_shape=(28, 28, 1), width_multiplier=0.125) \
        .get_layer("block5_pool").output.shape[1:3] == (1, 1)  # padded to 32x32


def test_include_top_false_and_pooling():
    for name in ("resnet18", "vgg11", "googlenet", "squeezenet1_1", "nin"):
        model = keras_dl.create_model(name, input_shape=(32, 32, 3), include_top=False,
                                      pooling="avg", width_multiplier=0.125)
        assert len(model.output.shape) == 2, name
        logits = keras_dl.create_model(name, input_shape=(32, 32, 3), num_classes=5,
                                       classifier_activation=None, width_multiplier=0.125)
        assert logits.output.shape[-1] == 5


def test_layer_names_are_stable_and_readable():
    model = keras_dl.create_model("resnet50", input_shape=(32, 32, 3), width_multiplier=0.0625)
    names = {layer.name for layer in model.layers}
    assert {"conv1_conv", "stage2_block1_1_conv", "stage2_block1_shortcut_conv",
            "stage3_block6_3_bn", "stage4_block3_3_bn", "predictions"} <= names
    assert "stage3_block7_1_conv" not in names  # ResNet-50: 3, 4, 6, 3 blocks


# --- GoogLeNet's auxiliary classifiers --------------------------------------------------------


def _small_googlenet():
    return keras_dl.create_model("googlenet", input_shape=(16, 16, 1), num_classes=4,
                                 width_multiplier=0.125)


def test_googlenet_training_model_shares_weights_and_weights_aux_losses():
    model = _small_googlenet()
    assert len(model.outputs) == 1
    trainer = googlenet_training_model(model)
    assert set(trainer.output) == {"predictions", "aux1", "aux2"}
    assert aux_loss_weights() == {"predictions": 1.0, "aux1": 0.3, "aux2": 0.3}
    assert AUX_LOSS_WEIGHT == 0.3
    options = keras_dl.model_info("googlenet").task_options  # what its task trains through
    assert keras_dl.model_info("googlenet").task == "classification_with_aux"
    assert options["training_model"] is googlenet_training_model
    weights = options["loss_weights"]
    assert weights == aux_loss_weights() and keras_dl.model_info("resnet18").task_options == {}
    loss = keras.losses.SparseCategoricalCrossentropy()
    trainer.compile("sgd", loss={k: loss for k in weights}, loss_weights=weights)
    x = np.random.rand(8, 16, 16, 1).astype("float32")
    y = np.arange(8) % 4
    with warnings.catch_warnings():
        # a bare batch must match the trainer's input structure (Keras warns otherwise)
        warnings.simplefilter("error", UserWarning)
        outputs = trainer(x, training=False)
    expected = sum(weights[k] * float(loss(y, outputs[k])) for k in weights)
    total = trainer.evaluate(x, {k: y for k in weights}, verbose=0)
    total = total[0] if isinstance(total, list) else total
    assert total == pytest.approx(expected, rel=1e-4)
    before = model.get_layer("inception4a_1x1_conv").get_weights()[0].copy()
    trainer.fit(x, {k: y for k in weights}, epochs=1, batch_size=8, verbose=0)
    assert not np.array_equal(before, model.get_layer("inception4a_1x1_conv").get_weights()[0])


def test_googlenet_export_has_one_output(tmp_path):
    """Catches auxiliary heads (or any extra output) leaking into the served signature."""
    import tensorflow as tf

    model = _small_googlenet()
    googlenet_training_model(model)
    result = export_saved_model(model, tmp_path, "googlenet")
    signature = tf.saved_model.load(str(result.path)).signatures["serving_default"]
    outputs = signature.structured_outputs  # what TF Serving will answer, read from the file
    assert list(outputs) == ["probabilities"]
    assert outputs["probabilities"].shape.as_list() == [None, 4]
    x = np.random.default_rng(0).random((2, 16, 16, 1), dtype="float32")
    np.testing.assert_allclose(signature(images=tf.constant(x))["probabilities"],
                               model(x, training=False), atol=1e-5)  # the main classifier's
    assert not any(layer.name.startswith("aux") for layer in model.layers)


# --- stochastic depth and FractalNet structure ------------------------------------------------


def test_resnets_use_the_linear_survival_rule():
    model = cifar_resnet(depth=20, input_shape=(8, 8, 1), width_multiplier=0.25,
                         stochastic_depth=0.5)
    layers = [layer for layer in model.layers if layer.name.endswith("_drop_path")]
    assert len(layers) == 9
    probabilities = [layer.survival_probability for layer in layers]
    np.testing.assert_allclose(probabilities, [1 - l / 9 * 0.5 for l in range(1, 10)])
    plain = cifar_resnet(depth=20, input_shape=(8, 8, 1), width_multiplier=0.25)
    assert not any(layer.name.endswith("_drop_path") for layer in plain.layers)
    wrn = wide_resnet(depth=16, widen_factor=1, input_shape=(8, 8, 1), stochastic_depth=0.8)
    assert min(layer.survival_probability for layer in wrn.layers
               if layer.name.endswith("_drop_path")) == pytest.approx(0.8)


def test_stochastic_depth_resnet_is_deterministic_at_inference_and_random_in_training():
    model = keras_dl.create_model("resnet20", input_shape=(8, 8, 1), width_multiplier=0.25,
                                  stochastic_depth=0.5, seed=0)
    x = np.random.rand(2, 8, 8, 1).astype("float32")
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    outs = [np.asarray(model(x, training=True)) for _ in range(6)]
    assert any(not np.allclose(outs[0], o) for o in outs[1:])


def test_fractal_expansion_rule():
    for columns in (1, 2, 3, 4):
        model = keras_dl.create_model("fractalnet", input_shape=(8, 8, 1), num_columns=columns,
                                      filters=(8, 8, 8), width_multiplier=0.5)
        convs = [layer.name for layer in model.layers
                 if isinstance(layer, keras.layers.Conv2D) and layer.name.startswith("block1_")]
        assert len(convs) == 2 ** columns - 1  # column c holds 2^(c-1) convolutions
        deepest = [n for n in convs if n.startswith(f"block1_col{columns}_")]
        assert len(deepest) == 2 ** (columns - 1)
        joins = [layer for layer in model.layers
                 if layer.name.startswith("block1_join")]
        # the last join merges every column
        assert max(len(j.columns) for j in joins) == columns
    x = np.random.rand(2, 8, 8, 1).astype("float32")
    np.testing.assert_array_equal(model(x), model(x))


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, kwargs, match", [
    ("resnet18", {"width_multiplier": 0}, "width_multiplier"),
    ("resnet18", {"stochastic_depth": 1.5}, "stochastic_depth"),
    ("vgg16", {"input_shape": (28, 28, 1), "small_inputs": False}, "at least 32"),
    ("alexnet", {"groups": 3}, "groups"),
    ("alexnet", {"filters": (1, 2)}, "filters"),
    ("resnet18", {"small_inputs": "yes"}, "small_inputs"),
    ("fractalnet", {"dropout": (0.1, 2.0, 0, 0, 0)}, "dropout"),
    ("googlenet", {"num_classes": 0}, "num_classes"),
])
def test_bad_arguments_raise_clear_errors(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_dl.create_model(name, **kwargs)


def test_cifar_and_wide_resnet_depth_rules():
    with pytest.raises(ValueError, match="6n \\+ 2"):
        cifar_resnet(depth=21)
    with pytest.raises(ValueError, match="6n \\+ 4"):
        wide_resnet(depth=27)


def test_list_does_not_build_declared_models(monkeypatch, capsys):
    from keras_dl import cli

    def refuse(name, **kwargs):
        raise AssertionError(f"keras-dl list built {name}")

    monkeypatch.setattr(keras_dl, "create_model", refuse)
    assert cli.main(["list", "resnet1*"]) == 0
    out = capsys.readouterr().out
    assert "60,344,232" in out and "11,699,112" in out and "1,736,058" in out


def test_shared_blocks_train_in_graph_mode_and_convert_to_onnx(tmp_path):
    """Every shared block in one small network: a compiled training step, then ONNX parity.

    The model contract steps its deeper models eagerly and converts only its shallower ones
    to ONNX; this covers what those deeper models are made of."""
    from keras_dl.export import export_onnx
    from keras_dl.layers import FractalPathSampler
    from keras_dl.models.fractalnet import fractal_block
    from keras_dl.models.googlenet import inception_module
    from keras_dl.models.resnet import basic_block, bottleneck_block
    from keras_dl.models.squeezenet import fire_module
    from keras_dl.models.wide_resnets import preact_basic_block

    inputs = keras.Input((8, 8, 3), name="images")
    path = FractalPathSampler(2, seed=0)(inputs)
    x = basic_block(inputs, 4, name="basic_projection", strides=2)
    x = basic_block(x, 6, name="basic_zero_pad", shortcut="zero_pad", survival_probability=0.8,
                    seed=1)
    x = bottleneck_block(x, 2, strides=1, name="bottleneck", survival_probability=0.5, seed=2)
    x = preact_basic_block(x, 4, strides=2, dropout=0.1, name="preact")
    x = inception_module(x, 2, 2, 2, 2, 2, 2, name="inception", batch_norm=True)
    x = fire_module(x, 2, 3, 3, name="fire")
    x = fractal_block(x, path, 4, 2, name="fractal", dropout=0.1, seed=3)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(
        keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(np.random.rand(8, 8, 8, 3), np.arange(8) % 3, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    x = np.random.default_rng(0).random((4, 8, 8, 3), dtype="float32")
    assert export_onnx(model, tmp_path, "blocks", verify_inputs=x).max_abs_diff <= 1e-5


def test_small_squeezenet_keeps_its_signal_at_initialisation():
    # With Glorot initialisers the ~18 ReLU convolutions halved the signal's variance at each
    # layer: conv10's outputs averaged 2.8e-5, the softmax was uniform and training stayed at
    # chance (bench/RESULTS.md). He initialisation keeps the scale.
    keras.utils.set_random_seed(0)
    model = keras_dl.create_model("squeezenet1_1", input_shape=(28, 28, 1), num_classes=10)
    images = np.random.default_rng(0).random((16, 28, 28, 1), dtype="float32")
    head = keras.Model(model.inputs, model.get_layer("conv10").output)
    assert float(np.mean(head(images))) > 1e-2
    assert float(np.std(model(images))) > 1e-3  # the class probabilities are not uniform


def test_zero_init_residual_starts_every_block_as_its_shortcut():
    model = keras_dl.create_model("resnet20", input_shape=(28, 28, 1), num_classes=10,
                                  width_multiplier=0.25, zero_init_residual=True)
    last = [layer for layer in model.layers if layer.name.endswith("_2_bn")]
    assert len(last) == 9 and all(not np.any(layer.gamma) for layer in last)
    assert all(np.all(np.asarray(model.get_layer(f"stage{s}_block1_1_bn").gamma) == 1)
               for s in (1, 2, 3))
    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype="float32")
    probe = keras.Model(model.inputs, [model.get_layer("conv1_relu").output,
                                       model.get_layer("stage1_block3_out").output])
    stem, block3 = probe(images, training=True)
    np.testing.assert_allclose(block3, stem, atol=1e-6)  # three identity blocks
    bottleneck = keras_dl.create_model("resnet50", input_shape=(32, 32, 3), num_classes=3,
                                       width_multiplier=0.0625, zero_init_residual=True)
    assert not np.any(bottleneck.get_layer("stage1_block1_3_bn").gamma)
    with pytest.raises(ValueError, match="zero_init_residual must be True or False, got 'yes'"):
        keras_dl.create_model("resnet18", zero_init_residual="yes")
