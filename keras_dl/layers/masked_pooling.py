"""Max pooling over time that skips the masked (padded) steps of a sequence."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """The largest value of each feature over the time steps a sequence really has.

    `y_f = max_{t : mask_t} h_{t,f}` for `(batch, steps, features)` inputs: the max-over-time
    readout of a recurrent classifier, which must not see the zeros a zero-padded batch of
    variable-length sequences carries after its last real step (Keras' own
    `GlobalMaxPooling1D` ignores the mask; its `GlobalAveragePooling1D` honours it). Without a
    mask every step counts. A sequence with no unmasked step gives zeros.

    Reference:
        Collobert, Weston, Bottou, Karlen, Kavukcuoglu, Kuksa. "Natural Language Processing
        (almost) from Scratch", JMLR 12, 2011 (max over time of a sequence's features).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
        lowest = ops.full_like(inputs, float("-inf"))
        pooled = ops.max(ops.where(keep, inputs, lowest), axis=1)
        any_step = ops.any(keep, axis=1)
        return ops.where(any_step, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None  # one vector per sequence: nothing left to mask

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
