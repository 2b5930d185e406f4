"""Small experiments on how networks train and what they can represent (lectures 001 and 004).

- `two_weight`: lecture 001's two-weight cost, Keras' optimisers and (saddle-free) Newton on it;
- `approximation`: XOR with one unit vs two layers, one-hidden-layer sigmoid fits per width
  (Cybenko 1989), the activation functions and their derivatives.
"""

from keras_dl.dynamics import approximation, two_weight

__all__ = ["approximation", "two_weight"]
