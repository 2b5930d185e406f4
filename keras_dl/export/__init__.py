"""Export: SavedModels in TensorFlow Serving's layout (`saved_model`), ONNX (`onnx`), the
versioned, atomic layout both use (`layout`), and loading a SavedModel back (`served`).

What a model serves — output names, extra signatures — is its task's to say
(`keras_dl.tasks`); see `export_saved_model`.
"""

from keras_dl.export.layout import (
    ExportError,
    existing_versions,
    resolve_saved_model_dir,
)
from keras_dl.export.onnx import ONNX_OPSET, export_onnx, random_ops
from keras_dl.export.saved_model import (
    METADATA_FILE,
    PARITY_TOLERANCE,
    SIGNATURE,
    ExportResult,
    export_saved_model,
    output_name,
    output_names,
    sample_inputs,
    serving_function,
    verify_saved_model,
)
from keras_dl.export.served import ServedModel

__all__ = [
    "ExportError",
    "ExportResult",
    "METADATA_FILE",
    "ONNX_OPSET",
    "PARITY_TOLERANCE",
    "SIGNATURE",
    "ServedModel",
    "existing_versions",
    "export_onnx",
    "export_saved_model",
    "output_name",
    "output_names",
    "random_ops",
    "resolve_saved_model_dir",
    "sample_inputs",
    "serving_function",
    "verify_saved_model",
]
