"""Autoencoders as greedy pre-training units.

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

Measures of trained autoencoders (the encoder Jacobian, the ELBO, retrieval precision) are in
`keras_dl.evaluation`.
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
