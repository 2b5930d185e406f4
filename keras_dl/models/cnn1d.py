"""The 1-D convolutional network of the MNIST-1D benchmark (Greydanus 2020)."""

from __future__ import annotations

import keras

from keras_dl.models._common import (
    POOLINGS,
    check_choice,
    check_non_negative,
    check_positive_int,
    check_units,
    classifier_head,
)
from keras_dl.models.rnn import sequence_input
from keras_dl.registry import register_model


def _search_space(hp):
    depth = hp.Int("depth", 2, 4, default=3)
    return {
        "filters": [hp.Int("filters", 8, 64, step=8, default=24)] * depth,
        "kernel_sizes": [hp.Choice("first_kernel", [3, 5, 7], default=5)] + [3] * (depth - 1),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [32, 64, 100, 128]),
    }


@register_model(
    family="cnn",
    search_space=_search_space,
    smoke_kwargs={"input_shape": (6, 3), "num_classes": 3, "filters": (4, 4),
                  "kernel_sizes": (3, 3)},
    train_defaults={"epochs": 150, "batch_size": 100, "learning_rate": 1e-2},
    default_params=5_210,
)
def cnn1d_classifier(
    *,
    input_shape=(40, 1),
    num_classes=10,
    filters=(25, 25, 25),
    kernel_sizes=(5, 3, 3),
    strides=2,
    padding=1,
    include_top=True,
    pooling=None,
    classifier_activation="softmax",
    name="cnn1d_classifier",
):
    """1-D CNN of the MNIST-1D benchmark: three stride-2 ReLU convolutions, then a linear layer.

    Each stage is `ZeroPadding1D(padding) → Conv1D(filters, kernel, stride) → ReLU`; the last
    stage's maps are flattened into the `predictions` layer. The defaults are the benchmark's
    network as its reference code writes it (`ConvBase` in `notebooks/models.py` of
    github.com/greydanus/mnist1d): 25 channels, kernels 5, 3 and 3, stride 2, padding 1, so a
    40-step signal becomes 19, 10 and then 5 steps of 25 channels (125 features) before the
    linear classifier — 5,210 parameters with 10 classes. The paper's table gives it 94 %
    test accuracy on MNIST-1D.

    Layer names: `conv1_pad`, `conv1`, `conv2_pad`, `conv2`, ..., `flatten_top`,
    `predictions`.

    Args:
        input_shape: `(steps, features)` (features are the channels), or `(steps,)` read as
            one channel.
        num_classes: number of output classes.
        filters: channels of each convolution; its length is the depth.
        kernel_sizes: kernel width of each convolution (as many as `filters`).
        strides: the stride of every convolution.
        padding: zeros added at both ends before each convolution.
        include_top: add the `predictions` layer; without it the model outputs the last
            maps (pooled as `pooling` says).
        pooling: with `include_top=False`, None (the maps), "avg" or "max" (over time).
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("cnn1d_classifier", input_shape=(40, 1))
    ```

    Reference:
        Greydanus. "Scaling down Deep Learning", arXiv:2011.14439, 2020 (MNIST-1D; the CNN
        row of its benchmark table).
    """
    filters = check_units("filters", filters)
    kernel_sizes = check_units("kernel_sizes", kernel_sizes)
    if not filters or len(kernel_sizes) != len(filters):
        raise ValueError(f"kernel_sizes must give one width per entry of filters "
                         f"({len(filters)}), got {kernel_sizes!r}")
    strides = check_positive_int("strides", strides)
    padding = check_non_negative("padding", padding)
    if padding != int(padding):
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    padding = int(padding)
    check_choice("pooling", pooling, POOLINGS)
    inputs, x = sequence_input(input_shape, variable_length=False)
    steps = x.shape[1]
    for stage, (width, kernel) in enumerate(zip(filters, kernel_sizes), start=1):
        if steps + 2 * padding < kernel:
            raise ValueError(f"input of {input_shape[0]} steps is too short for {len(filters)} "
                             f"stride-{strides} convolutions (stage {stage} gets {steps} steps, "
                             f"kernel {kernel}); use fewer filters or a longer input")
        x = keras.layers.ZeroPadding1D(padding, name=f"conv{stage}_pad")(x)
        x = keras.layers.Conv1D(width, kernel, strides=strides, activation="relu",
                                name=f"conv{stage}")(x)
        steps = x.shape[1]
    if include_top:
        return keras.Model(inputs, classifier_head(
            x, num_classes=num_classes, include_top=True, pooling=None,
            classifier_activation=classifier_activation), name=name)
    if pooling == "avg":
        x = keras.layers.GlobalAveragePooling1D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling1D(name="max_pool")(x)
    return keras.Model(inputs, x, name=name)
