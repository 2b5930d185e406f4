"""What a prediction request asks of a model, shared by the REST and gRPC front ends.

Any signature of the SavedModel is served by name, as TF Serving does ("" and absent mean
`serving_default`): an autoencoder's `encode` and `decode`, a VAE's `sample`, each with its
own input names, shapes and outputs.
"""

from __future__ import annotations

import numpy as np

from keras_dl.export import SIGNATURE


class RequestError(ValueError):
    """A request Serving would answer with INVALID_ARGUMENT (HTTP 400)."""


class SignatureNotFound(RequestError):
    """A `signature_name` the model does not have. TF Serving's REST API finds it while
    parsing the body (INVALID_ARGUMENT, HTTP 400, this message, here followed by the names
    the model has), its gRPC Predict when it runs the model: FAILED_PRECONDITION `Serving
    signature key "x" not found.` (`grpc_message`)."""

    def __init__(self, signature_name: str, known=(SIGNATURE,)):
        served = ", ".join(f'"{name}"' for name in known)
        super().__init__(f"Serving signature name: \"{signature_name}\" not found in signature "
                         f"def; this server serves {served}")
        self.grpc_message = f"Serving signature key \"{signature_name}\" not found."


def signature_defs(path):
    """The SignatureDef protos of the SavedModel at `path`, read from saved_model.pb."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    return {k: v for k, v in saved.meta_graphs[0].signature_def.items()
            if not k.startswith("__")}


def find_signature(model, signature_name):
    """The `ServedSignature` of `model` named `signature_name`; `SignatureNotFound` else."""
    try:
        return model.signature_named(signature_name)
    except KeyError:
        raise SignatureNotFound(signature_name, model.signature_names) from None


def _expected_inputs(signature) -> str:
    names = sorted(signature.input_specs)
    where = "the signature's" if signature.name == SIGNATURE else f'signature "{signature.name}"\'s'
    if len(names) == 1:
        return f'{where} input "{names[0]}"'
    return f"{where} inputs " + ", ".join(f'"{name}"' for name in names)


def _by_name(signature, inputs):
    """`inputs` as a dict name → value holding exactly the signature's input names; a bare
    value is the input of a single-input signature."""
    expected = set(signature.input_specs)
    if not isinstance(inputs, dict):
        if len(expected) != 1:
            raise RequestError(f"{_expected_inputs(signature)} must be given by name")
        return {signature.input_name: inputs}
    if set(inputs) != expected:
        raise RequestError(f"input names {sorted(inputs)} do not match "
                           f"{_expected_inputs(signature)}")
    return inputs


def _numeric(value, spec):
    """`value` as an array of `spec`'s dtype; an integer input is read as numbers first, so
    that 2.5 reaches the signature's check (which refuses it) instead of being cut to 2; a
    string input's values are kept as they came (the signature's check names a number given
    to it)."""
    if spec.dtype.name == "string":
        array = np.empty(len(value), dtype=object) if isinstance(value, list) else None
        if array is None or any(isinstance(item, list) for item in value):
            return np.asarray(value, dtype=object)
        array[:] = value
        return array
    dtype = "float64" if spec.dtype.is_integer else spec.dtype.as_numpy_dtype
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise RequestError(f"input is not a numeric tensor of one shape: {error}") from None


def predict(model, signature_name, inputs):
    """Run `model`'s signature `signature_name` ("" for `serving_default`) on the numpy
    `inputs` (a dict name → array, or a bare array for a single-input signature)."""
    signature = find_signature(model, signature_name)
    arrays = {name: _numeric(value, signature.input_specs[name])
              for name, value in _by_name(signature, inputs).items()}
    try:
        if len(arrays) == 1:
            (array,) = arrays.values()
            return model.run(signature.name, array)
        return model.run(signature.name, arrays)
    except ValueError as error:
        raise RequestError(str(error)) from None
