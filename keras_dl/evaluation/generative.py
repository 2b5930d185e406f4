"""Measures of generated images: the Fréchet distance between two sets of features, the share of
samples a classifier puts in each class (mode coverage), and how often a conditional
generator's samples are classified as the label they were asked for.

The Fréchet distance of Heusel et al. 2017 (FID) fits a Gaussian to the features of each set
and measures

    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½).

FID takes the features from Inception-v3's last pooling layer on ImageNet-scaled images;
`classifier_features` takes them from a classifier of the user's choice (keras_dl's apps use a
small Fashion-MNIST classifier), so our distances rank models against each other on the same
features but are **not comparable with published FIDs**.

Tr((Σ₁Σ₂)^½) is computed as Σᵢ √λᵢ over the eigenvalues λᵢ of the symmetric positive
semi-definite matrix Σ₁^½ Σ₂ Σ₁^½, which has the same eigenvalues as Σ₁Σ₂; this avoids the
complex-valued square roots of a general matrix square root.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl import compat


def _features_array(features, name):
    features = np.asarray(features, dtype="float64")
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"{name} must be a 2-D array of at least 2 feature vectors "
                         f"(examples, features), got shape {features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return features


def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a, features_b) -> float:
    """The Fréchet distance d² between Gaussians fitted to two sets of feature vectors
    (rows: examples), as in Heusel et al. 2017. 0 for identical sets; ValueError for sets of
    different feature sizes, fewer than 2 rows, or non-finite values."""
    a = _features_array(features_a, "features_a")
    b = _features_array(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the feature sets differ in size: {a.shape[1]} and {b.shape[1]} "
                         "features per example")
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    return float(max(distance, 0.0))  # rounding can leave -1e-12 for identical sets


def classifier_features(classifier: keras.Model, layer: str | None = None) -> keras.Model:
    """A model from `classifier`'s input to the output of `layer` (default: the input of its
    output layer, i.e. the features its last layer classifies), for `frechet_distance`."""
    if layer is None:
        tensor = compat.output_layers(classifier)[0].input
    else:
        names = [candidate.name for candidate in classifier.layers]
        if layer not in names:
            raise ValueError(f"no layer {layer!r} in model {classifier.name!r}; layers: "
                             f"{', '.join(names)}")
        tensor = classifier.get_layer(layer).output
    return keras.Model(classifier.inputs, tensor, name=f"{classifier.name}_features")


def _predicted_classes(classifier, images, batch_size):
    output = classifier.predict(np.asarray(images, dtype="float32"), batch_size=batch_size,
                                verbose=0)
    if output.ndim != 2 or output.shape[1] < 2:
        raise ValueError(f"model {classifier.name!r} is not a classifier: it outputs shape "
                         f"{output.shape[1:]}, not (classes,)")
    return output.argmax(axis=1), output.shape[1]


def class_shares(classifier: keras.Model, images, batch_size: int = 256) -> np.ndarray:
    """The share of `images` that `classifier` assigns to each class (mode coverage: a
    generator that has collapsed onto a few modes leaves other classes near 0)."""
    predicted, classes = _predicted_classes(classifier, images, batch_size)
    return np.bincount(predicted, minlength=classes) / max(len(predicted), 1)


def label_accuracy(classifier: keras.Model, images, labels, batch_size: int = 256) -> float:
    """The share of a conditional generator's `images` that `classifier` assigns to the label
    each was generated for."""
    predicted, classes = _predicted_classes(classifier, images, batch_size)
    labels = np.asarray(labels)
    if labels.shape != predicted.shape or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"expected {len(predicted)} integer labels, got an array of shape "
                         f"{labels.shape} and dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise ValueError(f"label {int(bad)} is outside the classifier's classes 0..{classes - 1}")
    return float(np.mean(predicted == labels))


__all__ = ["class_shares", "classifier_features", "frechet_distance", "label_accuracy"]
