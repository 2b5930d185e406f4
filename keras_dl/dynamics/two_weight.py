"""Lecture 001's two-weight example: one example, two weights, and how optimisers cross its cost.

The network is `h = w₁x`, `y ~ N(w₂h, 1)`, fitted to the single example `{x = 1, y = 1.5}` with
some weight decay, which gives the cost

    C(w₁, w₂) = (w₁w₂ − 1.5)² + 0.04 (w₁² + w₂²).

Closed forms (used by the tests and the docs; the code itself differentiates automatically):

- gradient: ∂C/∂w₁ = 2(w₁w₂ − 1.5)w₂ + 0.08w₁, ∂C/∂w₂ = 2(w₁w₂ − 1.5)w₁ + 0.08w₂;
- Hessian: [[2w₂² + 0.08, 4w₁w₂ − 3], [4w₁w₂ − 3, 2w₁² + 0.08]];
- stationary points: w₁·(first) − w₂·(second) gives 0.08(w₁² − w₂²) = 0, so |w₁| = |w₂|. On
  w₁ = −w₂ only the origin is stationary (a saddle: Hessian eigenvalues 3.08 and −2.92). On
  w₁ = w₂ = w, 2w(w² − 1.5) + 0.08w = 0 gives w² = 1.5 − 0.04 = 1.46: the two minima
  ±(√1.46, √1.46) = ±(1.2083, 1.2083), with C = 0.04² + 0.08·1.46 = 0.1184.
- At a minimum the Hessian is [[3, 2.84], [2.84, 3]], eigenvalues 5.84 (along (1, 1)) and 0.16
  (along (1, −1)): gradient descent is stable for η < 2/5.84 = 0.342. η = 0.25 contracts the
  steep direction by |1 − 0.25·5.84| = 0.46 a step but the flat one only by 1 − 0.25·0.16 = 0.96
  ("too slow"); η = 0.35 multiplies the steep direction by 1 − 0.35·5.84 = −1.044, so the
  iterate bounces across the valley and never settles ("oscillates").

Optimisers are Keras' own (`keras_dl.training.optimizers.make_optimizer`), stepping two
`keras.Variable`s with `optimizer.apply`; Newton's method and the saddle-free Newton method of
Dauphin et al. (2014, arXiv:1405.4604) use the Hessian from nested `tf.GradientTape`s.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_dl.training.optimizers import make_optimizer

TARGET = 1.5  # the example's y (x = 1)
DECAY = 0.04  # the lecture's "some weight decay"
MINIMUM = np.sqrt(TARGET - DECAY)  # w₁ = w₂ = ±√1.46 at the two minima
MINIMA = np.array([[MINIMUM, MINIMUM], [-MINIMUM, -MINIMUM]])
SADDLE = np.zeros(2)
MINIMUM_COST = DECAY**2 + 2 * DECAY * (TARGET - DECAY)
# The lecture's two gradient-descent step sizes and what it says of them.
SLOW_STEP, OSCILLATING_STEP = 0.25, 0.35


def cost(w1, w2):
    """C(w₁, w₂) = (w₁w₂ − 1.5)² + 0.04(w₁² + w₂²), elementwise on numbers, arrays or tensors."""
    return (w1 * w2 - TARGET) ** 2 + DECAY * (w1**2 + w2**2)


def _point(weights):
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (2,) or not np.all(np.isfinite(weights)):
        raise ValueError(f"a point of the two-weight example is two finite numbers (w1, w2), "
                         f"got {weights.tolist()!r}")
    return weights


def gradient_and_hessian(weights):
    """∇C and the 2×2 Hessian at `weights`, by automatic differentiation (float64)."""
    theta = tf.Variable(_point(weights))
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape() as inner:
            value = cost(theta[0], theta[1])
        grad = inner.gradient(value, theta)
        components = [grad[0], grad[1]]
    hessian = np.stack([outer.gradient(component, theta).numpy() for component in components])
    return grad.numpy(), hessian


def newton_step(weights, saddle_free=False):
    """The Newton step −H⁻¹∇C at `weights`, or with `saddle_free` the step −|H|⁻¹∇C.

    |H| is H with its eigenvalues replaced by their absolute values (Dauphin et al. 2014): along a
    direction of negative curvature Newton's step climbs towards the saddle, |H| turns it round.
    """
    grad, hessian = gradient_and_hessian(weights)
    if saddle_free:
        values, vectors = np.linalg.eigh(hessian)
        hessian = vectors @ np.diag(np.abs(values)) @ vectors.T
    return -np.linalg.solve(hessian, grad)


def newton_trajectory(start, steps, saddle_free=False):
    """Points visited by (saddle-free) Newton's method from `start`: an array (steps + 1, 2)."""
    points = [_point(start)]
    for _ in range(_count(steps)):
        points.append(points[-1] + newton_step(points[-1], saddle_free=saddle_free))
    return np.array(points)


def _count(steps):
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return int(steps)


def optimizer_trajectory(name, learning_rate, start, steps):
    """Points visited by Keras' optimizer `name` (see `make_optimizer`) from `start`.

    The two weights are `keras.Variable`s and each step is `optimizer.apply(∇C, weights)`, as in
    a training loop; returns an array (steps + 1, 2) of float64 copies of the float32 weights.
    """
    start = _point(start)
    optimizer = make_optimizer(name, learning_rate)
    weights = [keras.Variable(start[0], dtype="float32", name="w1"),
               keras.Variable(start[1], dtype="float32", name="w2")]

    @tf.function  # one traced step: eager steps cost ~10 ms each, traced ones well under 1 ms
    def step():
        with tf.GradientTape() as tape:
            value = cost(weights[0], weights[1])
        optimizer.apply(tape.gradient(value, weights), weights)
        return tf.stack([weights[0].value, weights[1].value])

    points = [start]
    for _ in range(_count(steps)):
        points.append(step().numpy())
        if not np.all(np.isfinite(points[-1])):
            break  # diverged: the rest of the run would be NaN
    return np.array(points, dtype=np.float64)


def distance_to_minimum(points):
    """Each point's distance to the nearer of the two minima."""
    points = np.atleast_2d(points)
    return np.min(np.linalg.norm(points[:, None, :] - MINIMA[None], axis=-1), axis=1)


def steps_to_tolerance(points, tolerance=1e-3):
    """The first step from which the run stays within `tolerance` of a minimum to its end.

    None when the last point is not within tolerance (the run did not converge in its steps).
    """
    inside = distance_to_minimum(points) < tolerance
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    return int(outside[-1] + 1) if outside.size else 0


def reversal_share(points, last=50):
    """Share of the last `last` pairs of successive steps that point against each other.

    A step that reverses the one before (negative dot product) is the bounce across the valley;
    a run that converges along the valley floor has none at its end, an oscillating one about
    every other pair. Steps shorter than 1e-6 (converged: float32 rounding of weights near 1.2
    is about 1e-7) count as not reversing.
    """
    moves = np.diff(np.asarray(points), axis=0)[-(last + 1):]
    if len(moves) < 2:
        return 0.0
    dots = np.sum(moves[1:] * moves[:-1], axis=1)
    small = np.linalg.norm(moves[1:], axis=1) < 1e-6
    return float(np.mean((dots < 0) & ~small))


def cost_grid(limits=(-2.5, 2.5), size=201):
    """(w1, w2, C) on a square grid, for contour plots."""
    axis = np.linspace(limits[0], limits[1], size)
    w1, w2 = np.meshgrid(axis, axis)
    return w1, w2, cost(w1, w2)
