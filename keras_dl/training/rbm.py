"""The "rbm" greedy pre-training unit: one RBM, trained by `fit()`.

`RBMUnit`, registered as the greedy pre-training unit `"rbm"`
(`keras_dl.training.pretraining`): one `keras_dl.layers.RBM`, trained by `fit()` with SGD;
stacking them gives a deep belief network (Hinton, Osindero & Teh 2006). The likelihood of
a trained RBM (exact, by AIS, pseudo-likelihood) is measured by `keras_dl.evaluation`.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl.layers.rbm import RBM
from keras_dl.training.pretraining import register_unit


class RBMUnit:
    """An RBM as one layer of a greedily trained stack (the "rbm" pre-training unit).

    Trained by `fit()` with SGD at the given learning rate (momentum `momentum`); CD-k or PCD
    per the options, which are the `RBM` layer's (`visible`, `k`, `persistent`, ...). The
    hidden units are binary, so the layer it initialises must be a sigmoid `Dense`.

    `visible="auto"` chooses per layer from the data it is fitted on: Gaussian visible units
    when the values leave [0, 1] (standardised real-valued inputs, at the bottom of a stack),
    Bernoulli otherwise (every layer above, which sees probabilities); so
    `greedy_pretrain(x_standardised, ..., unit_options={"visible": "auto"})` gives a
    Gaussian-Bernoulli first layer under Bernoulli ones (Hinton & Salakhutdinov 2006).
    """

    def __init__(self, input_dim, units, *, activation="sigmoid", seed=0, momentum=0.0,
                 steps_per_execution=32, **rbm_options):
        if activation != "sigmoid":
            raise ValueError(f"an RBM's hidden units are binary, so it pre-trains sigmoid "
                             f"layers only; got activation {activation!r}")
        self.input_dim, self.units, self.seed = input_dim, units, seed
        self.momentum, self.steps_per_execution = momentum, steps_per_execution
        self.rbm_options = dict(rbm_options)
        self.layer = self.model = None
        if self.rbm_options.get("visible") != "auto":
            self._build(self.rbm_options)

    def _build(self, options):
        inputs = keras.Input((self.input_dim,))
        self.layer = RBM(self.units, seed=self.seed, name="rbm", **options)
        self.model = keras.Model(inputs, self.layer(inputs))

    def fit(self, x, y=None, *, epochs, batch_size, learning_rate, verbose=0):
        x = np.asarray(x, dtype="float32").reshape(len(x), -1)
        if self.layer is None:  # visible="auto": decided by the data
            inside = x.size == 0 or (x.min() >= 0 and x.max() <= 1)
            self._build({**self.rbm_options, "visible": "bernoulli" if inside else "gaussian"})
        self.layer.check_inputs(x)
        self.model.compile(keras.optimizers.SGD(learning_rate, momentum=self.momentum),
                           steps_per_execution=self.steps_per_execution)
        history = self.model.fit(x, epochs=epochs, batch_size=batch_size, shuffle=True,
                                 verbose=verbose)
        return history.history

    def transform(self, x, *, sample=False):
        if self.model is None:
            raise ValueError("fit the RBM unit before transforming data with it")
        x = np.asarray(x, dtype="float32").reshape(len(x), -1)
        probabilities = self.model.predict(x, batch_size=1024, verbose=0)
        if not sample:
            return probabilities
        rng = np.random.default_rng(self.seed)
        return (rng.random(probabilities.shape) < probabilities).astype("float32")

    def dense_weights(self):
        return np.asarray(self.layer.kernel), np.asarray(self.layer.hidden_bias)


@register_unit("rbm")
def _rbm_unit(input_dim, units, *, activation="sigmoid", seed=0, **options):
    return RBMUnit(input_dim, units, activation=activation, seed=seed, **options)
