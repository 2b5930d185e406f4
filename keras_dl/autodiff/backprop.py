"""Backpropagation by hand: an MLP's forward pass, the delta rule and SGD in NumPy.

Lecture 001 ("Backpropagation") and lecture 004 (the delta rule). The network is

    h⁽⁰⁾ = x,   a⁽ˡ⁾ = h⁽ˡ⁻¹⁾ W⁽ˡ⁾ + b⁽ˡ⁾,   h⁽ˡ⁾ = f(a⁽ˡ⁾)  (hidden layers),
    y = softmax(a⁽ᴸ⁾),   C = −(1/B) Σ_n log y_{n, t_n}   (cross-entropy, batch mean),

with `W⁽ˡ⁾` of shape (inputs, units), as a Keras `Dense` kernel. Backpropagation is dynamic
programming over the chain rule: the error of the output layer is

    δ⁽ᴸ⁾ = ∂C/∂a⁽ᴸ⁾ = (y − onehot(t)) / B

and the error of a hidden unit is the weighted sum of its successors' errors times the
derivative of its activation (lecture 004: `δ_i = Σ_j w_(i→j) δ_j`, then `· f'(a_i)`):

    δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ W⁽ˡ⁺¹⁾ᵀ) ⊙ f'(a⁽ˡ⁾),   ∂C/∂W⁽ˡ⁾ = h⁽ˡ⁻¹⁾ᵀ δ⁽ˡ⁾,   ∂C/∂b⁽ˡ⁾ = Σ_n δ⁽ˡ⁾_n.

A plain SGD step is `W ← W − η ∂C/∂W`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# each activation as (f(a), f'(a) written from a and h = f(a))
ACTIVATIONS = {
    "sigmoid": (lambda a: 0.5 * (1.0 + np.tanh(0.5 * a)), lambda a, h: h * (1.0 - h)),
    "tanh": (np.tanh, lambda a, h: 1.0 - h * h),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a, h: (a > 0).astype(a.dtype)),
}


def check_activation(activation):
    """Raise a one-line ValueError for an activation this module does not implement."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"hidden activation must be one of {', '.join(ACTIVATIONS)}; "
                         f"got {activation!r}")
    return activation


def softmax(logits):
    """Row-wise softmax, shifted by the row maximum (same result, no overflow)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def cross_entropy(probabilities, labels):
    """Mean over the batch of `−log y_{n, t_n}` (labels are class indices)."""
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(picked)))


@dataclass
class ForwardPass:
    """What the forward pass stores for the backward one: each layer's input and pre-activation."""

    layer_inputs: list   # h⁽ˡ⁻¹⁾ for l = 1..L
    pre_activations: list  # a⁽ˡ⁾ for l = 1..L
    probabilities: np.ndarray


class NumpyMLP:
    """An MLP with NumPy weights: `forward`, `gradients` (backpropagation) and `sgd_step`.

    Args:
        weights: `[(W1, b1), …, (WL, bL)]`, kernels of shape (inputs, units); the last layer
            is the softmax output. Copied (float64 unless `dtype` says otherwise).
        activation: the hidden layers' f, one of `ACTIVATIONS`.
        dtype: the NumPy dtype of the weights and of the computation.
    """

    def __init__(self, weights, activation="sigmoid", dtype=np.float64):
        self.activation = check_activation(activation)
        self.dtype = np.dtype(dtype)
        self.weights = [(np.array(kernel, dtype=self.dtype), np.array(bias, dtype=self.dtype))
                        for kernel, bias in weights]
        for index, ((kernel, bias), following) in enumerate(
                zip(self.weights, self.weights[1:] + [None])):
            if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
                raise ValueError(f"layer {index + 1}: need a 2-D kernel and a bias of its "
                                 f"width, got {kernel.shape} and {bias.shape}")
            if following is not None and following[0].shape[0] != kernel.shape[1]:
                raise ValueError(f"layer {index + 2} takes {following[0].shape[0]} inputs but "
                                 f"layer {index + 1} has {kernel.shape[1]} units")

    def forward(self, x):
        """The forward pass, keeping every layer's input and pre-activation."""
        function, _ = ACTIVATIONS[self.activation]
        h = np.asarray(x, dtype=self.dtype).reshape(len(x), -1)
        layer_inputs, pre_activations = [], []
        for index, (kernel, bias) in enumerate(self.weights):
            layer_inputs.append(h)
            a = h @ kernel + bias
            pre_activations.append(a)
            last = index == len(self.weights) - 1
            h = softmax(a) if last else function(a)
        return ForwardPass(layer_inputs, pre_activations, h)

    def predict(self, x):
        return self.forward(x).probabilities

    def loss(self, x, labels):
        return cross_entropy(self.predict(x), np.asarray(labels))

    def gradients(self, x, labels):
        """`(C, [(∂C/∂W1, ∂C/∂b1), …])` by one forward and one backward pass."""
        _, derivative = ACTIVATIONS[self.activation]
        labels = np.asarray(labels)
        cache = self.forward(x)
        batch = len(labels)
        delta = cache.probabilities.copy()
        delta[np.arange(batch), labels] -= 1.0
        delta /= batch  # δ⁽ᴸ⁾ = (y − onehot(t)) / B
        grads = [None] * len(self.weights)
        for index in reversed(range(len(self.weights))):
            grads[index] = (cache.layer_inputs[index].T @ delta, delta.sum(axis=0))
            if index:  # the delta rule: δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ W⁽ˡ⁺¹⁾ᵀ) ⊙ f'(a⁽ˡ⁾)
                a = cache.pre_activations[index - 1]
                h = cache.layer_inputs[index]
                delta = (delta @ self.weights[index][0].T) * derivative(a, h)
        return cross_entropy(cache.probabilities, labels), grads

    def sgd_step(self, x, labels, learning_rate):
        """One plain gradient-descent step `θ ← θ − η ∂C/∂θ`; returns C before the step."""
        loss, grads = self.gradients(x, labels)
        self.weights = [(kernel - learning_rate * grad_kernel, bias - learning_rate * grad_bias)
                        for (kernel, bias), (grad_kernel, grad_bias) in zip(self.weights, grads)]
        return loss


def minibatch_order(num_examples, batch_size, steps, seed=0):
    """Index arrays for `steps` minibatches: shuffled epochs from one seeded generator, so two
    trainers given the same order see exactly the same examples at every step. An epoch's
    last partial batch is dropped; a `batch_size` above `num_examples` gives full batches."""
    rng = np.random.default_rng(seed)
    batches, permutation = [], np.array([], dtype=int)
    while len(batches) < steps:
        if len(permutation) < batch_size:
            permutation = rng.permutation(num_examples)
        batches.append(permutation[:batch_size])
        permutation = permutation[batch_size:]
    return batches


# --- the same network in Keras, trained side by side --------------------------------------------


def keras_mlp(input_size, hidden_units, num_classes, activation="sigmoid", dtype="float64",
              seed=0):
    """The Keras twin of `NumpyMLP`: a functional model of `Dense` layers, softmax output.

    Every layer (and the input) has the given dtype, so float64 training needs no global
    `keras.config.set_floatx`. Glorot-uniform kernels drawn from `seed`, zero biases.
    """
    import keras

    check_activation(activation)
    inputs = keras.Input((input_size,), dtype=dtype, name="pixels")
    h = inputs
    for index, units in enumerate(hidden_units):
        h = keras.layers.Dense(units, activation=activation, dtype=dtype,
                               kernel_initializer=keras.initializers.GlorotUniform(seed + index),
                               name=f"hidden{index + 1}")(h)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", dtype=dtype, name="output",
        kernel_initializer=keras.initializers.GlorotUniform(seed + len(hidden_units)))(h)
    return keras.Model(inputs, outputs, name="mlp_twin")


def compile_plain_sgd(model, learning_rate, dtype="float64"):
    """Compile with plain SGD (no momentum) and batch-mean sparse cross-entropy, as NumpyMLP."""
    import keras

    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(dtype=dtype))
    return model


def dense_weights(model):
    """`[(kernel, bias), …]` of the model's Dense layers, input side first, as NumPy arrays."""
    import keras

    return [(layer.kernel.numpy(), layer.bias.numpy()) for layer in model.layers
            if isinstance(layer, keras.layers.Dense)]


@dataclass
class SideBySide:
    """Both trainers' losses per step and the weight gap per layer after training."""

    numpy_losses: list
    keras_losses: list
    max_abs_difference: dict  # "hidden1/kernel" → max |W_numpy − W_keras|
    difference_per_step: list  # max over every weight of |numpy − keras| after each step
    numpy_mlp: NumpyMLP
    keras_model: object


def train_side_by_side(x, labels, *, hidden_units=(32, 16), activation="sigmoid", steps=100,
                       batch_size=32, learning_rate=0.1, seed=0, dtype="float64"):
    """Train `NumpyMLP` and its Keras twin from the same weights on the same minibatches.

    Keras steps with `train_on_batch` (its compiled train step, `tf.GradientTape` and SGD);
    NumPy steps with `NumpyMLP.sgd_step` (the delta rule). The recorded loss of a step is the
    minibatch loss before that step's update, for both.
    """
    x = np.asarray(x, dtype=dtype).reshape(len(x), -1)
    labels = np.asarray(labels).astype(np.int64)
    model = compile_plain_sgd(
        keras_mlp(x.shape[1], hidden_units, int(labels.max()) + 1, activation, dtype, seed),
        learning_rate, dtype)
    mlp = NumpyMLP(dense_weights(model), activation, dtype)
    # Keras keeps the step size in a float32 variable (0.1 becomes 0.10000000149…): NumPy
    # takes the same number, or the two would drift apart by ~1e-8 of every update
    step = float(np.asarray(model.optimizer.learning_rate))
    numpy_losses, keras_losses, per_step = [], [], []
    for batch in minibatch_order(len(x), batch_size, steps, seed):
        numpy_losses.append(mlp.sgd_step(x[batch], labels[batch], step))
        keras_losses.append(float(model.train_on_batch(x[batch], labels[batch])))
        per_step.append(max(weight_differences(model, mlp).values()))
    return SideBySide(numpy_losses, keras_losses, weight_differences(model, mlp), per_step,
                      mlp, model)


def weight_differences(model, mlp):
    """`{"hidden1/kernel": max |W_keras − W_numpy|, …}` for every Dense layer's weights."""
    import keras

    names = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    gaps = {}
    for name, (kernel, bias), (our_kernel, our_bias) in zip(names, dense_weights(model),
                                                             mlp.weights):
        gaps[f"{name}/kernel"] = float(np.max(np.abs(kernel - our_kernel)))
        gaps[f"{name}/bias"] = float(np.max(np.abs(bias - our_bias)))
    return gaps
