"""Models that carry their own training rule: `fit(x)` with no targets and no compiled loss.

An RBM adds its contrastive-divergence objective, the free-energy gap
F(v) - F(stop_gradient(v_k)) (Hinton 2002), as a layer loss; a VAE's `Sampling` layer adds the
KL term and its `ReconstructionLoss` layer the expected negative log-likelihood, so `fit`
minimises the negative ELBO (Kingma & Welling 2014).
"""

from __future__ import annotations

from keras_dl.tasks.base import Task
from keras_dl.tasks.reconstruction import ServedAsAutoencoder


class Unsupervised(Task):
    """`fit(x)`: the model adds its own loss; serves whatever it outputs (an RBM: the hidden
    units' probabilities)."""

    name = "unsupervised"

    def targets(self, x, y):
        return x, None

    def compile(self, model, optimizer, info=None):
        model.compile(optimizer=optimizer)
        return model

    def evaluate(self, model, dataset, **kwargs):
        """The test metrics, less those the model tracks only while training (an RBM's
        reconstruction error and pseudo-likelihood of the CD step read NaN, "no value",
        under `evaluate`; `keras_dl.evaluation` measures them on any data)."""
        import math

        return {key: value for key, value in super().evaluate(model, dataset, **kwargs).items()
                if not math.isnan(float(value))}


class VariationalAutoencoder(ServedAsAutoencoder, Unsupervised):
    """A VAE: trained as `Unsupervised` (the negative ELBO is added by its layers), served as
    an autoencoder: `serving_default` gives the reconstruction from z = μ, with `encode`
    (`z_mean`, `z_log_var`), `decode` (z → reconstruction) and `sample` (a fresh z ~ q(z|x)
    on every call) beside it."""

    name = "variational_autoencoder"
