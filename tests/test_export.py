"""SavedModel export: TF Serving's layout, meaningful names, atomic writes, no overwrite."""

import json
from pathlib import Path

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


def test_served_model_names_the_shape_it_was_given(lenet, tmp_path):
    """Catches the shape error naming the batch the input was wrapped into, (1, 3, 8, 8), rather
    than the (3, 8, 8) array the caller passed."""
    export.export_saved_model(lenet, tmp_path, "m")
    served = export.ServedModel(tmp_path / "m")
    with pytest.raises(ValueError, match=r"^input of shape \(3, 8, 8\) does not fit"):
        served(np.zeros((3, 8, 8), "float32"))


def test_savedmodel_name_onnx_is_refused_as_the_onnx_repository(lenet, tmp_path):
    """Catches `export --name onnx` writing a SavedModel version inside BASE/onnx/, the ONNX
    repository, which the server then listed as a model called 'onnx'."""
    with pytest.raises(export.ExportError) as info:
        export.export_saved_model(lenet, tmp_path, "onnx")
    assert str(info.value) == (f"model name 'onnx' is reserved: {tmp_path / 'onnx'} holds the "
                               "ONNX exports; choose another name for a SavedModel")
    assert list(tmp_path.iterdir()) == []


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


# === Tiny-model tests of the exporter's details =================================================

from types import SimpleNamespace  # noqa: E402

from keras_dl.export import layout as layout_  # noqa: E402
from keras_dl.export import saved_model as saved_model_  # noqa: E402


def _tiny(name="tiny", zeros=False, **input_kwargs):
    """A one-Dense-layer logits model (all-zero weights with `zeros`, so served == model exactly)."""
    init = "zeros" if zeros else "glorot_uniform"
    return keras.Sequential([keras.Input((4,), name="inputs", **input_kwargs),
                             keras.layers.Dense(3, kernel_initializer=init)], name=name)


def _tiny_autoencoder(name="sparse_autoencoder"):
    """A tiny autoencoder (`code`, `decoder_output` layers) carrying a registered name."""
    model, _ = _served_differently(0.0, "encode and decode only")
    return keras.Model(model.inputs[0], model.outputs[0], name=name)


def test_metadata_records_every_fact_in_indented_json(tmp_path):
    """Catches a renamed or dropped key in assets.extra/keras_dl.json, or unindented JSON."""
    model = _tiny()
    result = export.export_saved_model(model, tmp_path, "m", metadata={"run": "r1"})
    text = (result.path / export.METADATA_FILE).read_text()
    facts = json.loads(text)
    assert facts == {
        "model": "tiny", "task": "classification",
        "input": {"name": "inputs", "shape": [None, 4], "dtype": "float32"},
        "outputs": ["logits"], "signature": "serving_default",
        "max_abs_diff": result.max_abs_diff, "keras_dl_version": keras_dl.__version__,
        "keras_version": keras.__version__, "run": "r1",
    }
    assert text == json.dumps(facts, indent=2) + "\n"


def test_autoencoder_export_infers_its_task_and_records_endpoints(tmp_path):
    """Catches a task inferred without the model (falls back to classification) and a lost
    `endpoints` entry for a model served with encode/decode beside serving_default."""
    model = _tiny_autoencoder()
    result = export.export_saved_model(model, tmp_path, "ae")  # no task: from the model's name
    assert result.output_names == ("reconstruction",)
    facts = json.loads((result.path / export.METADATA_FILE).read_text())
    assert facts["task"] == "reconstruction"
    assert facts["endpoints"] == ["serving_default", "encode", "decode"]
    loaded = tf.saved_model.load(str(result.path))
    assert {"serving_default", "encode", "decode"} <= set(loaded.signatures)
    x = np.random.default_rng(4).random((2, 4), dtype="float32")
    assert export.verify_saved_model(result.path, model, x) <= 1e-6  # task inferred here too


def test_output_names_follow_the_task_or_the_model():
    """Catches output_names/output_name that drop the model or the task, or pick a second name."""
    plain, ae = _tiny(), _tiny_autoencoder()
    assert saved_model_.output_names(plain) == ("logits",)
    assert saved_model_.output_names(ae) == ("reconstruction",)
    assert saved_model_.output_names(plain, "reconstruction") == ("reconstruction",)
    assert saved_model_.output_name(plain) == "logits"
    assert saved_model_.output_name(ae) == "reconstruction"
    assert saved_model_.output_name(plain, "reconstruction") == "reconstruction"


def test_parity_tolerance_is_inclusive_with_a_one_line_message(tmp_path):
    """Catches a tolerance check that rejects a difference equal to the tolerance."""
    assert export.export_saved_model(_tiny(zeros=True), tmp_path, "m", tolerance=0.0).max_abs_diff \
        == 0.0
    inputs = keras.Input((4,), name="inputs")
    zero = keras.layers.Dense(3, kernel_initializer="zeros")(inputs)
    shifted = keras.Model(inputs, ServedDifferently(0.5)(zero))  # served exactly 0.5 off
    assert export.export_saved_model(shifted, tmp_path, "s", tolerance=0.5).max_abs_diff == 0.5
    with pytest.raises(export.ExportError) as info:
        export.export_saved_model(shifted, tmp_path, "s", tolerance=0.25)
    assert str(info.value) == ("the reloaded SavedModel differs from the model by 0.5 "
                               "(tolerance 0.25); nothing was written")


def test_verify_inputs_are_used_as_float32_and_staging_is_hidden(tmp_path, monkeypatch):
    """Catches ignored verify_inputs (or not cast to float32) and a staging directory not
    named `.tmp-VERSION-*` beside the versions."""
    seen = []
    verify = saved_model_.verify_saved_model

    def spy(path, model, inputs, task=None):
        seen.append((Path(path), inputs))
        assert Path(path).parent == tmp_path / "m" and (Path(path) / "saved_model.pb").is_file()
        return verify(path, model, inputs, task)

    monkeypatch.setattr(saved_model_, "verify_saved_model", spy)
    given = [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]  # Python floats: float64 if not cast
    result = export.export_saved_model(_tiny(), tmp_path, "m", 5, verify_inputs=given)
    (staging, inputs), = seen
    assert staging.name.startswith(".tmp-5-") and not staging.exists()
    assert inputs.dtype == np.float32
    np.testing.assert_array_equal(inputs, np.asarray(given, "float32"))
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["5"] and result.version == 5


def test_sample_inputs_are_eight_reproducible_uniform_rows():
    """Catches another default count or seed, an unseeded generator, or a variable dimension
    not sampled as 1."""
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.Dense(2)])
    x = saved_model_.sample_inputs(model)
    assert x.shape == (8, 1, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x, saved_model_.sample_inputs(model))
    np.testing.assert_array_equal(x, np.random.default_rng(0).random((8, 1, 3), dtype="float32"))
    assert ((0 <= x) & (x < 1)).all()


def test_dropout_is_off_in_the_served_graph_and_in_the_parity_check(tmp_path):
    """Catches serving, or comparing against, the model in training mode (dropout on)."""
    model = keras.Sequential([keras.Input((64,), name="inputs"), keras.layers.Dropout(0.5),
                              keras.layers.Dense(3)])
    result = export.export_saved_model(model, tmp_path, "m")
    assert result.max_abs_diff <= 1e-6
    x = np.ones((4, 64), "float32")
    served = tf.saved_model.load(str(result.path)).signatures["serving_default"](
        inputs=tf.constant(x))["logits"]
    np.testing.assert_allclose(served, model(x, training=False), atol=1e-6)


def test_input_name_and_spec_follow_the_input_layer():
    """Catches an input name split on whitespace or not at ':', a lost 'inputs' fallback, and
    an input spec that forgets the input's dtype."""
    fake = lambda name: SimpleNamespace(inputs=[SimpleNamespace(name=name)])  # noqa: E731
    assert saved_model_.input_name(fake("images:0")) == "images"
    assert saved_model_.input_name(fake("")) == "inputs"
    assert saved_model_.input_name(_tiny()) == "inputs"
    spaced = keras.Sequential([keras.Input((4,), name="my input"), keras.layers.Dense(1)])
    assert saved_model_.input_name(spaced) == "my input"
    spec = saved_model_.input_spec(_tiny(dtype="float64"))
    assert (spec.dtype, spec.shape.as_list(), spec.name) == (tf.float64, [None, 4], "inputs")


def test_max_abs_diff_refuses_unpaired_outputs():
    """Catches outputs zipped without strict=True (a missing output silently not compared)."""
    a = np.zeros((2, 3), "float32")
    assert saved_model_.max_abs_diff([a, a + 1], [a, a - 1]) == 2.0
    with pytest.raises(ValueError):
        saved_model_.max_abs_diff([a, a], [a])


def test_multi_input_models_serve_each_input_by_name(tmp_path):
    """Catches a model of several inputs exported with one (the others lost or fed the first's
    values): each is a named input of `serving_default`, checked for parity."""
    a, b = keras.Input((2,), name="a"), keras.Input((2,), name="b")
    model = keras.Model([a, b], keras.layers.Subtract()([a, b]), name="two")
    result = export.export_saved_model(model, tmp_path, "m")
    assert result.input_names == ("a", "b") and result.max_abs_diff <= 1e-6
    signature = tf.saved_model.load(str(result.path)).signatures["serving_default"]
    assert sorted(signature.structured_input_signature[1]) == ["a", "b"]
    x, y = np.ones((1, 2), "float32"), np.full((1, 2), 3.0, "float32")
    served = signature(a=tf.constant(x), b=tf.constant(y))
    np.testing.assert_allclose(next(iter(served.values())), x - y)
    facts = json.loads((result.path / export.METADATA_FILE).read_text())
    assert [entry["name"] for entry in facts["inputs"]] == ["a", "b"]


def test_hidden_names_and_missing_saved_models_are_refused_with_full_messages(tmp_path):
    """Catches a name starting with '.' (a hidden directory Serving ignores) let through, and a
    changed 'not a SavedModel directory' message."""
    with pytest.raises(export.ExportError) as info:
        layout_.check_name(".hidden")
    assert str(info.value) == ("model name '.hidden' is not usable as a directory name; "
                               "use letters, digits, '-', '_'")
    with pytest.raises(export.ExportError) as info:
        layout_.check_name("a b")
    assert str(info.value) == "model name 'a b' may hold only letters, digits, '-', '_' and '.'"
    assert layout_.check_name("v1.2_b-c") == "v1.2_b-c"
    with pytest.raises(export.ExportError) as info:
        layout_.resolve_saved_model_dir(tmp_path)
    assert str(info.value) == (f"{tmp_path} is not a SavedModel directory (no saved_model.pb) "
                               "nor a model directory with numeric version subdirectories")
