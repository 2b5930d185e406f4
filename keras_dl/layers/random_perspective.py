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
    and `[0, distortion · (H − 1) / 2]` (the scheme of torchvision's `RandomPerspective`, with
    `distortion` for its `distortion_scale`). The output shows the whole input image inside
    the quadrilateral of the moved corners; the pixels outside it get `fill_value`. Each
    output pixel is sampled bilinearly from the input at the point where the inverse
    homography takes it; each image's homography comes in closed form from the four corner
    correspondences. Identity at inference.

    Below `distortion` 2/3 the moved corners always make a convex quadrilateral; beyond it a
    corner can cross the line through its two neighbours and fold it (about 1 draw in 11 at
    1.0), and the warp of such a draw is no longer a view of the image (the points it sends
    through infinity get the fill). torchvision draws whole-pixel offsets and warps half the
    images by default; this layer draws real offsets and warps every image.

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

    def build(self, input_shape):
        super().build(input_shape)
        if min(input_shape[1:3]) < 2:
            raise ValueError("RandomPerspective needs images of at least 2 × 2 pixels, got "
                             f"{input_shape[1]} × {input_shape[2]}")

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
    moved = ops.cast(moved, "float32")
    # the inverse homography takes each output pixel back to the unit square of the input
    inverse = _adjugate(_square_to_quad(moved))  # (batch, 3, 3), up to a scale
    xs, ys = ops.meshgrid(ops.arange(width, dtype="float32"),
                          ops.arange(height, dtype="float32"))
    grid = ops.stack([ops.reshape(xs, (-1,)), ops.reshape(ys, (-1,)),
                      ops.ones((height * width,), "float32")], axis=0)  # (3, H·W)
    mapped = ops.einsum("bij,jp->bip", inverse, grid)
    # Points on the far side of the homography's vanishing line (w of the other sign than at
    # the quadrilateral's centre) are not views of the image: they get the fill, as do all
    # points of a degenerate quadrilateral (w = 0 or NaN everywhere).
    centre = ops.mean(moved, axis=1)  # (batch, 2)
    w_centre = inverse[:, 2, 0] * centre[:, 0] + inverse[:, 2, 1] * centre[:, 1] + inverse[:, 2, 2]
    ahead = mapped[:, 2] * w_centre[:, None] > 0
    w = ops.where(ahead, mapped[:, 2], 1.0)
    x = ops.where(ahead, mapped[:, 0] / w * (width - 1), -2.0)  # -2: outside the image
    y = ops.where(ahead, mapped[:, 1] / w * (height - 1), -2.0)
    warped = _bilinear(ops.cast(images, "float32"), x, y, fill_value)
    return ops.cast(ops.reshape(warped, ops.shape(images)), images.dtype)


def _corners(height, width):
    """The corner pixels' (x, y): top left, top right, bottom right, bottom left."""
    return ops.convert_to_tensor(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], "float32")


def _square_to_quad(quad):
    """`(batch, 3, 3)` homographies taking the unit square's corners (0, 0), (1, 0), (1, 1),
    (0, 1) to the four points of `quad` (batch, 4, 2), in closed form (Heckbert 1989,
    "Fundamentals of Texture Mapping and Image Warping", the square-to-quadrilateral case):
    no linear solve, so a degenerate quadrilateral gives non-finite entries, not an error."""
    x0, x1, x2, x3 = (quad[:, i, 0] for i in range(4))
    y0, y1, y2, y3 = (quad[:, i, 1] for i in range(4))
    sx, sy = x0 - x1 + x2 - x3, y0 - y1 + y2 - y3
    dx1, dx2, dy1, dy2 = x1 - x2, x3 - x2, y1 - y2, y3 - y2
    denominator = dx1 * dy2 - dx2 * dy1
    g = (sx * dy2 - dx2 * sy) / denominator
    h = (dx1 * sy - sx * dy1) / denominator
    rows = [[x1 - x0 + g * x1, x3 - x0 + h * x3, x0],
            [y1 - y0 + g * y1, y3 - y0 + h * y3, y0],
            [g, h, ops.ones_like(g)]]
    return ops.stack([ops.stack(row, axis=-1) for row in rows], axis=1)


def _adjugate(m):
    """The adjugate of each 3 × 3 matrix of `m` (batch, 3, 3): its inverse times its
    determinant, which is the same homography and needs no division."""
    def cofactor(i, j):
        rows = [r for r in range(3) if r != i]
        cols = [c for c in range(3) if c != j]
        minor = (m[:, rows[0], cols[0]] * m[:, rows[1], cols[1]]
                 - m[:, rows[0], cols[1]] * m[:, rows[1], cols[0]])
        return minor if (i + j) % 2 == 0 else -minor
    # adj(m)[i, j] is the cofactor of m[j, i]
    return ops.stack([ops.stack([cofactor(j, i) for j in range(3)], axis=-1)
                      for i in range(3)], axis=1)


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
