"""Stacked (denoising) autoencoders: classifiers whose hidden layers are pre-trained greedily,
one autoencoder at a time, then fine-tuned with labels (Bengio et al. 2007; Vincent et al.
2010; lectures 000 and 002).

The model itself is the feed-forward network (`keras_dl.models.mlp`); the registry's
`pretraining` unit ("autoencoder" or "denoising_autoencoder",
`keras_dl.training.autoencoders`) is what `keras-dl train` runs on it first.
"""

from __future__ import annotations

from keras_dl.models._common import check_choice, check_units, variant
from keras_dl.models.mlp import mlp
from keras_dl.registry import register_model


def _stacked(*, input_shape=(28, 28, 1), num_classes=10, hidden_units=(500, 500, 500),
             activation="sigmoid", classifier_activation="softmax", seed=None, name=None):
    """The shared constructor: the MLP whose hidden layers the pre-training unit fills."""
    hidden_units = check_units("hidden_units", hidden_units)
    if not hidden_units:
        raise ValueError("a stacked autoencoder needs at least one hidden layer, got ()")
    check_choice("activation", activation, ("sigmoid", "tanh", "relu"))
    return mlp(input_shape=input_shape, num_classes=num_classes, hidden_units=hidden_units,
               activation=activation, classifier_activation=classifier_activation, seed=seed,
               name=name)


_STACKED_SEARCH = lambda hp: {
    "hidden_units": (hp.Choice("width", [256, 500, 1000]),) * hp.Int("depth", 1, 3),
    "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
}
_STACKED_SMOKE = {"input_shape": (8, 8, 1), "num_classes": 3, "hidden_units": (6, 4)}


def _register_stacked(pretraining):
    """The registration the stacked classifiers share; only their pre-training unit differs."""
    return register_model(
        family="autoencoder",
        search_space=_STACKED_SEARCH,
        smoke_kwargs=_STACKED_SMOKE,
        train_defaults={"epochs": 30, "batch_size": 64, "learning_rate": 1e-3,
                        "pretrain_epochs": 5, "pretrain_learning_rate": 1e-3},
        task="pretrained_classification",
        pretraining=pretraining,
    )


# The entry points: `stacked_denoising_autoencoder` differs in its defaults (the paper's
# 1000-unit layers) and its pre-training unit.

_SAE_DOC = """Stacked autoencoder classifier: a sigmoid MLP whose hidden layers are pre-trained
    greedily as tied autoencoders, then fine-tuned with labels (Bengio et al. 2007).

    The model is the feed-forward network (`hidden{i}_dense` + activation, then
    `predictions`); `keras-dl train stacked_autoencoder` first trains each hidden layer as the
    encoder of a one-layer tied autoencoder on the representation below it (the
    "autoencoder" unit, `keras_dl.training.autoencoders`), copies the encoders in, then
    fine-tunes (`--finetune all|top`).

    Args:
        input_shape: shape of one example.
        num_classes: classes of the softmax output.
        hidden_units: widths of the stacked layers (Bengio et al.: 3 layers).
        activation: "sigmoid", "tanh" or "relu".
        classifier_activation: "softmax" or None (logits).
        seed: initializer seed.
        name: model name.

    Example:
    ```python
    keras_dl.training.train("stacked_autoencoder", dataset="fashion_mnist", run_dir="runs/sae",
                            pretrain_epochs=5, finetune="all")
    ```

    Reference:
        Bengio, Lamblin, Popovici, Larochelle. "Greedy layer-wise training of deep networks",
        NIPS 2007.
    """

_SDA_DOC = """Stacked denoising autoencoder (SdA) classifier: hidden layers pre-trained greedily as
    tied denoising autoencoders (masking noise, ν = 0.25), then fine-tuned with labels.

    As `stacked_autoencoder`, with the "denoising_autoencoder" unit: each layer learns to
    reconstruct its clean input from a corrupted copy (Vincent et al. 2010, SdA-3 with
    1000-unit layers).

    Args:
        input_shape: shape of one example.
        num_classes: classes of the softmax output.
        hidden_units: widths of the stacked layers.
        activation: "sigmoid", "tanh" or "relu".
        classifier_activation: "softmax" or None (logits).
        seed: initializer seed.
        name: model name.

    Example:
    ```shell
    keras-dl train stacked_denoising_autoencoder --pretrain-epochs 5 --finetune all
    ```

    Reference:
        Vincent, Larochelle, Lajoie, Bengio, Manzagol. "Stacked Denoising Autoencoders:
        Learning Useful Representations in a Deep Network with a Local Denoising Criterion",
        JMLR 11, 2010.
    """

stacked_autoencoder = _register_stacked("autoencoder")(
    variant(_stacked, "stacked_autoencoder", _SAE_DOC))
stacked_denoising_autoencoder = _register_stacked("denoising_autoencoder")(
    variant(_stacked, "stacked_denoising_autoencoder", _SDA_DOC, hidden_units=(1000,) * 3))
