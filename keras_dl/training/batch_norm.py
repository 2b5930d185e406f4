"""Batch-norm recalibration ("precise BN") for models whose noise is active only in training."""

from __future__ import annotations

import keras
import numpy as np

from keras_dl import compat


def _train_only_noise_types():
    from keras_dl.layers import FractalJoin, StochasticDepth

    return (keras.layers.Dropout, keras.layers.GaussianDropout, keras.layers.GaussianNoise,
            keras.layers.AlphaDropout, FractalJoin, StochasticDepth)


def needs_batch_norm_recalibration(model) -> bool:
    """True when `model` has trainable batch norm and a layer that is noisy only in training.

    Dropout, drop-path (FractalNet's joins) and stochastic depth change the variance of the
    signal between training and inference; a batch-norm layer behind them keeps moving
    statistics of the noisier training-time signal, and at inference the mismatch compounds
    from layer to layer (Li, Chen, Hu & Yang, "Understanding the Disharmony between Dropout
    and Batch Normalization by Variance Shift", CVPR 2019).
    """
    layers = compat.all_layers(model)
    has_bn = any(isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
                 for layer in layers)
    noise = _train_only_noise_types()
    return has_bn and any(isinstance(layer, noise) for layer in layers)


def recalibrate_batch_norm(model, x, *, batch_size: int = 128, max_batches: int = 50,
                           seed: int = 0) -> int:
    """Re-estimates every trainable batch-norm layer's moving mean and variance ("precise BN").

    Up to `max_batches` batches of `x` (drawn without replacement with `seed`) run through
    `model` in inference mode — no dropout, no drop-path, no dropped residual branches —
    except that the batch-norm layers normalise with each batch's own statistics; each
    layer's moving mean and variance become the averages of its batch statistics over those
    batches. So the statistics describe the signal the layer sees at inference, not the
    noisier one of training (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021, section
    3: precise BN). Layers with `trainable=False` are left as they are.

    Returns the number of examples used (0 when the model has no trainable batch norm).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(max_batches, int) or max_batches < 1:
        raise ValueError(f"max_batches must be a positive integer, got {max_batches!r}")
    layers = [layer for layer in compat.all_layers(model)
              if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    x = np.asarray(x)
    if not layers or len(x) == 0:
        return 0
    order = np.random.default_rng(seed).permutation(len(x))
    batches = [order[i:i + batch_size] for i in range(0, len(x), batch_size)][:max_batches]
    if len(batches) > 1 and len(batches[-1]) < batch_size:
        batches = batches[:-1]  # a short last batch would give noisier statistics
    sums = {id(layer): [0.0, 0.0] for layer in layers}
    momenta = [(layer, layer.momentum) for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0  # the moving statistics become the batch's own
        with compat.training_mode_calls(layers):  # batch statistics, the rest at inference
            for index in batches:
                model(x[index], training=False)
                for layer in layers:
                    sums[id(layer)][0] += np.asarray(layer.moving_mean)
                    sums[id(layer)][1] += np.asarray(layer.moving_variance)
    finally:
        for layer, momentum in momenta:
            layer.momentum = momentum
    for layer in layers:
        mean, variance = sums[id(layer)]
        layer.moving_mean.assign(mean / len(batches))
        layer.moving_variance.assign(variance / len(batches))
    return int(sum(len(index) for index in batches))


class PreciseBatchNorm(keras.callbacks.Callback):
    """Recalibrates batch norm (`recalibrate_batch_norm` on `x`) before every validation
    inside `fit` and once more at the end of training.

    So validation loss, early stopping, the best checkpoint and the final model all use
    statistics of the inference-time signal. `keras_dl.training.train` adds it by itself
    when `needs_batch_norm_recalibration(model)`.
    """

    def __init__(self, x, *, batch_size: int = 128, max_batches: int = 50, seed: int = 0):
        super().__init__()
        self.x = x
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.seed = seed
        self.examples = 0
        self._fitting = False

    def _recalibrate(self):
        self.examples = recalibrate_batch_norm(self.model, self.x, batch_size=self.batch_size,
                                               max_batches=self.max_batches, seed=self.seed)

    def on_train_begin(self, logs=None):
        self._fitting = True

    def on_test_begin(self, logs=None):
        if self._fitting:  # validation inside fit(), after the epoch's training steps
            self._recalibrate()

    def on_train_end(self, logs=None):
        self._recalibrate()  # after early stopping has restored the best weights
        self._fitting = False


def precise_batch_norm_callback(model, x, *, seed: int = 0):
    """A `PreciseBatchNorm` on `x` when `model` needs it (`needs_batch_norm_recalibration`),
    else None: 40 batches of 128 (5,120 examples), fewer for small training sets (about a
    quarter of an epoch)."""
    if not needs_batch_norm_recalibration(model):
        return None
    max_batches = max(1, min(40, len(x) // (4 * 128)))
    return PreciseBatchNorm(x, batch_size=128, max_batches=max_batches, seed=seed)
