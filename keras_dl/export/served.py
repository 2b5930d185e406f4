"""A SavedModel loaded with TensorFlow's own loader and called through `serving_default`:
what `keras-dl predict` and the server use."""

from __future__ import annotations

import numpy as np

from keras_dl.export.layout import resolve_saved_model_dir
from keras_dl.export.saved_model import SIGNATURE


class ServedModel:
    """A SavedModel loaded with TensorFlow's own loader, called through `serving_default`."""

    def __init__(self, path):
        import tensorflow as tf

        self.path = resolve_saved_model_dir(path)
        self._loaded = tf.saved_model.load(str(self.path))
        self.signature = self._loaded.signatures[SIGNATURE]
        ((self.input_name, self.input_spec),) = self.signature.structured_input_signature[1].items()
        self.output_names = tuple(self.signature.structured_outputs)

    @property
    def input_shape(self) -> tuple:
        """The input shape without the batch axis (None for free dimensions)."""
        return tuple(self.input_spec.shape[1:])

    def check_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """A batch matching the signature, from a batch or a single example; `ValueError` else."""
        inputs = np.asarray(inputs)
        given = tuple(inputs.shape)
        expected = self.input_shape
        if inputs.ndim == len(expected):
            inputs = inputs[None]
        fits = inputs.ndim == len(expected) + 1 and all(
            want is None or want == got for want, got in zip(expected, inputs.shape[1:])
        )
        if not fits:
            shape = "(batch, " + ", ".join("?" if d is None else str(d) for d in expected) + ")"
            raise ValueError(
                f"input of shape {given} does not fit the model's input "
                f"{self.input_name!r}, which takes {shape} or one example without the batch axis"
            )
        if not np.issubdtype(inputs.dtype, np.number):
            raise ValueError(f"input must be numeric, got dtype {inputs.dtype}")
        return inputs.astype(self.input_spec.dtype.as_numpy_dtype)

    def __call__(self, inputs) -> dict:
        import tensorflow as tf

        batch = self.check_inputs(inputs)
        outputs = self.signature(**{self.input_name: tf.constant(batch)})
        return {key: np.asarray(value) for key, value in outputs.items()}
