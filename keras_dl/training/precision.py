"""Mixed precision: building under a dtype policy, float32 outputs, and the float32 copy that
is saved and served."""

from __future__ import annotations

import contextlib

import keras

from keras_dl import compat


@contextlib.contextmanager
def precision_policy(precision: str):
    """Keras' global dtype policy set to `precision` inside the block (layers made there
    compute in it), restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_outputs(model: keras.Model) -> keras.Model:
    """Run the layers that make `model`'s outputs in float32 (Keras' mixed-precision advice:
    a softmax in 16 bits loses the small probabilities the loss takes the log of)."""
    for layer in compat.output_layers(model):
        if layer.dtype_policy.compute_dtype != "float32":
            layer.dtype_policy = "float32"
    return model


def _float32_policies(value):
    """A serialized Keras object with every dtype policy in it replaced by float32."""
    if isinstance(value, dict):
        if value.get("class_name") == "DTypePolicy" and "name" in value.get("config", {}):
            return {**value, "config": {**value["config"], "name": "float32"}}
        return {key: _float32_policies(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_float32_policies(item) for item in value]
    return value


def float32_copy(model: keras.Model) -> keras.Model:
    """`model` itself if it computes in float32 throughout, else the same network rebuilt in
    float32 with the same weights (mixed precision keeps them in float32: nothing is lost)."""
    if all(layer.dtype_policy.name == "float32" for layer in compat.all_layers(model)):
        return model
    with precision_policy("float32"):
        copy = keras.saving.deserialize_keras_object(
            _float32_policies(keras.saving.serialize_keras_object(model)))
    copy.set_weights(model.get_weights())
    return copy
