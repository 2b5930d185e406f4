"""The autoencoder family's shared structure: the layer-naming convention every autoencoder
builder follows, and the functions that take a built model apart along it.

Lecture 004 (Poznań): an autoencoder is "a composition of encoder f and decoder g, connected
via a latent layer h", trained to reproduce its input "under constraints": a small code
(undercomplete, |h| < |x|), or a regularised one (sparse: `L + λ Σ|h_i|`; contractive:
`L + λ Σ ‖∇_x h_i‖²`; denoising: `L(x, g(f(x̃)))`). Lectures 000 and 002 add tied weights
(`W' = Wᵀ`) and greedy stacking; lecture 004 the VAE and semantic hashing.

The builders live by family: `dense_autoencoders` (dense, tied or not, sparse, contractive,
denoising, semantic hashing), `conv_autoencoders`, `vae` (dense and convolutional) and
`stacked_autoencoders` (classifiers pre-trained greedily as stacked (denoising)
autoencoders).

Every autoencoder builder returns one flat functional model whose layers follow a naming
convention, so its parts can be taken out again, also after a `.keras` round trip:

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

import keras

from keras_dl.layers import ReconstructionLoss, Sampling

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear", "softplus")
OUTPUT_ACTIVATIONS = ("sigmoid", "linear")
CODE_LAYER = "code"
VAE_OUTPUTS = ("z_mean", "z_log_var")


def glorot(seed, offset):
    """A Glorot-uniform initializer seeded `seed + offset` (unseeded when `seed` is None)."""
    return keras.initializers.GlorotUniform(seed=None if seed is None else seed + offset)

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
