"""GoogLeNet / Inception v1 (Szegedy et al., "Going Deeper with Convolutions", CVPR 2015).

The paper's Table 1 at 224×224: a stem (7×7/2 conv, 3×3/2 max pooling, LRN, 1×1 and 3×3
convs, LRN, 3×3/2 max pooling), nine inception modules (3a, 3b, pool, 4a-4e, pool, 5a, 5b),
7×7 average pooling, dropout 0.4 and one linear layer. Each inception module runs 1×1,
1×1→3×3, 1×1→5×5 and 3×3-pool→1×1 branches side by side; the 1×1 "bottleneck" convolutions
cut the channels before the expensive 3×3 and 5×5 ones. As in the paper there is no batch
normalisation (`batch_norm=True` adds it, as torchvision does; note that torchvision's
GoogLeNet also uses a 3×3 kernel where the paper has 5×5, so its 6,624,904 parameters are not
the paper's network). Our count at 1000 classes is 6,998,552 parameters, 6,990,272 of them
weights (without biases). Table 1's parameter column, read in units of 1024, agrees exactly
for conv2 (112K), 3a (159K), 3b (379-380K), 4b (438-437K) and the linear layer (1000K); its
other rows are off by 2-10% in both directions (4c: 497K by the module's own filter counts
against 463K printed; 5a: 1018K against 1072K) and its conv1 entry (2.7K) cannot be a 7×7×3×64
kernel: the table is internally inconsistent there, so the tests check the rows that agree
and bound the others.

**Auxiliary classifiers.** During training the paper adds two small classifiers on the
outputs of inception 4a and 4d (5×5/3 average pooling, 1×1 conv with 128 filters, FC-1024,
dropout 0.7, softmax), "their loss is added to the total loss with a discount weight of
0.3", and they are discarded at inference. Here the builder returns the inference network
(one output); `googlenet_training_model(model)` returns a three-output model that shares all
of its weights and adds the two heads, and `aux_loss_weights()` the `{predictions: 1, aux1:
0.3, aux2: 0.3}` loss weights. `keras-dl train googlenet` trains through it automatically and
saves and exports only the inference network.

*Small-image variant* (`small_inputs`, automatic under 64 pixels): the stem becomes one 3×3
convolution with 192 filters at stride 1 and no pooling (the common CIFAR adaptation), so a
28×28 image reaches inception 3 at 28×28, inception 4 at 14×14 and inception 5 at 7×7.
"""

from __future__ import annotations

import keras

from keras_dl.layers import LocalResponseNormalization
from keras_dl.models._common import check_fraction, classifier_head
from keras_dl.models.blocks import conv_unit, image_input, resolve_small_inputs, scaled
from keras_dl.registry import register_model

# Table 1: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj
MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
POOL_BEFORE = ("4a", "5a")
AUX_TAPS = {"aux1": "inception4a_concat", "aux2": "inception4d_concat"}
AUX_LOSS_WEIGHT = 0.3


def inception_module(x, filters_1x1, reduce_3x3, filters_3x3, reduce_5x5, filters_5x5,
                     pool_projection, *, name, batch_norm=False):
    """GoogLeNet's inception module (Szegedy et al. 2015, Fig. 2b and Table 1).

    Four branches concatenated along channels: 1×1; 1×1 bottleneck → 3×3; 1×1 bottleneck →
    5×5; 3×3 max pooling (stride 1) → 1×1 projection. Every convolution is followed by ReLU.
    """
    def unit(tensor, filters, size, part):
        return conv_unit(tensor, filters, size, batch_norm=batch_norm, name=f"{name}_{part}",
                         kernel_initializer="glorot_uniform")

    branch1 = unit(x, filters_1x1, 1, "1x1")
    branch3 = unit(unit(x, reduce_3x3, 1, "3x3_reduce"), filters_3x3, 3, "3x3")
    branch5 = unit(unit(x, reduce_5x5, 1, "5x5_reduce"), filters_5x5, 5, "5x5")
    pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    branch_pool = unit(pooled, pool_projection, 1, "pool_proj")
    return keras.layers.Concatenate(name=f"{name}_concat")(
        [branch1, branch3, branch5, branch_pool])


def _auxiliary_head(x, num_classes, classifier_activation, width_multiplier, name):
    """The paper's auxiliary classifier (section 5), attached to an inception output."""
    pool_size = min(5, x.shape[1], x.shape[2])
    x = keras.layers.AveragePooling2D(pool_size, strides=3 if pool_size == 5 else 1,
                                      name=f"{name}_pool")(x)
    x = conv_unit(x, scaled(128, width_multiplier), 1, batch_norm=False,
                  kernel_initializer="glorot_uniform", name=f"{name}_conv")
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dense(scaled(1024, width_multiplier), activation="relu", name=f"{name}_fc")(x)
    x = keras.layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return keras.layers.Dense(num_classes, activation=classifier_activation, name=name)(x)


def googlenet_training_model(model, width_multiplier=None):
    """`model` (a `googlenet`) with its two auxiliary classifiers, for training.

    Returns a functional model with outputs `{"predictions", "aux1", "aux2"}` that shares every
    layer of `model` (training it trains `model`) and adds the auxiliary heads on inception
    4a and 4d. Compile it with `aux_loss_weights()` as `loss_weights`, and feed the same
    labels to the three outputs; serve and export `model` itself, which has no auxiliary head.

    Args:
        model: a model built by `googlenet` with `include_top=True`.
        width_multiplier: factor on the heads' 128 and 1024 (default: the model's own, read
            from the width of its inception 3a branch).
    """
    try:
        taps = {key: model.get_layer(layer).output for key, layer in AUX_TAPS.items()}
        predictions = model.get_layer("predictions")
    except ValueError:
        raise ValueError("googlenet_training_model needs a googlenet built with "
                         "include_top=True") from None
    if width_multiplier is None:
        width_multiplier = model.get_layer("inception3a_1x1_conv").filters / MODULES["3a"][0]
    num_classes = predictions.units
    activation = keras.activations.serialize(predictions.activation)
    activation = None if activation == "linear" else activation
    outputs = {"predictions": model.output}
    for key, tensor in taps.items():
        outputs[key] = _auxiliary_head(tensor, num_classes, activation, width_multiplier, key)
    # `model.inputs[0]`, not the list: the trainer then takes a bare image batch as `model`
    # does, without Keras's warning that the input structure does not match.
    return keras.Model(model.inputs[0], outputs, name=f"{model.name}_with_aux")


def aux_loss_weights(weight=AUX_LOSS_WEIGHT):
    """Loss weights of the main and the two auxiliary outputs: 1, 0.3, 0.3 in the paper."""
    return {"predictions": 1.0, "aux1": weight, "aux2": weight}


@register_model(
    family="cnn",
    search_space=lambda hp: {
        "batch_norm": hp.Boolean("batch_norm"),
        "dropout": hp.Choice("dropout", [0.0, 0.4]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [64, 128]),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "num_classes": 3, "width_multiplier": 0.0625},
    train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
    default_params=6_998_552,
    task="classification_with_aux",
    task_options={"training_model": googlenet_training_model, "loss_weights": aux_loss_weights()},
)
def googlenet(*, input_shape=(224, 224, 3), num_classes=1000, include_top=True, pooling=None,
              classifier_activation="softmax", name="googlenet", small_inputs=None,
              width_multiplier=1.0, batch_norm=False, lrn=True, dropout=0.4):
    """GoogLeNet (Szegedy et al. 2015), the inference network; see `googlenet_training_model`.

    Args:
        input_shape: `(height, width, channels)`; 224×224×3 in the paper.
        num_classes: number of classes.
        include_top: add global average pooling, dropout and the `predictions` layer.
        pooling: with `include_top=False`, None (inception 5b's maps), "avg" or "max".
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.
        small_inputs: True for the small-image variant (3×3/1 stem, no stem pooling); None
            chooses it for inputs under 64 pixels a side.
        width_multiplier: factor on every channel count.
        batch_norm: batch normalisation after every convolution (not in the paper).
        lrn: the stem's local response normalisation (paper stem only).
        dropout: dropout before the classifier (0.4).

    Example:
    ```python
    model = keras_dl.create_model("googlenet", input_shape=(28, 28, 1), num_classes=10)
    trainer = googlenet_training_model(model)  # adds the two auxiliary classifiers
    ```

    Reference:
        Szegedy et al. "Going Deeper with Convolutions", CVPR 2015.
    """
    height, width, inputs = image_input(input_shape, num_classes, width_multiplier)
    dropout = check_fraction("dropout", dropout)
    small = resolve_small_inputs(small_inputs, height, width)
    m = width_multiplier

    def unit(tensor, filters, size, part, strides=1):
        return conv_unit(tensor, scaled(filters, m), size, strides=strides,
                         batch_norm=batch_norm, kernel_initializer="glorot_uniform", name=part)

    def pool(tensor, part):
        return keras.layers.MaxPooling2D(3, strides=2, padding="same", name=part)(tensor)

    if small:
        x = unit(inputs, 192, 3, "conv1")
    else:
        x = pool(unit(inputs, 64, 7, "conv1", strides=2), "pool1")
        if lrn:
            x = LocalResponseNormalization(name="lrn1")(x)
        x = unit(unit(x, 64, 1, "conv2_reduce"), 192, 3, "conv2")
        if lrn:
            x = LocalResponseNormalization(name="lrn2")(x)
        x = pool(x, "pool2")
    for key, filters in MODULES.items():
        if key in POOL_BEFORE:
            x = pool(x, f"pool{key[0]}")
        x = inception_module(x, *(scaled(f, m) for f in filters), name=f"inception{key}",
                             batch_norm=batch_norm)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=pooling,
                        classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)
