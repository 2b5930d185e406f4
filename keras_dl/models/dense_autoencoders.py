"""Dense autoencoders (lectures 000, 002, 004): plain (tied or not, under- or over-complete),
sparse, contractive, denoising, and semantic hashing's binary code.

All five share one constructor, `_dense_autoencoder`: flatten, Dense encoder layers, the
`code` layer (a regulariser or the binary code sits on it), and a decoder mirroring the
encoder back to the input shape, tied (`TiedDense`, `W' = Wᵀ`) or not. The layer names follow
`keras_dl.models.autoencoders`' convention, so `encoder(model)` and `decoder(model)` take
them apart.
"""

from __future__ import annotations

import keras

from keras_dl.layers import (
    BinaryCode,
    ContractiveActivation,
    SparsityPenalty,
    TiedDense,
    corruption_layer,
)
from keras_dl.layers.contractive import ACTIVATIONS as CONTRACTIVE_ACTIVATIONS
from keras_dl.layers.corruption import CORRUPTIONS
from keras_dl.models._common import (
    check_choice,
    check_input_shape,
    check_non_negative,
    check_positive_int,
    check_units,
)
from keras_dl.models.autoencoders import ACTIVATIONS, CODE_LAYER, OUTPUT_ACTIVATIONS, glorot
from keras_dl.registry import register_model


def _check_corruption(corruption, level):
    if corruption is None:
        return None, 0.0
    check_choice("corruption", corruption, tuple(CORRUPTIONS))
    level = check_non_negative("corruption_level", level)
    if corruption != "gaussian" and level >= 1:
        raise ValueError(f"corruption_level of {corruption!r} is a fraction in [0, 1), "
                         f"got {level!r}")
    return corruption, level


def _dense_autoencoder(*, input_shape, code_size, hidden_units, activation, output_activation,
                       seed, name, code_activation=None, tied=False, corruption=None,
                       corruption_level=0.0, l1=0.0, contractive=0.0, code_noise=None):
    """The shared constructor; each builder turns on its own regulariser (None/0: off)."""
    input_shape = check_input_shape(input_shape)
    code_size = check_positive_int("code_size", code_size)
    hidden_units = check_units("hidden_units", hidden_units)
    check_choice("activation", activation, ACTIVATIONS)
    code_activation = activation if code_activation is None else code_activation
    check_choice("code_activation", code_activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    corruption, corruption_level = _check_corruption(corruption, corruption_level)
    l1 = check_non_negative("l1", l1)
    contractive = check_non_negative("contractive", contractive)
    if contractive:
        check_choice("code_activation (contractive)", code_activation, CONTRACTIVE_ACTIVATIONS)

    inputs = keras.Input(input_shape, name="inputs")
    x = keras.layers.Flatten(name="encoder_flatten")(inputs) if len(input_shape) > 1 else inputs
    input_size = x.shape[-1]
    if corruption:
        x = corruption_layer(corruption, corruption_level, seed=seed, name="corruption")(x)
    encoder_layers, hidden_outputs = [], []
    for index, units in enumerate(hidden_units, start=1):
        layer = keras.layers.Dense(units, activation=activation,
                                   kernel_initializer=glorot(seed, index),
                                   name=f"encoder_dense{index}")
        x = layer(x)
        encoder_layers.append(layer)
        hidden_outputs.append(x)
    if code_noise is not None:  # semantic hashing: logits, then noisy sigmoid / threshold
        layer = keras.layers.Dense(code_size, kernel_initializer=glorot(seed, 0),
                                   name="code_logits")
        x = BinaryCode(code_noise, seed=seed, name=CODE_LAYER)(layer(x))
    elif contractive:
        # the exact ‖∂h/∂x‖²_F: closed form for one layer, else through the hidden chain
        layer = keras.layers.Dense(code_size, kernel_initializer=glorot(seed, 0),
                                   name="code_dense")
        penalty = ContractiveActivation(layer, code_activation, contractive,
                                        hidden=encoder_layers, name=CODE_LAYER)
        x = penalty([*hidden_outputs, layer(x)] if hidden_outputs else layer(x))
    elif l1:
        layer = keras.layers.Dense(code_size, activation=code_activation,
                                   kernel_initializer=glorot(seed, 0), name="code_dense")
        x = SparsityPenalty(l1, name=CODE_LAYER)(layer(x))
    else:
        layer = keras.layers.Dense(code_size, activation=code_activation,
                                   kernel_initializer=glorot(seed, 0), name=CODE_LAYER)
        x = layer(x)
    encoder_layers.append(layer)

    widths = list(reversed(hidden_units)) + [input_size]
    for index, (units, tied_to) in enumerate(zip(widths, reversed(encoder_layers)), start=1):
        last = index == len(widths)
        layer_name = "decoder_output" if last else f"decoder_dense{index}"
        layer_activation = output_activation if last else activation
        if tied:
            x = TiedDense(tied_to, activation=layer_activation, name=layer_name)(x)
        else:
            x = keras.layers.Dense(units, activation=layer_activation,
                                   kernel_initializer=glorot(seed, 100 + index),
                                   name=layer_name)(x)
    outputs = keras.layers.Reshape(input_shape, name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


_DENSE_SMOKE = {"input_shape": (8, 8, 1), "code_size": 3, "hidden_units": (6,)}


@register_model(
    family="autoencoder",
    task="reconstruction",
    loss="binary_crossentropy",
    search_space=lambda hp: {
        "code_size": hp.Choice("code_size", [16, 32, 64, 128]),
        "hidden_units": (hp.Choice("hidden", [128, 256, 512]),) * hp.Int("depth", 0, 2),
        "activation": hp.Choice("activation", ["sigmoid", "relu", "tanh"]),
        "tied": hp.Boolean("tied"),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs=_DENSE_SMOKE,
    train_defaults={"epochs": 20, "batch_size": 128, "learning_rate": 1e-3},
)
def autoencoder(*, input_shape=(28, 28, 1), code_size=32, hidden_units=(), activation="sigmoid",
                code_activation=None, output_activation="sigmoid", tied=False, seed=None,
                name="autoencoder"):
    """Dense autoencoder `x̂ = g(f(x))`, tied (`W' = Wᵀ`) or not, under- or over-complete.

    Encoder: flatten, `hidden_units` Dense layers, then the `code` layer of `code_size` units;
    the decoder mirrors it back to the input shape. With `code_size` below the input size the
    code is undercomplete (a bottleneck); above it, overcomplete (then only a regulariser —
    `sparse_autoencoder`, `contractive_autoencoder`, `denoising_autoencoder` — keeps it from
    copying). With linear activations and squared error it learns the PCA subspace
    (lecture 004; see `tests/test_autoencoders.py`).

    Args:
        input_shape: shape of one example (flattened inside).
        code_size: units in the code `h` (any size ≥ 1).
        hidden_units: widths of the encoder's hidden layers (the decoder mirrors them).
        activation: hidden layers' activation ("sigmoid", "tanh", "relu", "linear", "softplus").
        code_activation: the code's activation (None: `activation`).
        output_activation: "sigmoid" for inputs in [0, 1] (binary cross-entropy), "linear"
            for real-valued inputs (squared error).
        tied: decoder layers use the transposes of the encoder kernels (`TiedDense`).
        seed: initializer seed.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("autoencoder", code_size=64, tied=True)
    model.compile("adam", "binary_crossentropy")
    model.fit(x, x, epochs=10)
    codes = keras_dl.models.autoencoders.encoder(model).predict(x)
    ```

    Reference:
        Goodfellow, Bengio, Courville. "Deep Learning", MIT Press 2016, chapter 14;
        Bourlard & Kamp. "Auto-association by multilayer perceptrons and singular value
        decomposition", Biological Cybernetics 1988 (linear AE = PCA).
    """
    return _dense_autoencoder(
        input_shape=input_shape, code_size=code_size, hidden_units=hidden_units,
        activation=activation, code_activation=code_activation,
        output_activation=output_activation, tied=tied, seed=seed, name=name)


@register_model(
    family="autoencoder",
    task="reconstruction",
    loss="binary_crossentropy",
    search_space=lambda hp: {
        "code_size": hp.Choice("code_size", [64, 256, 1024]),
        "l1": hp.Float("l1", 1e-5, 1e-2, sampling="log"),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "code_size": 80},
    train_defaults={"epochs": 20, "batch_size": 128, "learning_rate": 1e-3},
)
def sparse_autoencoder(*, input_shape=(28, 28, 1), code_size=256, hidden_units=(),
                       activation="relu", l1=1e-3, output_activation="sigmoid", tied=False,
                       seed=None, name="sparse_autoencoder"):
    """Sparse autoencoder: `L(x, g(f(x))) + λ Σ_i |h_i|` (lecture 004), ReLU code.

    The L1 activity penalty on the code (`SparsityPenalty`, its batch mean) drives most code
    units to exactly zero for each input ("use ReLUs in the latent layer causes some of the
    latent units to be exactly zero"), so the code may be overcomplete (the default: 256 units
    for 784 pixels).

    Args:
        input_shape: shape of one example.
        code_size: units in the code.
        hidden_units: hidden encoder widths (mirrored by the decoder).
        activation: activation of the hidden layers and the code ("relu" by default).
        l1: λ ≥ 0, the weight of the L1 penalty on the code activations.
        output_activation: "sigmoid" or "linear".
        tied: tie the decoder to the encoder (`W' = Wᵀ`).
        seed: initializer seed.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("sparse_autoencoder", code_size=512, l1=1e-4)
    ```

    Reference:
        Ranzato, Poultney, Chopra, LeCun. "Efficient learning of sparse representations with
        an energy-based model", NIPS 2006; Goodfellow et al. "Deep Learning", section 14.2.1.
    """
    return _dense_autoencoder(
        input_shape=input_shape, code_size=code_size, hidden_units=hidden_units,
        activation=activation, output_activation=output_activation, tied=tied, l1=l1,
        seed=seed, name=name)


@register_model(
    family="autoencoder",
    task="reconstruction",
    loss="binary_crossentropy",
    search_space=lambda hp: {
        "code_size": hp.Choice("code_size", [64, 256, 1024]),
        "contractive": hp.Float("contractive", 1e-3, 1.0, sampling="log"),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "code_size": 5, "hidden_units": (6,)},
    train_defaults={"epochs": 20, "batch_size": 128, "learning_rate": 1e-3},
)
def contractive_autoencoder(*, input_shape=(28, 28, 1), code_size=256, hidden_units=(),
                            activation="sigmoid", contractive=0.1, output_activation="sigmoid",
                            tied=True, seed=None, name="contractive_autoencoder"):
    """Contractive autoencoder: `L(x, g(f(x))) + λ ‖∂h/∂x‖²_F` (Rifai et al. 2011).

    The penalty is the exact squared Frobenius norm of the encoder Jacobian, added by the
    code layer `ContractiveActivation`, so a plain `fit()` trains it. With one dense encoder
    layer `h = f(Wx + b)` (the default, as in Rifai et al.) it is the closed form
    `Σ_j f'(a_j)² Σ_i W_ij²` (for the sigmoid, `f' = h(1 − h)`), one pass over W per batch.
    With `hidden_units` the encoder is a chain of Dense layers and the Jacobian is
    `J = D_L W_Lᵀ ⋯ D_1 W_1ᵀ` (`D_l = diag(f'(a_l))`), propagated per example: it costs
    `O(batch · d_in · Σ_l d_l d_{l−1})` per step, so keep deep encoders narrow.
    Rifai et al. tie the weights; so does the default.

    Args:
        input_shape: shape of one example.
        code_size: units in the code.
        hidden_units: widths of the encoder's hidden layers (the decoder mirrors them).
        activation: the encoder's (and the decoder's hidden layers') activation ("sigmoid",
            "tanh", "relu", "linear", "softplus").
        contractive: λ ≥ 0.
        output_activation: "sigmoid" or "linear".
        tied: tie the decoder to the encoder.
        seed: initializer seed.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("contractive_autoencoder", contractive=0.3)
    deep = keras_dl.create_model("contractive_autoencoder", hidden_units=(256,), code_size=64)
    ```

    Reference:
        Rifai, Vincent, Muller, Glorot, Bengio. "Contractive Auto-Encoders: Explicit
        Invariance During Feature Extraction", ICML 2011.
    """
    return _dense_autoencoder(
        input_shape=input_shape, code_size=code_size, hidden_units=hidden_units,
        activation=activation, output_activation=output_activation, tied=tied,
        contractive=contractive, seed=seed, name=name)


@register_model(
    family="autoencoder",
    task="reconstruction",
    loss="binary_crossentropy",
    search_space=lambda hp: {
        "code_size": hp.Choice("code_size", [64, 256, 1024]),
        "corruption": hp.Choice("corruption", ["masking", "gaussian", "salt_and_pepper"]),
        "corruption_level": hp.Choice("corruption_level", [0.1, 0.25, 0.4]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs=_DENSE_SMOKE,
    train_defaults={"epochs": 20, "batch_size": 128, "learning_rate": 1e-3},
)
def denoising_autoencoder(*, input_shape=(28, 28, 1), code_size=256, hidden_units=(),
                          activation="sigmoid", corruption="masking", corruption_level=0.25,
                          output_activation="sigmoid", tied=True, seed=None,
                          name="denoising_autoencoder"):
    """Denoising autoencoder: minimises `L(x, g(f(x̃)))`, `x̃ ~ C(x̃ | x)` (lecture 004).

    A corruption layer (`corruption`: "masking" — each pixel zeroed with probability ν —,
    "gaussian" — `x + N(0, σ²)` — or "salt_and_pepper") sits after the input and is active in
    training only; the target stays the clean input. Served, the model reconstructs what it
    is given (to denoise an image, feed the noisy one).

    Args:
        input_shape: shape of one example.
        code_size: units in the code (may be overcomplete: the corruption regularises).
        hidden_units: hidden encoder widths.
        activation: hidden and code activation.
        corruption: "masking", "gaussian" or "salt_and_pepper".
        corruption_level: ν (fraction masked/replaced, in [0, 1)) or σ for "gaussian";
            Vincent et al. 2008 use masking at 0.25.
        output_activation: "sigmoid" or "linear".
        tied: tie the decoder to the encoder (Vincent et al. do).
        seed: seed of the initializers and of the corruption.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("denoising_autoencoder", corruption="gaussian",
                                  corruption_level=0.3)
    ```

    Reference:
        Vincent, Larochelle, Bengio, Manzagol. "Extracting and composing robust features with
        denoising autoencoders", ICML 2008; Vincent et al. "Stacked Denoising Autoencoders",
        JMLR 2010.
    """
    if corruption is None:
        raise ValueError(f"corruption must be one of {', '.join(CORRUPTIONS)}; got None "
                         "(use `autoencoder` for none)")
    return _dense_autoencoder(
        input_shape=input_shape, code_size=code_size, hidden_units=hidden_units,
        activation=activation, output_activation=output_activation, tied=tied,
        corruption=corruption, corruption_level=corruption_level, seed=seed, name=name)


@register_model(
    family="autoencoder",
    task="reconstruction",
    loss="binary_crossentropy",
    search_space=lambda hp: {
        "code_bits": hp.Choice("code_bits", [16, 32, 64]),
        "noise_stddev": hp.Choice("noise_stddev", [2.0, 4.0, 8.0]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "code_bits": 4, "hidden_units": (6,)},
    train_defaults={"epochs": 20, "batch_size": 128, "learning_rate": 1e-3},
)
def semantic_hashing_autoencoder(*, input_shape=(28, 28, 1), code_bits=32,
                                 hidden_units=(512, 256), activation="relu", noise_stddev=4.0,
                                 output_activation="sigmoid", seed=None,
                                 name="semantic_hashing_autoencoder"):
    """Semantic hashing autoencoder: a deep encoder to a `code_bits`-bit binary code.

    The code layer (`BinaryCode`) adds Gaussian noise before its sigmoid during training,
    which pushes the code units to saturate at 0 or 1; at inference it thresholds, so
    `encoder(model)` returns exact bits, and similar images get codes at a small Hamming
    distance (lecture 004: "semantic hashing, i.e., mapping continuous entries to binary codes
    and back"). Served, the model reconstructs from the binary code.

    Args:
        input_shape: shape of one example.
        code_bits: length of the binary code.
        hidden_units: hidden encoder widths (Salakhutdinov & Hinton: a deep network).
        activation: hidden activation.
        noise_stddev: σ of the noise before the code's sigmoid (their σ² = 16).
        output_activation: "sigmoid" or "linear".
        seed: seed of the initializers and of the noise.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("semantic_hashing_autoencoder", code_bits=32)
    bits = keras_dl.models.autoencoders.encoder(model).predict(images)  # 0/1
    ```

    Reference:
        Salakhutdinov & Hinton. "Semantic hashing", International Journal of Approximate
        Reasoning 50(7), 2009.
    """
    code_bits = check_positive_int("code_bits", code_bits)
    noise_stddev = check_non_negative("noise_stddev", noise_stddev)
    return _dense_autoencoder(
        input_shape=input_shape, code_size=code_bits, hidden_units=hidden_units,
        activation=activation, code_activation="linear", output_activation=output_activation,
        code_noise=noise_stddev, seed=seed, name=name)

