"""The evidence lower bound (ELBO) of a variational autoencoder, by Monte Carlo.

Reference: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (equation 3).
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl.layers.reconstruction_loss import negative_log_likelihood
from keras_dl.layers.sampling import kl_divergence
from keras_dl.models import autoencoders


def evidence_lower_bound(model: keras.Model, x, *, samples: int = 1, batch_size: int = 500,
                         seed: int = 0) -> dict:
    """Monte-Carlo ELBO of a `vae`/`conv_vae` on `x`, in nats per example.

    `ELBO = E_q(z|x)[log p(x|z)] − KL(q(z|x) ‖ N(0, I))`, with the model's own decoder
    likelihood (`ReconstructionLoss.distribution`) and `samples` draws of `z` per example;
    the KL term is exact. Returns the mean ELBO and its two terms (the reconstruction term as
    the positive negative log-likelihood).
    """
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
