"""Forward-mode automatic differentiation with dual numbers (lecture 004).

A dual number is `a + bε` with `ε² = 0`. For any analytic `f`, Taylor's expansion stops after
the linear term, `f(a + bε) = f(a) + f'(a)·b ε`, so evaluating `f` on `x + 1·ε` carries the
value and the derivative through every operation at once: the value part is `f(x)` and the ε
part is `f'(x)`. Each operation below is that rule for one elementary function; the chain rule
is what composing them does.
"""

from __future__ import annotations

import math
from numbers import Real

ALLOWED = "a Dual or a real number (int, float)"


def is_real(value):
    """A real number that is not a bool (True + ε would otherwise be a Dual of 1)."""
    return isinstance(value, Real) and not isinstance(value, bool)


def _refuse(operation, value):
    raise TypeError(f"Dual {operation}: unsupported operand of type {type(value).__name__} "
                    f"({value!r}); allowed: {ALLOWED}")


class Dual:
    """A dual number `value + derivative·ε` (ε² = 0): a value and its derivative together.

    Arithmetic with another Dual or a plain real number (on either side) follows the sum,
    product and quotient rules; `**` takes a real exponent (power rule) or a Dual one
    (`d(u^v) = u^v (v' log u + v u'/u)`, for `u > 0`).

    Example:
    ```python
    x = Dual(2.0, 1.0)          # x = 2, dx/dx = 1
    y = x * x + 3 * x           # Dual(10.0, 7.0): f(2) = 10, f'(2) = 2·2 + 3
    ```
    """

    __slots__ = ("derivative", "value")

    def __init__(self, value, derivative=0.0):
        for name, number in (("value", value), ("derivative", derivative)):
            if not is_real(number):
                raise TypeError(f"Dual {name} must be a real number (int, float), "
                                f"got {type(number).__name__} {number!r}")
        self.value = float(value)
        self.derivative = float(derivative)

    def __repr__(self):
        return f"Dual({self.value!r}, {self.derivative!r})"

    # --- arithmetic ---------------------------------------------------------------------------

    @staticmethod
    def _lift(other, operation):
        """`other` as a Dual (a real number is a constant: derivative 0)."""
        if isinstance(other, Dual):
            return other
        if is_real(other):
            return Dual(other, 0.0)
        _refuse(operation, other)

    def __add__(self, other):
        other = self._lift(other, "+")
        return Dual(self.value + other.value, self.derivative + other.derivative)

    __radd__ = __add__

    def __sub__(self, other):
        other = self._lift(other, "-")
        return Dual(self.value - other.value, self.derivative - other.derivative)

    def __rsub__(self, other):
        return self._lift(other, "-") - self

    def __mul__(self, other):
        other = self._lift(other, "*")
        # (a + a'ε)(b + b'ε) = ab + (a'b + ab')ε, since ε² = 0
        return Dual(self.value * other.value,
                    self.derivative * other.value + self.value * other.derivative)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._lift(other, "/")
        if other.value == 0:
            raise ZeroDivisionError("Dual division by a Dual whose value is 0")
        # (a/b)' = (a'b − ab')/b²
        return Dual(self.value / other.value,
                    (self.derivative * other.value - self.value * other.derivative)
                    / other.value ** 2)

    def __rtruediv__(self, other):
        return self._lift(other, "/") / self

    def __neg__(self):
        return Dual(-self.value, -self.derivative)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if is_real(exponent):
            # power rule: (u^n)' = n u^(n−1) u'; written so that u = 0, n ≥ 1 stays finite
            if exponent == 0:
                return Dual(1.0, 0.0)
            return Dual(self.value ** exponent,
                        exponent * self.value ** (exponent - 1) * self.derivative)
        exponent = self._lift(exponent, "**")
        if self.value <= 0:
            raise ValueError(f"Dual ** Dual needs a positive base, got {self.value!r}")
        power = self.value ** exponent.value
        return Dual(power, power * (exponent.derivative * math.log(self.value)
                                    + exponent.value * self.derivative / self.value))

    def __rpow__(self, base):
        return self._lift(base, "**") ** self


# --- elementary functions: Dual or real number in, the same kind out ----------------------------


def _elementary(name, function, derivative):
    """A module-level function applying `function` to a real number and, to a Dual, the chain
    rule `f(u) + f'(u)·u' ε` with `derivative(u, f(u))` giving `f'(u)`."""

    def apply(x):
        if isinstance(x, Dual):
            value = function(x.value)
            return Dual(value, derivative(x.value, value) * x.derivative)
        if is_real(x):
            return function(x)
        _refuse(f"{name}()", x)

    apply.__name__ = name
    apply.__doc__ = f"{name}(x) for a real x; for a Dual, its value and derivative (chain rule)."
    return apply


def _sigmoid(x):
    # the two branches avoid overflow of exp for large |x|
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _log(x):
    if x <= 0:
        raise ValueError(f"log needs a positive argument, got {x!r}")
    return math.log(x)


# name: (f, f') with f'(u) given u and f(u) (reusing f(u) where the rule is written in it);
# reverse mode (`keras_dl.autodiff.reverse`) builds its graph nodes from the same rules.
RULES = {
    "sin": (math.sin, lambda u, f: math.cos(u)),
    "cos": (math.cos, lambda u, f: -math.sin(u)),
    "exp": (math.exp, lambda u, f: f),
    "log": (_log, lambda u, f: 1.0 / u),
    "tanh": (math.tanh, lambda u, f: 1.0 - f * f),
    "sigmoid": (_sigmoid, lambda u, f: f * (1.0 - f)),
}
sin = _elementary("sin", *RULES["sin"])
cos = _elementary("cos", *RULES["cos"])
exp = _elementary("exp", *RULES["exp"])
log = _elementary("log", *RULES["log"])
tanh = _elementary("tanh", *RULES["tanh"])
sigmoid = _elementary("sigmoid", *RULES["sigmoid"])


# --- derivatives of Python functions ------------------------------------------------------------


def derivative(function, x):
    """`f'(x)` of a function of one real number, by one forward pass on `Dual(x, 1)`."""
    return _derivative_part(function(Dual(x, 1.0)), "derivative")


def gradient(function, xs):
    """`∇f(x₁, …, xₙ)` as a list, one forward pass per input (seed `ε` on input i only).

    Forward mode costs one pass per input: the price reverse mode (`keras_dl.autodiff.reverse`)
    avoids for functions of many inputs and one output.
    """
    xs = [float(x) if is_real(x) else _refuse("gradient input", x) for x in xs]
    partials = []
    for i in range(len(xs)):
        seeded = [Dual(x, 1.0 if j == i else 0.0) for j, x in enumerate(xs)]
        partials.append(_derivative_part(function(*seeded), "gradient"))
    return partials


def _derivative_part(result, caller):
    if isinstance(result, Dual):
        return result.derivative
    if is_real(result):  # the function ignored its input: a constant
        return 0.0
    raise TypeError(f"{caller}: the function must return a Dual or a real number, "
                    f"got {type(result).__name__}")
