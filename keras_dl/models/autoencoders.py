"""The autoencoder family: dense (tied or not), sparse, contractive, denoising, convolutional,
variational (dense and convolutional) and semantic hashing; stacked (denoising) autoencoders.

Lecture 004 (Poznań): an autoencoder is "a composition of encoder f and decoder g, connected
via a latent layer h", trained to reproduce its input "under constraints": a small code
(undercomplete, |h| < |x|), or a regularised one (sparse: `L + λ Σ|h_i|`; contractive:
`L + λ Σ ‖∇_x h_i‖²`; denoising: `L(x, g(f(x̃)))`). Lectures 000 and 002 add tied weights
(`W' = Wᵀ`) and greedy stacking; lecture 004 the VAE and semantic hashing.

Every builder returns one flat functional model whose layers follow a naming convention, so
its parts can be taken out again, also after a `.keras` round trip:

- the input layer is `inputs`;
- the encoder ends at the layer `code` (a VAE: `z_mean` and `z_log_var`; its sampler `z`);
- the decoder is the chain of layers named `decoder_*`, in model order, each applied to the
  previous one's output; in a plain autoencoder a final layer `reconstruction` (a reshape or
  convolution back to the input shape) belongs to it too; in a VAE `reconstruction` is the
  `ReconstructionLoss` that adds `−log p(x|z)` and passes `decoder_output` through.

`encoder(model)` and `decoder(model)` rebuild these parts as stand-alone models sharing the
full model's layers (and so its weights).
"""

from __future__ import annotations

import math

import keras

from keras_dl.layers import (
    BinaryCode,
    ContractiveActivation,
    ReconstructionLoss,
    Sampling,
    SparsityPenalty,
    TiedDense,
    corruption_layer,
)
from keras_dl.layers.contractive import ACTIVATIONS as CONTRACTIVE_ACTIVATIONS
from keras_dl.layers.corruption import CORRUPTIONS
from keras_dl.layers.reconstruction_loss import DISTRIBUTIONS
from keras_dl.models._common import (
    check_choice,
    check_input_shape,
    check_non_negative,
    check_positive_int,
)
from keras_dl.models.mlp import mlp
from keras_dl.registry import register_model

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear", "softplus")
OUTPUT_ACTIVATIONS = ("sigmoid", "linear")
CODE_LAYER = "code"
VAE_OUTPUTS = ("z_mean", "z_log_var")


# === Parts: encoder / decoder sub-models ======================================================


def is_vae(model: keras.Model) -> bool:
    """True for a model built by `vae` / `conv_vae` (it has `z_mean` and `z_log_var`)."""
    names = {layer.name for layer in model.layers}
    return set(VAE_OUTPUTS) <= names


def is_autoencoder(model: keras.Model) -> bool:
    """True for a model following this module's convention (a `code` layer, or a VAE)."""
    names = {layer.name for layer in model.layers}
    return (CODE_LAYER in names or is_vae(model)) and any(
        n.startswith("decoder_") or n == "reconstruction" for n in names)


def _check_autoencoder(model):
    if not isinstance(model, keras.Model) or not is_autoencoder(model):
        raise ValueError(
            f"{getattr(model, 'name', model)!r} is not a keras_dl autoencoder (no 'code' or "
            "'z_mean'/'z_log_var' layer and 'decoder_*' layers)"
        )


def encoder(model: keras.Model) -> keras.Model:
    """The encoder of `model`: inputs → `code` (a VAE: inputs → `[z_mean, z_log_var]`).

    A stand-alone `keras.Model` sharing the autoencoder's layers and weights.
    """
    _check_autoencoder(model)
    if is_vae(model):
        outputs = [model.get_layer(name).output for name in VAE_OUTPUTS]
    else:
        outputs = model.get_layer(CODE_LAYER).output
    return keras.Model(model.inputs[0], outputs, name=f"{model.name}_encoder")


def _decoder_layers(model):
    chain = [layer for layer in model.layers if layer.name.startswith("decoder_")]
    last = model.layers[-1]
    if last.name == "reconstruction" and not isinstance(last, ReconstructionLoss):
        chain.append(last)
    return chain


def decoder(model: keras.Model) -> keras.Model:
    """The decoder of `model`: a code (a VAE: `z`) → the reconstructed input.

    A stand-alone `keras.Model` (input `code` or `z`) applying the autoencoder's own decoder
    layers, so it shares their weights (and a tied decoder stays tied to the encoder).
    """
    _check_autoencoder(model)
    if is_vae(model):
        code_shape, input_name = model.get_layer("z_mean").output.shape[1:], "z"
    else:
        code_shape, input_name = model.get_layer(CODE_LAYER).output.shape[1:], "code"
    code = keras.Input(tuple(code_shape), name=input_name)
    x = code
    for layer in _decoder_layers(model):
        x = layer(x)
    return keras.Model(code, x, name=f"{model.name}_decoder")


def sampler(model: keras.Model) -> Sampling:
    """The `Sampling` layer (`z`) of a VAE."""
    if not is_vae(model):
        raise ValueError(f"{model.name!r} is not a VAE (no 'z_mean'/'z_log_var' layers)")
    return model.get_layer("z")


# === Argument checks ==========================================================================


def _check_units(name, values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a sequence of positive integers, got {values!r}")
    return tuple(check_positive_int(f"{name} entries", v) for v in values)


def _check_code_size(code_size):
    if isinstance(code_size, bool) or not isinstance(code_size, int) or code_size < 1:
        raise ValueError(f"code_size must be a positive integer (1 or more units), "
                         f"got {code_size!r}")
    return code_size


def _check_weight(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number (a penalty weight), "
                         f"got {value!r}")
    return float(value)


def _check_mirrorable(input_shape, stages):
    height, width = input_shape[:2]
    factor = 2 ** stages
    if height % factor or width % factor:
        raise ValueError(
            f"input height and width must be divisible by {factor} for {stages} stride-2 "
            f"stages (so the transposed convolutions give back exactly the input size), got "
            f"{height}×{width}; e.g. {factor * math.ceil(height / factor)}×"
            f"{factor * math.ceil(width / factor)}, or fewer filters stages"
        )


def _check_corruption(corruption, level):
    if corruption is None:
        return None, 0.0
    check_choice("corruption", corruption, tuple(CORRUPTIONS))
    level = check_non_negative("corruption_level", level)
    if corruption != "gaussian" and level >= 1:
        raise ValueError(f"corruption_level of {corruption!r} is a fraction in [0, 1), "
                         f"got {level!r}")
    return corruption, level


# === Dense autoencoders =======================================================================


def _dense_autoencoder(*, input_shape, code_size, hidden_units, activation, code_activation,
                       output_activation, tied, corruption, corruption_level, l1, contractive,
                       seed, name, code_noise=None):
    input_shape = check_input_shape(input_shape)
    code_size = _check_code_size(code_size)
    hidden_units = _check_units("hidden_units", hidden_units)
    check_choice("activation", activation, ACTIVATIONS)
    code_activation = activation if code_activation is None else code_activation
    check_choice("code_activation", code_activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    corruption, corruption_level = _check_corruption(corruption, corruption_level)
    l1 = _check_weight("l1", l1)
    contractive = _check_weight("contractive", contractive)
    if contractive:
        check_choice("code_activation (contractive)", code_activation, CONTRACTIVE_ACTIVATIONS)

    def init(offset):
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed + offset)

    inputs = keras.Input(input_shape, name="inputs")
    x = keras.layers.Flatten(name="encoder_flatten")(inputs) if len(input_shape) > 1 else inputs
    input_size = x.shape[-1]
    if corruption:
        x = corruption_layer(corruption, corruption_level, seed=seed, name="corruption")(x)
    encoder_layers, hidden_outputs = [], []
    for index, units in enumerate(hidden_units, start=1):
        layer = keras.layers.Dense(units, activation=activation, kernel_initializer=init(index),
                                   name=f"encoder_dense{index}")
        x = layer(x)
        encoder_layers.append(layer)
        hidden_outputs.append(x)
    if code_noise is not None:  # semantic hashing: logits, then noisy sigmoid / threshold
        layer = keras.layers.Dense(code_size, kernel_initializer=init(0), name="code_logits")
        x = BinaryCode(code_noise, seed=seed, name=CODE_LAYER)(layer(x))
    elif contractive:
        # the exact ‖∂h/∂x‖²_F: closed form for one layer, else through the hidden chain
        layer = keras.layers.Dense(code_size, kernel_initializer=init(0), name="code_dense")
        penalty = ContractiveActivation(layer, code_activation, contractive,
                                        hidden=encoder_layers, name=CODE_LAYER)
        x = penalty([*hidden_outputs, layer(x)] if hidden_outputs else layer(x))
    elif l1:
        layer = keras.layers.Dense(code_size, activation=code_activation,
                                   kernel_initializer=init(0), name="code_dense")
        x = SparsityPenalty(l1, name=CODE_LAYER)(layer(x))
    else:
        layer = keras.layers.Dense(code_size, activation=code_activation,
                                   kernel_initializer=init(0), name=CODE_LAYER)
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
                                   kernel_initializer=init(100 + index), name=layer_name)(x)
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
        output_activation=output_activation, tied=tied, corruption=None, corruption_level=0.0,
        l1=0.0, contractive=0.0, seed=seed, name=name)


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

    The L1 activity penalty on the code (`SparsityPenalty`, its batch mean) drives most code units to exactly
    zero for each input ("use ReLUs in the latent layer causes some of the latent units to be
    exactly zero"), so the code may be overcomplete (the default: 256 units for 784 pixels).

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
        activation=activation, code_activation=None, output_activation=output_activation,
        tied=tied, corruption=None, corruption_level=0.0, l1=l1, contractive=0.0, seed=seed,
        name=name)


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
        activation=activation, code_activation=activation,
        output_activation=output_activation, tied=tied, corruption=None, corruption_level=0.0,
        l1=0.0, contractive=contractive, seed=seed, name=name)


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
        activation=activation, code_activation=None, output_activation=output_activation,
        tied=tied, corruption=corruption, corruption_level=corruption_level, l1=0.0,
        contractive=0.0, seed=seed, name=name)


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
    noise_stddev = _check_weight("noise_stddev", noise_stddev)
    return _dense_autoencoder(
        input_shape=input_shape, code_size=code_bits, hidden_units=hidden_units,
        activation=activation, code_activation="linear", output_activation=output_activation,
        tied=False, corruption=None, corruption_level=0.0, l1=0.0, contractive=0.0, seed=seed,
        name=name, code_noise=noise_stddev)


# === Convolutional autoencoder ================================================================


@register_model(
    family="autoencoder",
    task="reconstruction",
    loss="binary_crossentropy",
    search_space=lambda hp: {
        "filters": tuple([hp.Choice("filters", [16, 32, 64])] * hp.Int("stages", 1, 2)),
        "code_channels": hp.Choice("code_channels", [4, 8, 16]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "filters": (4, 6), "code_channels": 2},
    train_defaults={"epochs": 20, "batch_size": 128, "learning_rate": 1e-3},
)
def conv_autoencoder(*, input_shape=(28, 28, 1), filters=(32, 64), kernel_size=3,
                     code_channels=8, activation="relu", output_activation="sigmoid",
                     seed=None, name="conv_autoencoder"):
    """Convolutional autoencoder: stride-2 `Conv2D` encoder, `Conv2DTranspose` decoder.

    Each encoder stage halves height and width; the code is a `code_channels`-deep feature
    map (1×1 convolution, `code`) at 1/2^stages of the input size. The decoder mirrors the
    stages with stride-2 transposed convolutions ("fractional/transposed convolutions used on
    the decoder side", lecture 004) and a final 3×3 convolution back to the input channels.
    Height and width must be divisible by 2^len(filters) to come back exactly.

    Args:
        input_shape: (height, width, channels).
        filters: channels of each stride-2 stage.
        kernel_size: kernel size of every (transposed) convolution.
        code_channels: channels of the code feature map.
        activation: hidden activation.
        output_activation: "sigmoid" or "linear".
        seed: initializer seed.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("conv_autoencoder", input_shape=(32, 32, 3))
    ```

    Reference:
        Masci, Meier, Cireşan, Schmidhuber. "Stacked convolutional auto-encoders for
        hierarchical feature extraction", ICANN 2011; Dumoulin & Visin. "A guide to
        convolution arithmetic for deep learning", 2016 (transposed convolutions).
    """
    input_shape = check_input_shape(input_shape, rank=3)
    filters = _check_units("filters", filters)
    if not filters:
        raise ValueError("filters must name at least one stage, got ()")
    kernel_size = check_positive_int("kernel_size", kernel_size)
    code_channels = check_positive_int("code_channels", code_channels)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    _check_mirrorable(input_shape, len(filters))

    def init(offset):
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed + offset)

    inputs = keras.Input(input_shape, name="inputs")
    x = inputs
    for index, width in enumerate(filters, start=1):
        x = keras.layers.Conv2D(width, kernel_size, strides=2, padding="same",
                                activation=activation, kernel_initializer=init(index),
                                name=f"encoder_conv{index}")(x)
    x = keras.layers.Conv2D(code_channels, 1, activation=activation, kernel_initializer=init(0),
                            name=CODE_LAYER)(x)
    for index, width in enumerate(reversed(filters), start=1):
        x = keras.layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same",
                                         activation=activation,
                                         kernel_initializer=init(100 + index),
                                         name=f"decoder_deconv{index}")(x)
    outputs = keras.layers.Conv2D(input_shape[-1], 3, padding="same",
                                  activation=output_activation, kernel_initializer=init(99),
                                  name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


# === Variational autoencoders =================================================================


def _vae_head(inputs, h, decoder_body, *, latent_dim, beta, reconstruction_weight,
              distribution, seed, name):
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = keras.layers.Dense(latent_dim, kernel_initializer="zeros", name="z_log_var")(h)
    z = Sampling(beta=beta, seed=seed, name="z")([z_mean, z_log_var])
    x_hat = decoder_body(z)
    outputs = ReconstructionLoss(distribution, reconstruction_weight,
                                 name="reconstruction")([inputs, x_hat])
    return keras.Model(inputs, outputs, name=name)


def _check_vae(latent_dim, beta, reconstruction_weight, distribution):
    latent_dim = check_positive_int("latent_dim", latent_dim)
    beta = _check_weight("beta", beta)
    reconstruction_weight = _check_weight("reconstruction_weight", reconstruction_weight)
    check_choice("distribution", distribution, DISTRIBUTIONS)
    return latent_dim, beta, reconstruction_weight


_VAE_SEARCH = {
    "latent_dim": lambda hp: hp.Choice("latent_dim", [2, 8, 16, 32]),
    "beta": lambda hp: hp.Choice("beta", [0.5, 1.0, 2.0, 4.0]),
}


@register_model(
    family="autoencoder",
    task="unsupervised",
    search_space=lambda hp: {
        "latent_dim": _VAE_SEARCH["latent_dim"](hp),
        "hidden_units": (hp.Choice("hidden", [256, 512]),) * hp.Int("depth", 1, 2),
        "beta": _VAE_SEARCH["beta"](hp),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "latent_dim": 2, "hidden_units": (6,)},
    smoke_output_shape=(8, 8, 1),
    train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
)
def vae(*, input_shape=(28, 28, 1), latent_dim=2, hidden_units=(512,), activation="relu",
        beta=1.0, reconstruction_weight=1.0, distribution="bernoulli", seed=None, name="vae"):
    """Variational autoencoder with dense encoder and decoder (Kingma & Welling 2014).

    The encoder gives `μ` (`z_mean`) and `log σ²` (`z_log_var`) of `q(z|x)`; `Sampling`
    draws `z = μ + σ·ε` and adds `β·KL(q(z|x) ‖ N(0, I))`; the decoder maps `z` to pixel
    probabilities, and `ReconstructionLoss` adds `−log p(x|z)` summed over pixels. The model
    carries its whole loss (the negative ELBO when β = 1), so it trains with `fit(x)`.
    Served, it reconstructs from `z = μ` (deterministic); export adds a `sample` endpoint
    that draws `z ~ q(z|x)` with fresh noise on each call.

    `reconstruction_weight=0` (KL only) and `beta=0` (reconstruction only) give the lecture's
    two degenerate latent spaces (`apps/vae_latent_space.py`).

    Args:
        input_shape: shape of one example.
        latent_dim: dimension of `z` (2 for pictures of the latent space).
        hidden_units: hidden widths of the encoder; the decoder mirrors them.
        activation: hidden activation.
        beta: β ≥ 0, weight of the KL term.
        reconstruction_weight: weight ≥ 0 of `−log p(x|z)`.
        distribution: "bernoulli" (intensities in [0, 1]; sigmoid output, summed binary
            cross-entropy) or "gaussian" (unit variance; half the summed squared error).
        seed: seed of the sampler.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("vae", latent_dim=2)
    model.compile("adam")
    model.fit(x_train, epochs=30, batch_size=128)
    images = keras_dl.models.autoencoders.decoder(model).predict(z_grid)
    ```

    Reference:
        Kingma & Welling. "Auto-Encoding Variational Bayes", ICLR 2014.
    """
    input_shape = check_input_shape(input_shape)
    latent_dim, beta, reconstruction_weight = _check_vae(latent_dim, beta,
                                                         reconstruction_weight, distribution)
    hidden_units = _check_units("hidden_units", hidden_units)
    check_choice("activation", activation, ACTIVATIONS)
    output_activation = "sigmoid" if distribution == "bernoulli" else "linear"
    inputs = keras.Input(input_shape, name="inputs")
    h = keras.layers.Flatten(name="encoder_flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, units in enumerate(hidden_units, start=1):
        h = keras.layers.Dense(units, activation=activation, name=f"encoder_dense{index}")(h)

    def decoder_body(z):
        x = z
        for index, units in enumerate(reversed(hidden_units), start=1):
            x = keras.layers.Dense(units, activation=activation, name=f"decoder_dense{index}")(x)
        x = keras.layers.Dense(math.prod(input_shape), activation=output_activation,
                               name="decoder_pixels")(x)
        return keras.layers.Reshape(input_shape, name="decoder_output")(x)

    return _vae_head(inputs, h, decoder_body, latent_dim=latent_dim, beta=beta,
                     reconstruction_weight=reconstruction_weight, distribution=distribution,
                     seed=seed, name=name)


@register_model(
    family="autoencoder",
    task="unsupervised",
    search_space=lambda hp: {
        "latent_dim": _VAE_SEARCH["latent_dim"](hp),
        "filters": (hp.Choice("filters", [16, 32]), 2 * hp.Choice("filters", [16, 32])),
        "beta": _VAE_SEARCH["beta"](hp),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={"input_shape": (8, 8, 1), "latent_dim": 2, "filters": (4, 6),
                  "hidden_units": 8},
    smoke_output_shape=(8, 8, 1),
    train_defaults={"epochs": 30, "batch_size": 128, "learning_rate": 1e-3},
)
def conv_vae(*, input_shape=(28, 28, 1), latent_dim=2, filters=(32, 64), kernel_size=3,
             hidden_units=16, activation="relu", beta=1.0, reconstruction_weight=1.0,
             distribution="bernoulli", seed=None, name="conv_vae"):
    """Convolutional VAE: stride-2 `Conv2D` encoder, `Conv2DTranspose` decoder.

    As `vae`, with the encoder `Conv2D` stages → flatten → Dense(`hidden_units`) → μ, log σ²,
    and the decoder Dense → reshape to the smallest feature map → stride-2 transposed
    convolutions → a 3×3 convolution to the input channels (the Keras VAE example's layout).
    Height and width must be divisible by 2^len(filters).

    Args:
        input_shape: (height, width, channels).
        latent_dim: dimension of `z`.
        filters: channels of each stride-2 stage.
        kernel_size: kernel size of every (transposed) convolution.
        hidden_units: width of the dense layer between the feature maps and `z`.
        activation: hidden activation.
        beta: β ≥ 0, weight of the KL term.
        reconstruction_weight: weight ≥ 0 of `−log p(x|z)`.
        distribution: "bernoulli" or "gaussian" (see `vae`).
        seed: seed of the sampler.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("conv_vae", latent_dim=16)
    ```

    Reference:
        Kingma & Welling. "Auto-Encoding Variational Bayes", ICLR 2014; Chollet,
        "Variational AutoEncoder" (keras.io example, 2020), for the convolutional layout.
    """
    input_shape = check_input_shape(input_shape, rank=3)
    latent_dim, beta, reconstruction_weight = _check_vae(latent_dim, beta,
                                                         reconstruction_weight, distribution)
    filters = _check_units("filters", filters)
    if not filters:
        raise ValueError("filters must name at least one stage, got ()")
    kernel_size = check_positive_int("kernel_size", kernel_size)
    hidden_units = check_positive_int("hidden_units", hidden_units)
    check_choice("activation", activation, ACTIVATIONS)
    _check_mirrorable(input_shape, len(filters))
    output_activation = "sigmoid" if distribution == "bernoulli" else "linear"
    inputs = keras.Input(input_shape, name="inputs")
    h = inputs
    for index, width in enumerate(filters, start=1):
        h = keras.layers.Conv2D(width, kernel_size, strides=2, padding="same",
                                activation=activation, name=f"encoder_conv{index}")(h)
    smallest = tuple(h.shape[1:])
    h = keras.layers.Flatten(name="encoder_flatten")(h)
    h = keras.layers.Dense(hidden_units, activation=activation, name="encoder_dense")(h)

    def decoder_body(z):
        x = keras.layers.Dense(math.prod(smallest), activation=activation,
                               name="decoder_dense")(z)
        x = keras.layers.Reshape(smallest, name="decoder_reshape")(x)
        for index, width in enumerate(reversed(filters), start=1):
            x = keras.layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same",
                                             activation=activation,
                                             name=f"decoder_deconv{index}")(x)
        return keras.layers.Conv2D(input_shape[-1], 3, padding="same",
                                   activation=output_activation, name="decoder_output")(x)

    return _vae_head(inputs, h, decoder_body, latent_dim=latent_dim, beta=beta,
                     reconstruction_weight=reconstruction_weight, distribution=distribution,
                     seed=seed, name=name)


# === Stacked autoencoders (classifiers pre-trained greedily) ==================================


def _stacked(*, input_shape, num_classes, hidden_units, activation, classifier_activation, seed,
             name):
    hidden_units = _check_units("hidden_units", hidden_units)
    if not hidden_units:
        raise ValueError("a stacked autoencoder needs at least one hidden layer, got ()")
    check_choice("activation", activation, ("sigmoid", "tanh", "relu"))
    return mlp(input_shape=input_shape, num_classes=num_classes, hidden_units=hidden_units,
               activation=activation, classifier_activation=classifier_activation, seed=seed,
               name=name)


_STACKED_SEARCH = lambda hp: {  # noqa: E731
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
        pretraining=pretraining,
    )


@_register_stacked("autoencoder")
def stacked_autoencoder(*, input_shape=(28, 28, 1), num_classes=10, hidden_units=(500, 500, 500),
                        activation="sigmoid", classifier_activation="softmax", seed=None,
                        name="stacked_autoencoder"):
    """Stacked autoencoder classifier: a sigmoid MLP whose hidden layers are pre-trained
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
    return _stacked(input_shape=input_shape, num_classes=num_classes, hidden_units=hidden_units,
                    activation=activation, classifier_activation=classifier_activation,
                    seed=seed, name=name)


@_register_stacked("denoising_autoencoder")
def stacked_denoising_autoencoder(*, input_shape=(28, 28, 1), num_classes=10,
                                  hidden_units=(1000, 1000, 1000), activation="sigmoid",
                                  classifier_activation="softmax", seed=None,
                                  name="stacked_denoising_autoencoder"):
    """Stacked denoising autoencoder (SdA) classifier: hidden layers pre-trained greedily as
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
    return _stacked(input_shape=input_shape, num_classes=num_classes, hidden_units=hidden_units,
                    activation=activation, classifier_activation=classifier_activation,
                    seed=seed, name=name)
