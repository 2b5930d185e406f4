import numpy as np
import pytest

from keras_dl import visualize


def test_tile_images_places_tiles_row_by_row():
    images = np.stack([np.full((2, 3), i, "float32") for i in range(5)])
    mosaic = visualize.tile_images(images, grid=(2, 3), padding=1, normalize=None)
    assert mosaic.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert mosaic[0, 0] == 0 and mosaic[0, 4] == 1 and mosaic[3, 0] == 3 and mosaic[3, 4] == 4
    assert visualize.tile_images(images).shape == (2 * 2 + 1, 3 * 3 + 2)  # squarest grid: 2×3


def test_tile_images_normalises_each_tile():
    images = np.stack([np.array([[0.0, 1.0]]), np.array([[10.0, 30.0]])]).astype("float32")
    mosaic = visualize.tile_images(images, grid=(1, 2), padding=0)
    np.testing.assert_allclose(mosaic, [[0, 1, 0, 1]])
    with pytest.raises(ValueError, match="cannot hold 2 images"):
        visualize.tile_images(images, grid=(1, 1))


def test_kernel_images_take_one_column_per_unit():
    kernel = np.arange(12, dtype="float32").reshape(6, 2)  # 6 inputs (2×3 image), 2 units
    images = visualize.kernel_images(kernel, (2, 3))
    np.testing.assert_array_equal(images[1], kernel[:, 1].reshape(2, 3))
    with pytest.raises(ValueError, match="does not map images"):
        visualize.kernel_images(kernel, (3, 3))


def test_activity_rates_and_dead_units():
    activations = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    np.testing.assert_allclose(visualize.activity_rates(activations), [0.0, 0.5, 1.0])


def test_save_image_grid_writes_a_png(tmp_path):
    visualize.save_image_grid(np.random.default_rng(0).random((4, 5, 5)), tmp_path / "g.png", "t")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_figure_writes_closes_and_refuses_unknown_layouts(tmp_path):
    import matplotlib.pyplot as plt

    for tight in ("layout", "bbox"):
        figure, axis = plt.subplots()
        axis.plot([0, 1], [1, 0])
        visualize.save_figure(figure, tmp_path / f"{tight}.png", tight=tight)
        assert (tmp_path / f"{tight}.png").stat().st_size > 1000
        assert not plt.fignum_exists(figure.number)  # closed
    figure, _ = plt.subplots()
    with pytest.raises(ValueError, match="tight must be 'layout' or 'bbox', got 'loose'"):
        visualize.save_figure(figure, tmp_path / "x.png", tight="loose")
    plt.close(figure)
    assert not (tmp_path / "x.png").exists()
