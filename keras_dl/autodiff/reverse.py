"""Reverse-mode automatic differentiation on an explicit computational graph (lecture 002).

Each operation creates a `Node` that records its value, its parent nodes and the local
partial derivative of its value with respect to each parent. `backward()` then visits the
nodes in reverse topological order and accumulates the *adjoint* `∂f/∂node` of every node:

    adjoint(parent) += adjoint(child) · ∂child/∂parent

One backward pass gives the derivative of the output with respect to every input, which is
why backpropagation is reverse mode. The lecture's example:

```python
x1, x2 = Variable(1.5, "x1"), Variable(-0.5, "x2")
f = sin(x1) + x1 * x2
f.backward()
x1.adjoint, x2.adjoint   # cos(x1) + x2, x1
```
"""

from __future__ import annotations

import math

from keras_dl.autodiff.dual import ALLOWED as _DUAL_ALLOWED
from keras_dl.autodiff.dual import RULES, is_real

ALLOWED = _DUAL_ALLOWED.replace("Dual", "Node")


class Node:
    """One vertex of the graph: an operation's value, its parents and ∂value/∂parent.

    Attributes:
        value: the number this node computed in the forward pass.
        parents: the nodes it was computed from.
        local_gradients: `∂value/∂parent` for each parent, evaluated in the forward pass.
        operation: a short label (`"sin"`, `"*"`, an input's name) for printing the graph.
        adjoint: `∂output/∂value` after `backward()` on the output.
    """

    def __init__(self, value, parents=(), local_gradients=(), operation="const"):
        self.value = float(value)
        self.parents = tuple(parents)
        self.local_gradients = tuple(float(g) for g in local_gradients)
        self.operation = operation
        self.adjoint = 0.0

    def __repr__(self):
        return f"Node({self.operation}, value={self.value!r}, adjoint={self.adjoint!r})"

    # --- building the graph ---------------------------------------------------------------------

    @staticmethod
    def _lift(other, operation):
        if isinstance(other, Node):
            return other
        if is_real(other):
            return Node(other, operation="const")
        raise TypeError(f"Node {operation}: unsupported operand of type {type(other).__name__} "
                        f"({other!r}); allowed: {ALLOWED}")

    def __add__(self, other):
        other = self._lift(other, "+")
        return Node(self.value + other.value, (self, other), (1.0, 1.0), "+")

    __radd__ = __add__

    def __sub__(self, other):
        other = self._lift(other, "-")
        return Node(self.value - other.value, (self, other), (1.0, -1.0), "-")

    def __rsub__(self, other):
        return self._lift(other, "-") - self

    def __mul__(self, other):
        other = self._lift(other, "*")
        return Node(self.value * other.value, (self, other), (other.value, self.value), "*")

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._lift(other, "/")
        if other.value == 0:
            raise ZeroDivisionError("Node division by a node whose value is 0")
        return Node(self.value / other.value, (self, other),
                    (1.0 / other.value, -self.value / other.value ** 2), "/")

    def __rtruediv__(self, other):
        return self._lift(other, "/") / self

    def __neg__(self):
        return Node(-self.value, (self,), (-1.0,), "neg")

    def __pow__(self, exponent):
        if isinstance(exponent, Node):  # u^v: ∂/∂u = v u^(v−1), ∂/∂v = u^v log u (u > 0)
            if self.value <= 0:
                raise ValueError(f"Node ** Node needs a positive base, got {self.value!r}")
            power = self.value ** exponent.value
            return Node(power, (self, exponent),
                        (exponent.value * self.value ** (exponent.value - 1),
                         power * math.log(self.value)), "**")
        if not is_real(exponent):
            raise TypeError(f"Node **: unsupported exponent of type {type(exponent).__name__} "
                            f"({exponent!r}); allowed: {ALLOWED}")
        if exponent == 0:
            return Node(1.0, (self,), (0.0,), "**0")
        return Node(self.value ** exponent, (self,),
                    (exponent * self.value ** (exponent - 1),), f"**{exponent}")

    def __rpow__(self, base):
        return self._lift(base, "**") ** self

    # --- the backward pass ----------------------------------------------------------------------

    def backward(self):
        """Fill in `adjoint = ∂self/∂node` on every node this one depends on (self's is 1)."""
        order = topological_order(self)
        for node in order:
            node.adjoint = 0.0
        self.adjoint = 1.0
        for node in reversed(order):  # every child before its parents
            for parent, local in zip(node.parents, node.local_gradients):
                parent.adjoint += node.adjoint * local


def Variable(value, name="x"):
    """An input node of the graph (a leaf with a name)."""
    if not is_real(value):
        raise TypeError(f"Variable value must be a real number (int, float), "
                        f"got {type(value).__name__} {value!r}")
    return Node(value, operation=name)


def topological_order(output):
    """The nodes `output` depends on, each after all of its parents (depth-first, no repeats).

    A node reached by several paths (x1 in `sin x1 + x1·x2`) appears once, so its adjoint
    collects the contributions of all paths before it passes them on.
    """
    order, seen = [], set()
    stack = [(output, False)]
    while stack:  # iterative, so deep graphs do not hit Python's recursion limit
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in node.parents if id(parent) not in seen)
    return order


def _unary(name, function, derivative):
    def apply(x):
        if isinstance(x, Node):
            value = function(x.value)
            return Node(value, (x,), (derivative(x.value, value),), name)
        if is_real(x):
            return function(x)
        raise TypeError(f"{name}(): unsupported operand of type {type(x).__name__} ({x!r}); "
                        f"allowed: {ALLOWED}")

    apply.__name__ = name
    apply.__doc__ = f"{name}(x): a new graph node for a Node x (a plain number for a number)."
    return apply


sin = _unary("sin", *RULES["sin"])
cos = _unary("cos", *RULES["cos"])
exp = _unary("exp", *RULES["exp"])
log = _unary("log", *RULES["log"])
tanh = _unary("tanh", *RULES["tanh"])
sigmoid = _unary("sigmoid", *RULES["sigmoid"])


def gradient(function, xs):
    """`(f(x), ∇f(x))` by one forward pass building the graph and one backward pass."""
    inputs = [Variable(x, f"x{i + 1}") for i, x in enumerate(xs)]
    output = function(*inputs)
    if not isinstance(output, Node):
        output = Node._lift(output, "gradient output")
    output.backward()
    return output.value, [node.adjoint for node in inputs]


def describe(output):
    """The graph as text, one node a line in topological order (value, adjoint, parents)."""
    order = topological_order(output)
    index = {id(node): i for i, node in enumerate(order)}
    lines = []
    for i, node in enumerate(order):
        parents = ", ".join(f"n{index[id(p)]}" for p in node.parents)
        lines.append(f"n{i} = {node.operation}({parents})  value={node.value:.6g}  "
                     f"adjoint={node.adjoint:.6g}")
    return "\n".join(lines)
