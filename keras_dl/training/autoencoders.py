"""Autoencoders as greedy pre-training units, and the encoder Jacobian by autodiff.

Two units for `keras_dl.training.pretraining` (its `GreedyUnit` interface):

- `"autoencoder"`: one Dense encoder `h = f(xW + b)` with a tied decoder `x̂ = g(hWᵀ + b')`,
  trained to reconstruct its input (Bengio et al. 2007, the stacked autoencoder);
- `"denoising_autoencoder"`: the same, trained to reconstruct the clean input from a corrupted
  copy (Vincent et al. 2008/2010; masking noise at ν = 0.25 by default; options
  `corruption="masking"|"gaussian"|"salt_and_pepper"` and `corruption_level`).

The decoder's output is a sigmoid trained with binary cross-entropy when the representation
lies in [0, 1] (pixels, sigmoid units below), and linear with squared error otherwise.

```python
result = pretraining.pretrain_model(model, x, "denoising_autoencoder", epochs=5,
                                    unit_options={"corruption_level": 0.3})
```

`jacobian_frobenius_norm(encoder, x)` measures `‖∂h/∂x‖_F` per example for any encoder by
automatic differentiation (TensorFlow's `GradientTape.batch_jacobian`; backend-specific, so it
lives here, not in a layer). It checks `ContractiveActivation`'s closed form and compares
contractive and plain autoencoders in `apps/autoencoders.py`.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl.layers import TiedDense, corruption_layer
from keras_dl.layers.corruption import CORRUPTIONS
from keras_dl.training.pretraining import register_unit


class AutoencoderUnit:
    """One layer of a stacked (denoising) autoencoder: a tied autoencoder on its input."""

    def __init__(self, input_dim, units, *, activation="sigmoid", seed=0, corruption=None,
                 corruption_level=0.25):
        if corruption is not None and corruption not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {corruption!r}; allowed: "
                             f"{', '.join(CORRUPTIONS)}")
        self.input_dim, self.units, self.activation, self.seed = input_dim, units, activation, seed
        self.corruption, self.corruption_level = corruption, corruption_level
        self.encoder = keras.layers.Dense(
            units, activation=activation, name="encoder",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed))
        self.encoder.build((None, input_dim))
        self.model = None

    def _build(self, x):
        unit_range = float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        inputs = keras.Input((self.input_dim,), name="inputs")
        h = inputs
        if self.corruption:
            h = corruption_layer(self.corruption, self.corruption_level, seed=self.seed,
                                 name="corruption")(h)
        outputs = TiedDense(self.encoder, activation="sigmoid" if unit_range else None,
                            name="decoder")(self.encoder(h))
        self.model = keras.Model(inputs, outputs, name="autoencoder_unit")
        self.loss = "binary_crossentropy" if unit_range else "mse"

    def fit(self, x, y=None, *, epochs, batch_size, learning_rate, verbose=0):
        x = np.asarray(x, dtype="float32")
        if self.model is None:
            self._build(x)
        self.model.compile(keras.optimizers.Adam(learning_rate), self.loss)
        history = self.model.fit(x, x, epochs=epochs, batch_size=batch_size, shuffle=True,
                                 verbose=verbose)
        return {"reconstruction_loss": history.history["loss"]}

    def transform(self, x, *, sample=False):
        h = np.asarray(self.encoder(np.asarray(x, dtype="float32")))
        if sample and self.activation != "sigmoid":
            raise ValueError(f"samples need sigmoid units (probabilities); this layer is "
                             f"{self.activation!r}: propagate probabilities instead")
        if sample:
            return (np.random.default_rng(self.seed).random(h.shape) < h).astype("float32")
        return h

    def dense_weights(self):
        kernel, bias = self.encoder.get_weights()
        return kernel, bias


@register_unit("autoencoder")
def _autoencoder_unit(input_dim, units, *, activation="sigmoid", seed=0, **options):
    if options.get("corruption") is not None:
        raise ValueError("the 'autoencoder' unit takes no corruption; use "
                         "'denoising_autoencoder'")
    return AutoencoderUnit(input_dim, units, activation=activation, seed=seed, **options)


@register_unit("denoising_autoencoder")
def _denoising_autoencoder_unit(input_dim, units, *, activation="sigmoid", seed=0,
                                corruption="masking", corruption_level=0.25):
    if corruption is None:
        raise ValueError("the 'denoising_autoencoder' unit needs a corruption; allowed: "
                         f"{', '.join(CORRUPTIONS)}")
    return AutoencoderUnit(input_dim, units, activation=activation, seed=seed,
                           corruption=corruption, corruption_level=corruption_level)


def encoder_jacobian(encoder: keras.Model, x) -> np.ndarray:
    """Per-example Jacobians `∂h/∂x`, shape `(batch, code size, input size)` (flattened)."""
    import tensorflow as tf

    x = tf.constant(np.asarray(x, dtype="float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = encoder(x, training=False)
        h = tf.reshape(h, (tf.shape(h)[0], -1))
    jacobian = tape.batch_jacobian(h, x)
    return np.asarray(tf.reshape(jacobian, (x.shape[0], h.shape[-1], -1)))


def jacobian_frobenius_norm(encoder: keras.Model, x, batch_size: int = 64) -> np.ndarray:
    """`‖∂h/∂x‖_F` of `encoder` at each example of `x`, by automatic differentiation."""
    x = np.asarray(x, dtype="float32")
    norms = [np.sqrt(np.sum(np.square(encoder_jacobian(encoder, x[i:i + batch_size])),
                            axis=(1, 2)))
             for i in range(0, len(x), batch_size)]
    return np.concatenate(norms)


# --- evaluation: the ELBO of a VAE, retrieval with binary codes --------------------------------


def evidence_lower_bound(model: keras.Model, x, *, samples: int = 1, batch_size: int = 500,
                         seed: int = 0) -> dict:
    """Monte-Carlo ELBO of a `vae`/`conv_vae` on `x`, in nats per example.

    `ELBO = E_q(z|x)[log p(x|z)] − KL(q(z|x) ‖ N(0, I))`, with the model's own decoder
    likelihood (`ReconstructionLoss.distribution`) and `samples` draws of `z` per example;
    the KL term is exact. Returns the mean ELBO and its two terms (the reconstruction term as
    the positive negative log-likelihood).
    """
    from keras_dl.layers.reconstruction_loss import negative_log_likelihood
    from keras_dl.layers.sampling import kl_divergence
    from keras_dl.models import autoencoders

    encoder, decoder = autoencoders.encoder(model), autoencoders.decoder(model)
    distribution = model.get_layer("reconstruction").distribution
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype="float32")
    nll, kl = [], []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        z_mean, z_log_var = (np.asarray(t) for t in encoder(batch, training=False))
        kl.append(np.asarray(kl_divergence(z_mean, z_log_var)))
        total = 0.0
        for _ in range(samples):
            z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape)
            x_hat = decoder(z.astype("float32"), training=False)
            total = total + np.asarray(negative_log_likelihood(batch, x_hat, distribution))
        nll.append(total / samples)
    nll, kl = np.concatenate(nll), np.concatenate(kl)
    return {"elbo": float(-(nll + kl).mean()), "reconstruction_nll": float(nll.mean()),
            "kl": float(kl.mean()), "samples": samples, "distribution": distribution}


def random_projection_codes(x, bits: int, *, mean=None, seed: int = 0) -> np.ndarray:
    """`bits`-bit codes `[(x − mean) R > 0]`, R Gaussian (sign random projections; Charikar
    2002): the data-independent baseline for semantic hashing."""
    x = np.asarray(x, dtype="float32").reshape(len(x), -1)
    mean = x.mean(axis=0) if mean is None else np.asarray(mean).reshape(-1)
    projection = np.random.default_rng(seed).standard_normal((x.shape[1], bits))
    return ((x - mean) @ projection > 0).astype("float32")


def hamming_precision_at_k(codes, labels, k: int = 100, *, batch_size: int = 500,
                           seed: int = 0) -> float:
    """Mean precision@k of retrieval by Hamming distance, each example querying all others.

    For every query, the `k` other items with the smallest Hamming distance to its code are
    retrieved (ties broken at random) and precision is the fraction sharing its label.
    """
    codes = np.asarray(codes, dtype="float32")
    labels = np.asarray(labels)
    if not 1 <= k < len(codes):
        raise ValueError(f"k must be in [1, {len(codes) - 1}] for {len(codes)} items, got {k}")
    rng = np.random.default_rng(seed)
    precisions = []
    for start in range(0, len(codes), batch_size):
        query = codes[start:start + batch_size]
        distance = query @ (1 - codes).T + (1 - query) @ codes.T
        distance[np.arange(len(query)), np.arange(start, start + len(query))] = np.inf
        distance = distance + rng.random(distance.shape) * 0.5  # random tie-breaking
        nearest = np.argpartition(distance, k, axis=1)[:, :k]
        precisions.append((labels[nearest] == labels[start:start + len(query), None]).mean(1))
    return float(np.concatenate(precisions).mean())
