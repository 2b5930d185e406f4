"""A generative deep belief net of images and their labels (Hinton, Osindero & Teh 2006).

The network of the paper's Figure 1: directed sigmoid layers from the pixels up to a
penultimate layer, and on top an undirected associative memory, an RBM whose visible layer is
the penultimate layer's units *joined with* `C` label units (784-500-500 directed, then
[500 + 10]-2000 undirected, on MNIST). Lecture 003 teaches its greedy construction; this module
also gives what the paper does with it:

- **greedy layer-wise training** (`fit`): each lower RBM on the hidden probabilities of the
  one below (`keras_dl.training.pretraining.greedy_pretrain`, the `"rbm"` unit), then the top
  RBM on `[penultimate features, one-hot label]` (by the `RBM` layer's CD-k, which treats
  the label units as independent binary units; up-down uses the paper's softmax group); the lower RBMs' weights serve both ways,
  `R = G = W` (recognition up, generative down, tied);
- **generation** (`sample`): alternating Gibbs sampling in the top RBM with the label units
  clamped to a one-hot label, then one top-down pass through the generative weights
  (`P(v = 1 | h) = σ(h Gᵀ + b)`, probabilities at every layer, so samples lie in [0, 1]);
- **classification** (`classify`): an up-pass gives the penultimate features `f`; the label
  whose free energy `F([f, e_l])` in the top RBM is lowest wins (the paper's Section 6);
- **up-down fine-tuning** (`up_down`, `fit(..., up_down_epochs=N)`): the paper's contrastive
  wake-sleep. A stochastic up-pass with the recognition weights; the generative weights learn
  to reconstruct each layer from the one above (wake); CD-k in the top RBM with the label
  clamped in the positive phase and a softmax label group in the negative one; a stochastic
  down-pass from the negative phase's features, on which the recognition weights learn to
  invert the generative ones (sleep). Recognition and generative weights become untied.

Everything after the greedy phase runs in NumPy on the weights: the chains are short loops of
matrix products, and NumPy keeps them readable and exactly seedable.

Reference:
    Hinton, Osindero & Teh, "A fast learning algorithm for deep belief nets", Neural
    Computation 18(7):1527-1554, 2006 (Sections 4-6, Appendix B).
"""

from __future__ import annotations

import numbers

import numpy as np

from keras_dl.training import pretraining
from keras_dl.training.rbm import RBMUnit


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _softmax(x):
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _check_positive_int(name, value, what):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer ({what}); got {value!r}")
    return int(value)


class GenerativeDBN:
    """Deep belief net modelling the joint distribution of images and labels.

    Args:
        input_shape: shape of one image (its pixels are the bottom visible units, in [0, 1]).
        num_classes: number of label units `C` joined to the top RBM's visible layer.
        hidden_units: hidden layer sizes bottom up; the last is the top RBM's hidden layer, the
            ones before it the directed layers (the paper: (500, 500, 2000)).
        k: Gibbs steps of CD-k, in the greedy phase and at the top during up-down.
        seed: seed of the RBMs' weights, of `fit`'s sampling and of `sample`'s chains.

    Example:
    ```python
    dbn = GenerativeDBN(input_shape=(28, 28, 1), num_classes=10)
    dbn.fit(x_train, y_train, epochs=10, up_down_epochs=5)
    dbn.classify(x_test)                       # labels, by the top RBM's free energy
    dbn.sample(label=3, gibbs_steps=1000, n=16) # 16 images of a "3", shape (16, 28, 28, 1)
    ```
    """

    def __init__(self, *, input_shape, num_classes=10, hidden_units=(500, 500, 2000), k=1,
                 seed=0):
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else (input_shape,)
        if not shape or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1
                            for d in shape):
            raise ValueError(f"input_shape must be positive integers; got {input_shape!r}")
        self.input_shape = tuple(int(d) for d in shape)
        self.input_dim = int(np.prod(self.input_shape))
        self.num_classes = _check_positive_int("num_classes", num_classes, "label units")
        if isinstance(hidden_units, numbers.Integral):
            hidden_units = (hidden_units,)
        self.hidden_units = tuple(_check_positive_int("hidden_units entries", u, "layer sizes")
                                  for u in hidden_units)
        if not self.hidden_units:
            raise ValueError("hidden_units needs at least one size (the top RBM's hidden "
                             "layer); got ()")
        self.k = _check_positive_int("k", k, "Gibbs steps of CD-k")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.lower_units, self.top_unit = [], None
        # recognition (up) and generative (down) weights of the directed layers, bottom up:
        # recognition[i] = (R, r) maps layer i to i+1, generative[i] = (G, b) maps i+1 to i
        self.recognition, self.generative = [], []

    # === Shapes and checks ===

    @property
    def feature_dim(self):
        """Width of the penultimate layer (the top RBM's non-label visible units)."""
        return self.hidden_units[-2] if len(self.hidden_units) > 1 else self.input_dim

    @property
    def top(self):
        """The top RBM (`keras_dl.layers.RBM`): visible `[features, labels]`, the associative
        memory."""
        if self.top_unit is None:
            raise ValueError("this GenerativeDBN is not trained yet: call fit(x, y) first")
        return self.top_unit.layer

    def _flat(self, x):
        x = np.asarray(x, dtype="float32")
        width = int(np.prod(x.shape[1:])) if x.ndim > 1 else -1
        if x.ndim < 2 or width != self.input_dim:
            raise ValueError(f"x has shape {x.shape}: {width} values per example; this DBN "
                             f"takes {self.input_dim} (images of shape {self.input_shape})")
        x = x.reshape(len(x), -1)
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError(f"x holds values in [{x.min():.4g}, {x.max():.4g}]; the DBN's "
                             "pixels are probabilities in [0, 1]")
        return x

    def _labels(self, y, count):
        y = np.asarray(y)
        if y.shape != (count,) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must hold one integer label per example ({count}); got "
                             f"shape {y.shape}, dtype {y.dtype}")
        bad = y[(y < 0) | (y >= self.num_classes)]
        if bad.size:
            raise ValueError(f"label {int(bad[0])} is outside the classes; allowed: 0 to "
                             f"{self.num_classes - 1}")
        return y

    def one_hot(self, labels):
        return np.eye(self.num_classes, dtype="float32")[labels]

    def _check_label(self, label):
        if (isinstance(label, bool) or not isinstance(label, numbers.Integral)
                or not 0 <= label < self.num_classes):
            raise ValueError(f"label {label!r} is outside the classes; allowed: integers 0 to "
                             f"{self.num_classes - 1}")
        return int(label)

    # === Greedy training ===

    def fit(self, x, y, *, epochs=10, batch_size=64, learning_rate=0.1, up_down_epochs=0,
            up_down_learning_rate=0.01, verbose=0):
        """Greedy layer-wise training, then `up_down_epochs` epochs of up-down fine-tuning.

        Returns a dict: the greedy phase's history per RBM (`"greedy"`), and per up-down epoch
        the mean squared error of the data's reconstruction by the generative weights
        (`"up_down_reconstruction_error"`).
        """
        x = self._flat(x)
        y = self._labels(y, len(x))
        _check_positive_int("epochs", epochs, "greedy epochs per RBM")
        _check_positive_int("batch_size", batch_size, "examples per update")
        if (isinstance(up_down_epochs, bool) or not isinstance(up_down_epochs, numbers.Integral)
                or up_down_epochs < 0):
            raise ValueError(f"up_down_epochs must be an integer >= 0; got {up_down_epochs!r}")
        options = {"k": self.k}
        histories = []
        features = x
        if len(self.hidden_units) > 1:
            result = pretraining.greedy_pretrain(
                x, self.hidden_units[:-1], "rbm", epochs=epochs, batch_size=batch_size,
                learning_rate=learning_rate, seed=self.seed, unit_options=options,
                verbose=verbose)
            self.lower_units, histories = result.units, result.histories
            for unit in self.lower_units:
                features = unit.transform(features)
        self.top_unit = RBMUnit(self.feature_dim + self.num_classes, self.hidden_units[-1],
                                seed=self.seed + len(self.hidden_units), **options)
        histories.append(self.top_unit.fit(
            np.concatenate([features, self.one_hot(y)], axis=1), epochs=epochs,
            batch_size=batch_size, learning_rate=learning_rate, verbose=verbose))
        self.recognition = [(np.array(u.layer.kernel), np.array(u.layer.hidden_bias))
                            for u in self.lower_units]
        self.generative = [(np.array(u.layer.kernel), np.array(u.layer.visible_bias))
                           for u in self.lower_units]
        errors = [self.up_down(x, y, epochs=1, batch_size=batch_size,
                               learning_rate=up_down_learning_rate)[0]
                  for _ in range(int(up_down_epochs))]
        return {"greedy": histories, "up_down_reconstruction_error": errors}

    # === Passes through the directed layers ===

    def features(self, x):
        """Deterministic up-pass: the penultimate layer's probabilities `f` for images `x`."""
        self.top  # noqa: B018  (raises when untrained)
        state = self._flat(x)
        for kernel, bias in self.recognition:
            state = _sigmoid(state @ kernel + bias)
        return state

    def down(self, features):
        """Deterministic top-down pass with the generative weights: images in [0, 1]."""
        state = np.asarray(features, dtype="float32")
        for kernel, bias in reversed(self.generative):
            state = _sigmoid(state @ kernel.T + bias)
        return state.reshape(len(state), *self.input_shape)

    # === The top RBM: free energy, classification, label-clamped Gibbs sampling ===

    def _top_weights(self):
        top = self.top
        return np.array(top.kernel), np.array(top.visible_bias), np.array(top.hidden_bias)

    def free_energies(self, x):
        """`F([f(x), e_l])` in the top RBM for every label `l`: shape `(n, num_classes)`."""
        features = self.features(x)
        columns = []
        for label in range(self.num_classes):
            visible = np.concatenate(
                [features, np.tile(self.one_hot([label]), (len(features), 1))], axis=1)
            columns.append(np.asarray(self.top.free_energy(visible)))
        return np.stack(columns, axis=1)

    def classify(self, x):
        """The label whose free energy with the image's features is lowest (Section 6)."""
        return np.argmin(self.free_energies(x), axis=1)

    def sample(self, label, gibbs_steps=1000, n=1, *, snapshots=None, callback=None,
               seed=None):
        """Images of class `label`: `gibbs_steps` steps of alternating Gibbs sampling in the top
        RBM with its label units clamped to the one-hot `label`, then a top-down pass.

        The chains start from random binary features. Each step samples the top hidden
        units from `[f, label]`, then binary features from them; the label units are never
        resampled. `callback(step, visible)` sees the top RBM's whole visible state
        `[f, label]` after each step. With `snapshots` (increasing step counts, the last
        at most `gibbs_steps`) the result is a list of image batches, one per snapshot,
        taken along the same chains; otherwise one batch, shape `(n, *input_shape)`.
        """
        label = self._check_label(label)
        gibbs_steps = _check_positive_int("gibbs_steps", gibbs_steps, "Gibbs steps in the top "
                                          "RBM")
        n = _check_positive_int("n", n, "number of samples")
        marks = self._check_snapshots(snapshots, gibbs_steps)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        kernel, visible_bias, hidden_bias = self._top_weights()
        width = self.feature_dim
        clamped = np.tile(self.one_hot([label]), (n, 1))
        visible = np.concatenate(
            [(rng.random((n, width)) < 0.5).astype("float32"), clamped], axis=1)
        images = []
        for step in range(1, gibbs_steps + 1):
            hidden_means = _sigmoid(visible @ kernel + hidden_bias)
            hidden = (rng.random(hidden_means.shape) < hidden_means).astype("float32")
            feature_means = _sigmoid(hidden @ kernel[:width].T + visible_bias[:width])
            visible = np.concatenate(
                [(rng.random(feature_means.shape) < feature_means).astype("float32"), clamped],
                axis=1)  # the label units are set, never sampled
            if callback is not None:
                callback(step, visible.copy())
            if step in marks:
                images.append(self.down(feature_means))
        return images if snapshots is not None else images[-1]

    @staticmethod
    def _check_snapshots(snapshots, gibbs_steps):
        if snapshots is None:
            return {gibbs_steps}
        marks = list(snapshots)
        if (not marks or any(isinstance(s, bool) or not isinstance(s, numbers.Integral)
                             for s in marks) or marks != sorted(set(marks))
                or marks[0] < 1 or marks[-1] > gibbs_steps):
            raise ValueError(f"snapshots must be increasing step counts from 1 to gibbs_steps "
                             f"({gibbs_steps}); got {snapshots!r}")
        return set(marks)

    # === Up-down fine-tuning (contrastive wake-sleep) ===

    def up_down(self, x, y, *, epochs=1, batch_size=64, learning_rate=0.01):
        """`epochs` passes of the up-down algorithm; per epoch, the generative weights' mean
        squared reconstruction error of the data (from the wake phase's sampled first layer).

        Untie recognition `(R, r)` and generative `(G, b)` weights: the wake phase moves `G`,
        `b` by `ε sᵢ₊₁ᵀ(sᵢ − σ(sᵢ₊₁Gᵀ + b))`, the sleep phase moves `R`, `r` by
        `ε dᵢᵀ(dᵢ₊₁ − σ(dᵢR + r))` (`s` the up-pass's samples, `d` the down-pass's), and the
        top RBM learns by CD-k on `[s_top, label]`.
        """
        x = self._flat(x)
        y = self._labels(y, len(x))
        self.top  # noqa: B018
        _check_positive_int("epochs", epochs, "up-down epochs")
        _check_positive_int("batch_size", batch_size, "examples per update")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive; got {learning_rate!r}")
        errors = []
        for _ in range(int(epochs)):
            order = self.rng.permutation(len(x))
            total = 0.0
            for start in range(0, len(x), batch_size):
                batch = order[start:start + batch_size]
                total += self._up_down_step(x[batch], self.one_hot(y[batch]),
                                            learning_rate) * len(batch)
            errors.append(total / len(x))
        return errors

    def _bernoulli(self, probabilities):
        return (self.rng.random(probabilities.shape) < probabilities).astype("float32")

    def _up_down_step(self, x, labels, rate):
        count = len(x)
        # wake: a stochastic up-pass with the recognition weights
        up = [x]
        for kernel, bias in self.recognition:
            up.append(self._bernoulli(_sigmoid(up[-1] @ kernel + bias)))
        error = 0.0
        for i, (kernel, bias) in enumerate(self.generative):
            prediction = _sigmoid(up[i + 1] @ kernel.T + bias)
            if i == 0:
                error = float(np.mean((x - prediction) ** 2))
            delta = up[i] - prediction
            self.generative[i] = (kernel + rate * delta.T @ up[i + 1] / count,
                                  bias + rate * delta.mean(axis=0))
        negative_features = self._top_contrastive_divergence(up[-1], labels, rate)
        # sleep: a stochastic down-pass from the top's negative phase, with the new G
        down = [negative_features]
        for kernel, bias in reversed(self.generative):
            down.append(self._bernoulli(_sigmoid(down[-1] @ kernel.T + bias)))
        down.reverse()  # down[i] is layer i, as up[i]
        for i, (kernel, bias) in enumerate(self.recognition):
            delta = down[i + 1] - _sigmoid(down[i] @ kernel + bias)
            self.recognition[i] = (kernel + rate * down[i].T @ delta / count,
                                   bias + rate * delta.mean(axis=0))
        return error

    def _top_contrastive_divergence(self, features, labels, rate):
        """CD-k in the top RBM on `[features, labels]`; the label units of the negative phase
        form one softmax group (one label on). Returns the negative phase's binary features."""
        kernel, visible_bias, hidden_bias = self._top_weights()
        width = self.feature_dim
        positive = np.concatenate([features, labels], axis=1)
        positive_hidden = _sigmoid(positive @ kernel + hidden_bias)
        hidden = self._bernoulli(positive_hidden)
        for _ in range(self.k):
            activation = hidden @ kernel.T + visible_bias
            negative_features = self._bernoulli(_sigmoid(activation[:, :width]))
            label_probabilities = _softmax(activation[:, width:])
            # one label per row, drawn from the softmax by inverting its cumulative sum
            draws = self.rng.random((len(features), 1))
            chosen = np.minimum((np.cumsum(label_probabilities, axis=1) < draws).sum(axis=1),
                                self.num_classes - 1)
            negative = np.concatenate([negative_features, self.one_hot(chosen)], axis=1)
            negative_hidden = _sigmoid(negative @ kernel + hidden_bias)
            hidden = self._bernoulli(negative_hidden)
        count = len(features)
        top = self.top
        top.kernel.assign(kernel + rate * (positive.T @ positive_hidden
                                           - negative.T @ negative_hidden) / count)
        top.visible_bias.assign(visible_bias + rate * (positive - negative).mean(axis=0))
        top.hidden_bias.assign(hidden_bias + rate * (positive_hidden
                                                     - negative_hidden).mean(axis=0))
        return negative_features
