"""Data augmentation: the spec parser, the preprocessing pipeline, and its use by the trainer
and `keras-dl train --augment` (training batches only, never in the model)."""

import json

import numpy as np
import pytest

from keras_dl import cli, training
from keras_dl.data import to_dataset
from keras_dl.data.augment import AUGMENTATIONS, build_augmentation, format_augment, parse_augment

FULL = ("flip,translate=0.1,rotate=10,shear=0.1,zoom=0.1,stretch=0.1,perspective=0.2,crop=4,"
        "contrast=0.2,noise=0.05,pca_jitter=0.1,erase=0.5")


def test_parse_full_spec_and_defaults():
    assert parse_augment(FULL) == {"flip": None, "translate": 0.1, "rotate": 10.0,
                                   "shear": 0.1, "zoom": 0.1, "stretch": 0.1,
                                   "perspective": 0.2, "crop": 4, "contrast": 0.2, "noise": 0.05,
                                   "pca_jitter": 0.1, "erase": 0.5}
    assert parse_augment("rotate,crop,erase") == {"rotate": 10.0, "crop": 4, "erase": 0.5}
    assert parse_augment("erase=1") == {"erase": 1.0}
    assert parse_augment(None) == {} and format_augment("") is None
    assert format_augment("crop=2, flip") == "crop=2,flip"


@pytest.mark.parametrize("spec, match", [
    ("flip,blur=3", "unknown augmentation 'blur'; allowed: flip, translate"),
    ("rotate=-5", "positive"),
    ("crop=2.5", "whole pixels"),
    ("translate=1.5", "fraction"),
    ("noise=abc", "needs a number"),
    ("flip=1", "flip takes no value"),
    ("perspective=2", "perspective is a distortion in \\(0, 1\\], got '2'"),
    ("stretch=1", "stretch is a fraction in \\(0, 1\\)"),
    ("erase=1.5", "erase is a probability in \\(0, 1\\], got '1.5'"),
])
def test_bad_specs_name_the_value_and_the_allowed_ones(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_augment(spec)


def test_pipeline_has_each_layer_and_changes_training_batches_only():
    images = np.random.default_rng(0).random((32, 16, 16, 3)).astype("float32")
    pipeline = build_augmentation(FULL, images=images, seed=1)
    names = [layer.name for layer in pipeline.layers]
    assert names == ["flip", "translate", "rotate", "shear", "zoom", "stretch", "perspective",
                     "crop", "contrast", "noise", "pca_jitter", "erase"]
    out = np.asarray(pipeline(images[:8], training=True))
    assert out.shape == images[:8].shape and not np.allclose(out, images[:8])
    for name in ("flip", "rotate", "perspective", "crop", "noise", "pca_jitter", "erase"):
        # identity at inference
        layer = pipeline.get_layer(name)
        np.testing.assert_allclose(layer(images[:2], training=False), images[:2], atol=1e-6)


def test_crop_pads_then_crops_back_to_size_and_shifts_each_image_on_its_own():
    images = np.zeros((16, 8, 8, 1), "float32")
    images[:, 3:5, 3:5, 0] = 1
    pipeline = build_augmentation("crop=2", input_shape=(8, 8, 1), seed=0)
    out = np.asarray(pipeline(images, training=True))
    assert out.shape == (16, 8, 8, 1)
    assert np.allclose(out.sum(axis=(1, 2, 3)), 4)  # the square is shifted, not cut
    # one batch: the images land at different places (Keras' RandomCrop moves them together)
    assert len({tuple(np.argwhere(o[..., 0])[0]) for o in out}) > 4


def test_stretch_changes_the_aspect_ratio_and_zoom_keeps_it():
    images = np.zeros((64, 32, 32, 1), "float32")
    images[:, 8:24, 8:24] = 1  # a 16 × 16 square

    def sides(spec):
        out = np.asarray(build_augmentation(spec, input_shape=(32, 32, 1), seed=0)(
            images, training=True))[..., 0] > 0.5
        return out.any(axis=2).sum(axis=1), out.any(axis=1).sum(axis=1)  # height, width

    height, width = sides("zoom=0.3")
    assert np.abs(height - width).max() <= 1 and height.std() > 1  # scaled, still square
    height, width = sides("stretch=0.3")
    assert (np.abs(height - width) >= 3).mean() > 0.4  # rectangles: sides scaled apart


def test_pca_jitter_refuses_grey_images():
    with pytest.raises(ValueError, match="pca_jitter needs RGB"):
        build_augmentation("pca_jitter", images=np.zeros((4, 8, 8, 1), "float32"))


def test_to_dataset_applies_augmentation():
    x = np.random.default_rng(0).random((8, 8, 8, 1)).astype("float32")
    y = np.arange(8)
    pipeline = build_augmentation("noise=0.5", input_shape=(8, 8, 1))
    (xb, yb), = list(to_dataset(x, y, 8, augment=pipeline))
    assert not np.allclose(xb, x)
    np.testing.assert_array_equal(yb, y)
    (xb, _), = list(to_dataset(x, y, 8))
    np.testing.assert_array_equal(xb, x)


def test_distributed_dataset_augments_training_batches_only():
    import tensorflow as tf

    from keras_dl import distribute

    x = np.random.default_rng(0).random((8, 8, 8, 1)).astype("float32")
    y = np.arange(8)
    pipeline = build_augmentation("noise=0.5", input_shape=(8, 8, 1))
    strategy = tf.distribute.get_strategy()
    data, steps = distribute.distributed_dataset(strategy, x, y, 8, augment=pipeline)
    xb, yb = next(iter(data))
    assert steps == 1 and not np.allclose(xb, x)
    np.testing.assert_array_equal(yb, y)
    data, _ = distribute.distributed_dataset(strategy, x, y, 8)
    np.testing.assert_array_equal(next(iter(data))[0], x)


@pytest.mark.slow
def test_trainer_records_augment_and_keeps_it_out_of_the_model(tmp_path):
    result = training.train("nin", dataset="digits", run_dir=tmp_path / "run", epochs=1,
                            batch_size=64, limit=200, verbose=0, augment="flip,crop=1,erase",
                            builder_kwargs={"width_multiplier": 0.0625, "dropout": 0.0})
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["augment"] == "flip,crop=1,erase=0.5"
    layer_types = {type(layer).__name__ for layer in result.model.layers}
    assert not layer_types & {"RandomFlip", "RandomPaddedCrop", "RandomErasing", "Sequential"}
    assert training.resolve_config("nin", dataset="digits")["augment"] is None


def test_old_run_dirs_without_augment_still_resume(tmp_path):
    from keras_dl.training.run_dir import prepare_run_dir

    config = training.resolve_config("nin", dataset="digits")
    old = {k: v for k, v in config.items() if k != "augment"}  # written before --augment
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(old))
    assert prepare_run_dir(run, config, overwrite=False) is True
    with pytest.raises(training.RunDirError, match="augment"):
        prepare_run_dir(run, {**config, "augment": "flip"}, overwrite=False)


def test_cli_rejects_bad_augment_with_exit_2(capsys, tmp_path):
    code = cli.main(["train", "nin", "--dataset", "digits", "--augment", "flip,blur",
                     "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "unknown augmentation 'blur'" in err[0] and ", ".join(AUGMENTATIONS) in err[0]
    assert not (tmp_path / "r").exists()
    code = cli.main(["train", "nin", "--dataset", "digits", "--augment", "pca_jitter",
                     "--run-dir", str(tmp_path / "r")])
    assert code == 2 and "needs RGB" in capsys.readouterr().err


def test_cli_help_names_every_augmentation():
    action = next(action for action in cli.build_parser()._subparsers._group_actions[0]
                  .choices["train"]._actions if "--augment" in action.option_strings)
    assert all(name in action.help for name in AUGMENTATIONS)
