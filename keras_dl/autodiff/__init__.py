"""Automatic differentiation made visible (lectures 001, 002 and 004).

- `dual`: forward mode with dual numbers `a + bε`, `ε² = 0` (`Dual`, `derivative`, `gradient`).
- `reverse`: reverse mode on an explicit computational graph (`Variable`, `Node.backward`).
- `gradcheck`: TensorFlow's gradients of a layer against central differences
  (`check_gradients`), for custom layers' tests.
- `backprop`: an MLP's backpropagation and SGD written in NumPy (`NumpyMLP`), and training it
  side by side with the same Keras model (`train_side_by_side`).
"""

from keras_dl.autodiff import backprop, dual, gradcheck, reverse
from keras_dl.autodiff.backprop import NumpyMLP, train_side_by_side
from keras_dl.autodiff.dual import Dual, derivative, gradient
from keras_dl.autodiff.gradcheck import GradientReport, check_gradients

__all__ = [
    "Dual",
    "GradientReport",
    "NumpyMLP",
    "backprop",
    "check_gradients",
    "derivative",
    "dual",
    "gradcheck",
    "gradient",
    "reverse",
    "train_side_by_side",
]
