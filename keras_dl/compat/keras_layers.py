"""Keras layers' private structure (entries 3 and 5 of keras_dl.compat's list).

3. Functional-graph structure — `producer(tensor)`, `output_layers(model)`,
   `all_layers(model)`, `seed_generators(layer)`: Keras records a symbolic tensor's origin
   in its private `_keras_history` (operation, node index, tensor index) and the call in the
   operation's `_inbound_nodes`; a layer's nested layers in `_flatten_layers` and its
   `keras.random.SeedGenerator`s in `_seed_generators`.

5. `training_mode_calls(layers)` — runs chosen layers as in training whatever their caller
   passes, by shadowing each layer's `call` on the instance (Keras' `Layer.__call__` looks
   `self.call` up on the instance); used to re-estimate batch-norm statistics in inference
   mode ("precise BN").

8. `float32_reads()` — inside a layer's call under a mixed-precision policy, Keras casts
   every float variable read to the compute dtype (its private `AutocastScope`, entered by
   `Layer.__call__` even for a layer made with `autocast=False` when no outer scope exists).
   A layer that updates its own metrics there (the RBM's running reconstruction error) would
   read their running sums in bfloat16, where they stop growing; inside this block reads
   are not cast.
"""

from __future__ import annotations

import contextlib

import keras

from keras_dl.compat._changed import internal_changed


def _internal_changed(what: str) -> RuntimeError:
    return internal_changed(what, keras, "keras_layers")


# --- 3. functional-graph structure -------------------------------------------------------------


def producer(tensor) -> tuple:
    """`(layer, input_tensors)`: the layer that produced a symbolic tensor of a functional
    graph and the tensors it was called on; `(None, [])` for anything else (a concrete array,
    a tensor not made by a layer). A `keras.Input` is produced by its `InputLayer`, from no
    tensors."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None, []
    operation, node_index = history[0], history[1]
    nodes = getattr(operation, "_inbound_nodes", None)
    if nodes is None or node_index >= len(nodes):
        raise _internal_changed("an operation has no _inbound_nodes entry for its output")
    return operation, list(nodes[node_index].input_tensors)


def output_layers(model) -> list:
    """The layer that produces each of `model`'s outputs, in output order."""
    layers = []
    for tensor in model.outputs:
        layer, _ = producer(tensor)
        if layer is None:
            raise _internal_changed("a functional output tensor has no _keras_history")
        layers.append(layer)
    return layers


def all_layers(model) -> list:
    """Every layer inside `model`, nested models and their layers included, each once
    (Keras' private `_flatten_layers`, which also yields the model itself: dropped here)."""
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        raise _internal_changed("Layer._flatten_layers is gone")
    return list(flatten(include_self=False, recursive=True))


def seed_generators(layer) -> list:
    """The `keras.random.SeedGenerator`s `layer` owns itself (not its nested layers')."""
    generators = getattr(layer, "_seed_generators", None)
    if generators is None:
        raise _internal_changed("Layer._seed_generators is gone")
    return list(generators)


def check_graph_structure() -> None:
    """`RuntimeError` unless the accessors of entry 3 answer right on a small model."""
    inputs = keras.Input((2,), name="inputs")
    dense = keras.layers.Dense(1, name="dense")
    dropout = keras.layers.Dropout(0.5, seed=1, name="dropout")
    inner_inputs = keras.Input((2,), name="inner_inputs")
    inner = keras.Model(inner_inputs, keras.layers.Dense(1, name="inner_dense")(inner_inputs),
                        name="inner")
    outputs = [dense(dropout(inputs)), inner(inputs)]
    model = keras.Model(inputs, outputs)
    layer, called_on = producer(outputs[0])
    if layer is not dense or len(called_on) != 1 or producer(called_on[0])[0] is not dropout:
        raise _internal_changed("_keras_history / _inbound_nodes no longer lead from a "
                                "tensor to the layer and inputs that made it")
    if producer(keras.ops.ones((1, 2)))[0] is not None:
        raise _internal_changed("a concrete tensor carries a _keras_history")
    if output_layers(model) != [dense, inner]:
        raise _internal_changed("output_layers does not find a model's output layers")
    names = sorted(layer.name for layer in all_layers(model))
    if names != ["dense", "dropout", "inner", "inner_dense", "inner_inputs", "inputs"]:
        raise _internal_changed(f"Layer._flatten_layers yields {names}")
    if seed_generators(dropout) != [dropout.seed_generator] or seed_generators(dense):
        raise _internal_changed("Layer._seed_generators does not list a layer's own "
                                "SeedGenerators")


# --- 5. layers called as in training -------------------------------------------------------------


@contextlib.contextmanager
def training_mode_calls(layers):
    """Inside the block, every call of each of `layers` runs as in training
    (`training=True`), whatever its caller (a model called with `training=False`) passes.

    Shadows each layer's `call` with an instance attribute, which Keras' `Layer.__call__`
    looks up on the instance; the shadows are removed when the block ends.
    """
    layers = list(layers)
    saved = [(layer, layer.__dict__.get("call")) for layer in layers]

    def in_training(original):
        def call(*args, **kwargs):
            kwargs["training"] = True
            return original(*args, **kwargs)
        return call

    try:
        for layer in layers:
            layer.call = in_training(layer.call)
        yield layers
    finally:
        for layer, call in saved:
            if call is None:
                layer.__dict__.pop("call", None)
            else:
                layer.call = call


def check_training_mode_calls() -> None:
    """`RuntimeError` unless `training_mode_calls` (entry 5) works on a batch-norm layer."""
    import numpy as np

    inputs = keras.Input((1,))
    norm = keras.layers.BatchNormalization(momentum=0.0, epsilon=0.0)
    model = keras.Model(inputs, norm(inputs))
    x = np.array([[0.0], [2.0]], dtype="float32")
    with training_mode_calls([norm]):
        inside = np.asarray(model(x, training=False))
    after = np.asarray(model(x + 1.0, training=False))
    if (not np.allclose(inside, [[-1.0], [1.0]], atol=1e-3)
            or not np.allclose(np.asarray(norm.moving_mean), [1.0])
            or not np.allclose(after, [[0.0], [2.0]], atol=1e-3) or "call" in norm.__dict__):
        raise _internal_changed("a layer's `call` shadowed on the instance is no longer what "
                                "Layer.__call__ runs")


# --- 8. variable reads that are not cast to 16 bits ---------------------------------------------


def _autocast_scope():
    from keras.src.backend.common import variables

    return variables


@contextlib.contextmanager
def float32_reads():
    """Inside the block, reading a float variable gives its own dtype, not the compute dtype
    of the mixed-precision layer whose call is running (Keras' autocasting is suspended)."""
    variables = _autocast_scope()
    with variables.AutocastScope(None):
        yield


def check_float32_reads() -> None:
    """`RuntimeError` unless a layer's call under mixed_bfloat16 reads float32 variables as
    bfloat16, and as float32 inside `float32_reads()` (entry 8)."""
    seen = {}

    class Reads(keras.layers.Layer):
        def build(self, input_shape):
            self.value = self.add_weight(shape=(), initializer="ones")

        def call(self, inputs):
            seen["autocast"] = keras.ops.convert_to_tensor(self.value).dtype
            with float32_reads():
                seen["inside"] = keras.ops.convert_to_tensor(self.value).dtype
            return inputs

    try:
        Reads(dtype="mixed_bfloat16")(keras.ops.ones((1, 1)))
    except (AttributeError, TypeError) as error:
        raise _internal_changed(f"Keras' AutocastScope moved ({error})") from None
    if (keras.backend.standardize_dtype(seen["autocast"]) != "bfloat16"
            or keras.backend.standardize_dtype(seen["inside"]) != "float32"):
        raise _internal_changed(f"variable reads in a mixed-precision call are not what "
                                f"float32_reads() expects: {seen}")
