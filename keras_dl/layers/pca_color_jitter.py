"""AlexNet's PCA colour augmentation (Krizhevsky, Sutskever & Hinton, 2012, section 4.1)."""

import keras
import numpy as np
from keras import ops


def rgb_principal_components(images):
    """Eigenvalues (descending) and eigenvectors (columns) of the RGB covariance of `images`.

    `images` is any array whose last axis holds the 3 colour channels; every pixel of every
    image is one sample, as in the paper ("PCA on the set of RGB pixel values throughout the
    ImageNet training set").
    """
    pixels = np.asarray(images, dtype="float64")
    if pixels.ndim < 2 or pixels.shape[-1] != 3:
        raise ValueError(
            f"PCA colour jitter needs RGB images (last axis of size 3), got shape {pixels.shape}"
        )
    pixels = pixels.reshape(-1, 3)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    return np.clip(eigenvalues[order], 0, None), eigenvectors[:, order]


@keras.saving.register_keras_serializable(package="keras_dl")
class PCAColorJitter(keras.layers.Layer):
    """Adds a random multiple of the RGB principal components to every pixel of an image.

    For each training image, draws `α_i ~ N(0, stddev)` (0.1 in the paper) and adds
    `[p_1, p_2, p_3] [α_1 λ_1, α_2 λ_2, α_3 λ_3]ᵀ` to each of its pixels, where `p_i`, `λ_i`
    are the eigenvectors and eigenvalues of the 3×3 covariance of the RGB pixel values of the
    training set (`rgb_principal_components`, or `PCAColorJitter.from_images`). Identity at
    inference. Only 3-channel inputs are accepted: a grey-scale image has no colour to jitter
    (`ValueError` at build time).

    Args:
        eigenvalues: the 3 eigenvalues `λ`.
        eigenvectors: the 3×3 matrix whose columns are the eigenvectors `p`.
        stddev: standard deviation of `α`.
        seed: seed of the layer's `SeedGenerator`.

    Example:
    ```python
    jitter = PCAColorJitter.from_images(x_train, stddev=0.1)
    augmented = jitter(batch, training=True)
    ```
    """

    def __init__(self, eigenvalues, eigenvectors, stddev=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        values = np.asarray(eigenvalues, dtype="float32")
        vectors = np.asarray(eigenvectors, dtype="float32")
        if values.shape != (3,) or vectors.shape != (3, 3):
            raise ValueError(
                "eigenvalues must have shape (3,) and eigenvectors (3, 3), got "
                f"{values.shape} and {vectors.shape}"
            )
        if not isinstance(stddev, (int, float)) or isinstance(stddev, bool) or stddev < 0:
            raise ValueError(f"stddev must be a non-negative number, got {stddev!r}")
        self.eigenvalues = [float(v) for v in values]
        self.eigenvectors = vectors.tolist()
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @classmethod
    def from_images(cls, images, stddev=0.1, seed=None, **kwargs):
        """A layer whose components are computed from the training `images`."""
        values, vectors = rgb_principal_components(images)
        return cls(values, vectors, stddev=stddev, seed=seed, **kwargs)

    def build(self, input_shape):
        if input_shape[-1] != 3:
            raise ValueError(
                f"PCAColorJitter needs RGB inputs with 3 channels, got {input_shape[-1]} "
                "(grey-scale images have no colour to jitter)"
            )

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        batch = ops.shape(inputs)[0]
        alpha = keras.random.normal((batch, 3), stddev=self.stddev, seed=self.seed_generator)
        weights = alpha * ops.convert_to_tensor(self.eigenvalues, dtype=inputs.dtype)
        offset = ops.matmul(weights, ops.transpose(
            ops.convert_to_tensor(self.eigenvectors, dtype=inputs.dtype)))
        offset = ops.reshape(offset, (batch,) + (1,) * (len(inputs.shape) - 2) + (3,))
        return inputs + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"eigenvalues": self.eigenvalues, "eigenvectors": self.eigenvectors,
                       "stddev": self.stddev, "seed": self.seed})
        return config
