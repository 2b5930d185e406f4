"""The likelihood of an RBM: free energy, exact `log Z` and `log p(v)`, pseudo-log-likelihood.

- `exact_log_likelihood(rbm, x)`: the mean `log p(v)` of `x` with the partition function summed
  over all `2^H` hidden states (H ≤ 20); `exact_log_partition(rbm)` is that `log Z`.
- `pseudo_log_likelihood(rbm, x)`: Besag's pseudo-log-likelihood, stochastically (flip one
  random visible unit per example), as scikit-learn's `BernoulliRBM.score_samples` computes it.
- For RBMs too large to enumerate, `keras_dl.evaluation.ais` estimates `log Z`.

Everything here takes the RBM layer or a model holding exactly one (e.g. `create_model("rbm")`),
and works in float64 numpy on the layer's weights.

Example:
```python
model = keras_dl.create_model("rbm", input_shape=(8, 8, 1), units=16)
model.compile(keras.optimizers.SGD(0.1)); model.fit(x, epochs=20)
exact_log_likelihood(model, x)                     # nats per example
```
"""

from __future__ import annotations

import itertools

import keras
import numpy as np

from keras_dl import compat
from keras_dl.layers.rbm import RBM

MAX_EXACT_HIDDEN = 20


def rbm_layer(rbm) -> RBM:
    """The `RBM` layer itself, given the layer or a model that holds exactly one."""
    if isinstance(rbm, RBM):
        return rbm
    if isinstance(rbm, keras.Model):
        found = [layer for layer in compat.all_layers(rbm) if isinstance(layer, RBM)]
        if len(found) == 1:
            return found[0]
        raise ValueError(f"model {rbm.name!r} holds {len(found)} RBM layers; pass the layer")
    raise ValueError(f"expected a keras_dl.layers.RBM or a model holding one, got "
                     f"{type(rbm).__name__}")


def rbm_parameters(rbm):
    """`(layer, W, b, c)`: the RBM layer and its kernel, visible and hidden biases in float64."""
    layer = rbm_layer(rbm)
    if not layer.built:
        raise ValueError(f"RBM {layer.name!r} is not built yet: call it on data first")
    return (layer, np.asarray(layer.kernel, "float64"), np.asarray(layer.visible_bias, "float64"),
            np.asarray(layer.hidden_bias, "float64"))


def visible_vectors(x, layer):
    """`x` as float64 rows of the RBM's visible units (checked against its visible type)."""
    x = np.asarray(x, dtype="float64")
    x = x.reshape(len(x), -1)
    layer.check_inputs(x)
    if x.shape[1] != layer.kernel.shape[0]:
        raise ValueError(f"the RBM has {layer.kernel.shape[0]} visible units; got data with "
                         f"{x.shape[1]} values per example")
    return x


def softplus(x):
    """`log(1 + eˣ)`, without overflow."""
    return np.logaddexp(0.0, x)


def logsumexp(values, axis=None):
    """`log Σ exp(values)` along `axis` (all values when None), without overflow."""
    peak = np.max(values, axis=axis, keepdims=True)
    out = peak + np.log(np.sum(np.exp(values - peak), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis) if axis is not None else float(out.reshape(()))


def free_energy(rbm, x) -> np.ndarray:
    """`F(v)` per example, in float64: `F(v) = −bᵀv − Σⱼ softplus(cⱼ + vᵀW₋ⱼ)` for Bernoulli
    visible units, `½‖v − b‖² − Σⱼ softplus(cⱼ + vᵀW₋ⱼ)` for Gaussian ones (unit variance), so
    that `p(v) = exp(−F(v)) / Z` (Hinton, "A Practical Guide to Training Restricted Boltzmann
    Machines", UTML TR 2010-003, section 16.1)."""
    layer, kernel, visible_bias, hidden_bias = rbm_parameters(rbm)
    v = visible_vectors(x, layer)
    hidden_term = softplus(v @ kernel + hidden_bias).sum(axis=1)
    if layer.visible == "bernoulli":
        return -(v @ visible_bias) - hidden_term
    return 0.5 * ((v - visible_bias) ** 2).sum(axis=1) - hidden_term


def exact_log_partition(rbm) -> float:
    """`log Z`, summing over all `2^H` hidden configurations (H ≤ 20).

    Bernoulli visible units: `Z = Σ_h exp(cᵀh) Πᵢ (1 + exp(bᵢ + Wᵢh))`. Gaussian (unit
    variance): `Z = (2π)^{D/2} Σ_h exp(cᵀh + ½‖b + Wh‖² − ½‖b‖²)`.
    """
    layer, kernel, visible_bias, hidden_bias = rbm_parameters(rbm)
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
            terms.append(block @ hidden_bias + softplus(visible_input).sum(axis=1))
        else:
            terms.append(block @ hidden_bias + 0.5 * (visible_input ** 2).sum(axis=1)
                         - 0.5 * float(visible_bias @ visible_bias))
    log_z = logsumexp(np.concatenate(terms))
    if layer.visible == "gaussian":
        log_z += 0.5 * kernel.shape[0] * np.log(2 * np.pi)
    return float(log_z)


def exact_log_likelihood(rbm, x) -> float:
    """Mean `log p(v) = −F(v) − log Z` over the examples of `x`, in nats; H ≤ 20 only."""
    log_z = exact_log_partition(rbm)
    return float(np.mean(-free_energy(rbm, x) - log_z))


def pseudo_log_likelihood(rbm, x, *, seed: int = 0) -> np.ndarray:
    """Per-example stochastic pseudo-log-likelihood `D · log σ(F(ṽ) − F(v))`, where `ṽ` is `v`
    with one visible unit (chosen at random per example) flipped; Bernoulli RBMs only."""
    layer = rbm_layer(rbm)
    if layer.visible != "bernoulli":
        raise ValueError("the flip-one-unit pseudo-likelihood needs Bernoulli visible units")
    v = visible_vectors(x, layer)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, v.shape[1], len(v))
    flipped = v.copy()
    rows = np.arange(len(v))
    flipped[rows, index] = 1 - flipped[rows, index]
    gap = free_energy(layer, flipped) - free_energy(layer, v)
    return v.shape[1] * -softplus(-gap)
