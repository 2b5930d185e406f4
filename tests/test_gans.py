"""GANs: the alternating step, the losses, sample grids, resume, export and serving.

The builders themselves go through the model contract (tests/test_model_contract.py). Tiny
shapes: 8×8 digits, latent_dim 4, a few steps.
"""

import json

import keras
import numpy as np
import pytest
from _cli import run_cli
from _http import http

import keras_dl
from keras_dl import training
from keras_dl.models import gan_training
from keras_dl.models.gan_training import GANTrainer
from keras_dl.tasks import gan as gan_task

SMALL = {"input_shape": (8, 8, 1), "latent_dim": 4}
RUN = dict(dataset="digits", batch_size=32, limit=64, verbose=0, lr_schedule="constant")


def _pair(name, **kwargs):
    generator = keras_dl.create_model(name, **{**SMALL, **kwargs})
    discriminator = keras_dl.model_info(name).task_options["discriminator"](generator)
    return generator, discriminator


def _trainer(name, **kwargs):
    generator, discriminator = _pair(name, **kwargs)
    trainer = GANTrainer(generator, discriminator, seed=3)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2),
                    generator_optimizer=keras.optimizers.Adam(1e-2))
    return trainer


def _values(weights):
    return [np.array(w) for w in weights]


def _same(before, weights):
    return all(np.array_equal(b, np.array(w)) for b, w in zip(before, weights, strict=True))


def _none_same(before, weights):
    return not any(np.array_equal(b, np.array(w)) for b, w in zip(before, weights, strict=True))


@pytest.mark.parametrize("name", ["gan", "conditional_gan"])
def test_each_half_step_updates_one_network_only(name):
    """Catches a discriminator step that also moves the generator (gradients not stopped, or
    applied to every weight), and a generator step that moves the discriminator."""
    trainer = _trainer(name, hidden_units=(8,))
    images = np.random.default_rng(0).random((6, 8, 8, 1), dtype="float32")
    labels = np.array([0, 1, 2, 3, 4, 5]) % 3 if name == "conditional_gan" else None
    generator, discriminator = trainer.generator, trainer.discriminator
    # these MLP pairs have no batch norm: every weight, trainable or not, must stay put
    g_before, d_before = _values(generator.weights), _values(discriminator.weights)
    d_values = trainer.discriminator_step(images, labels)
    assert _same(g_before, generator.weights)
    assert _none_same(d_before, discriminator.trainable_weights)
    assert set(d_values) == {"d_loss", "real_score", "fake_score"}
    g_before, d_before = _values(generator.weights), _values(discriminator.weights)
    g_values = trainer.generator_step(images, labels)
    assert _same(d_before, discriminator.weights)
    assert _none_same(g_before, generator.trainable_weights)
    assert np.isfinite(float(g_values["g_loss"]))
    assert int(trainer.optimizer.iterations) == int(trainer.generator_optimizer.iterations) == 1


def test_the_generators_learning_rate_follows_the_scheduled_one():
    """Catches a run's learning-rate schedule (Keras' callbacks set `optimizer`'s) reaching the
    discriminator only."""
    trainer = _trainer("gan", hidden_units=(4,))
    trainer.optimizer.learning_rate = 0.125
    images = np.random.default_rng(0).random((4, 8, 8, 1), dtype="float32")
    trainer.fit(images, epochs=1, batch_size=4, verbose=0)
    assert float(trainer.generator_optimizer.learning_rate) == 0.125
    alone = GANTrainer(*_pair("gan", hidden_units=(4,)), shared_learning_rate=False)
    alone.compile(optimizer=keras.optimizers.Adam(0.125),
                  generator_optimizer=keras.optimizers.Adam(0.5))
    alone.fit(images, epochs=1, batch_size=4, verbose=0)
    assert float(alone.generator_optimizer.learning_rate) == 0.5


def test_dcgan_half_steps_leave_the_other_networks_parameters():
    """The same with batch norm on both sides: the other network's parameters (its trainable
    weights) are untouched; only batch-norm statistics follow the batches."""
    trainer = _trainer("dcgan", filters=(6, 4), kernel_size=3)
    images = np.random.default_rng(0).random((4, 8, 8, 1), dtype="float32")
    before = _values(trainer.generator.trainable_weights)
    trainer.discriminator_step(images)
    assert _same(before, trainer.generator.trainable_weights)
    before = _values(trainer.discriminator.trainable_weights)
    trainer.generator_step(images)
    assert _same(before, trainer.discriminator.trainable_weights)


def test_losses_equal_their_formulas_on_known_discriminator_outputs():
    real_p = np.array([[0.9], [0.6], [0.99]])
    fake_p = np.array([[0.1], [0.3], [0.5]])
    logit = lambda p: np.log(p / (1 - p)).astype("float32")  # noqa: E731
    value = lambda x: float(keras.ops.convert_to_numpy(x))  # noqa: E731
    np.testing.assert_allclose(value(gan_training.generator_loss(logit(fake_p))),
                               -np.mean(np.log(fake_p)), rtol=1e-5)
    np.testing.assert_allclose(value(gan_training.generator_loss(logit(fake_p), "minimax")),
                               np.mean(np.log(1 - fake_p)), rtol=1e-5)
    np.testing.assert_allclose(
        value(gan_training.discriminator_loss(logit(real_p), logit(fake_p))),
        -np.mean(np.log(real_p)) - np.mean(np.log(1 - fake_p)), rtol=1e-5)
    # far from the data (D(G(z)) ≈ 0) the minimax loss saturates, the non-saturating does not
    far = np.array([[-12.0]], "float32")
    import tensorflow as tf

    for loss, strong in (("minimax", False), ("non_saturating", True)):
        variable = tf.Variable(far)
        with tf.GradientTape() as tape:
            result = gan_training.generator_loss(variable, loss)
        gradient = abs(float(tape.gradient(result, variable)[0, 0]))
        assert (gradient > 0.5) is strong, (loss, gradient)


def test_unknown_gan_losses_are_refused_in_one_line():
    message = "unknown GAN loss 'wasserstein'; allowed: non_saturating, minimax"
    for make in (lambda: gan_training.generator_loss(np.zeros((2, 1)), "wasserstein"),
                 lambda: keras_dl.create_model("gan", gan_loss="wasserstein", **SMALL),
                 lambda: GANTrainer(*_pair("gan", hidden_units=(4,)), gan_loss="wasserstein")):
        with pytest.raises(ValueError) as error:
            make()
        assert str(error.value) == message


def test_the_builders_minimax_choice_reaches_the_trainer():
    generator = keras_dl.create_model("gan", gan_loss="minimax", hidden_units=(4,), **SMALL)
    info = keras_dl.model_info("gan")
    task = keras_dl.tasks.get("gan")
    task.compile(generator, keras.optimizers.Adam(), info)
    trainer = task.training_model(generator, info, keras.optimizers.Adam)
    assert trainer.gan_loss == "minimax"
    assert trainer.generator_optimizer is generator.optimizer
    assert trainer.optimizer is not generator.optimizer
    assert trainer.optimizer.beta_1 == 0.5  # the registered train default (Radford et al.)


def test_conditional_inputs_outside_the_generator_are_refused():
    generator = keras_dl.create_model("conditional_gan", num_classes=3, hidden_units=(4,),
                                      **SMALL)
    noise = np.zeros((2, 4), "float32")
    assert gan_task.generate(generator, noise=noise, labels=[0, 2]).shape == (2, 8, 8, 1)
    for kwargs, message in (
            ({"noise": noise, "labels": [0, 3]},
             "label 3 is outside the generator's classes; allowed: 0..2"),
            ({"noise": noise, "labels": [-1, 0]},
             "label -1 is outside the generator's classes; allowed: 0..2"),
            ({"noise": noise, "labels": [0.5, 1]}, "label must be integers, got [0.5, 1.0]"),
            ({"noise": np.zeros((2, 5)), "labels": [0, 1]},
             "noise of shape (2, 5) does not fit generator 'conditional_gan', which takes "
             "(batch, 4)"),
            ({"noise": noise}, "generator 'conditional_gan' is conditional: give a label per "
                               "noise row, in 0..2")):
        with pytest.raises(ValueError) as error:
            gan_task.generate(generator, **kwargs)
        assert str(error.value) == message


class _Interrupt(Exception):
    pass


class _DieAfterFirstEpoch(keras.callbacks.Callback):
    """Ends the run after epoch 0's backup (it comes after `BackupAndRestore`), recording
    what both networks and both optimizers hold then."""

    def on_epoch_end(self, epoch, logs=None):
        self.state = _state(self.model)
        raise _Interrupt


class _StateAtResume(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.state = epoch, _state(self.model)


def _state(trainer):
    return {"generator": _values(trainer.generator.weights),
            "discriminator": _values(trainer.discriminator.weights),
            "optimizer": _values(trainer.optimizer.variables),
            "generator_optimizer": _values(trainer.generator_optimizer.variables)}


def test_a_run_writes_sample_grids_and_resumes_both_networks_and_optimizers(tmp_path):
    """Catches a resume that restores one network (or one optimizer) only, and a run whose
    sample grid is missing for an epoch or drawn from other noise."""
    run = tmp_path / "run"
    settings = dict(RUN, epochs=2, builder_kwargs={"latent_dim": 4, "filters": [6, 4],
                                                   "kernel_size": 3})
    killer = _DieAfterFirstEpoch()
    with pytest.raises(_Interrupt):
        training.train("dcgan", run_dir=run, extra_callbacks=[killer], **settings)
    assert (run / "backup").exists() and not (run / "metrics.json").exists()
    first_grid = (run / "samples" / "epoch_001.png").read_bytes()

    resumed = _StateAtResume()
    result = training.train("dcgan", run_dir=run, extra_callbacks=[resumed], **settings)
    assert resumed.epoch == 1 and result.metrics["resumed"] is True
    for key, values in killer.state.items():
        assert _same(values, resumed.state[key]), f"{key} was not restored"
    steps = int(np.ceil(result.metrics["train_examples"] / 32))
    assert int(result.model.optimizer.iterations) == 2 * steps  # the generator's, on
    assert [row["epoch"] for row in result.history] == [0, 1]
    assert {"d_loss", "g_loss", "val_d_loss", "val_g_loss"} <= set(result.history[0])
    assert np.isfinite(result.metrics["test_pixel_frechet_distance"])
    from PIL import Image

    grids = sorted(p.name for p in (run / "samples").iterdir())
    assert grids == ["epoch_001.png", "epoch_002.png"]
    with Image.open(run / "samples" / "epoch_002.png") as image:
        assert image.size == (8 * 8 + 7, 8 * 8 + 7)  # 8 × 8 samples, 1-pixel gaps
    assert (run / "samples" / "epoch_001.png").read_bytes() == first_grid  # not redrawn
    best = keras.saving.load_model(run / "checkpoints" / "best.keras")
    assert isinstance(best, GANTrainer) and best.generator_optimizer is best.generator.optimizer


@pytest.fixture(scope="module")
def conditional_export(tmp_path_factory):
    """A conditional GAN trained for one epoch and exported with `keras-dl export`."""
    root = tmp_path_factory.mktemp("cgan")
    result = training.train("conditional_gan", run_dir=root / "run", epochs=1,
                            builder_kwargs={"latent_dim": 4, "hidden_units": [8]}, **RUN)
    return root, result.model


def test_conditional_samples_have_a_row_per_class(conditional_export):
    from PIL import Image

    root, _ = conditional_export
    with Image.open(root / "run" / "samples" / "epoch_001.png") as image:
        assert image.size == (8 * 8 + 7, 10 * 8 + 9)  # 10 classes × 8 columns


def test_evaluate_scores_a_generator_on_its_dataset(conditional_export, capsys):
    """Catches `keras-dl evaluate` comparing the generator's noise input with the images."""
    root, _ = conditional_export
    code, out, err = run_cli(capsys, "evaluate", root / "run")
    assert code == 0, err
    scores = json.loads(out)
    assert scores["dataset"] == "digits" and scores["test_pixel_frechet_distance"] > 0
    code, _, err = run_cli(capsys, "evaluate", root / "run", "--dataset", "fashion_mnist")
    assert code == 2 and "but the model makes (8, 8, 1)" in err, err


def test_export_and_serving_round_trip(conditional_export, capsys):
    """Catches a generator exported with one input (the label lost), a label outside the
    classes answered with an image (or a 500), and noise of the wrong width let through."""
    from keras_dl.export import ServedModel
    from keras_dl.serving import ModelServer

    root, generator = conditional_export
    base = root / "saved_models"
    code, out, err = run_cli(capsys, "export", root / "run", "--base", base, "--name", "cgan")
    assert code == 0, err
    assert "noise, label -> images" in out
    facts = json.loads((base / "cgan" / "1" / "assets.extra" / "keras_dl.json").read_text())
    assert facts["input_ranges"] == {"label": [0, 9]} and facts["input_range"] is None

    noise = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    labels = np.array([0, 5, 9])
    expected = gan_task.generate(generator, noise=noise, labels=labels)
    served = ServedModel(base / "cgan" / "1")
    np.testing.assert_allclose(served({"noise": noise, "label": labels})["images"], expected,
                               atol=1e-5)
    with pytest.raises(ValueError) as error:
        served({"noise": noise, "label": np.array([0, 10, 1])})
    assert str(error.value) == "the model's input 'label' takes values in 0..9, got 10"

    with ModelServer(base, rest_port=0, grpc_port=0) as server:
        instances = [{"noise": row.tolist(), "label": int(label)}
                     for row, label in zip(noise, labels)]
        status, body = http(server, "POST", "/v1/models/cgan:predict", {"instances": instances})
        assert status == 200, body
        np.testing.assert_allclose(np.array(body["predictions"]), expected, atol=1e-5)
        for bad, message in (
                ({"noise": noise[0].tolist(), "label": 12},
                 "the model's input 'label' takes values in 0..9, got 12"),
                ({"noise": noise[0].tolist(), "label": 2.5},
                 "the model's input 'label' takes integers, got 2.5"),
                ({"noise": [0.0] * 5, "label": 1},
                 "input of shape (1, 5) does not fit the model's input 'noise', which takes "
                 "(batch, 4) or one example without the batch axis")):
            status, body = http(server, "POST", "/v1/models/cgan:predict", {"instances": [bad]})
            assert (status, body) == (400, {"error": message})

    np.save(root / "noise.npy", noise)
    np.save(root / "labels.npy", labels)
    np.save(root / "bad_labels.npy", np.array([0, 1, 10]))
    code, out, err = run_cli(capsys, "predict", base / "cgan", "--input",
                             f"noise={root / 'noise.npy'}", "--input",
                             f"label={root / 'labels.npy'}", "--json")
    assert code == 0, err
    np.testing.assert_allclose(np.array(json.loads(out)["images"]), expected, atol=1e-5)
    code, out, err = run_cli(capsys, "predict", base / "cgan", "--input",
                             f"noise={root / 'noise.npy'}", "--input",
                             f"label={root / 'bad_labels.npy'}")
    assert code == 2 and err.strip().endswith(
        "the model's input 'label' takes values in 0..9, got 10"), err
    code, out, err = run_cli(capsys, "predict", base / "cgan", "--input", root / "noise.npy")
    assert code == 2 and "give each as --input NAME=FILE.npy" in err, err


def test_unconditional_export_takes_noise_of_any_range_but_not_another_width(tmp_path, capsys):
    generator = keras_dl.create_model("gan", hidden_units=(4,), **SMALL)
    generator.save(tmp_path / "gan.keras")
    code, _, err = run_cli(capsys, "export", tmp_path / "gan.keras", "--base", tmp_path / "b",
                           "--name", "gan")
    assert code == 0, err
    noise = np.random.default_rng(0).standard_normal((2, 4)).astype("float32") * 3
    np.save(tmp_path / "noise.npy", noise)
    code, out, err = run_cli(capsys, "predict", tmp_path / "b" / "gan", "--input",
                             tmp_path / "noise.npy", "--json")
    assert code == 0, err
    np.testing.assert_allclose(np.array(json.loads(out)["images"]), generator(noise), atol=1e-5)
    np.save(tmp_path / "wide.npy", np.zeros((2, 5), "float32"))
    code, _, err = run_cli(capsys, "predict", tmp_path / "b" / "gan", "--input",
                           tmp_path / "wide.npy")
    assert code == 2 and "does not fit the model's input 'noise'" in err, err


@pytest.mark.parametrize("name", ["gan", "dcgan", "conditional_gan", "conditional_dcgan"])
def test_declared_default_params_match_the_built_generator(name):
    """Catches a `keras-dl list` count that is not the generator's at its defaults."""
    generator = keras_dl.create_model(name)
    assert keras_dl.model_info(name).default_params == generator.count_params()
    assert tuple(generator.outputs[0].shape[1:]) == (28, 28, 1)


def test_dcgan_takes_any_size_divisible_by_four_and_mirrors_its_discriminator():
    generator, discriminator = _pair("dcgan", input_shape=(12, 20, 3), filters=(8, 4),
                                     kernel_size=3)
    assert tuple(generator.outputs[0].shape[1:]) == (12, 20, 3)
    assert tuple(discriminator.inputs[0].shape[1:]) == (12, 20, 3)
    assert [discriminator.get_layer(f"discriminator_conv{i}").filters for i in (1, 2)] == [4, 8]
    assert not any(isinstance(layer, keras.layers.MaxPooling2D) for layer in discriminator.layers)
    with pytest.raises(ValueError, match="must be divisible by 4 for 2 stride-2 stages"):
        keras_dl.create_model("dcgan", input_shape=(10, 10, 1))
