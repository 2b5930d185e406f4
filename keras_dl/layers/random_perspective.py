"""Random perspective distortion: each image's corners pulled inwards by random amounts."""

import keras
from keras import ops

from keras_dl.layers.image_augmentation import ImageAugmentation, is_number


@keras.saving.register_keras_serializable(package="keras_dl")
class RandomPerspective(ImageAugmentation):
    """Warps each image by its own random projective transformation (a homography), as if
    seen from another viewpoint: lecture 004's "perspective distortion".

    Each of the four corners of the image moves inwards by a random amount, drawn uniformly
    and separately for its horizontal and vertical offset from `[0, distortion · (W − 1) / 2]`
    and `[0, distortion · (H − 1) / 2]` (as torchvision's `RandomPerspective` draws them, with
    `distortion` for its `distortion_scale`). The output shows the whole input image inside
    the quadrilateral of the moved corners; the pixels outside it get `fill_value`. Each
    output pixel is sampled bilinearly from the input at the point where the inverse
    homography takes it; the 8 parameters of each image's homography come from the four
    corner correspondences (one 8 × 8 linear system per image). Identity at inference.

    Keras' own `keras.layers.RandomPerspective` (3.15) moves each corner by a fraction of its
    own coordinates, so the top-left corner never moves, and it declares `supports_jit =
    False`; this layer moves all four corners and compiles under XLA.

    Args:
        distortion: the largest inward shift of a corner, as a fraction of half the image's
            width (horizontally) and height (vertically), in [0, 1]; 0 is identity.
        fill_value: the value of output pixels outside the warped image.
        seed: seed of the layer's `SeedGenerator`.

    Example:
    ```python
    perspective = RandomPerspective(0.3)
    augmented = perspective(batch, training=True)   # each image warped its own way
    ```
    """

    def __init__(self, distortion=0.2, fill_value=0.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not is_number(distortion) or not 0 <= distortion <= 1:
            raise ValueError(f"distortion must be a number in [0, 1], got {distortion!r}")
        if not is_number(fill_value):
            raise ValueError(f"fill_value must be a number, got {fill_value!r}")
        self.distortion = float(distortion)
        self.fill_value = float(fill_value)

    def call(self, inputs, training=False):
        if not training or self.distortion == 0:
            return inputs
        _, height, width, _ = inputs.shape
        batch = ops.shape(inputs)[0]
        corners = _corners(height, width)
        inwards = ops.convert_to_tensor([[1, 1], [-1, 1], [-1, -1], [1, -1]], "float32")
        reach = ops.convert_to_tensor([width - 1, height - 1], "float32") * self.distortion / 2
        shifts = keras.random.uniform((batch, 4, 2), seed=self.seed_generator) * reach
        moved = corners[None] + inwards[None] * shifts  # where the corners land, (batch, 4, 2)
        return warp_corners(inputs, moved, self.fill_value)

    def get_config(self):
        config = super().get_config()
        config.update({"distortion": self.distortion, "fill_value": self.fill_value})
        return config


def warp_corners(images, moved, fill_value=0.0):
    """`images` (batch, H, W, C) warped so that their corners (0, 0), (W-1, 0), (W-1, H-1),
    (0, H-1) land on `moved` (batch, 4, 2) of (x, y) points; `fill_value` outside."""
    _, height, width, _ = images.shape
    corners = _corners(height, width)
    moved = ops.cast(moved, "float32")
    # the homography taking each output point (a moved corner) back to its input corner
    homography = _homography(moved, ops.broadcast_to(corners[None], ops.shape(moved)))
    xs, ys = ops.meshgrid(ops.arange(width, dtype="float32"),
                          ops.arange(height, dtype="float32"))
    grid = ops.stack([ops.reshape(xs, (-1,)), ops.reshape(ys, (-1,)),
                      ops.ones((height * width,), "float32")], axis=0)  # (3, H·W)
    mapped = ops.einsum("bij,jp->bip", homography, grid)
    x, y = mapped[:, 0] / mapped[:, 2], mapped[:, 1] / mapped[:, 2]  # (batch, H·W)
    warped = _bilinear(ops.cast(images, "float32"), x, y, fill_value)
    return ops.cast(ops.reshape(warped, ops.shape(images)), images.dtype)


def _corners(height, width):
    """The corner pixels' (x, y): top left, top right, bottom right, bottom left."""
    return ops.convert_to_tensor(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], "float32")


def _homography(points, targets):
    """`(batch, 3, 3)` matrices H with H·(x, y, 1) ∝ (u, v, 1) for the four pairs of
    `points` (x, y) and `targets` (u, v), both `(batch, 4, 2)`; H[2, 2] = 1."""
    x, y = points[..., 0], points[..., 1]
    u, v = targets[..., 0], targets[..., 1]
    zero, one = ops.zeros_like(x), ops.ones_like(x)
    rows_u = ops.stack([x, y, one, zero, zero, zero, -u * x, -u * y], axis=-1)
    rows_v = ops.stack([zero, zero, zero, x, y, one, -v * x, -v * y], axis=-1)
    system = ops.concatenate([rows_u, rows_v], axis=1)  # (batch, 8, 8)
    values = ops.concatenate([u, v], axis=1)[..., None]  # (batch, 8, 1)
    parameters = ops.solve(system, values)[..., 0]  # (batch, 8)
    full = ops.concatenate([parameters, ops.ones_like(parameters[:, :1])], axis=1)
    return ops.reshape(full, (-1, 3, 3))


def _bilinear(images, x, y, fill_value):
    """`images` (batch, H, W, C) sampled at the points `x`, `y` (batch, P): (batch, P, C),
    bilinear between the four nearest pixels, `fill_value` beyond the image."""
    _, height, width, channels = images.shape
    batch = ops.shape(images)[0]
    pixels = ops.reshape(images, (-1, channels))
    first = (ops.arange(batch, dtype="int32") * (height * width))[:, None]
    x0, y0 = ops.floor(x), ops.floor(y)
    result = 0.0
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        xi, yi = x0 + dx, y0 + dy
        weight = (1 - ops.abs(x - xi)) * (1 - ops.abs(y - yi))  # (batch, P)
        inside = (xi >= 0) & (xi <= width - 1) & (yi >= 0) & (yi <= height - 1)
        index = (first + ops.cast(ops.clip(yi, 0, height - 1), "int32") * width
                 + ops.cast(ops.clip(xi, 0, width - 1), "int32"))
        value = ops.where(inside[..., None], ops.take(pixels, index, axis=0), fill_value)
        result = result + weight[..., None] * value
    return result
