"""The contrastive-divergence update of an RBM, computed once and handed to the optimizer.

CD-k moves the weights by the difference of two correlations (Hinton 2002; lecture 003):

    ΔW = ⟨v hᵀ⟩⁰ − ⟨v hᵀ⟩ᵏ,   Δb = ⟨v⟩⁰ − ⟨v⟩ᵏ,   Δc = ⟨h⟩⁰ − ⟨h⟩ᵏ

(averages over the batch; for Gaussian visible units of unit variance the same formulas hold,
since their free energy differs from the Bernoulli one only in a term of `b` whose difference
between the two phases is again `v⁰ − vᵏ`). `cd_statistics` computes the three in one matrix
product of the stacked phases, `[v⁰; vᵏ]ᵀ [h⁰/n⁰; −hᵏ/nᵏ]`, instead of two products and a
subtraction (and instead of differentiating the free-energy gap `F(v⁰) − F(vᵏ)`, whose gradient
is the same update reached through a backward pass of several dozen small operations).

`attach_gradients` hands the update to whatever optimizer the model was compiled with: it
returns a value unchanged whose gradient with respect to the weights is given (`−ΔW`, ...), so
`fit` applies `W ← W + εΔW` with the learning rate, momentum and weight decay the user chose,
and the backward pass is one multiplication per weight.

`TrainingMean` is the mean the layer's training monitors keep (NaN where nothing was measured).
"""

from __future__ import annotations

import keras
from keras import ops


def cd_statistics(positive_visible, positive_hidden, negative_visible, negative_hidden,
                  means_dtype=None):
    """`(ΔW, Δb, Δc)`: the CD update before the learning rate, each phase averaged over its
    own rows (PCD's chains may be more or fewer than the batch's examples).

    The kernel's product runs in the phases' dtype (bfloat16 under mixed precision, where the
    CPU or GPU multiplies fastest); the bias updates, sums over the batch, accumulate in
    `means_dtype` (the weights' dtype; default: the phases')."""
    dtype = positive_visible.dtype
    means_dtype = means_dtype or dtype
    positive_count = ops.cast(ops.shape(positive_visible)[0], dtype)
    negative_count = ops.cast(ops.shape(negative_visible)[0], dtype)
    visible = ops.concatenate([positive_visible, negative_visible], axis=0)
    hidden = ops.concatenate([positive_hidden / positive_count,
                              -negative_hidden / negative_count], axis=0)
    kernel_update = ops.matmul(ops.transpose(visible), hidden)
    if means_dtype == dtype:
        visible_update = (ops.mean(positive_visible, axis=0)
                          - ops.mean(negative_visible, axis=0))
        hidden_update = ops.sum(hidden, axis=0)
    else:
        def mean(x):
            return ops.mean(ops.cast(x, means_dtype), axis=0)
        visible_update = mean(positive_visible) - mean(negative_visible)
        hidden_update = mean(positive_hidden) - mean(negative_hidden)
    return kernel_update, visible_update, hidden_update


def attach_gradients(value, weights, gradients):
    """`value` unchanged, with the gradient `gradients[i]` (times the upstream gradient) with
    respect to `weights[i]`; nothing flows into `value` itself beyond its own gradient.

    `gradients` must not depend on the weights through anything to be differentiated (pass
    them through `ops.stop_gradient` when they do): they are the update itself, not a
    function to differentiate. Each is cast to its weight's dtype as read (the RBM reads its
    weights in their own float32 under mixed precision, so its updates stay float32).
    """
    gradients = [ops.stop_gradient(g) for g in gradients]
    count = len(weights)

    @ops.custom_gradient
    def with_gradients(value, *weights_and_gradients):
        read, given = weights_and_gradients[:count], weights_and_gradients[count:]

        def backward(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return (upstream,
                    *[ops.cast(g * ops.cast(upstream, g.dtype), w.dtype)
                      for w, g in zip(read, given)],
                    *[ops.zeros_like(g) for g in given])

        return value, backward

    return with_gradients(value, *weights, *gradients)


class TrainingMean(keras.metrics.Mean):
    """A mean that reads NaN (no value) when nothing was accumulated, e.g. under `evaluate()`,
    where the layer updates no metrics (its inference path must stay free of side effects,
    since it is also what a SavedModel serves)."""

    def result(self):
        return ops.where(self.count > 0, self.total / ops.maximum(self.count, 1.0),
                         ops.convert_to_tensor(float("nan"), self.dtype))
