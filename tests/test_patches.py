"""Patch extraction and reassembly (`keras_dl.data.patches`), lecture 003's "RBM for an image"."""

import numpy as np
import pytest

from keras_dl.data.patches import assemble_patches, extract_patches, grey_photograph


def _image(height=7, width=9):
    return np.random.default_rng(0).uniform(size=(height, width))


@pytest.mark.parametrize("size, stride", [(3, 3), (3, 2), (3, 1), (4, 3)])
def test_identity_model_reassembles_the_image(size, stride):
    """Catches overlaps summed instead of averaged, a patch put back at the wrong place, and
    pixels past the last full stride left uncovered (7×9 is no multiple of 3 or 4)."""
    image = _image()
    patches = extract_patches(image, size, stride)
    np.testing.assert_allclose(assemble_patches(patches, image.shape, stride), image)


def test_patches_are_the_image_slices_row_by_row():
    """Catches patches cut column by column or transposed, and a missing edge-flush patch."""
    image = _image()
    patches = extract_patches(image, 3, 2)
    # corners: rows 0, 2, 4 (flush with the edge at 7 - 3 = 4); columns 0, 2, 4, 6
    assert patches.shape == (12, 3, 3)
    np.testing.assert_array_equal(patches[1], image[0:3, 2:5])
    np.testing.assert_array_equal(patches[4], image[2:5, 0:3])
    np.testing.assert_array_equal(patches[-1], image[4:7, 6:9])


def test_overlapping_patches_are_averaged():
    """Catches a pixel covered twice taking one patch's value (the last, or the first)."""
    patches = np.stack([np.zeros((2, 2)), np.ones((2, 2))])  # corners (0, 0) and (0, 1)
    image = assemble_patches(patches, (2, 3), stride=1)
    np.testing.assert_allclose(image, [[0, 0.5, 1], [0, 0.5, 1]])


@pytest.mark.parametrize("call, message", [
    (lambda: extract_patches(_image(), 8, 2),
     "patch size 8 is larger than the 7×9 image; allowed: 1 to 7"),
    (lambda: extract_patches(_image(), 3, 0), "patch stride must be a positive integer, got 0"),
    (lambda: extract_patches(_image(), 3, -1), "patch stride must be a positive integer, got -1"),
    (lambda: extract_patches(_image(), 0), "patch size must be a positive integer, got 0"),
    (lambda: extract_patches(np.zeros((4, 4, 3)), 2),
     "2-D grey image (height, width), got shape (4, 4, 3)"),
    (lambda: assemble_patches(np.zeros((5, 3, 3)), (7, 9), 3),
     "5 patches do not tile a (7, 9) image with stride 3; it takes 9"),
    (lambda: assemble_patches(np.zeros((12, 3, 3)), (7, 9), 3),
     "12 patches do not tile a (7, 9) image with stride 3; it takes 9"),
    (lambda: assemble_patches(np.zeros((9, 3, 2)), (7, 9), 3),
     "patches must have shape (n, k, k), got (9, 3, 2)"),
    (lambda: grey_photograph("dog"), "unknown photograph 'dog'; allowed: china, flower"),
    (lambda: grey_photograph("china", size=300),
     "photograph size 300 is larger than the halved photograph (213×320); allowed: 1 to 213"),
])
def test_bad_input_is_one_line_naming_the_value(call, message):
    """Catches bad sizes, strides and shapes going through (to an empty or garbled image)."""
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value) and "\n" not in str(error.value)


def test_grey_photograph_is_a_centre_crop_in_unit_range():
    """Catches RGB kept, values left in 0-255, grey levels that are not the ITU-R 601 luma, and
    a crop that is not the halved centre."""
    from sklearn.datasets import load_sample_image

    full = grey_photograph("china")
    red, green, blue = load_sample_image("china.jpg")[100, 200].astype(float) / 255
    assert abs(full[100, 200] - (0.299 * red + 0.587 * green + 0.114 * blue)) < 1e-6
    crop = grey_photograph("china", size=20)
    assert full.shape == (427, 640) and crop.shape == (20, 20)
    assert 0 <= full.min() and full.max() <= 1 and full.std() > 0.05
    top, left = 2 * ((213 - 20) // 2), 2 * ((320 - 20) // 2)
    expected = full[top:top + 40, left:left + 40].reshape(20, 2, 20, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(crop, expected, atol=1e-6)
