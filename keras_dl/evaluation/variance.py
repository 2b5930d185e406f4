"""The variance argument behind Glorot and He initialisation, checked numerically.

Lecture 004 (after Glorot & Bengio 2010): in a network of L linear layers `h_l = W_l h_{l-1}`
with independent zero-mean weights and inputs, each output unit is a sum of n_in products
`w·h`, so

    Var(h_l) = n_in,l · Var(W_l) · Var(h_{l-1}),    Var(h_L) = Var(x) · Π_l n_in,l · Var(W_l).

The product explodes or vanishes geometrically in L unless every factor n_in·Var(W) is 1:
Var(W) = 1 / n_in keeps the forward signal, 1 / n_out the backward one, and Glorot's
compromise is Var(W) = 2 / (n_in + n_out). For ReLU, which zeroes half of its inputs, He et al.
(2015) double it: Var(W) = 2 / n_in. With U(−0.01, 0.01) (variance 0.01² / 3) and n_in = 500
each factor is 1/60, and ten layers shrink the variance by 60¹⁰ ≈ 10¹⁸.

`sample_linear_network` propagates Gaussian inputs through weights drawn by Keras' own
initializers, so the formula is checked against what the library actually draws.
"""

from __future__ import annotations

import dataclasses
import itertools

import keras
import numpy as np

INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "small_uniform")


def uniform_variance(limit: float) -> float:
    """Var of U(−limit, limit): limit² / 3."""
    return float(limit) ** 2 / 3.0


def glorot_variance(fan_in: int, fan_out: int) -> float:
    """Glorot & Bengio's (2010) weight variance 2 / (n_in + n_out)."""
    return 2.0 / (fan_in + fan_out)


def he_variance(fan_in: int) -> float:
    """He et al.'s (2015) weight variance for ReLU layers, 2 / n_in."""
    return 2.0 / fan_in


def initializer_variance(initializer: str, fan_in: int, fan_out: int,
                         small_uniform_limit: float = 0.01) -> float:
    """The weight variance that `initializer` (one of `INITIALIZERS`) is meant to give."""
    if initializer in ("glorot_uniform", "glorot_normal"):
        return glorot_variance(fan_in, fan_out)
    if initializer == "he_normal":
        return he_variance(fan_in)
    if initializer == "small_uniform":
        return uniform_variance(small_uniform_limit)
    raise ValueError(f"initializer must be one of {', '.join(repr(i) for i in INITIALIZERS)}; "
                     f"got {initializer!r}")


def linear_network_variances(input_variance: float, fan_ins, weight_variances) -> np.ndarray:
    """Var(h_l) for l = 1..L by the formula: Var(x) · Π_{k≤l} n_in,k · Var(W_k)."""
    fan_ins = np.asarray(fan_ins, dtype=np.float64)
    weight_variances = np.asarray(weight_variances, dtype=np.float64)
    if fan_ins.shape != weight_variances.shape or fan_ins.ndim != 1:
        raise ValueError(f"give one fan-in per weight variance, got {fan_ins.size} fan-ins "
                         f"and {weight_variances.size} variances")
    return float(input_variance) * np.cumprod(fan_ins * weight_variances)


def keras_initializer(initializer: str, seed=None, small_uniform_limit: float = 0.01):
    """The Keras initializer object for one of `INITIALIZERS`."""
    if initializer == "small_uniform":
        return keras.initializers.RandomUniform(-small_uniform_limit, small_uniform_limit,
                                                seed=seed)
    initializer_variance(initializer, 1, 1)  # the one-line refusal of an unknown name
    return {"glorot_uniform": keras.initializers.GlorotUniform,
            "glorot_normal": keras.initializers.GlorotNormal,
            "he_normal": keras.initializers.HeNormal}[initializer](seed=seed)


@dataclasses.dataclass(frozen=True)
class LinearNetworkCheck:
    """Per layer l = 1..L of one sampled linear network.

    Attributes:
        widths: n_0 (the input), n_1, ..., n_L.
        weight_variance: the variance the initializer is meant to give each W_l.
        sampled_weight_variance: the variance of the weights actually drawn.
        predicted: Var(h_l) by the formula.
        measured: the variance of h_l over the examples and units of the sample.
    """

    widths: tuple
    weight_variance: np.ndarray
    sampled_weight_variance: np.ndarray
    predicted: np.ndarray
    measured: np.ndarray

    @property
    def relative_error(self) -> np.ndarray:
        """|measured − predicted| / predicted, per layer."""
        return np.abs(self.measured - self.predicted) / self.predicted

    def as_dict(self) -> dict:
        """Plain lists, for results.json."""
        return {"widths": list(self.widths),
                "weight_variance": self.weight_variance.tolist(),
                "sampled_weight_variance": self.sampled_weight_variance.tolist(),
                "predicted_output_variance": self.predicted.tolist(),
                "measured_output_variance": self.measured.tolist(),
                "relative_error": self.relative_error.tolist()}


def sample_linear_network(widths, initializer: str, examples: int = 1000,
                          input_variance: float = 1.0, seed: int = 0,
                          small_uniform_limit: float = 0.01) -> LinearNetworkCheck:
    """Propagate `examples` Gaussian inputs of variance `input_variance` through linear layers
    of `widths` (n_0, ..., n_L) whose weights Keras' `initializer` draws, and compare each
    layer's output variance with the formula (in float64, so that even 10⁻¹⁸ is measured)."""
    widths = tuple(int(w) for w in widths)
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"widths must be at least two positive integers (n_0 and n_1), "
                         f"got {widths!r}")
    rng = np.random.default_rng(seed)
    h = rng.normal(0.0, np.sqrt(input_variance), size=(examples, widths[0]))
    wanted, drawn, measured = [], [], []
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        init = keras_initializer(initializer, seed=seed * 1000 + layer,
                                 small_uniform_limit=small_uniform_limit)
        weights = np.asarray(keras.ops.convert_to_numpy(init((fan_in, fan_out))), np.float64)
        wanted.append(initializer_variance(initializer, fan_in, fan_out, small_uniform_limit))
        drawn.append(float(weights.var()))
        h = h @ weights
        measured.append(float(np.mean(h ** 2)))  # zero-mean by construction
    predicted = linear_network_variances(input_variance, widths[:-1], wanted)
    return LinearNetworkCheck(widths, np.array(wanted), np.array(drawn), predicted,
                              np.array(measured))
