"""`keras_dl.layers.rbm_to_conv2d`: an RBM on k×k patches as a convolution over a whole image."""

import keras
import numpy as np
import pytest

from keras_dl.data.patches import extract_patches
from keras_dl.layers import RBM, rbm_to_conv2d


def _rbm(side=3, units=4, visible="bernoulli"):
    """A built RBM with random (non-symmetric) weights and biases, so a transposed or flipped
    kernel, or a dropped bias, changes the answer."""
    rbm = RBM(units, visible=visible)
    rbm.build((None, side * side))
    rng = np.random.default_rng(1)
    rbm.kernel.assign(rng.normal(size=(side * side, units)).astype("float32"))
    rbm.hidden_bias.assign(rng.normal(size=units).astype("float32"))
    rbm.visible_bias.assign(rng.normal(size=side * side).astype("float32"))
    return rbm


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("output", ["probabilities", "preactivation"])
def test_conv_response_is_the_rbm_on_each_patch(output, visible):
    """Catches the kernel reshaped column by column (transposed patches), a flipped kernel
    (true convolution instead of the lecture's correlation), a missing hidden bias, and the
    wrong activation."""
    rbm = _rbm(visible=visible)
    image = np.random.default_rng(2).uniform(size=(6, 7)).astype("float32")
    maps = np.asarray(rbm_to_conv2d(rbm, 3, output=output)(image[None, :, :, None]))[0]
    assert maps.shape == (4, 5, 4)
    patches = extract_patches(image, 3, 1).reshape(-1, 9)  # corners row by row, as the maps
    probabilities = np.asarray(rbm.hidden_probabilities(patches))
    expected = (probabilities if output == "probabilities"
                else np.log(probabilities / (1 - probabilities)))
    np.testing.assert_allclose(maps.reshape(-1, 4), expected, rtol=1e-4, atol=1e-4)


def test_strides_skip_positions():
    """Catches `strides` ignored (every position computed)."""
    rbm = _rbm()
    image = np.random.default_rng(3).uniform(size=(7, 7)).astype("float32")
    maps = np.asarray(rbm_to_conv2d(rbm, (3, 3), strides=2)(image[None, :, :, None]))[0]
    patches = extract_patches(image, 3, 2).reshape(-1, 9)
    np.testing.assert_allclose(maps.reshape(-1, 4), rbm.hidden_probabilities(patches),
                               rtol=1e-5, atol=1e-5)


def test_the_conv_holds_a_copy_of_the_weights():
    """Catches the layer sharing the RBM's variables (later RBM training would move it)."""
    rbm = _rbm()
    conv = rbm_to_conv2d(rbm, 3)
    before = np.asarray(conv.kernel).copy()
    rbm.kernel.assign(np.zeros((9, 4), "float32"))
    np.testing.assert_array_equal(np.asarray(conv.kernel), before)


@pytest.mark.parametrize("make, patch_size, message", [
    (_rbm, 4,
     "patch_size 4 needs an RBM with 16 visible units, this one has 9; allowed: patch_size 3"),
    (_rbm, (3, 2), "patch_size must be square, an integer k or (k, k); got (3, 2)"),
    (_rbm, 0, "patch_size must be a positive integer k or (k, k), got 0"),
    (lambda: RBM(4), 3,
     "rbm must be a built keras_dl.layers.RBM (call or build it first); got RBM"),
    (lambda: keras.layers.Dense(3), 3, "rbm must be a built keras_dl.layers.RBM"),
])
def test_refuses_an_incompatible_patch_or_rbm(make, patch_size, message):
    """Catches a patch size that does not match the RBM reshaping into garbage (or crashing
    inside numpy with no word about the patch)."""
    with pytest.raises(ValueError) as error:
        rbm_to_conv2d(make(), patch_size)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_refuses_an_rbm_whose_visible_units_are_not_a_square():
    rbm = RBM(2)
    rbm.build((None, 10))
    with pytest.raises(ValueError, match="allowed: none: its visible units are not a square"):
        rbm_to_conv2d(rbm, 3)


def test_refuses_an_unknown_output():
    with pytest.raises(ValueError, match="output must be one of probabilities, preactivation; "
                                         "got 'logits'"):
        rbm_to_conv2d(_rbm(), 3, output="logits")
