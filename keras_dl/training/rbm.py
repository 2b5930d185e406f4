"""RBM recipes: the "rbm" pre-training unit, and the likelihood of a trained RBM.

- `RBMUnit`, registered as the greedy pre-training unit `"rbm"`
  (`keras_dl.training.pretraining`): one `keras_dl.layers.RBM`, trained by `fit()` with SGD;
  stacking them gives a deep belief network (Hinton, Osindero & Teh 2006).
- `exact_log_likelihood(rbm, x)`: the mean `log p(v)` of `x` with the partition function summed
  over all `2^H` hidden states (H ≤ 20).
- `ais_log_partition(rbm, ...)`: annealed importance sampling estimate of `log Z` for RBMs too
  large to enumerate (Salakhutdinov & Murray 2008; Neal 2001), with its spread;
  `estimated_log_likelihood(rbm, x)` uses it.
- `pseudo_log_likelihood(rbm, x)`: Besag's pseudo-log-likelihood, stochastically (flip one
  random visible unit per example), as scikit-learn's `BernoulliRBM.score_samples` computes it.

Everything here takes the RBM layer or a model holding exactly one (e.g. `create_model("rbm")`),
and works in float64 numpy on the layer's weights.

Example:
```python
model = keras_dl.create_model("rbm", input_shape=(8, 8, 1), units=16)
model.compile(keras.optimizers.SGD(0.1)); model.fit(x, epochs=20)
exact_log_likelihood(model, x)                     # nats per example
ais_log_partition(model, data=x).log_z            # ≈ exact_log_partition(model)
```
"""

from __future__ import annotations

import dataclasses
import itertools

import keras
import numpy as np

from keras_dl.layers.rbm import RBM
from keras_dl.training.pretraining import register_unit

MAX_EXACT_HIDDEN = 20


def rbm_layer(rbm) -> RBM:
    """The `RBM` layer itself, given the layer or a model that holds exactly one."""
    if isinstance(rbm, RBM):
        return rbm
    if isinstance(rbm, keras.Model):
        found = [layer for layer in rbm._flatten_layers() if isinstance(layer, RBM)]
        if len(found) == 1:
            return found[0]
        raise ValueError(f"model {rbm.name!r} holds {len(found)} RBM layers; pass the layer")
    raise ValueError(f"expected a keras_dl.layers.RBM or a model holding one, got "
                     f"{type(rbm).__name__}")


def _weights(rbm):
    layer = rbm_layer(rbm)
    if not layer.built:
        raise ValueError(f"RBM {layer.name!r} is not built yet: call it on data first")
    return (layer, np.asarray(layer.kernel, "float64"), np.asarray(layer.visible_bias, "float64"),
            np.asarray(layer.hidden_bias, "float64"))


def _flat(x, layer):
    x = np.asarray(x, dtype="float64")
    x = x.reshape(len(x), -1)
    layer._check_visible(x)
    if x.shape[1] != layer.kernel.shape[0]:
        raise ValueError(f"the RBM has {layer.kernel.shape[0]} visible units; got data with "
                         f"{x.shape[1]} values per example")
    return x


def _softplus(x):
    return np.logaddexp(0.0, x)


def _logsumexp(values, axis=None):
    peak = np.max(values, axis=axis, keepdims=True)
    out = peak + np.log(np.sum(np.exp(values - peak), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis) if axis is not None else float(out.reshape(()))


def free_energy(rbm, x) -> np.ndarray:
    """`F(v)` per example, in float64."""
    layer, kernel, visible_bias, hidden_bias = _weights(rbm)
    v = _flat(x, layer)
    hidden_term = _softplus(v @ kernel + hidden_bias).sum(axis=1)
    if layer.visible == "bernoulli":
        return -(v @ visible_bias) - hidden_term
    return 0.5 * ((v - visible_bias) ** 2).sum(axis=1) - hidden_term


def exact_log_partition(rbm) -> float:
    """`log Z`, summing over all `2^H` hidden configurations (H ≤ 20).

    Bernoulli visible units: `Z = Σ_h exp(cᵀh) Πᵢ (1 + exp(bᵢ + Wᵢh))`. Gaussian (unit
    variance): `Z = (2π)^{D/2} Σ_h exp(cᵀh + ½‖b + Wh‖² − ½‖b‖²)`.
    """
    layer, kernel, visible_bias, hidden_bias = _weights(rbm)
    hidden_units = kernel.shape[1]
    if hidden_units > MAX_EXACT_HIDDEN:
        raise ValueError(
            f"the exact likelihood enumerates 2^H hidden states, allowed for at most "
            f"{MAX_EXACT_HIDDEN} hidden units; this RBM has {hidden_units} (use "
            "ais_log_partition / estimated_log_likelihood)")
    terms = []
    chunk = 1 << min(hidden_units, 14)
    states = itertools.product((0.0, 1.0), repeat=hidden_units)
    while True:
        block = np.array(list(itertools.islice(states, chunk)), dtype="float64")
        if not len(block):
            break
        block = block.reshape(len(block), hidden_units)
        visible_input = block @ kernel.T + visible_bias  # (states, D)
        if layer.visible == "bernoulli":
            terms.append(block @ hidden_bias + _softplus(visible_input).sum(axis=1))
        else:
            terms.append(block @ hidden_bias + 0.5 * (visible_input ** 2).sum(axis=1)
                         - 0.5 * float(visible_bias @ visible_bias))
    log_z = _logsumexp(np.concatenate(terms))
    if layer.visible == "gaussian":
        log_z += 0.5 * kernel.shape[0] * np.log(2 * np.pi)
    return float(log_z)


def exact_log_likelihood(rbm, x) -> float:
    """Mean `log p(v) = −F(v) − log Z` over the examples of `x`, in nats; H ≤ 20 only."""
    log_z = exact_log_partition(rbm)
    return float(np.mean(-free_energy(rbm, x) - log_z))


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
    layer, kernel, visible_bias, hidden_bias = _weights(rbm)
    if layer.visible != "bernoulli":
        raise ValueError("ais_log_partition handles Bernoulli visible units; for a small "
                         "Gaussian RBM use exact_log_partition")
    if not isinstance(runs, int) or runs < 2:
        raise ValueError(f"runs must be an integer of at least 2, got {runs!r}")
    visible_units, hidden_units = kernel.shape
    if data is not None:
        mean = np.clip(_flat(data, layer).mean(axis=0), 1e-3, 1 - 1e-3)
        base_bias = np.log(mean / (1 - mean))
    else:
        base_bias = np.zeros(visible_units)
    schedule = annealing_schedule(betas)
    rng = np.random.default_rng(seed)

    def log_unnormalised(v, beta):
        return ((1 - beta) * (v @ base_bias) + beta * (v @ visible_bias)
                + _softplus(beta * (v @ kernel + hidden_bias)).sum(axis=1))

    # exact samples of the base model, and its log partition (hidden units contribute 2^H)
    v = (rng.random((runs, visible_units)) < 1 / (1 + np.exp(-base_bias))).astype("float64")
    log_z_base = float(_softplus(base_bias).sum() + hidden_units * np.log(2.0))
    log_weights = np.zeros(runs)
    for previous, beta in zip(schedule[:-1], schedule[1:]):
        log_weights += log_unnormalised(v, beta) - log_unnormalised(v, previous)
        hidden_p = 1 / (1 + np.exp(-beta * (v @ kernel + hidden_bias)))
        h = (rng.random(hidden_p.shape) < hidden_p).astype("float64")
        visible_p = 1 / (1 + np.exp(-((1 - beta) * base_bias
                                       + beta * (h @ kernel.T + visible_bias))))
        v = (rng.random(visible_p.shape) < visible_p).astype("float64")
    log_mean = _logsumexp(log_weights) - np.log(runs)
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


def pseudo_log_likelihood(rbm, x, *, seed: int = 0) -> np.ndarray:
    """Per-example stochastic pseudo-log-likelihood `D · log σ(F(ṽ) − F(v))`, where `ṽ` is `v`
    with one visible unit (chosen at random per example) flipped; Bernoulli RBMs only."""
    layer = rbm_layer(rbm)
    if layer.visible != "bernoulli":
        raise ValueError("the flip-one-unit pseudo-likelihood needs Bernoulli visible units")
    v = _flat(x, layer)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, v.shape[1], len(v))
    flipped = v.copy()
    rows = np.arange(len(v))
    flipped[rows, index] = 1 - flipped[rows, index]
    gap = free_energy(layer, flipped) - free_energy(layer, v)
    return v.shape[1] * -_softplus(-gap)


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
