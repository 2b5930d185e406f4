"""What every builder shares: its argument checks, its classifier head, and `variant`, which
makes the named entry points of a variant family (`resnet18`, `vgg16`, ...) from one private
constructor.

A check takes the argument's name and value, returns the value (normalised: a tuple, an
`int`, a `float`) and otherwise raises `ValueError` with one line naming the bad value and
what is allowed.
"""

from __future__ import annotations

import inspect
import math
import numbers

import keras

POOLINGS = (None, "avg", "max")


# === Argument checks ==========================================================================


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive_int(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_positive_number(name, value):
    if not _is_real(value) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_non_negative(name, value):
    if not _is_real(value) or not value >= 0:  # `not >=` also turns NaN away
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def check_fraction(name, value):
    value = check_non_negative(name, value)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def boolean_parameters(builder) -> tuple[str, ...]:
    """The builder's arguments whose default is True or False: each takes a bool and nothing
    else (`"no"` or `0` would otherwise be read for its truth value, silently)."""
    return tuple(name for name, parameter in inspect.signature(builder).parameters.items()
                 if isinstance(parameter.default, bool))


def check_boolean_arguments(builder, kwargs: dict) -> None:
    """`ValueError` naming the first argument in `kwargs` that the builder's signature makes
    boolean (its default is True or False) and that is not a bool."""
    for name in boolean_parameters(builder):
        if name in kwargs:
            check_bool(name, kwargs[name])


def check_choice(name, value, choices):
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_units(name, values):
    """A sequence of positive integers (layer widths, channel counts), as a tuple."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a sequence of positive integers, got {values!r}")
    return tuple(check_positive_int(f"{name} entries", v) for v in values)


def require_tensorflow(model: str, reason: str) -> None:
    """Raise `RuntimeError` when Keras runs on another backend than TensorFlow, naming the
    model and `reason` (what of it is TensorFlow's alone), so that it fails when built rather
    than deep inside a call."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(f"model {model!r} needs the TensorFlow backend (KERAS_BACKEND="
                           f"tensorflow), not {backend!r}: {reason}")


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


def check_stride2_stages(input_shape, filters):
    """`filters` of at least one stride-2 stage, whose transposed mirror gives back exactly
    `input_shape`'s height and width (so both are divisible by 2^stages)."""
    filters = check_units("filters", filters)
    if not filters:
        raise ValueError("filters must name at least one stage, got ()")
    height, width = input_shape[:2]
    stages, factor = len(filters), 2 ** len(filters)
    if height % factor or width % factor:
        raise ValueError(
            f"input height and width must be divisible by {factor} for {stages} stride-2 "
            f"stages (so the transposed convolutions give back exactly the input size), got "
            f"{height}×{width}; e.g. {factor * math.ceil(height / factor)}×"
            f"{factor * math.ceil(width / factor)}, or fewer filters stages"
        )
    return filters


# === Classifier heads =========================================================================


def _pool(x, pooling):
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def classifier_head(x, *, num_classes, include_top, pooling, classifier_activation,
                    global_pool=False, **dense_kwargs):
    """The `keras.applications`-style head: the `predictions` layer, or pooled features.

    With `include_top`: global average pooling (`avg_pool`, when `global_pool`), a flatten
    when the features are still spatial, and the Dense `predictions` layer (`dense_kwargs`
    go to it: initializers, regularizer); `classifier_activation` is "softmax"
    (probabilities) or None (logits). Without it: the features, pooled as `pooling` says
    (None, "avg", "max").
    """
    check_choice("pooling", pooling, POOLINGS)
    if not include_top:
        return _pool(x, pooling)
    check_positive_int("num_classes", num_classes)
    if global_pool:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name="flatten_top")(x)
    return keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions",
                              **dense_kwargs)(x)


def class_map_head(x, *, include_top, pooling, classifier_activation):
    """The head of a network whose last convolution has one map per class (NIN, SqueezeNet).

    With `include_top`: the global average of each class map (`avg_pool`) through
    `classifier_activation` (`predictions`; None gives logits), with no fully connected
    layer (Lin et al. 2014). Without it: the features, pooled as `pooling` says.
    """
    check_choice("pooling", pooling, POOLINGS)
    if not include_top:
        return _pool(x, pooling)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.layers.Activation(classifier_activation or "linear", name="predictions")(x)


# === Variant families =========================================================================


def variant(constructor, name, doc, *, fixed=None, **defaults):
    """A named entry point of a variant family (timm's pattern: `resnet18` over `_resnet`).

    Returns a builder calling `constructor(**fixed, **kwargs)`. Its signature, which the
    registry reads (`ModelInfo.parameters`, `.defaults()`, the arguments `create_model`
    accepts), is `constructor`'s keyword-only arguments less those in `fixed`, in their
    order, with `defaults` replacing their defaults and `name` defaulting to the variant's
    name; its docstring is `doc` (the first line is the registry's description).

    Example:
    ```python
    resnet18 = register_model("resnet18", family="cnn")(
        variant(_resnet, "resnet18", "ResNet-18 ...",
                fixed={"block": basic_block, "depths": (2, 2, 2, 2)}))
    ```
    """
    fixed = dict(fixed or {})
    signature = inspect.signature(constructor)
    unknown = sorted((set(fixed) | set(defaults)) - set(signature.parameters))
    if unknown:
        raise TypeError(f"{constructor.__name__} takes no argument {unknown[0]!r}")
    parameters = []
    for parameter in signature.parameters.values():
        if parameter.name in fixed:
            continue
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{constructor.__name__}: {parameter.name!r} must be fixed or "
                            "keyword-only")
        default = defaults.get(parameter.name, parameter.default)
        if parameter.name == "name" and "name" not in defaults:
            default = name
        parameters.append(parameter.replace(default=default))
    builder_signature = signature.replace(parameters=parameters)

    def builder(*args, **kwargs):
        bound = builder_signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return constructor(**fixed, **bound.arguments)

    builder.__signature__ = builder_signature
    builder.__name__ = builder.__qualname__ = name
    builder.__module__ = constructor.__module__
    builder.__doc__ = doc
    return builder
