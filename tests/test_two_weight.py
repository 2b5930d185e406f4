"""Lecture 001's two-weight example (`keras_dl.dynamics.two_weight`): the cost's derivatives,
Keras' optimisers stepping it, (saddle-free) Newton, and the lecture's 0.25 / 0.35 claims."""

import numpy as np
import pytest

from keras_dl.dynamics import two_weight as tw

POINTS = [(0.5, 1.5), (-1.3, 0.4), (2.0, -0.7), (0.2, 0.1)]


def closed_gradient(w):
    """∂C/∂w₁ = 2(w₁w₂ − 1.5)w₂ + 0.08w₁, ∂C/∂w₂ = 2(w₁w₂ − 1.5)w₁ + 0.08w₂, by hand."""
    a, b = w
    r = a * b - 1.5
    return np.array([2 * r * b + 0.08 * a, 2 * r * a + 0.08 * b])


def closed_hessian(w):
    a, b = w
    return np.array([[2 * b * b + 0.08, 4 * a * b - 3], [4 * a * b - 3, 2 * a * a + 0.08]])


@pytest.mark.parametrize("point", POINTS)
def test_autodiff_gradient_and_hessian_match_the_closed_form(point):
    """Catches a wrong cost (decay 0.04 vs 0.08, target) or a Hessian taken wrongly (a missing
    cross term, the gradient's Jacobian transposed or of the wrong variable)."""
    grad, hessian = tw.gradient_and_hessian(point)
    np.testing.assert_allclose(grad, closed_gradient(point), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hessian, closed_hessian(point), rtol=1e-12, atol=1e-12)


def test_the_analytic_minima_and_saddle_are_what_the_docs_say():
    """Catches wrong constants: ±√1.46 must be stationary with C = 0.1184 and a positive
    definite Hessian (eigenvalues 0.16 and 5.84: η < 2/5.84 = 0.342 is stable); the origin is a
    saddle with eigenvalues −2.92 and 3.08."""
    assert tw.MINIMUM == pytest.approx(1.2083045973594573)
    assert tw.MINIMUM_COST == pytest.approx(0.1184)
    for minimum in tw.MINIMA:
        np.testing.assert_allclose(closed_gradient(minimum), 0, atol=1e-12)
        assert tw.cost(*minimum) == pytest.approx(0.1184)
        np.testing.assert_allclose(np.linalg.eigvalsh(closed_hessian(minimum)), [0.16, 5.84])
    np.testing.assert_allclose(np.linalg.eigvalsh(closed_hessian(tw.SADDLE)), [-2.92, 3.08])


@pytest.mark.parametrize("point", POINTS)
def test_newton_step_is_minus_inverse_hessian_times_gradient(point):
    """Catches a sign error or the gradient used unscaled (a gradient step, not Newton's)."""
    expected = -np.linalg.solve(closed_hessian(point), closed_gradient(point))
    np.testing.assert_allclose(tw.newton_step(point), expected, rtol=1e-10)


def test_saddle_free_step_uses_absolute_eigenvalues():
    """Catches |H| built wrongly (eigenvalues not made absolute, or the eigenvectors' product in
    the wrong order): where H is positive definite the two steps agree, where it is not they
    differ by exactly the closed-form |H|."""
    positive = (1.5, 0.5)  # H = diag(0.58, 4.58)
    np.testing.assert_allclose(tw.newton_step(positive, saddle_free=True), tw.newton_step(positive))
    point = (0.2, 0.1)
    values, vectors = np.linalg.eigh(closed_hessian(point))
    absolute = vectors @ np.diag(np.abs(values)) @ vectors.T
    np.testing.assert_allclose(tw.newton_step(point, saddle_free=True),
                               -np.linalg.solve(absolute, closed_gradient(point)), rtol=1e-10)


def test_near_the_saddle_newton_goes_to_it_and_saddle_free_newton_escapes():
    """The lecture's exercise (Dauphin et al. 2014): catches the saddle-free step not turning
    round the negative-curvature direction."""
    start = np.array([0.2, 0.1])
    newton = tw.newton_trajectory(start, 10)
    free = tw.newton_trajectory(start, 12, saddle_free=True)
    assert np.linalg.norm(newton[1]) < np.linalg.norm(start) / 10  # first step: to the saddle
    assert np.linalg.norm(newton[-1]) < 1e-6
    assert np.linalg.norm(free[1]) > np.linalg.norm(start)  # first step: away from it
    assert tw.distance_to_minimum(free[-1])[0] < 1e-6


def keras_reference(name, rate, start, steps):
    """The update rules as Keras 3 implements them (keras/src/optimizers/*.py), in NumPy."""
    w, eps = np.array(start, dtype=np.float64), 1e-7
    m, v, accumulator, delta = np.zeros(2), np.zeros(2), np.full(2, 0.1), np.zeros(2)
    points = [w.copy()]
    for step in range(1, steps + 1):
        g = closed_gradient(w)
        if name == "sgd":
            w = w - rate * g
        elif name in ("momentum", "nesterov"):
            m = 0.9 * m - rate * g
            w = w + (0.9 * m - rate * g if name == "nesterov" else m)
        elif name == "adagrad":  # accumulator starts at 0.1
            accumulator = accumulator + g * g
            w = w - rate * g / np.sqrt(accumulator + eps)
        elif name == "rmsprop":
            v = 0.9 * v + 0.1 * g * g
            w = w - rate * g / np.sqrt(v + eps)
        elif name == "adadelta":
            v = 0.95 * v + 0.05 * g * g
            update = -np.sqrt(delta + eps) * g / np.sqrt(v + eps)
            delta = 0.95 * delta + 0.05 * update * update
            w = w + rate * update
        elif name == "adam":
            m = m + (g - m) * 0.1
            v = v + (g * g - v) * 0.001
            alpha = rate * np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
            w = w - m * alpha / (np.sqrt(v) + eps)
        points.append(w.copy())
    return np.array(points)


@pytest.mark.parametrize("name, rate", [("sgd", 0.25), ("momentum", 0.05), ("nesterov", 0.05),
                                        ("adagrad", 0.5), ("rmsprop", 0.01), ("adadelta", 1.0),
                                        ("adam", 0.05)])
def test_keras_optimizers_take_the_hand_computed_first_steps(name, rate):
    """Catches the wrong Keras optimizer behind a name (plain momentum for Nesterov, another ρ
    or β) or a trajectory that records the weights before the step, or loses the state between
    steps (the second and third steps differ then)."""
    start = (0.5, 1.5)
    expected = keras_reference(name, rate, start, 3)
    np.testing.assert_allclose(tw.optimizer_trajectory(name, rate, start, 3), expected,
                               rtol=2e-5, atol=1e-7)


def test_step_025_converges_and_step_035_oscillates_as_the_lecture_says():
    """The lecture's two pictures, measured: η = 0.25 settles within 1e-3 of the minimum and
    its last steps go one way; η = 0.35 (> 2/5.84) is still away from it after 400 steps,
    every late step reversing the one before."""
    slow = tw.optimizer_trajectory("sgd", tw.SLOW_STEP, (0.5, 1.5), 400)
    fast = tw.optimizer_trajectory("sgd", tw.OSCILLATING_STEP, (0.5, 1.5), 400)
    assert tw.steps_to_tolerance(slow, 1e-3) is not None
    assert tw.reversal_share(slow) == 0.0
    assert tw.steps_to_tolerance(fast, 1e-3) is None
    assert tw.reversal_share(fast) > 0.9
    assert np.all(np.abs(fast) < 3)  # it bounces; it does not diverge


def test_steps_to_tolerance_counts_from_the_last_exit():
    """Catches counting the first visit within tolerance (a run passing through the minimum and
    leaving again is not converged there) and an off-by-one in the count."""
    m = tw.MINIMUM
    points = np.array([[0.0, 2.0], [m, m], [m + 0.1, m], [m + 1e-4, m], [m, m]])
    assert tw.steps_to_tolerance(points, 1e-3) == 3
    assert tw.steps_to_tolerance(points[:3], 1e-3) is None
    assert tw.steps_to_tolerance(points[3:], 1e-3) == 0


def test_reversal_share_counts_bounces_only():
    """Catches counting every step or ignoring direction."""
    zigzag = np.cumsum([[1, 0], [-0.5, 0], [0.5, 0], [-0.5, 0], [0.5, 0]], axis=0)
    straight = np.cumsum(np.ones((5, 2)), axis=0)
    assert tw.reversal_share(zigzag) == 1.0
    assert tw.reversal_share(straight) == 0.0


@pytest.mark.parametrize("bad, message", [((1.0,), "two finite numbers"),
                                          ((np.nan, 1.0), "two finite numbers")])
def test_a_bad_point_is_one_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        tw.newton_step(bad)


@pytest.mark.parametrize("steps", [0, -1, 2.5, True])
def test_a_bad_step_count_is_one_clear_error(steps):
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        tw.newton_trajectory((1.0, 1.0), steps)
