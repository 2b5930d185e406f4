"""The CNN zoo's custom layers: LRN, stochastic depth, fractal join/drop-path, channel padding,
PCA colour jitter, per-image padded crops, random erasing and perspective distortion — their
formulas, their randomness, their configs."""

import keras
import numpy as np
import pytest

from keras_dl.layers import (
    ChannelPadding,
    FractalJoin,
    FractalPathSampler,
    LocalResponseNormalization,
    PCAColorJitter,
    RandomErasing,
    RandomPaddedCrop,
    RandomPerspective,
    StochasticDepth,
    linear_survival_probability,
    rgb_principal_components,
)


def _round_trip(layer):
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    return clone


# --- local response normalisation ------------------------------------------------------------


def test_lrn_matches_the_papers_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3, 3, 7)).astype("float32") * 10
    layer = LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-2, beta=0.75)
    got = np.asarray(layer(a))
    expected = np.empty_like(a)
    for c in range(7):
        lo, hi = max(0, c - 2), min(6, c + 2)
        denominator = (2.0 + 1e-2 * np.sum(a[..., lo:hi + 1] ** 2, axis=-1)) ** 0.75
        expected[..., c] = a[..., c] / denominator
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert layer.count_params() == 0
    _round_trip(layer)


def test_lrn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="depth_radius"):
        LocalResponseNormalization(depth_radius=-1)
    with pytest.raises(ValueError, match="beta"):
        LocalResponseNormalization(beta=-0.5)


# --- stochastic depth ------------------------------------------------------------------------


def test_linear_decay_rule():
    # Huang et al. 2016: p_l = 1 - l / L (1 - p_L); the last block has p_L
    assert linear_survival_probability(54, 54, 0.5) == pytest.approx(0.5)
    assert linear_survival_probability(27, 54, 0.5) == pytest.approx(0.75)
    assert linear_survival_probability(1, 54, 0.5) == pytest.approx(1 - 0.5 / 54)
    with pytest.raises(ValueError, match="block_index"):
        linear_survival_probability(0, 54)
    with pytest.raises(ValueError, match="final_probability"):
        linear_survival_probability(1, 54, 0.0)


def test_stochastic_depth_scales_the_residual_at_inference():
    shortcut = np.ones((3, 4), "float32")
    residual = np.full((3, 4), 2.0, "float32")
    layer = StochasticDepth(0.7)
    np.testing.assert_allclose(layer([shortcut, residual], training=False), 1 + 0.7 * 2)
    np.testing.assert_allclose(StochasticDepth(1.0)([shortcut, residual], training=True), 3.0)


def test_stochastic_depth_drops_whole_branch_per_batch_at_rate():
    layer = StochasticDepth(0.7, seed=3)
    shortcut = np.zeros((5, 2), "float32")
    residual = np.ones((5, 2), "float32")
    kept = []
    for _ in range(600):
        out = np.asarray(layer([shortcut, residual], training=True))
        assert np.all(out == out.flat[0])  # the whole mini-batch: kept or dropped together
        assert out.flat[0] in (0.0, 1.0)  # no rescaling while training
        kept.append(out.flat[0])
    # binomial(600, 0.7): standard deviation 0.0187; 4 sigma
    assert abs(np.mean(kept) - 0.7) < 0.075


def test_stochastic_depth_per_sample_scope_differs_across_examples():
    layer = StochasticDepth(0.5, scope="sample", seed=1)
    out = np.asarray(layer([np.zeros((400, 3), "float32"), np.ones((400, 3), "float32")],
                           training=True))
    assert np.all(out == out[:, :1])  # one draw per example
    assert 0.4 < out[:, 0].mean() < 0.6


def test_stochastic_depth_config_and_errors():
    _round_trip(StochasticDepth(0.8, scope="sample", seed=4))
    with pytest.raises(ValueError, match="survival_probability"):
        StochasticDepth(0.0)
    with pytest.raises(ValueError, match="scope"):
        StochasticDepth(0.5, scope="layer")


# --- channel padding -------------------------------------------------------------------------


def test_channel_padding_adds_zero_channels():
    x = np.random.default_rng(0).random((2, 3, 3, 4)).astype("float32")
    out = np.asarray(ChannelPadding(4)(x))
    assert out.shape == (2, 3, 3, 8)
    np.testing.assert_array_equal(out[..., 2:6], x)
    assert not out[..., :2].any() and not out[..., 6:].any()
    with pytest.raises(ValueError, match="extra"):
        ChannelPadding(-1)


# --- fractal join and drop-path --------------------------------------------------------------


def _branches():
    return [np.full((2, 2), float(value), "float32") for value in (1, 10, 100)]


def test_fractal_join_is_the_mean_at_inference():
    path = FractalPathSampler(3)(np.zeros((2, 5), "float32"), training=False)
    assert not np.asarray(path).any()
    join = FractalJoin([0, 1, 2])
    np.testing.assert_allclose(join(_branches() + [path], training=False), 37.0)
    _round_trip(join)


def test_local_drop_path_keeps_a_nonempty_subset_at_the_right_rate():
    join = FractalJoin([0, 1, 2], drop_probability=0.15, seed=2)
    local = np.zeros((2, 4), "float32")  # flag 0: local drop-path
    subsets = {1: 1, 10: 1, 100: 1, 5.5: 2, 50.5: 2, 55: 2, 37: 3}
    counts = {}
    for _ in range(500):
        value = float(np.asarray(join(_branches() + [local], training=True))[0, 0])
        size = next(n for v, n in subsets.items() if abs(value - v) < 1e-3)
        counts[size] = counts.get(size, 0) + 1
    assert counts.get(0, 0) == 0
    # all three kept: 0.85^3 = 0.614 (sd 0.0218 over 500 draws; 4 sigma)
    assert abs(counts[3] / 500 - 0.85 ** 3) < 0.087


def test_global_drop_path_passes_only_the_chosen_column():
    join = FractalJoin([1, 2], seed=0)
    chosen = np.zeros((2, 4), "float32")
    chosen[:, 0] = 1  # global
    chosen[:, 3] = 1  # column 2
    branches = [np.full((2, 2), 10.0, "float32"), np.full((2, 2), 100.0, "float32")]
    np.testing.assert_allclose(join(branches + [chosen], training=True), 100.0)
    other = np.zeros((2, 4), "float32")
    other[:, 0] = 1
    other[:, 1] = 1  # column 0: not an input of this join -> its mean (feeds dropped paths)
    np.testing.assert_allclose(join(branches + [other], training=True), 55.0)


def test_path_sampler_mixes_global_and_local_and_draws_columns_uniformly():
    sampler = FractalPathSampler(4, global_fraction=0.5, seed=5)
    rows = np.array([np.asarray(sampler(np.zeros((3, 1), "float32"), training=True))[0]
                     for _ in range(400)])
    assert np.all(rows[:, 1:].sum(axis=1) == 1)
    assert abs(rows[:, 0].mean() - 0.5) < 0.1  # 4 sigma of binomial(400, 0.5)
    assert np.all(np.abs(rows[:, 1:].mean(axis=0) - 0.25) < 0.087)  # 4 sigma, p = 0.25
    _round_trip(sampler)
    with pytest.raises(ValueError, match="num_columns"):
        FractalPathSampler(0)


def test_custom_layers_train_in_graph_mode():
    """A small network with every new layer runs a compiled (tf.function) training step."""
    inputs = keras.Input((8, 8, 3))
    path = FractalPathSampler(2, seed=1)(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = LocalResponseNormalization()(x)
    a = keras.layers.Conv2D(4, 3, padding="same")(x)
    b = keras.layers.Conv2D(4, 3, padding="same")(x)
    x = FractalJoin([0, 1], seed=2)([a, b, path])
    x = StochasticDepth(0.5, seed=3)([x, keras.layers.Conv2D(4, 3, padding="same")(x)])
    x = ChannelPadding(2)(x)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(np.random.rand(16, 8, 8, 3), np.arange(16) % 3, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


# --- PCA colour jitter -----------------------------------------------------------------------


def test_principal_components_of_rgb_pixels():
    rng = np.random.default_rng(0)
    direction = np.array([1.0, 1.0, 1.0]) / np.sqrt(3)
    pixels = rng.normal(size=(20000, 1)) * 0.3 * direction + rng.normal(size=(20000, 3)) * 0.01
    values, vectors = rgb_principal_components(pixels.reshape(100, 200, 3))
    assert values[0] == pytest.approx(0.09 + 1e-4, rel=0.05)
    assert values[1] < 1e-3 and values[0] >= values[1] >= values[2]
    assert abs(abs(vectors[:, 0] @ direction) - 1) < 1e-3


def test_pca_jitter_adds_one_offset_per_image_along_the_components():
    rng = np.random.default_rng(1)
    images = rng.random((50, 6, 6, 3)).astype("float32")
    layer = PCAColorJitter.from_images(images, stddev=0.5, seed=0)
    out = np.asarray(layer(images[:4], training=True))
    offset = out - images[:4]
    # the same RGB offset at every pixel of an image, a different one per image
    np.testing.assert_allclose(offset, offset[:, :1, :1, :] * np.ones_like(offset), atol=1e-6)
    assert not np.allclose(offset[0, 0, 0], offset[1, 0, 0])
    # offset = V (alpha * lambda): recover alpha and check its spread over many images
    vectors = np.array(layer.eigenvectors)
    values = np.array(layer.eigenvalues)
    many = np.asarray(layer(np.zeros((4000, 1, 1, 3), "float32"), training=True))[:, 0, 0, :]
    alpha = (many @ vectors) / values
    np.testing.assert_allclose(alpha.std(axis=0), 0.5, rtol=0.06)
    np.testing.assert_array_equal(layer(images[:2], training=False), images[:2])
    _round_trip(layer)


def test_pca_jitter_refuses_grey_images():
    with pytest.raises(ValueError, match="RGB"):
        rgb_principal_components(np.zeros((4, 5, 5, 1)))
    layer = PCAColorJitter(np.ones(3), np.eye(3))
    with pytest.raises(ValueError, match="3 channels"):
        layer(np.zeros((2, 5, 5, 1), "float32"))
    with pytest.raises(ValueError, match="eigenvectors"):
        PCAColorJitter(np.ones(3), np.eye(2))


def _augment_in_a_compiled_train_step(layer, x):
    """`layer`'s training and inference outputs for `x` from one XLA-compiled training step
    (forward, gradients, SGD update) of a small model whose first layer it is."""
    import tensorflow as tf

    inputs = keras.Input(x.shape[1:])
    augmented = layer(inputs)
    score = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(augmented))
    model = keras.Model(inputs, [augmented, score])
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def train_step(batch):
        with tf.GradientTape() as tape:
            training_output, prediction = model(batch, training=True)
            loss = tf.reduce_mean(tf.square(prediction))
        optimizer.apply(tape.gradient(loss, model.trainable_variables),
                        model.trainable_variables)
        return training_output, model(batch, training=False)[0]

    before = [np.array(w) for w in model.trainable_weights]
    training_output, inference_output = train_step(tf.constant(x))
    assert any(not np.array_equal(b, np.array(w))  # the step did train
               for b, w in zip(before, model.trainable_weights))
    for output in (training_output, inference_output):
        assert output.shape == x.shape and output.dtype == x.dtype
    return training_output.numpy(), inference_output.numpy()


# --- random crops of the zero-padded image ----------------------------------------------------


def test_padded_crop_takes_a_window_of_the_padded_image_at_each_images_own_offset():
    rng = np.random.default_rng(0)
    images = rng.random((400, 5, 6, 2)).astype("float32") + 1  # no zeros of their own
    layer = RandomPaddedCrop(2, seed=3)
    out = np.asarray(layer(images, training=True))
    assert out.shape == images.shape
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    offsets = []
    for image, crop in zip(padded, out):  # every crop is one window of its padded image
        found = [(dy, dx) for dy in range(5) for dx in range(5)
                 if np.array_equal(image[dy:dy + 5, dx:dx + 6], crop)]
        assert len(found) == 1
        offsets.append(found[0])
    counts = np.zeros((5, 5))
    for dy, dx in offsets:
        counts[dy, dx] += 1
    assert counts.min() > 0 and counts.max() < 35  # all 25 offsets, about 16 each
    np.testing.assert_array_equal(layer(images[:3], training=False), images[:3])
    np.testing.assert_array_equal(RandomPaddedCrop(0)(images[:3], training=True), images[:3])
    _round_trip(layer)


def test_padded_crop_compiles_in_a_training_graph_and_refuses_bad_arguments():
    """Catches a compiled training step whose crop returns its input or crops one fixed place
    (every image the same window), or that is not the identity at inference."""
    x = np.random.default_rng(1).random((8, 4, 5, 3)).astype("float32") + 1  # no zeros
    training, inference = _augment_in_a_compiled_train_step(RandomPaddedCrop(1, seed=0), x)
    np.testing.assert_array_equal(inference, x)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    offsets = []
    for image, crop in zip(padded, training):  # each output: one window of its padded input
        found = [(dy, dx) for dy in range(3) for dx in range(3)
                 if np.array_equal(image[dy:dy + 4, dx:dx + 5], crop)]
        assert len(found) == 1
        offsets.append(found[0])
    assert len(set(offsets)) > 1  # images shifted their own ways: not one fixed window
    assert not np.array_equal(training, x)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="non-negative integer"):
            RandomPaddedCrop(bad)
    with pytest.raises(ValueError, match="batches of images"):
        RandomPaddedCrop(1)(np.zeros((4, 4, 3), "float32"))


# --- random erasing ---------------------------------------------------------------------------


def _papers_rectangles(n, height, width, rng, area=(0.02, 0.4), r1=0.3):
    """Algorithm 1 of Zhong et al. (2020) as written: redraw until the rectangle fits."""
    sizes = []
    while len(sizes) < n:
        s_e = height * width * rng.uniform(*area)
        r_e = rng.uniform(r1, 1 / r1)
        h_e, w_e = int(round(np.sqrt(s_e * r_e))), int(round(np.sqrt(s_e / r_e)))
        x_e, y_e = int(rng.random() * width), int(rng.random() * height)
        if h_e >= 1 and w_e >= 1 and x_e + w_e <= width and y_e + h_e <= height:
            sizes.append((h_e, w_e))
    return np.array(sizes)


def test_random_erasing_erases_one_rectangle_per_image_as_the_paper_draws_them():
    images = np.full((3000, 28, 28, 1), 2.0, "float32")  # outside [0, 1]: erased pixels show
    layer = RandomErasing(0.5, seed=0)
    out = np.asarray(layer(images, training=True))
    erased = out[..., 0] != 2.0
    hit = erased.any(axis=(1, 2))
    assert 0.46 < hit.mean() < 0.54  # p = 0.5, each image on its own
    values = out[..., 0][erased]
    assert values.min() >= 0 and values.max() <= 1 and 0.27 < values.std() < 0.31  # U(0, 1)
    sizes, corners = [], set()
    for mask in erased[hit]:
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        assert mask.sum() == h * w  # one solid rectangle inside the image
        sizes.append((h, w))
        corners.add((rows[0], cols[0]))
    sizes = np.array(sizes)
    assert len(corners) > 200  # placed anywhere, not at a few fixed spots
    fractions = sizes.prod(axis=1) / 784
    assert fractions.min() > 0.01 and fractions.max() < 0.45
    ratios = sizes[:, 0] / sizes[:, 1]
    # r_e in [0.3, 1 / 0.3], widened a little by rounding small rectangles to whole pixels
    assert ratios.min() >= 0.2 and ratios.max() <= 4.5
    # the same distribution as the paper's redraw-until-it-fits loop; r_e uniform (not
    # log-uniform) makes about three rectangles in four taller than wide
    reference = _papers_rectangles(4000, 28, 28, np.random.default_rng(1))
    reference_ratios = reference[:, 0] / reference[:, 1]
    assert abs(fractions.mean() - reference.prod(axis=1).mean() / 784) < 0.012
    assert abs(np.median(ratios) - np.median(reference_ratios)) < 0.15
    assert abs((ratios > 1).mean() - (reference_ratios > 1).mean()) < 0.05
    _round_trip(layer)


def test_random_erasing_is_identity_at_inference_and_honours_its_settings():
    rng = np.random.default_rng(0)
    images = rng.random((64, 10, 12, 3)).astype("float32") + 2
    np.testing.assert_array_equal(RandomErasing(1.0, seed=0)(images, training=False), images)
    np.testing.assert_array_equal(RandomErasing(0.0, seed=0)(images, training=True), images)
    out = np.asarray(RandomErasing(1.0, fill_value=0.0, seed=0)(images, training=True))
    changed = out != images
    assert changed.any(axis=(1, 2, 3)).all()  # p = 1: every image
    assert (out[changed] == 0).all()  # the constant fill
    assert (changed.all(axis=-1) == changed.any(axis=-1)).all()  # whole pixels, all channels
    out = np.asarray(RandomErasing(1.0, area=(0.25, 0.25), aspect_ratio=1.0, seed=0)(
        np.full((8, 8, 8, 1), 2.0, "float32"), training=True))
    assert ((out != 2.0).sum(axis=(1, 2, 3)) == 16).all()  # a 4×4 square in each
    clone = _round_trip(RandomErasing(0.3, area=(0.1, 0.2), aspect_ratio=0.5,
                                      value_range=(-1, 1), fill_value=0.5, seed=4))
    assert clone.area == (0.1, 0.2) and clone.value_range == (-1.0, 1.0)


def test_random_erasing_compiles_in_a_training_graph_and_refuses_bad_arguments():
    import tensorflow as tf

    layer = RandomErasing(1.0, fill_value=-1.0, seed=0)
    erase = tf.function(lambda x: layer(x, training=True), jit_compile=True)
    out = erase(tf.random.uniform((6, 16, 16, 3))).numpy()
    assert out.shape == (6, 16, 16, 3) and ((out == -1).sum(axis=(1, 2, 3)) > 0).all()
    for kwargs, match in [({"probability": 1.5}, "probability"),
                          ({"probability": True}, "probability"),
                          ({"area": (0.5, 0.2)}, "area"), ({"area": (0, 0.2)}, "area"),
                          ({"aspect_ratio": 2.0}, "aspect_ratio"),
                          ({"value_range": (1, 0)}, "value_range"),
                          ({"fill_value": "mean"}, "fill_value")]:
        with pytest.raises(ValueError, match=match):
            RandomErasing(**kwargs)
    with pytest.raises(ValueError, match="batches of images"):
        RandomErasing()(np.zeros((4, 4, 3), "float32"))


# --- perspective distortion -------------------------------------------------------------------


def _reference_warp(image, moved):
    """The warp by hand: solve for the homography taking the moved corners back to the
    image's corners, then sample each output pixel bilinearly (zeros outside)."""
    height, width, channels = image.shape
    corners = [(0, 0), (width - 1, 0), (width - 1, height - 1), (0, height - 1)]
    rows, values = [], []
    for (x, y), (u, v) in zip(moved, corners):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        values += [u, v]
    h = np.append(np.linalg.solve(np.array(rows, float), np.array(values, float)), 1)
    h = h.reshape(3, 3)
    out = np.zeros_like(image)
    for row in range(height):
        for col in range(width):
            u, v, w = h @ [col, row, 1]
            u, v = u / w, v / w
            for xi in (np.floor(u), np.floor(u) + 1):
                for yi in (np.floor(v), np.floor(v) + 1):
                    if 0 <= xi < width and 0 <= yi < height:
                        weight = (1 - abs(u - xi)) * (1 - abs(v - yi))
                        out[row, col] += weight * image[int(yi), int(xi)]
    return out


def test_perspective_warp_matches_the_homography_worked_by_hand():
    from keras_dl.layers.random_perspective import warp_corners

    rng = np.random.default_rng(0)
    images = rng.random((2, 9, 11, 2)).astype("float32")
    corners = np.array([[0, 0], [10, 0], [10, 8], [0, 8]], "float32")
    np.testing.assert_allclose(warp_corners(images, np.stack([corners, corners])), images,
                               atol=1e-5)  # corners where they were: the identity
    moved = np.array([[[1.5, 0.7], [9.2, 2.0], [8.1, 7.4], [2.2, 6.9]],
                      [[0.3, 2.6], [10.0, 0.0], [7.0, 8.0], [1.0, 5.5]]], "float32")
    got = np.asarray(warp_corners(images, moved))
    for image, corners_to, out in zip(images, moved, got):
        np.testing.assert_allclose(out, _reference_warp(image, corners_to), atol=1e-4)


def test_random_perspective_moves_each_images_corners_inwards_on_its_own():
    ones = np.ones((64, 28, 28, 1), "float32")
    layer = RandomPerspective(0.5, fill_value=-1.0, seed=0)
    out = np.asarray(layer(ones, training=True))
    assert out.shape == ones.shape
    assert (out[:, 10:18, 10:18] > 0.999).all()  # the middle stays inside the warped image
    # a corner moves inwards by at most 0.5 · 13.5 px in x and y: beyond that, always inside
    assert (out[:, 7:21, 7:21] > -1).all()
    outside = (out < 0).sum(axis=(1, 2, 3))
    assert (outside > 0).mean() > 0.9 and len(set(outside.tolist())) > 40  # each its own
    assert out.min() >= -1 - 1e-5 and out.max() <= 1 + 1e-5  # bilinear: between fill and ones
    np.testing.assert_array_equal(layer(ones[:2], training=False), ones[:2])
    np.testing.assert_array_equal(RandomPerspective(0.0)(ones[:2], training=True), ones[:2])
    clone = _round_trip(layer)
    assert (clone.distortion, clone.fill_value) == (0.5, -1.0)


def test_random_perspective_stays_finite_when_large_distortions_fold_the_corners():
    rng = np.random.default_rng(0)
    images = rng.random((512, 12, 12, 1)).astype("float32")
    out = np.asarray(RandomPerspective(1.0, fill_value=-1.0, seed=0)(images, training=True))
    assert np.isfinite(out).all() and out.min() >= -1 - 1e-5 and out.max() <= 1 + 1e-5
    from keras_dl.layers.random_perspective import warp_corners

    folded = np.array([[[5.5, 5.5], [5.5, 0.0], [11.0, 11.0], [0.0, 5.5]]], "float32")
    degenerate = np.full((1, 4, 2), 5.5, "float32")  # every corner at the centre
    for moved in (folded, degenerate):
        out = np.asarray(warp_corners(images[:1], moved, fill_value=-1.0))
        assert np.isfinite(out).all()
    assert (out == -1).all()  # nothing of the image survives a point-sized quadrilateral


def test_random_perspective_compiles_in_a_training_graph_and_refuses_bad_arguments():
    """Catches a compiled training step whose warp is the identity, the same for every image,
    per channel, or not inwards (the middle must stay the image), or that is not the identity
    at inference."""
    ones = np.ones((6, 12, 12, 3), "float32")
    layer = RandomPerspective(0.3, fill_value=-1.0, seed=0)
    training, inference = _augment_in_a_compiled_train_step(layer, ones)
    np.testing.assert_array_equal(inference, ones)
    assert np.isfinite(training).all()
    assert training.min() >= -1 - 1e-5 and training.max() <= 1 + 1e-5
    np.testing.assert_allclose(training[:, 3:9, 3:9], 1.0, atol=1e-5)  # inside every warp
    assert (training < 1 - 1e-3).any(axis=(1, 2, 3)).all()  # every image warped: fill shows
    assert len({image.tobytes() for image in training}) == 6  # each its own homography
    np.testing.assert_array_equal(training[..., 1:], np.repeat(training[..., :1], 2, axis=-1))
    for kwargs, match in [({"distortion": 1.5}, "distortion"), ({"distortion": -0.1},
                                                                 "distortion"),
                          ({"distortion": "0.2"}, "distortion"), ({"fill_value": None},
                                                                  "fill_value")]:
        with pytest.raises(ValueError, match=match):
            RandomPerspective(**kwargs)
    with pytest.raises(ValueError, match="batches of images"):
        RandomPerspective()(np.zeros((4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="at least 2 × 2 pixels, got 1 × 5"):
        RandomPerspective()(np.zeros((4, 1, 5, 3), "float32"))
