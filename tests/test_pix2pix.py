"""pix2pix (Isola et al. 2017) and its L1-only baseline: the alternating half-steps, the
generator's loss (eq. 4), a run's sample grid and metrics, export and serving.

The networks themselves are in tests/test_pix2pix_networks.py; both registrations go through
the model contract (tests/test_model_contract.py). Tiny shapes: 8×8 images or 28×28 with 4
filters and 2 levels, 64 examples.
"""

import json

import keras
import numpy as np
import pytest
from _cli import run_cli
from _http import http

import keras_dl
from keras_dl import training
from keras_dl.models.pix2pix_training import Pix2PixTrainer, translation_generator_loss

TINY = {"input_shape": (8, 8, 1), "filters": 4}
RUN = dict(dataset="fashion_mnist_edges", limit=64, epochs=1, batch_size=32, verbose=0,
           lr_schedule="constant", builder_kwargs={"filters": 4, "depth": 2})


def _trainer(l1_weight=100.0):
    generator = keras_dl.create_model("pix2pix", l1_weight=l1_weight, **TINY)
    info = keras_dl.model_info("pix2pix")
    task = keras_dl.tasks.for_model("pix2pix")
    task.compile(generator, keras.optimizers.Adam(1e-2), info)
    return task.training_model(generator, info, lambda: keras.optimizers.Adam(1e-2))


def _values(weights):
    return [np.array(w) for w in weights]


def _same(before, weights):
    return all(np.array_equal(b, np.array(w)) for b, w in zip(before, weights, strict=True))


def test_each_half_step_updates_one_network_only():
    """Catches a discriminator step that moves the generator (fakes not stopped) and a
    generator step that moves the discriminator; and the paper's β₁ = 0.5 on both."""
    trainer = _trainer()
    assert isinstance(trainer, Pix2PixTrainer) and trainer.l1_weight == 100.0
    assert trainer.optimizer.beta_1 == trainer.generator_optimizer.beta_1 == 0.5
    rng = np.random.default_rng(0)
    inputs, targets = (rng.random((4, 8, 8, 1), dtype="float32") for _ in range(2))
    generator, discriminator = trainer.generator, trainer.discriminator
    g_before, d_before = _values(generator.trainable_weights), _values(
        discriminator.trainable_weights)
    values = trainer.discriminator_step(targets, inputs)
    assert _same(g_before, generator.trainable_weights)
    assert not _same(d_before, discriminator.trainable_weights)
    assert set(values) == {"d_loss", "real_score", "fake_score"}
    g_before, d_before = _values(generator.trainable_weights), _values(
        discriminator.trainable_weights)
    values = trainer.generator_step(targets, inputs)
    assert _same(d_before, discriminator.trainable_weights)
    assert not _same(g_before, generator.trainable_weights)
    assert set(values) == {"g_loss", "adversarial_loss", "l1_loss"}


def test_the_generator_loss_is_adversarial_plus_lambda_l1_on_every_patch():
    """Catches an L1 term left out or unweighted, and an adversarial term that reads one patch
    (or the mean logit) instead of averaging −log D over every patch logit."""
    p = np.array([0.1, 0.3, 0.5, 0.9], "float32").reshape(1, 2, 2, 1)  # D(x, G(x)) per patch
    logits = np.log(p / (1 - p))
    fakes = np.full((1, 2, 2, 1), 0.25, "float32")
    targets = np.array([0.0, 0.5, 1.0, 0.25], "float32").reshape(1, 2, 2, 1)
    adversarial = -np.mean(np.log(p))
    l1 = np.mean(np.abs(targets - fakes))  # (0.25 + 0.25 + 0.75 + 0) / 4
    total, got_adversarial, got_l1 = (float(keras.ops.convert_to_numpy(v)) for v in
                                      translation_generator_loss(logits, fakes, targets, 100.0))
    np.testing.assert_allclose([got_adversarial, got_l1], [adversarial, l1], rtol=1e-5)
    np.testing.assert_allclose(total, adversarial + 100 * l1, rtol=1e-5)
    losses = _trainer(l1_weight=10.0).generator_losses(logits, fakes, targets)
    np.testing.assert_allclose(float(losses["g_loss"]), adversarial + 10 * l1, rtol=1e-5)


def test_bad_weights_and_pair_less_data_are_refused_in_one_line():
    with pytest.raises(ValueError, match=r"^l1_weight must be a non-negative number, got -1$"):
        keras_dl.create_model("pix2pix", l1_weight=-1, **TINY)
    with pytest.raises(ValueError) as error:
        training.resolve_config("pix2pix", dataset="fashion_mnist")
    assert "has no target images (allowed: fashion_mnist_edges, fashion_mnist_inpainting)" \
        in str(error.value)
    with pytest.raises(ValueError, match="holds input images only"):
        _trainer().fit(np.zeros((2, 8, 8, 1), "float32"), epochs=1, verbose=0)


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    """pix2pix trained for one epoch on 64 edge/image pairs."""
    root = tmp_path_factory.mktemp("pix2pix")
    result = training.train("pix2pix", run_dir=root / "run", **RUN)
    return root, result


def test_a_run_writes_sample_grids_and_translation_metrics(pix2pix_run):
    """Catches a run without its grid (input | output | target rows) or its test metrics, and a
    checkpoint that does not load back as the trainer with its λ."""
    from PIL import Image

    root, result = pix2pix_run
    run = root / "run"
    with Image.open(run / "samples" / "epoch_001.png") as image:
        columns = min(8, result.metrics["validation_examples"])  # 6 of 64 pairs
        assert image.size == (columns * 29 - 1, 3 * 29 - 1)  # 3 rows, 1-pixel gaps
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 < metrics["test_l1"] < 1 and metrics["test_pixel_frechet_distance"] > 0
    assert {"d_loss", "g_loss", "l1_loss", "val_g_loss"} <= set(result.history[0])
    assert result.model.name == "pix2pix" and len(result.model.inputs) == 1
    best = keras.saving.load_model(run / "checkpoints" / "best.keras")
    assert isinstance(best, Pix2PixTrainer) and best.l1_weight == 100.0


def test_export_and_serving_round_trip_refuses_other_shapes(pix2pix_run, capsys):
    """Catches a served translator that answers an image of another size (or a 500)."""
    from keras_dl.export import ServedModel
    from keras_dl.serving import ModelServer

    root, result = pix2pix_run
    base = root / "saved_models"
    code, out, err = run_cli(capsys, "export", root / "run", "--base", base, "--name", "p2p")
    assert code == 0, err
    assert "input_image -> images" in out
    edges, _ = keras_dl.data.load_numpy("fashion_mnist_edges", "test", limit=3)
    expected = keras.ops.convert_to_numpy(result.model(edges, training=False))
    served = ServedModel(base / "p2p" / "1")
    np.testing.assert_allclose(served(edges)["images"], expected, atol=1e-5)
    message = ("input of shape (3, 8, 8, 1) does not fit the model's input 'input_image', "
               "which takes (batch, 28, 28, 1) or one example without the batch axis")
    with pytest.raises(ValueError) as error:
        served(np.zeros((3, 8, 8, 1), "float32"))
    assert str(error.value) == message

    with ModelServer(base, rest_port=0, grpc_port=0) as server:
        status, body = http(server, "POST", "/v1/models/p2p:predict",
                            {"instances": edges.tolist()})
        assert status == 200, body
        np.testing.assert_allclose(np.array(body["predictions"]), expected, atol=1e-5)
        status, body = http(server, "POST", "/v1/models/p2p:predict",
                            {"instances": np.zeros((1, 8, 8, 1)).tolist()})
        assert status == 400 and "does not fit the model's input 'input_image'" in body["error"]

    np.save(root / "small.npy", np.zeros((2, 8, 8, 1), "float32"))
    code, _, err = run_cli(capsys, "predict", base / "p2p", "--input", root / "small.npy")
    assert code == 2 and "does not fit the model's input 'input_image'" in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_the_l1_only_baseline_is_compiled_with_l1_and_evaluated_alike():
    """Catches the baseline compiled with another loss than L1 (eq. 3), or evaluated otherwise
    than pix2pix (the app compares their figures). Its training goes through the contract's
    fit step and the app's smoke run."""
    model = keras_dl.create_model("unet_translation", **TINY)
    task = keras_dl.tasks.for_model("unet_translation")
    assert task.image_targets and task.early_stopping
    assert not keras_dl.tasks.for_model("pix2pix").early_stopping
    info = keras_dl.model_info("unet_translation")
    task.compile(model, keras.optimizers.Adam(2e-4), info)
    assert model.loss == "mae" and model.optimizer.beta_1 == 0.5
    rng = np.random.default_rng(0)
    inputs, targets = (rng.random((6, 8, 8, 1), dtype="float32") for _ in range(2))
    scores = task.evaluate(model, keras_dl.data.to_dataset(inputs, targets, 4))
    outputs = keras.ops.convert_to_numpy(model(inputs, training=False))
    np.testing.assert_allclose(scores["l1"], np.mean(np.abs(outputs - targets)), rtol=1e-5)
    assert scores["pixel_frechet_distance"] > 0


def test_declared_default_params_match_the_built_u_net():
    """Catches a `keras-dl list` count that is not the U-Net's at its defaults (both models
    are the same network, so one build checks both)."""
    generator = keras_dl.create_model("pix2pix")
    assert tuple(generator.outputs[0].shape[1:]) == (28, 28, 1)
    for name in ("pix2pix", "unet_translation"):
        assert keras_dl.model_info(name).default_params == generator.count_params(), name


@pytest.mark.apps
def test_keras_dl_tune_searches_pix2pix_by_val_loss(tmp_path, capsys):
    """Catches a search that cannot build, train or rank the GAN pair: `keras-dl tune pix2pix`
    runs two trials from the registered search space, ranks them by the generator's
    validation loss and saves the best generator."""
    code, out, err = run_cli(capsys, "tune", "pix2pix", "--dataset", "fashion_mnist_edges",
                             "--max-trials", "2", "--epochs", "1", "--limit", "128",
                             "--objective", "val_loss", "--set", "depth=2",
                             "--dir", tmp_path / "search")
    assert code == 0, err
    table = out[out.index("rank  trial"):].splitlines()[1:3]  # the ranking after the search
    scores = [float(line.split()[2]) for line in table]
    assert len(scores) == 2 and scores[0] <= scores[1], out
    best = keras.models.load_model(tmp_path / "search" / "best" / "model.keras")
    assert tuple(best.outputs[0].shape[1:]) == (28, 28, 1)
    assert "filters" in json.loads(
        (tmp_path / "search" / "best" / "hyperparameters.json").read_text())
