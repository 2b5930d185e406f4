"""Prototypical networks (Snell, Swersky & Zemel 2017): the embedding network.

`prototypical_network` builds the network that is served: an image in, its embedding out
(`serving_default` gives "embeddings"). The paper's embedding, "conv4", is four blocks of a
3×3 convolution with 64 filters, batch normalisation, ReLU and 2×2 max pooling; on 28×28
images it ends at 1×1×64, a 64-dimensional embedding. Any registered backbone that builds
without its top (`include_top=False, pooling="avg"`: `lenet5`, `resnet18`, `vgg11`, ...) may
embed instead (`backbone="resnet18"`).

The classifier and the episodes exist only while training and testing: the `episodic` task
(`keras_dl.tasks.episodic`) feeds N-way K-shot episodes and classifies each query by a
softmax over its negative squared distances to the class prototypes
(`keras_dl.layers.PrototypicalLogits`). The episode settings are builder arguments, so a run's
`config.json` records them and a search may tune them; the built model carries them as
`model.episode_settings`. As in the paper the training episodes have more ways than the test
episodes (20 against 5 by default; Snell et al. trained Omniglot with 60) and the same shots.
"""

from __future__ import annotations

import keras

from keras_dl import registry
from keras_dl.models._common import check_input_shape, check_positive_int
from keras_dl.registry import register_model

EPISODE_SETTINGS = ("train_ways", "test_ways", "shots", "queries", "test_queries",
                    "episodes_per_epoch", "validation_episodes", "test_episodes")


def conv_block(x, filters, index):
    """3×3 convolution, batch normalisation, ReLU, 2×2 max pooling (Snell et al. 2017, §3.2)."""
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"block{index}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"block{index}_bn")(x)
    x = keras.layers.ReLU(name=f"block{index}_relu")(x)
    return keras.layers.MaxPooling2D(2, padding="same", name=f"block{index}_pool")(x)


def _backbone_features(inputs, backbone, input_shape):
    if backbone in registry.list_models():
        info = registry.model_info(backbone)
        if not {"include_top", "pooling"} <= set(info.parameters):
            raise ValueError(f"backbone {backbone!r} cannot be built without its top; allowed: "
                             f"'conv4' or {', '.join(backbones())}")
        network = registry.create_model(backbone, input_shape=input_shape, include_top=False,
                                        pooling="avg")
        return network(inputs)
    raise ValueError(f"backbone must be 'conv4' or a registered model that builds without its "
                     f"top ({', '.join(backbones())}); got {backbone!r}")


def backbones() -> list[str]:
    """The registered models that build without their top, so may embed."""
    return [name for name in registry.list_models()
            if {"include_top", "pooling"} <= set(registry.model_info(name).parameters)
            and registry.model_info(name).task == "classification"]


@register_model(
    family="prototypical",
    task="episodic",
    search_space=lambda hp: {
        "filters": hp.Choice("filters", [32, 64]),
        "train_ways": hp.Choice("train_ways", [5, 10, 20]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "filters": 4, "blocks": 3, "train_ways": 2,
                  "test_ways": 2, "shots": 2, "queries": 2, "test_queries": 2,
                  "episodes_per_epoch": 2, "validation_episodes": 2, "test_episodes": 4},
    smoke_output_shape=(4,),
    train_defaults={"epochs": 10, "batch_size": 256, "learning_rate": 1e-3},
)
def prototypical_network(
    *,
    input_shape=(28, 28, 1),
    backbone="conv4",
    filters=64,
    blocks=4,
    train_ways=20,
    test_ways=5,
    shots=5,
    queries=5,
    test_queries=15,
    episodes_per_epoch=100,
    validation_episodes=100,
    test_episodes=1000,
    name="prototypical_network",
):
    """A prototypical network's embedding network (Snell et al. 2017).

    Args:
        input_shape: one image's shape (height, width, channels).
        backbone: "conv4" (the paper's four conv blocks) or a registered model that builds
            without its top (then `filters` and `blocks` are unused).
        filters: the filters of each conv4 block (the paper: 64).
        blocks: the number of conv4 blocks (the paper: 4).
        train_ways: classes per training episode.
        test_ways: classes per validation and test episode.
        shots: support examples per class, in training and test episodes.
        queries: queries per class in a training episode.
        test_queries: queries per class in a validation and test episode.
        episodes_per_epoch: training episodes per epoch (one optimizer step each).
        validation_episodes: validation episodes after each epoch (the same every epoch).
        test_episodes: test episodes of the evaluation (the accuracy's 95 % interval is
            1.96·std/√episodes).
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("prototypical_network", input_shape=(28, 28, 1))
    model.episode_settings["test_ways"]   # 5
    ```

    Reference:
        Snell, Swersky, Zemel. "Prototypical Networks for Few-shot Learning", NeurIPS 2017.
    """
    input_shape = check_input_shape(input_shape, rank=3)
    settings = {key: check_positive_int(key, value) for key, value in (
        ("train_ways", train_ways), ("test_ways", test_ways), ("shots", shots),
        ("queries", queries), ("test_queries", test_queries),
        ("episodes_per_epoch", episodes_per_epoch),
        ("validation_episodes", validation_episodes), ("test_episodes", test_episodes))}
    inputs = keras.Input(input_shape, name="images")
    if backbone == "conv4":
        h = inputs
        for index in range(1, check_positive_int("blocks", blocks) + 1):
            h = conv_block(h, check_positive_int("filters", filters), index)
    else:
        h = _backbone_features(inputs, backbone, input_shape)
    embeddings = keras.layers.Flatten(name="embeddings")(h)
    model = keras.Model(inputs, embeddings, name=name)
    model.episode_settings = settings
    return model
