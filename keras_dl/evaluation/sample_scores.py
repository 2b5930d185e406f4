"""Scoring a generative model by its samples: draw images from it, then measure them against
reference images on a classifier's features.

`sample_images` draws from any keras_dl generator of images: a GAN's generator (noise
`z ~ N(0, I)`, plus an integer label for a conditional one, → images; Goodfellow et al. 2014,
Mirza & Osindero 2014) or a VAE, whose decoder is fed prior samples `z ~ N(0, I)`
(Kingma & Welling 2014, section 3: generating from `p(z) p(x|z)`). `SampleScorer` holds a
classifier and the features of the reference (test) images, computed once, and scores a set of
samples in one pass through the classifier:

- `frechet_distance`: d² between Gaussians fitted to the samples' and the reference images'
  features (Heusel et al. 2017's formula, `generative.frechet_distance`). The features are the
  classifier's (by default the input of its output layer), a stand-in for FID's Inception-v3
  features: distances rank models measured on the same classifier, and are **not comparable
  with published FIDs**;
- `class_shares`: the share of the samples the classifier puts in each class (mode coverage),
  with `classes_covered` (classes given at least one sample) and `largest_class_share`;
- `label_accuracy` (given the labels the samples were asked for): the share the classifier
  assigns to that label.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl.evaluation.generative import frechet_distance


def _check_count(count) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    return int(count)


def sample_images(generator: keras.Model, count: int, labels=None, *, seed: int = 0,
                  batch_size: int = 500) -> np.ndarray:
    """`count` images from `generator`, from noise `z ~ N(0, I)` drawn with `seed`.

    `generator` is a model from noise `(batch, latent_dim)` (and, when it takes a second
    input, integer labels, one per image: `labels`) to images, as keras_dl's GAN builders
    make; or a VAE (`vae`, `conv_vae`), whose decoder is fed `z` from the prior N(0, I). The
    noise depends on `seed` and the latent width only, and its first rows do not depend on
    `count`: the same seed gives the same `z` epoch after epoch. Run in inference mode, in
    batches of `batch_size`. `ValueError` in one line for a bad count, missing or unexpected
    labels, or labels outside a conditional generator's classes.

    Example:
    ```python
    images = sample_images(generator, 1000, seed=0)                       # (1000, 28, 28, 1)
    asked = np.tile(np.arange(10), 100)
    images = sample_images(conditional_generator, len(asked), asked)     # one per label
    images = sample_images(vae_model, 1000)                              # decoder(z ~ N(0, I))
    ```
    """
    from keras_dl.models import autoencoders
    from keras_dl.tasks.gan import check_generator_inputs

    count = _check_count(count)
    batch_size = _check_count(batch_size)
    if autoencoders.is_vae(generator):
        generator = autoencoders.decoder(generator)
    width = int(generator.inputs[0].shape[-1])
    noise = np.random.default_rng(seed).standard_normal((count, width)).astype("float32")
    noise, labels = check_generator_inputs(generator, noise, labels)
    images = []
    for start in range(0, count, batch_size):
        rows = slice(start, start + batch_size)
        inputs = noise[rows] if labels is None else [noise[rows], labels[rows]]
        images.append(keras.ops.convert_to_numpy(generator(inputs, training=False)))
    return np.concatenate(images)


class SampleScorer:
    """Scores sets of generated images against reference images on `classifier`'s features.

    The reference images' features are computed once, when the scorer is made; each call
    then runs the samples through the classifier once, for both its features and its classes.

    Args:
        classifier: a trained classifier whose output is one score per class (softmax or
            logits), whose input takes the images.
        reference_images: the real images the samples are compared with (e.g. the test set).
        layer: the layer whose output is the feature vector (default: the input of the output
            layer, as `generative.classifier_features`).
        batch_size: batch size of the classifier's passes.

    Example:
    ```python
    scorer = SampleScorer(classifier, x_test)
    scorer(sample_images(generator, 1000))
    # {"frechet_distance": 12.3, "class_shares": [...], "classes_covered": 10,
    #  "largest_class_share": 0.16}
    ```
    """

    def __init__(self, classifier: keras.Model, reference_images, *, layer: str | None = None,
                 batch_size: int = 256):
        from keras_dl.evaluation.generative import classifier_features

        self.classifier = classifier
        self.batch_size = _check_count(batch_size)
        features = classifier_features(classifier, layer)
        self.network = keras.Model(classifier.inputs,
                                   [features.outputs[0], classifier.outputs[0]],
                                   name=f"{classifier.name}_scorer")
        self.num_classes = int(self.network.outputs[1].shape[-1])
        if self.network.outputs[1].ndim != 2 or self.num_classes < 2:
            raise ValueError(f"model {classifier.name!r} is not a classifier: it outputs shape "
                             f"{tuple(self.network.outputs[1].shape[1:])}, not (classes,)")
        self.reference_features, _ = self._run(reference_images, "reference_images")

    def _run(self, images, name):
        images = np.asarray(images, dtype="float32")
        expected = tuple(self.classifier.inputs[0].shape[1:])
        if images.ndim != len(expected) + 1 or images.shape[1:] != expected or len(images) < 2:
            raise ValueError(f"{name} of shape {images.shape} do not fit classifier "
                             f"{self.classifier.name!r}, which takes (batch, "
                             f"{', '.join(map(str, expected))}); give at least 2 images")
        features, scores = self.network.predict(images, batch_size=self.batch_size, verbose=0)
        return features.reshape(len(images), -1), scores

    def __call__(self, images, labels=None) -> dict:
        """The scores of `images` (and, given the `labels` they were generated for, the label
        accuracy): `{"frechet_distance", "class_shares", "classes_covered",
        "largest_class_share"[, "label_accuracy"]}`, plain Python numbers and lists."""
        features, scores = self._run(images, "images")
        predicted = scores.argmax(axis=1)
        shares = np.bincount(predicted, minlength=self.num_classes) / len(predicted)
        result = {
            "frechet_distance": frechet_distance(features, self.reference_features),
            "class_shares": [round(float(share), 6) for share in shares],
            "classes_covered": int(np.count_nonzero(shares)),
            "largest_class_share": float(shares.max()),
        }
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != predicted.shape or not np.issubdtype(labels.dtype, np.integer):
                raise ValueError(f"expected {len(predicted)} integer labels, got an array of "
                                 f"shape {labels.shape} and dtype {labels.dtype}")
            if labels.min() < 0 or labels.max() >= self.num_classes:
                bad = labels[(labels < 0) | (labels >= self.num_classes)][0]
                raise ValueError(f"label {int(bad)} is outside the classifier's classes "
                                 f"0..{self.num_classes - 1}")
            result["label_accuracy"] = float(np.mean(predicted == labels))
        return result


__all__ = ["SampleScorer", "sample_images"]
