"""Variational autoencoders: their loss, parts, export (deterministic and sampling
signatures) and ONNX export of the encoder and decoder."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_dl
from keras_dl import export
from keras_dl.layers.sampling import kl_divergence
from keras_dl.models import autoencoders as ae

RNG = np.random.default_rng(0)
TINY = {
    "vae": {"input_shape": (8, 8, 1), "latent_dim": 2, "hidden_units": (6,)},
    "conv_vae": {"input_shape": (8, 8, 1), "latent_dim": 2, "filters": (4, 6),
                 "hidden_units": 8},
}


def _x(count=6):
    return RNG.random((count, 8, 8, 1), dtype="float32")


@pytest.mark.parametrize("name", TINY)
def test_the_loss_is_the_negative_elbo_and_fit_lowers_it(name):
    model = keras_dl.create_model(name, **TINY[name], beta=1.0)
    x = (_x(64) > 0.5).astype("float32")
    model(x, training=False)
    z_mean, z_log_var = ae.encoder(model)(x)
    probabilities = np.clip(ae.decoder(model)(z_mean), 1e-7, 1 - 1e-7)
    nll = -(x * np.log(probabilities) + (1 - x) * np.log(1 - probabilities)).sum(axis=(1, 2, 3))
    kl = np.asarray(kl_divergence(z_mean, z_log_var))
    np.testing.assert_allclose(float(sum(model.losses)), nll.mean() + kl.mean(), rtol=1e-4)
    model.compile(keras.optimizers.Adam(1e-2))
    history = model.fit(x, epochs=20, batch_size=64, verbose=0).history["loss"]
    assert history[-1] < history[0]


def test_beta_and_reconstruction_weight_switch_terms_off():
    x = _x()
    kl_only = keras_dl.create_model("vae", **TINY["vae"], reconstruction_weight=0.0)
    kl_only(x)
    z_mean, z_log_var = ae.encoder(kl_only)(x)
    np.testing.assert_allclose(float(sum(kl_only.losses)),
                               np.asarray(kl_divergence(z_mean, z_log_var)).mean(), rtol=1e-5)
    reconstruction_only = keras_dl.create_model("vae", **TINY["vae"], beta=0.0)
    reconstruction_only(x)
    assert len(reconstruction_only.losses) == 1


@pytest.mark.parametrize("name", TINY)
def test_parts_after_a_keras_round_trip(name, tmp_path):
    model = keras_dl.create_model(name, **TINY[name])
    model.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    x = _x()
    z_mean, z_log_var = ae.encoder(loaded).predict(x, verbose=0)
    assert z_mean.shape == z_log_var.shape == (6, 2)
    decoded = ae.decoder(loaded).predict(z_mean, verbose=0)
    np.testing.assert_allclose(decoded, model(x, training=False), atol=1e-6)
    generated = ae.decoder(loaded).predict(RNG.normal(size=(3, 2)).astype("float32"),
                                           verbose=0)
    assert generated.shape == (3, 8, 8, 1) and np.all((generated >= 0) & (generated <= 1))


@pytest.mark.parametrize("name", TINY)
def test_export_serves_mean_reconstructions_and_samples_fresh_noise(name, tmp_path):
    model = keras_dl.create_model(name, **TINY[name])
    x = _x(4)
    result = export.export_saved_model(model, tmp_path, name, verify_inputs=x)
    loaded = tf.saved_model.load(str(result.path))
    serve = loaded.signatures["serving_default"]
    first, second = (serve(inputs=tf.constant(x))["reconstruction"] for _ in range(2))
    np.testing.assert_array_equal(first, second)  # deterministic: decodes z = μ
    encoded = loaded.signatures["encode"](inputs=tf.constant(x))
    assert set(encoded) == {"z_mean", "z_log_var"}
    np.testing.assert_allclose(encoded["z_mean"], ae.encoder(model)(x)[0], atol=1e-5)
    image = loaded.signatures["decode"](z=tf.constant([[0.5, -1.0]]))["reconstruction"]
    assert image.shape == (1, 8, 8, 1)
    sample = loaded.signatures["sample"]
    a, b = sample(inputs=tf.constant(x)), sample(inputs=tf.constant(x))
    assert not np.allclose(a["z"], b["z"])  # fresh noise on each call, not a baked constant
    assert not np.allclose(a["reconstruction"], b["reconstruction"])
    # the draws follow q(z|x): their mean is near μ
    draws = np.stack([np.asarray(sample(inputs=tf.constant(x))["z"]) for _ in range(200)])
    sigma = np.exp(0.5 * np.asarray(encoded["z_log_var"]))
    assert np.all(np.abs(draws.mean(axis=0) - encoded["z_mean"]) < 4 * sigma / np.sqrt(200))


@pytest.mark.parametrize("name", TINY)
def test_encoder_and_decoder_export_to_onnx(name, tmp_path):
    model = keras_dl.create_model(name, **TINY[name])
    encoder, decoder = ae.encoder(model), ae.decoder(model)
    result = export.export_onnx(encoder, tmp_path, "encoder", verify_inputs=_x(3))
    assert result.output_names == ("z_mean", "z_log_var") and result.max_abs_diff <= 1e-5
    # a decoder alone is no registered model: its task says what it serves
    result = export.export_onnx(decoder, tmp_path, "decoder", task="reconstruction",
                                verify_inputs=RNG.normal(size=(3, 2)).astype("float32"))
    assert result.output_names == ("reconstruction",) and result.max_abs_diff <= 1e-5


def test_a_sampling_serving_graph_is_refused_by_onnx(tmp_path):
    inputs = keras.Input((4,), name="inputs")
    z = keras_dl.layers.Sampling(sample_at_inference=True)([inputs, inputs])
    with pytest.raises(export.ExportError, match="samples at inference"):
        export.export_onnx(keras.Model(inputs, z), tmp_path, "sampler")
