"""Annealed importance sampling (AIS) of an RBM's partition function, and the log-likelihood
estimated with it, for RBMs too large to sum over every hidden state.

Reference: Salakhutdinov & Murray, "On the quantitative analysis of deep belief networks",
ICML 2008; Neal, "Annealed importance sampling", Statistics and Computing 2001.

Example:
```python
ais_log_partition(model, data=x).log_z            # ≈ exact_log_partition(model)
estimated_log_likelihood(model, x)["log_likelihood"]
```
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_dl.evaluation.rbm_likelihood import (
    free_energy,
    logsumexp,
    rbm_parameters,
    softplus,
    visible_vectors,
)


@dataclasses.dataclass
class AISResult:
    """An annealed-importance-sampling estimate of `log Z`.

    `log_z` is `log Z_A + log mean(w)`; `log_z_low`/`log_z_high` are `log Z_A + log(mean(w) ∓
    3 std(w)/√M)` as Salakhutdinov & Murray report it (`log_z_low` is -inf when the interval
    reaches zero); `log_weights` are the M runs' log importance weights.
    """

    log_z: float
    log_z_low: float
    log_z_high: float
    log_z_base: float
    log_weights: np.ndarray
    betas: int

    def as_dict(self) -> dict:
        return {"log_z": self.log_z, "log_z_low": self.log_z_low, "log_z_high": self.log_z_high,
                "log_z_base": self.log_z_base, "runs": int(len(self.log_weights)),
                "betas": self.betas, "log_weight_std": float(np.std(self.log_weights))}


def annealing_schedule(betas: int = 1000) -> np.ndarray:
    """Inverse temperatures 0 = β₀ < … < β_K = 1 spaced as Salakhutdinov & Murray (2008) do:
    their 500 / 4,000 / 10,000 steps over [0, 0.5], [0.5, 0.9], [0.9, 1], scaled to `betas`."""
    if not isinstance(betas, int) or betas < 3:
        raise ValueError(f"betas must be an integer of at least 3, got {betas!r}")
    counts = np.maximum(1, np.round(np.array([500, 4000, 10000]) / 14500 * betas)).astype(int)
    return np.concatenate([np.linspace(0.0, 0.5, counts[0], endpoint=False),
                           np.linspace(0.5, 0.9, counts[1], endpoint=False),
                           np.linspace(0.9, 1.0, counts[2] + 1)])


def ais_log_partition(rbm, *, data=None, runs: int = 100, betas: int = 1000,
                      seed: int = 0) -> AISResult:
    """Estimate `log Z` of a Bernoulli RBM by annealed importance sampling.

    The path runs from a base-rate model A (no weights; visible biases from the data's
    marginals `log p̄ᵢ/(1 − p̄ᵢ)` when `data` is given, else zero) to the RBM B through
    `p_β(v) ∝ exp((1−β) b_Aᵀv + β b_Bᵀv) Πⱼ (1 + exp(β(cⱼ + vᵀW₋ⱼ)))`, each step a Gibbs
    transition that leaves `p_β` invariant; `M = runs` independent runs.

    Reference: Salakhutdinov & Murray, "On the quantitative analysis of deep belief networks",
    ICML 2008; Neal, "Annealed importance sampling", Statistics and Computing 2001.
    """
    layer, kernel, visible_bias, hidden_bias = rbm_parameters(rbm)
    if layer.visible != "bernoulli":
        raise ValueError("ais_log_partition handles Bernoulli visible units; for a small "
                         "Gaussian RBM use exact_log_partition")
    if not isinstance(runs, int) or runs < 2:
        raise ValueError(f"runs must be an integer of at least 2, got {runs!r}")
    visible_units, hidden_units = kernel.shape
    if data is not None:
        mean = np.clip(visible_vectors(data, layer).mean(axis=0), 1e-3, 1 - 1e-3)
        base_bias = np.log(mean / (1 - mean))
    else:
        base_bias = np.zeros(visible_units)
    schedule = annealing_schedule(betas)
    rng = np.random.default_rng(seed)

    def log_unnormalised(v, beta):
        return ((1 - beta) * (v @ base_bias) + beta * (v @ visible_bias)
                + softplus(beta * (v @ kernel + hidden_bias)).sum(axis=1))

    # exact samples of the base model, and its log partition (hidden units contribute 2^H)
    v = (rng.random((runs, visible_units)) < 1 / (1 + np.exp(-base_bias))).astype("float64")
    log_z_base = float(softplus(base_bias).sum() + hidden_units * np.log(2.0))
    log_weights = np.zeros(runs)
    for previous, beta in zip(schedule[:-1], schedule[1:]):
        log_weights += log_unnormalised(v, beta) - log_unnormalised(v, previous)
        hidden_p = 1 / (1 + np.exp(-beta * (v @ kernel + hidden_bias)))
        h = (rng.random(hidden_p.shape) < hidden_p).astype("float64")
        visible_p = 1 / (1 + np.exp(-((1 - beta) * base_bias
                                       + beta * (h @ kernel.T + visible_bias))))
        v = (rng.random(visible_p.shape) < visible_p).astype("float64")
    log_mean = logsumexp(log_weights) - np.log(runs)
    peak = log_weights.max()
    weights = np.exp(log_weights - peak)
    spread = 3 * weights.std() / np.sqrt(runs)
    mean = weights.mean()
    low = peak + np.log(mean - spread) if mean > spread else -np.inf
    high = peak + np.log(mean + spread)
    return AISResult(log_z=float(log_z_base + log_mean), log_z_low=float(log_z_base + low),
                     log_z_high=float(log_z_base + high), log_z_base=log_z_base,
                     log_weights=log_weights, betas=len(schedule))


def estimated_log_likelihood(rbm, x, *, data=None, runs: int = 100, betas: int = 1000,
                             seed: int = 0) -> dict:
    """Mean `log p(v)` of `x` with `log Z` from AIS (an estimate; AIS tends to underestimate
    `log Z`, so this tends to overestimate the likelihood). Returns the estimate and the
    interval from the AIS spread."""
    ais = ais_log_partition(rbm, data=x if data is None else data, runs=runs, betas=betas,
                            seed=seed)
    negative_free = float(np.mean(-free_energy(rbm, x)))
    return {"log_likelihood": negative_free - ais.log_z,
            "log_likelihood_low": negative_free - ais.log_z_high,
            "log_likelihood_high": negative_free - ais.log_z_low, "ais": ais.as_dict()}
