"""Optimizers by name, with decoupled weight decay."""

from __future__ import annotations

import keras

from keras_dl.settings import OPTIMIZERS


def make_optimizer(name: str, learning_rate: float, weight_decay: float = 0.0):
    """A Keras optimizer by name, the ones lecture 001 names:

    - "sgd": plain gradient descent, `w ← w − η g`;
    - "momentum": heavy-ball momentum 0.9 (Polyak 1964), `v ← 0.9 v − η g`, `w ← w + v`;
    - "nesterov": Nesterov's accelerated gradient with momentum 0.9 (Nesterov 1983; as
      Sutskever et al. 2013 write it for deep learning): the gradient is taken at the
      look-ahead point;
    - "adagrad": per-weight steps `η / √(Σ g²)` (Duchi et al. 2011);
    - "adadelta": steps scaled by the ratio of running RMS of updates and of gradients, ρ = 0.95
      (Zeiler 2012; Keras multiplies the update by `learning_rate`, Zeiler's rule is η = 1);
    - "rmsprop": `η g / √(running mean of g²)`, ρ = 0.9 (Tieleman & Hinton 2012);
    - "adam": Adam, β₁ = 0.9, β₂ = 0.999 (Kingma & Ba 2015).

    `weight_decay` > 0 is decoupled weight decay (Loshchilov & Hutter 2019; with Adam, that is
    AdamW): after each update every trainable weight shrinks by learning rate × weight_decay,
    the learning rate being the schedule's current one. It is not an L2 term in the loss, so
    momentum does not amplify it: decoupled 5e-3 at rate 0.1 with momentum 0.9 shrinks a weight
    about as much per step as PyTorch's coupled `weight_decay=5e-4` does.
    """
    decay = {"weight_decay": weight_decay} if weight_decay else {}
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, **decay)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, **decay)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, **decay)
    if name == "nesterov":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True, **decay)
    if name == "adagrad":
        return keras.optimizers.Adagrad(learning_rate, **decay)
    if name == "adadelta":
        return keras.optimizers.Adadelta(learning_rate, rho=0.95, **decay)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, **decay)
    raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")


def optimizer_factory(config: dict):
    """A function making a fresh optimizer of a resolved config (one per compiled model)."""
    return lambda: make_optimizer(config["optimizer"], config["learning_rate"],
                                  config.get("weight_decay", 0.0))
