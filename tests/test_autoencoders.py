"""The autoencoder builders: parts, bad input, the PCA property, stacking, export."""

import json

import keras
import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf
from sklearn.decomposition import PCA

import keras_dl
from keras_dl import export
from keras_dl.evaluation import jacobian_frobenius_norm
from keras_dl.models import autoencoders as ae
from keras_dl.training import pretraining, train

RNG = np.random.default_rng(0)
SMALL = {"input_shape": (8, 8, 1)}

# every deterministic (non-VAE) autoencoder builder, with tiny settings
PLAIN = {
    "autoencoder": {"code_size": 3, "hidden_units": (6,)},
    "autoencoder_tied": {"code_size": 3, "hidden_units": (6,), "tied": True},
    "sparse_autoencoder": {"code_size": 80},
    "contractive_autoencoder": {"code_size": 5},
    "denoising_autoencoder": {"code_size": 5, "corruption": "gaussian", "corruption_level": 0.2},
    "semantic_hashing_autoencoder": {"code_bits": 4, "hidden_units": (6,)},
    "conv_autoencoder": {"filters": (4, 6), "code_channels": 2},
}


def _build(key):
    name = key.removesuffix("_tied")
    return keras_dl.create_model(name, **SMALL, **PLAIN[key])


def _x(count=5):
    return RNG.random((count, 8, 8, 1), dtype="float32")


@pytest.mark.parametrize("key", PLAIN)
def test_encoder_then_decoder_is_the_model(key, tmp_path):
    model = _build(key)
    x = _x()
    for candidate in (model, None):
        if candidate is None:  # and again after a .keras round trip
            model.save(tmp_path / "m.keras")
            candidate = keras.saving.load_model(tmp_path / "m.keras")
        encoder, decoder = ae.encoder(candidate), ae.decoder(candidate)
        code = encoder.predict(x, verbose=0)
        np.testing.assert_allclose(decoder.predict(code, verbose=0),
                                   np.asarray(model(x, training=False)), atol=1e-6)
        # the parts share the model's weights: change one, all follow
        assert {id(w) for w in encoder.weights + decoder.weights} <= \
            {id(w) for w in candidate.weights}


def test_code_sizes_under_and_overcomplete():
    under = keras_dl.create_model("autoencoder", **SMALL, code_size=4)
    over = keras_dl.create_model("autoencoder", **SMALL, code_size=100)
    assert ae.encoder(under).output.shape[-1] == 4 < 64 < ae.encoder(over).output.shape[-1]
    assert over(_x()).shape == (5, 8, 8, 1)


def test_tied_weights_halve_the_kernels():
    untied = keras_dl.create_model("autoencoder", **SMALL, code_size=10, hidden_units=(20,))
    tied = keras_dl.create_model("autoencoder", **SMALL, code_size=10, hidden_units=(20,),
                                 tied=True)
    kernels = lambda m: sum(int(np.prod(w.shape)) for w in m.weights if "kernel" in w.path)  # noqa: E731
    assert kernels(tied) * 2 == kernels(untied)
    assert tied.get_layer("decoder_output").tied_layer is tied.get_layer("encoder_dense1")
    assert tied.get_layer("decoder_dense1").tied_layer is tied.get_layer("code")


def test_semantic_hashing_codes_are_bits():
    model = _build("semantic_hashing_autoencoder")
    bits = ae.encoder(model).predict(_x(20), verbose=0)
    assert set(np.unique(bits)) <= {0.0, 1.0}


def test_denoising_corrupts_only_in_training():
    model = _build("denoising_autoencoder")
    x = _x()
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    assert not np.allclose(model(x, training=True), model(x, training=False))


def test_deep_contractive_autoencoder_trains_and_survives_a_keras_round_trip(tmp_path):
    model = keras_dl.create_model("contractive_autoencoder", hidden_units=(32,), code_size=8,
                                  input_shape=(8, 8, 1), contractive=0.5, seed=0)
    x = _x(16)
    encoder = ae.encoder(model)
    expected = 0.5 * np.mean(jacobian_frobenius_norm(encoder, x) ** 2)
    model(x)
    np.testing.assert_allclose(float(model.losses[0]), expected, rtol=1e-4)
    model.compile("adam", "binary_crossentropy")
    history = model.fit(x, x, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    path = tmp_path / "cae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("code").get_config()["hidden"] == ["encoder_dense1"]
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(loaded.losses[0]), float(model.losses[0]), rtol=1e-5)
    np.testing.assert_allclose(loaded.evaluate(x, x, verbose=0), model.evaluate(x, x, verbose=0),
                               rtol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda: keras_dl.create_model("autoencoder", code_size=0),
     "code_size must be a positive integer"),
    (lambda: keras_dl.create_model("sparse_autoencoder", l1=-0.1),
     "l1 must be a non-negative number"),
    (lambda: keras_dl.create_model("contractive_autoencoder", contractive=-1.0),
     "contractive must be a non-negative number"),
    (lambda: keras_dl.create_model("contractive_autoencoder", hidden_units=(4,),
                                   activation="gelu"),
     "activation must be one of"),
    (lambda: keras_dl.create_model("vae", beta=-1.0), "beta must be a non-negative number"),
    (lambda: keras_dl.create_model("conv_autoencoder", input_shape=(30, 30, 1)),
     "must be divisible by 4 for 2 stride-2 stages .* got 30×30; e.g. 32×32"),
    (lambda: keras_dl.create_model("conv_vae", input_shape=(28, 28, 1), filters=(8, 8, 8)),
     "must be divisible by 8 for 3 stride-2 stages"),
    (lambda: keras_dl.create_model("denoising_autoencoder", corruption="blur"),
     "corruption must be one of"),
    (lambda: keras_dl.create_model("denoising_autoencoder", corruption_level=1.2),
     r"corruption_level of 'masking' is a fraction in \[0, 1\)"),
    (lambda: ae.encoder(keras_dl.create_model("mlp", **SMALL, hidden_units=(4,))),
     "is not a keras_dl autoencoder"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_linear_autoencoder_learns_the_pca_subspace():
    """Lecture 004: "when L = L2 and both f and g are linear, an autoencoder learns PCA"."""
    keras.utils.set_random_seed(0)
    rotation = np.linalg.qr(RNG.normal(size=(10, 10)))[0]
    scales = np.array([4.0, 3.0, 2.0, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1])
    x = (RNG.normal(size=(256, 10)) * scales) @ rotation.T
    x = (x - x.mean(axis=0)).astype("float32")
    model = keras_dl.create_model("autoencoder", input_shape=(10,), code_size=3,
                                  activation="linear", output_activation="linear", seed=0)
    model.compile(keras.optimizers.Adam(0.02), "mse")
    steps = 1500  # full-batch steps, as one epoch over the repeated data
    model.fit(np.tile(x, (steps, 1)), np.tile(x, (steps, 1)), batch_size=len(x), epochs=1,
              shuffle=False, verbose=0)
    decoder_kernel = model.get_layer("decoder_output").kernel  # (3, 10): x̂ = h W
    components = PCA(n_components=3).fit(x).components_
    angles = np.degrees(scipy.linalg.subspace_angles(np.asarray(decoder_kernel).T,
                                                     components.T))
    assert angles.max() < 5.0, angles


def test_autoencoder_units_train_and_fill_a_stack():
    x, _ = keras_dl.data.load_numpy("digits", "train", limit=300)
    flat = x.reshape(len(x), -1)
    unit = pretraining.make_unit("autoencoder", 64, 16, seed=0)
    history = unit.fit(flat, epochs=15, batch_size=32, learning_rate=1e-2)
    losses = history["reconstruction_loss"]
    assert losses[-1] < losses[0] - 0.05
    assert unit.transform(flat[:4]).shape == (4, 16)
    noisy = pretraining.make_unit("denoising_autoencoder", 64, 16, seed=0,
                                  corruption="salt_and_pepper", corruption_level=0.1)
    noisy.fit(flat, epochs=1, batch_size=64, learning_rate=1e-3)
    assert noisy.model.get_layer("corruption").rate == 0.1
    with pytest.raises(ValueError, match="needs a corruption"):
        pretraining.make_unit("denoising_autoencoder", 64, 16, corruption=None)
    model = keras_dl.create_model("stacked_denoising_autoencoder", **SMALL, num_classes=10,
                                  hidden_units=(12, 8))
    result = pretraining.pretrain_model(model, x, "denoising_autoencoder", epochs=1)
    np.testing.assert_array_equal(model.get_layer("hidden2_dense").kernel,
                                  result.units[1].dense_weights()[0])


def test_train_stacked_denoising_autoencoder_end_to_end(tmp_path):
    """What `keras-dl train stacked_denoising_autoencoder --pretrain-epochs 2 --finetune all
    --limit 200 --dataset digits` runs."""
    result = train("stacked_denoising_autoencoder", dataset="digits", run_dir=tmp_path / "run",
                   pretrain_epochs=2, finetune="all", limit=200, epochs=1, verbose=0,
                   builder_kwargs={"hidden_units": (32, 16)})
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["pretraining"]["unit"] == "denoising_autoencoder"
    assert np.isfinite(result.metrics["test_loss"])


@pytest.mark.parametrize("key", ["autoencoder_tied", "conv_autoencoder"])
def test_export_serves_reconstructions_and_encode_decode(key, tmp_path):
    """Catches a served reconstruction, code or decoding that is not the model's, and a parity
    check that compares the SavedModel with itself (blind to another model's weights)."""
    model = _build(key)
    x = _x(3)
    result = export.export_saved_model(model, tmp_path, "ae", verify_inputs=x)
    assert result.output_names == ("reconstruction",)
    loaded = tf.saved_model.load(str(result.path))
    assert {"serving_default", "encode", "decode"} <= set(loaded.signatures)
    served = loaded.signatures["serving_default"](inputs=tf.constant(x))
    assert list(served) == ["reconstruction"]
    np.testing.assert_allclose(served["reconstruction"], model(x), atol=1e-5)
    def reconstruction_only(autoencoder):  # no encode/decode parts: only serving_default is
        inputs = keras.Input(x.shape[1:], name="inputs")  # compared
        return keras.Model(inputs, autoencoder(inputs))

    check = export.verify_saved_model
    assert check(result.path, reconstruction_only(model), x, task="reconstruction") <= 1e-5
    other = reconstruction_only(_build(key))  # the same architecture, other weights
    assert check(result.path, other, x, task="reconstruction") > 1e-3
    code = loaded.signatures["encode"](inputs=tf.constant(x))["code"]
    np.testing.assert_allclose(code, ae.encoder(model)(x), atol=1e-5)
    image = loaded.signatures["decode"](code=code)["reconstruction"]
    np.testing.assert_allclose(image, model(x), atol=1e-5)
    facts = json.loads((result.path / export.METADATA_FILE).read_text())
    assert facts["endpoints"] == ["serving_default", "encode", "decode"]


def test_retrieval_helpers():
    from keras_dl.evaluation import hamming_precision_at_k, random_projection_codes

    labels = np.repeat(np.arange(4), 25)
    perfect = np.eye(4, dtype="float32")[labels]  # one code per class
    assert hamming_precision_at_k(perfect, labels, k=24) == 1.0
    codes = random_projection_codes(RNG.random((100, 8, 8, 1)), 12, seed=0)
    assert codes.shape == (100, 12) and set(np.unique(codes)) == {0.0, 1.0}
    assert 0.1 < hamming_precision_at_k(RNG.integers(0, 2, (100, 12)), labels, k=10) < 0.45
    with pytest.raises(ValueError, match="k must be in"):
        hamming_precision_at_k(perfect, labels, k=100)
