"""Restricted Boltzmann machines and deep belief networks (lectures 000 and 003).

`rbm` is a single `keras_dl.layers.RBM` on flattened inputs: it trains with `model.fit(x)` (the
layer adds its own contrastive-divergence loss) and serves hidden probabilities `Q(h = 1 | v)`.

`dbn` is the feed-forward network a deep belief network becomes for classification (Hinton,
Osindero & Teh 2006; Bengio et al. 2007): sigmoid `Dense` layers, one per RBM of the stack,
then a softmax classifier. It is registered with the pre-training unit `"rbm"`, so
`keras-dl train dbn` first trains the stack greedily as RBMs (`keras_dl.training.pretraining`,
each RBM on the hidden probabilities of the one below) and copies `(W, c)` of each into the
matching `hiddenN_dense` layer, then fine-tunes with labels (`--finetune all` or `top`).
"""

from __future__ import annotations

import keras

from keras_dl.layers import RBM
from keras_dl.layers.rbm import VISIBLE_TYPES
from keras_dl.models._common import (
    check_choice,
    check_input_shape,
    check_positive_int,
    check_units,
    classifier_head,
)
from keras_dl.registry import register_model


@register_model(
    family="dbn",
    task="unsupervised",
    search_space=lambda hp: {
        "units": hp.Int("units", 64, 1024, step=64),
        "k": hp.Choice("k", [1, 3, 10]),
        "persistent": hp.Boolean("persistent"),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [32, 64, 128]),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "units": 5},
    smoke_output_shape=(5,),
    train_defaults={"epochs": 10, "batch_size": 64, "learning_rate": 1e-3},
)
def rbm(*, input_shape=(28, 28, 1), units=500, visible="bernoulli", k=1, persistent=False,
        chains=64, seed=None, name="rbm"):
    """Restricted Boltzmann machine `v ↦ Q(h = 1 | v)`, trained by CD-k / PCD through `fit(x)`.

    The input is flattened; the `rbm` layer (`keras_dl.layers.RBM`) holds `kernel`,
    `visible_bias` and `hidden_bias`. Compile with an optimizer only and fit on the inputs alone.
    With Bernoulli visible units the data must lie in [0, 1] (binarise or read grey levels as
    probabilities); with `visible="gaussian"` standardise it first.

    Args:
        input_shape: shape of one example, without the batch axis.
        units: number of hidden units (500 in Hinton et al. 2006's first layer).
        visible: "bernoulli" or "gaussian" visible units.
        k: Gibbs steps per update (CD-k; the lecture's CD-1 by default).
        persistent: persistent contrastive divergence (Tieleman 2008).
        chains: number of persistent chains.
        seed: seed of the initial weights and of the Gibbs sampling.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("rbm", input_shape=(28, 28, 1), units=256)
    model.compile(keras.optimizers.SGD(0.1))
    model.fit(x_train, epochs=5, batch_size=64)        # x_train in [0, 1]
    hidden = model.predict(x_test)                      # Q(h = 1 | v)
    ```

    Reference:
        Hinton, "Training products of experts by minimizing contrastive divergence", Neural
        Computation 2002; Smolensky 1986 (harmonium).
    """
    input_shape = check_input_shape(input_shape)
    check_positive_int("units", units)
    check_choice("visible", visible, VISIBLE_TYPES)
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    outputs = RBM(units, visible=visible, k=k, persistent=persistent, chains=chains,
                  seed=seed, name="rbm")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model(
    family="dbn",
    task="pretrained_classification",
    pretraining="rbm",
    search_space=lambda hp: {
        "hidden_units": [hp.Int("width", 100, 1000, step=100)] * hp.Int("depth", 1, 4),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [32, 64, 128]),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "num_classes": 3, "hidden_units": (6, 4)},
    train_defaults={"epochs": 20, "batch_size": 64, "learning_rate": 1e-3,
                    "pretrain_epochs": 5, "pretrain_learning_rate": 0.05},
)
def dbn(*, input_shape=(28, 28, 1), num_classes=10, hidden_units=(500, 500, 2000),
        include_top=True, classifier_activation="softmax", seed=None, name="dbn"):
    """Deep belief network as a classifier: Flatten → sigmoid Dense stack → softmax.

    Each `hiddenN_dense` layer computes `σ(xW + c)`, the hidden probabilities of the N-th RBM of
    the stack; `keras_dl.training.pretraining.pretrain_model(model, x, "rbm")` fills them from
    greedily trained RBMs, and `keras-dl train dbn` does so before fine-tuning.

    Args:
        input_shape: shape of one example, without the batch axis.
        num_classes: number of classes.
        hidden_units: sizes of the hidden layers, bottom up (Hinton et al. 2006: 500-500-2000).
        include_top: add the `predictions` softmax layer.
        classifier_activation: "softmax" (probabilities) or None (logits).
        seed: seed of the initial weights.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("dbn", hidden_units=(500, 500))
    keras_dl.training.pretraining.pretrain_model(model, x_train, "rbm", epochs=5,
                                                 learning_rate=0.05)
    ```

    Reference:
        Hinton, Osindero & Teh, "A fast learning algorithm for deep belief nets", Neural
        Computation 2006; Bengio, Lamblin, Popovici & Larochelle, "Greedy layer-wise training of
        deep networks", NIPS 2007.
    """
    input_shape = check_input_shape(input_shape)
    hidden_units = check_units("hidden_units", hidden_units)
    if not hidden_units:
        raise ValueError("a deep belief network needs at least one hidden layer; got "
                         "hidden_units=() (a softmax regression is mlp(hidden_units=()))")
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(
            units, activation="sigmoid", name=f"hidden{index}_dense",
            kernel_initializer=keras.initializers.GlorotUniform(
                None if seed is None else seed + index))(x)
    head = {"kernel_initializer": keras.initializers.GlorotUniform(seed)} if include_top else {}
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=None,
                        classifier_activation=classifier_activation, **head)
    return keras.Model(inputs, x, name=name)
