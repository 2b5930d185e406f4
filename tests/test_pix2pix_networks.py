"""The pix2pix networks: the U-Net generator and the conditional PatchGAN discriminator."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dl.models.pix2pix import (
    full_depth,
    patchgan_discriminator,
    receptive_field,
    unet_generator,
)


@pytest.mark.parametrize("shape, depth", [((28, 28, 1), None), ((28, 28, 1), 2),
                                          ((32, 32, 3), 3)])
def test_unet_gives_an_image_of_the_input_size_in_unit_range(shape, depth):
    generator = unet_generator(shape, filters=4, depth=depth, seed=0)
    images = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    output = generator(images, training=True).numpy()
    assert output.shape == (2, *shape[:2], 1)
    assert 0 <= output.min() and output.max() <= 1
    names = {layer.name for layer in generator.layers}
    assert {"down1_conv", "up1_deconv", "up1_skip", "output"} <= names
    assert "down1_bn" not in names  # no BatchNorm on the first layer (the paper)
    assert generator.layers[-1].name == "output"
    assert ("pad" in names) == (depth is None and shape[0] == 28)  # 28 → 32 at full depth 5


def test_unet_full_depth_and_channels():
    assert full_depth((256, 256, 3)) == 8 and full_depth((28, 28, 1)) == 5
    assert full_depth((64, 64, 1)) == 6
    generator = unet_generator((28, 28, 1), filters=4, output_channels=3)
    assert generator.get_layer("down5_conv").output.shape[1:] == (1, 1, 32)  # 1×1, 8 × filters
    assert generator.output.shape[1:] == (28, 28, 3)


def test_unet_skip_connections_carry_the_input_past_the_bottleneck():
    generator = unet_generator((28, 28, 1), filters=4, depth=3, seed=0)
    bottleneck = generator.get_layer("down3_conv")
    bottleneck.set_weights([np.zeros_like(w) for w in bottleneck.get_weights()])
    through_bottleneck = keras.Model(generator.input, generator.get_layer("down3_lrelu").output)
    a, b = np.random.default_rng(1).random((2, 1, 28, 28, 1), dtype=np.float32)
    assert not through_bottleneck(a).numpy().any()  # nothing passes the bottleneck
    assert np.abs(generator(a).numpy() - generator(b).numpy()).max() > 1e-3  # by the skips


@pytest.mark.parametrize("shape, target, layers, grid", [
    ((28, 28, 1), (28, 28, 1), None, (14, 14)),  # 16×16 patches on 28×28
    ((32, 32, 1), (32, 32, 3), 2, (8, 8)),
    ((64, 64, 3), None, None, (16, 16)),  # layers 2: 34×34 patches
])
def test_patchgan_gives_a_grid_of_logits(shape, target, layers, grid):
    discriminator = patchgan_discriminator(shape, target, filters=4, layers=layers)
    target = target or shape
    logits = discriminator([np.zeros((2, *shape)), np.ones((2, *target))])
    assert tuple(logits.shape) == (2, *grid, 1)
    assert discriminator.get_layer("patch_logits").get_config()["activation"] == "linear"


@pytest.mark.parametrize("layers", [1, 2])
def test_patchgan_logit_sees_its_receptive_field(layers):
    discriminator = patchgan_discriminator((80, 80, 1), filters=2, layers=layers, seed=0)
    condition = tf.Variable(np.random.default_rng(0).random((1, 80, 80, 1), dtype=np.float32))
    with tf.GradientTape() as tape:
        logits = discriminator([condition, tf.zeros((1, 80, 80, 1))])
        middle = logits.shape[1] // 2
        centre = logits[0, middle, middle, 0]
    gradient = tape.gradient(centre, condition).numpy()[0, :, :, 0]
    rows = np.flatnonzero(np.abs(gradient).sum(axis=1))
    cols = np.flatnonzero(np.abs(gradient).sum(axis=0))
    assert len(rows) == len(cols) == receptive_field(layers)  # 16, 34
    assert receptive_field(3) == 70  # the paper's 70×70 PatchGAN


def test_bad_shapes_are_refused_in_one_line():
    cases = [
        (lambda: unet_generator((28, 28)), "input_shape must be 3 positive integers"),
        (lambda: unet_generator((28, 28, 1), depth=6), "depth must be 1..5 for a 28×28"),
        (lambda: unet_generator((1, 28, 1)), "at least 2"),
        (lambda: patchgan_discriminator((28, 28, 1), (32, 32, 1)),
         "target_shape \\(32, 32, 1\\) must have input_shape's height and width"),
        (lambda: patchgan_discriminator((28, 28, 1), layers=0), "layers must be a positive"),
    ]
    for build, message in cases:
        with pytest.raises(ValueError, match=message) as error:
            build()
        assert "\n" not in str(error.value)
