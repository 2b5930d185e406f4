"""The domain-adversarial neural network (DANN; Ganin et al. 2016): the classifier half.

`dann` builds the network that is served: a feature extractor, whose output layer is named
"features", then a label predictor (`label_dense1..`, then the classifier). The domain
classifier, which reads the features through a gradient reversal layer, exists only while
training: the `domain_adaptation` task adds it (`keras_dl.tasks.domain_adaptation`).

Two extractors, after the paper's experiments (§5.1 and §5.2.2):
- `features="mlp"`: dense ReLU layers (`feature_units`); the two-moons toy uses one layer of
  15 units;
- `features="conv"`: the MNIST→MNIST-M network, 5×5 convolutions of 32 and 48 filters, each
  followed by ReLU and 2×2 max pooling. Its label predictor is 100-100 (`label_units`).
"""

from __future__ import annotations

import keras

from keras_dl.models._common import check_choice, check_input_shape, check_units, classifier_head
from keras_dl.registry import register_model

FEATURES = ("mlp", "conv")


@register_model(
    family="dann",
    task="domain_adaptation",
    search_space=lambda hp: {
        "label_units": (hp.Choice("label_width", [64, 100, 128]),) * 2,
        "learning_rate": hp.Float("learning_rate", 1e-3, 3e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (6,), "num_classes": 3, "features": "mlp",
                  "feature_units": (4,), "label_units": (4,)},
    train_defaults={"epochs": 20, "batch_size": 64, "learning_rate": 0.01},
)
def dann(
    *,
    input_shape=(28, 28, 3),
    num_classes=10,
    features="conv",
    feature_units=(15,),
    conv_filters=(32, 48),
    label_units=(100, 100),
    classifier_activation="softmax",
    name="dann",
):
    """The classifier of a domain-adversarial network (Ganin et al. 2016).

    Args:
        input_shape: one example's shape: (height, width, channels) for `features="conv"`
            (default: fashion_mnist_m's).
        num_classes: classes of the label predictor.
        features: "conv" (the paper's MNIST network) or "mlp" (dense layers).
        feature_units: the dense feature layers' widths (`features="mlp"`).
        conv_filters: the convolutions' filters (`features="conv"`).
        label_units: the label predictor's hidden widths (while training, the domain
            classifier has one hidden layer as wide as the first).
        classifier_activation: "softmax", or None for logits.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("dann", input_shape=(28, 28, 3), num_classes=10)
    ```

    Reference:
        Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand, Lempitsky.
        "Domain-Adversarial Training of Neural Networks", JMLR 17 (2016).
    """
    check_choice("features", features, FEATURES)
    input_shape = check_input_shape(input_shape, rank=3 if features == "conv" else None)
    inputs = keras.Input(input_shape, name="inputs")
    h = inputs
    if features == "conv":
        for index, filters in enumerate(check_units("conv_filters", conv_filters), start=1):
            h = keras.layers.Conv2D(filters, 5, padding="same", activation="relu",
                                    name=f"feature_conv{index}")(h)
            h = keras.layers.MaxPooling2D(2, name=f"feature_pool{index}")(h)
        h = keras.layers.Flatten(name="features")(h)
    else:
        h = keras.layers.Flatten(name="feature_flatten")(h)
        units = check_units("feature_units", feature_units)
        for index, width in enumerate(units, start=1):
            last = index == len(units)
            h = keras.layers.Dense(width, activation="relu",
                                   name="features" if last else f"feature_dense{index}")(h)
    for index, width in enumerate(check_units("label_units", label_units), start=1):
        h = keras.layers.Dense(width, activation="relu", name=f"label_dense{index}")(h)
    outputs = classifier_head(h, num_classes=num_classes, include_top=True, pooling=None,
                              classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=name)
