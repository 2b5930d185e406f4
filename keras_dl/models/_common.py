"""Argument checks and the classifier head shared by every builder."""

from __future__ import annotations

import numbers

import keras

POOLINGS = (None, "avg", "max")


def check_positive_int(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_non_negative(name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def check_fraction(name, value):
    value = check_non_negative(name, value)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def check_choice(name, value, choices):
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_input_shape(input_shape, rank=None):
    """A tuple of positive ints (of `rank` entries when given); `ValueError` otherwise."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if (
        not shape
        or any(not isinstance(d, numbers.Integral) or isinstance(d, bool) or d < 1 for d in shape)
        or (rank is not None and len(shape) != rank)
    ):
        want = f"{rank} positive integers" if rank else "a tuple of positive integers"
        raise ValueError(f"input_shape must be {want}, got {input_shape!r}")
    return tuple(int(d) for d in shape)


def classifier_head(x, *, num_classes, include_top, pooling, classifier_activation):
    """Pool (when `pooling` is given) and, with `include_top`, add the `predictions` layer.

    Follows `keras.applications`: `pooling` in (None, "avg", "max") applies when the features
    are spatial; `classifier_activation` is "softmax" (probabilities) or None (logits).
    """
    check_choice("pooling", pooling, POOLINGS)
    if pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    if include_top:
        check_positive_int("num_classes", num_classes)
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name="flatten_top")(x)
        x = keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions")(x)
    return x
