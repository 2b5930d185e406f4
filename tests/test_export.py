"""SavedModel export: TF Serving's layout, meaningful names, atomic writes, no overwrite."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_dl
from keras_dl import export


@pytest.fixture
def lenet():
    return keras_dl.create_model("lenet5", input_shape=(28, 28, 1), num_classes=4, modern=True)


def test_layout_signature_names_and_parity(lenet, tmp_path):
    result = export.export_saved_model(lenet, tmp_path, "lenet5")
    assert result.path == tmp_path / "lenet5" / "1"
    assert (result.path / "saved_model.pb").is_file() and (result.path / "variables").is_dir()
    loaded = tf.saved_model.load(str(result.path))  # TensorFlow's own loader
    signature = loaded.signatures["serving_default"]
    assert list(signature.structured_input_signature[1]) == ["images"]
    assert list(signature.structured_outputs) == ["probabilities"]
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype="float32")
    served = signature(images=tf.constant(x))["probabilities"].numpy()
    np.testing.assert_allclose(served, lenet(x), atol=1e-6)
    assert result.max_abs_diff <= 1e-6
    # Catches a parity check that compares the SavedModel with itself: against another
    # model (other weights) the same SavedModel must differ.
    other = keras_dl.create_model("lenet5", input_shape=(28, 28, 1), num_classes=4, modern=True)
    assert export.verify_saved_model(result.path, other, x) > 1e-3
    facts = json.loads((result.path / export.METADATA_FILE).read_text())
    assert facts["input"]["name"] == "images" and facts["outputs"] == ["probabilities"]


def test_logits_models_serve_logits(tmp_path):
    model = keras_dl.create_model("mlp", input_shape=(5,), hidden_units=(3,),
                                  classifier_activation=None)
    result = export.export_saved_model(model, tmp_path, "mlp")
    assert result.output_names == ("logits",) and result.input_name == "inputs"


def test_versions_count_up_and_existing_ones_are_kept(lenet, tmp_path):
    first = export.export_saved_model(lenet, tmp_path, "m")
    second = export.export_saved_model(lenet, tmp_path, "m")
    assert (first.version, second.version) == (1, 2)
    stamp = (first.path / "saved_model.pb").stat().st_mtime_ns
    with pytest.raises(export.ExportError, match=r"1 already exists; .*--overwrite.*next free: 3"):
        export.export_saved_model(lenet, tmp_path, "m", 1)
    assert (first.path / "saved_model.pb").stat().st_mtime_ns == stamp


def test_overwrite_replaces_a_version(lenet, tmp_path):
    """Catches an overwrite that keeps the old version, and a parity check blind to weights."""
    export.export_saved_model(lenet, tmp_path, "m", 7)
    other = keras_dl.create_model("lenet5", input_shape=(28, 28, 1), num_classes=4, modern=True)
    export.export_saved_model(other, tmp_path, "m", 7, overwrite=True)
    x = np.random.default_rng(1).random((2, 28, 28, 1), dtype="float32")
    served = export.ServedModel(tmp_path / "m")(x)["probabilities"]
    np.testing.assert_allclose(served, other(x), atol=1e-6)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["7"]
    assert export.verify_saved_model(tmp_path / "m" / "7", other, x) <= 1e-6
    assert export.verify_saved_model(tmp_path / "m" / "7", lenet, x) > 1e-3  # the old model's


@keras.saving.register_keras_serializable(package="keras_dl_tests")
class ServedDifferently(keras.layers.Layer):
    """The identity when Keras runs it eagerly, `+ offset` when traced into the SavedModel's
    graph: a model whose served graph is not the model (as a layer branching on Python state,
    or a kernel that overflows to NaN in one graph only, can be)."""

    def __init__(self, offset, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def call(self, inputs):
        return inputs if tf.executing_eagerly() else inputs + self.offset

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


def _served_differently(offset, where):
    """`(model, task)`: a tiny model whose SavedModel differs from it by `offset` in one place."""
    inputs = keras.Input((4,), name="inputs")
    dense = keras.layers.Dense(3, name="hidden")(inputs)
    if where == "the only output":
        return keras.Model(inputs, ServedDifferently(offset)(dense)), None
    if where == "the second output":
        second = ServedDifferently(offset, name="second")(keras.layers.Dense(2)(inputs))
        return keras.Model(inputs, [dense, second]), None
    if where == "encode and decode only":  # the code is shifted and shifted back: same output
        code = ServedDifferently(offset, name="code")(dense)
        shifted = ServedDifferently(-offset, name="decoder_shift")(code)
        return keras.Model(inputs, keras.layers.Dense(4, name="decoder_output")(shifted)), \
            "reconstruction"
    if where == "encode's z_log_var only":  # a VAE serves its reconstruction from z = mean
        z_mean = keras.layers.Dense(2, name="z_mean")(dense)
        z_log_var = ServedDifferently(offset, name="z_log_var")(keras.layers.Dense(2)(dense))
        z = keras_dl.layers.Sampling(beta=0.0, name="z")([z_mean, z_log_var])
        return keras.Model(inputs, keras.layers.Dense(4, name="decoder_output")(z)), \
            "reconstruction"
    raise AssertionError(where)


def test_a_failed_export_leaves_nothing_behind(lenet, tmp_path, monkeypatch):
    """Catches a parity check that cannot see a real mismatch (compares the SavedModel with
    itself), and a failed export that leaves its staging directory or a version behind."""
    model, _ = _served_differently(0.5, "the only output")
    with pytest.raises(export.ExportError, match="differs from the model by 0.5"):
        export.export_saved_model(model, tmp_path, "m")
    assert list((tmp_path / "m").iterdir()) == []  # no version, no staging directory

    good = export.export_saved_model(lenet, tmp_path, "m", 1)  # a failed overwrite keeps it
    bad = keras.Sequential([keras.Input((28, 28, 1), name="images"), keras.layers.Flatten(),
                            keras.layers.Dense(4), ServedDifferently(0.5)])
    with pytest.raises(export.ExportError, match="differs from the model by 0.5"):
        export.export_saved_model(bad, tmp_path, "m", 1, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]
    x = np.random.default_rng(2).random((2, 28, 28, 1), dtype="float32")
    np.testing.assert_allclose(export.ServedModel(good.path)(x)["probabilities"], lenet(x),
                               atol=1e-6)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export.saved_model, "verify_saved_model", crash)
    with pytest.raises(KeyboardInterrupt):
        export.export_saved_model(lenet, tmp_path, "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]


NAN = float("nan")


@pytest.mark.parametrize("where, offset", [
    ("the only output", 1.0), ("the only output", NAN), ("the second output", 1.0),
    ("the second output", NAN), ("encode and decode only", 1.0),
    ("encode's z_log_var only", 1.0), ("encode's z_log_var only", NAN),
])
def test_parity_rejects_a_served_graph_that_differs_anywhere(tmp_path, where, offset):
    """Catches a parity check that skips an output or an extra signature (encode, decode), or
    lets NaN through (`max` keeps a NaN only when it comes first; `NaN <= tol` is False)."""
    model, task = _served_differently(offset, where)
    message = "by nan " if np.isnan(offset) else r"by [1-9]"
    with pytest.raises(export.ExportError, match=f"differs from the model {message}"):
        export.export_saved_model(model, tmp_path, "m", task=task)
    assert list((tmp_path / "m").iterdir()) == []  # no version, no staging directory


@pytest.mark.parametrize(
    "name, version, message",
    [("bad/name", None, "not usable as a directory name"), ("", None, "not usable"),
     ("a b", None, "only letters"), ("ok", 0, "positive integer"), ("ok", "2", "positive integer")],
)
def test_bad_names_and_versions(lenet, tmp_path, name, version, message):
    with pytest.raises(export.ExportError, match=message):
        export.export_saved_model(lenet, tmp_path, name, version)


def test_served_model_resolves_newest_version_and_checks_shapes(lenet, tmp_path):
    export.export_saved_model(lenet, tmp_path, "m", 3)
    export.export_saved_model(lenet, tmp_path, "m", 10)
    served = export.ServedModel(tmp_path / "m")
    assert served.path.name == "10"  # numerically newest, not lexically
    one = np.zeros((28, 28, 1), "float32")
    assert served(one)["probabilities"].shape == (1, 4)
    with pytest.raises(ValueError, match=r"shape \(2, 32, 32, 1\) does not fit.*\(batch, 28, 28, 1\)"):
        served(np.zeros((2, 32, 32, 1), "float32"))
    with pytest.raises(export.ExportError, match="not a SavedModel directory"):
        export.ServedModel(tmp_path)


def test_onnx_export_matches_keras_in_onnxruntime(lenet, tmp_path):
    import onnxruntime

    result = export.export_onnx(lenet, tmp_path, "lenet5")
    assert result.path == tmp_path / "onnx" / "lenet5" / "1" / "model.onnx"
    assert result.max_abs_diff <= 1e-5
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    x = np.random.default_rng(3).random((5, 28, 28, 1), dtype="float32")
    np.testing.assert_allclose(session.run(None, {"images": x})[0], lenet(x), atol=1e-5)
    with pytest.raises(export.ExportError, match="already exists"):
        export.export_onnx(lenet, tmp_path, "lenet5", 1)
    assert export.export_onnx(lenet, tmp_path, "lenet5").version == 2


@keras.saving.register_keras_serializable(package="keras_dl_tests")
class AlwaysNoisy(keras.layers.Layer):
    """Adds fresh noise even at inference, as a VAE's sampler does."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, inputs):
        return inputs + keras.random.normal(keras.ops.shape(inputs), seed=self.seed_generator)


def test_onnx_export_refuses_models_that_sample_at_inference(tmp_path):
    inputs = keras.Input((4,), name="inputs")
    model = keras.Model(inputs, AlwaysNoisy()(keras.layers.Dense(2)(inputs)))
    with pytest.raises(export.ExportError, match="samples at inference.*Random"):
        export.export_onnx(model, tmp_path, "noisy")
    assert not (tmp_path / "onnx" / "noisy").exists()  # refused before anything was written
