"""An RBM trained on k×k image patches, slid over a whole image: a `Conv2D` (lecture 003).

Lecture 003's "Feature maps for an image using RBM" applies the 49 hidden units of an RBM
trained on 10×10 patches at every position of a photograph, giving 49 feature maps, which it
then max- and average-pools. A hidden unit's pre-activation on the patch at `(i, j)` is

    c_u + Σ_kl W[(k, l), u] X[i + k, j + l]

which is the lecture's convolution `A_ij = Σ_kl W_kl X_{i+k, j+l}` (Keras' `Conv2D`, a
cross-correlation) with the unit's weights as kernel and its hidden bias as bias.
`rbm_to_conv2d` builds that layer from a trained `keras_dl.layers.RBM`, so
`conv(image)[0, i, j, u]` is `rbm.hidden_probabilities(patch_ij)[u]` (or its pre-activation).

```python
conv = keras_dl.layers.rbm_to_conv2d(rbm, patch_size=10)   # RBM on flattened 10×10 patches
feature_maps = conv(image[None, :, :, None])              # (1, H - 9, W - 9, 49)
```
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np

OUTPUTS = ("probabilities", "preactivation")


def _square_patch(patch_size):
    """The side k of a square patch given as `k` or `(k, k)`; `ValueError` otherwise."""
    if isinstance(patch_size, (tuple, list)):
        if len(patch_size) != 2 or patch_size[0] != patch_size[1]:
            raise ValueError(f"patch_size must be square, an integer k or (k, k); "
                             f"got {tuple(patch_size)!r}")
        patch_size = patch_size[0]
    if (not isinstance(patch_size, numbers.Integral) or isinstance(patch_size, bool)
            or patch_size < 1):
        raise ValueError(f"patch_size must be a positive integer k or (k, k), got {patch_size!r}")
    return int(patch_size)


def rbm_to_conv2d(rbm, patch_size, output="probabilities", strides=1, name=None):
    """A built `Conv2D` that applies a trained RBM's hidden units to every patch of an image.

    Args:
        rbm: a built `keras_dl.layers.RBM` whose visible units are a flattened (row by row)
            `patch_size`×`patch_size` grey patch, as `keras_dl.data.patches.extract_patches`
            cuts them.
        patch_size: the patch's side k, or `(k, k)`; k² must equal the RBM's visible units.
        output: "probabilities" (sigmoid activation: `Q(h = 1 | patch)`) or "preactivation"
            (no activation: `c + patch·W`).
        strides: the convolution's stride (1: a feature map value at every position).
        name: the layer's name.

    Returns:
        A `keras.layers.Conv2D` with `units` filters of shape (k, k, 1), "valid" padding, built
        for one-channel images of any size, holding copies of the RBM's kernel and hidden bias
        (later training of the RBM does not change it).
    """
    side = _square_patch(patch_size)
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}; got {output!r}")
    kernel = getattr(rbm, "kernel", None)
    if kernel is None or not hasattr(rbm, "hidden_bias"):
        raise ValueError(f"rbm must be a built keras_dl.layers.RBM (call or build it first); "
                         f"got {type(rbm).__name__}")
    kernel = np.asarray(kernel)
    visible_units, units = kernel.shape
    if visible_units != side * side:
        root = math.isqrt(visible_units)
        allowed = (f"patch_size {root}" if root * root == visible_units
                   else "none: its visible units are not a square number")
        raise ValueError(f"patch_size {side} needs an RBM with {side * side} visible units, "
                         f"this one has {visible_units}; allowed: {allowed}")
    conv = keras.layers.Conv2D(units, side, strides=strides, padding="valid",
                               activation="sigmoid" if output == "probabilities" else None,
                               name=name)
    conv.build((None, None, None, 1))
    # row-major flattening of the patch: visible unit r·k + c is pixel (r, c)
    conv.set_weights([kernel.reshape(side, side, 1, units), np.asarray(rbm.hidden_bias)])
    return conv
