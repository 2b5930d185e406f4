"""ONNX export: the serving graph converted by tf2onnx and checked with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from keras_dl.export.layout import ONNX_DIR, ExportError, check_name, staged, target_version
from keras_dl.export.saved_model import (
    PARITY_TOLERANCE,
    ExportResult,
    input_name,
    input_names,
    max_abs_diff,
    parity_inputs,
    serving_function,
    string_input,
    task_for,
)

ONNX_OPSET = 17
RANDOM_OP_PREFIXES = ("Random", "StatelessRandom", "Multinomial", "TruncatedNormal")


def random_ops(function) -> list[str]:
    graph = function.get_concrete_function().graph
    return sorted({op.type for op in graph.get_operations()
                   if op.type.startswith(RANDOM_OP_PREFIXES)})


def export_onnx(model: keras.Model, base_dir, name: str, version: int | None = None, *,
                overwrite: bool = False, verify_inputs: np.ndarray | None = None,
                tolerance: float = PARITY_TOLERANCE, task=None) -> ExportResult:
    """Export `model` as ONNX to `base_dir/onnx/name/version/model.onnx`, checked by onnxruntime.

    The ONNX graph is the serving graph (inference mode, the same input and output names as
    the SavedModel's `serving_default`), converted by tf2onnx at opset 17 and run by
    onnxruntime on sample inputs; above `tolerance` max abs difference nothing is written.
    The layout is an ONNX model repository (`NAME/VERSION/model.onnx`, as Triton reads it),
    kept under `onnx/` so it never mixes with TensorFlow Serving's SavedModel versions.

    A text model (a string input) does not convert: `ExportError`.

    Only deterministic serving graphs convert: ONNX runtimes reject random ops, so a model
    whose inference samples noise raises `ExportError`; export a deterministic part instead
    (a VAE's served reconstruction uses `z = μ` and converts; so do its encoder, with the
    outputs `z_mean` and `z_log_var`, and its decoder).
    """
    import tensorflow as tf
    import tf2onnx
    import onnxruntime

    if string_input(model):
        raise ExportError(
            f"model {model.name!r} takes raw strings: its text vectorizer (regex, split, "
            "vocabulary lookup) has no ONNX conversion in tf2onnx; export a SavedModel "
            "(keras-dl export --format savedmodel), which serves raw strings")
    model_dir = Path(base_dir) / ONNX_DIR / check_name(name)
    version, final = target_version(model_dir, version, overwrite)
    names = task_for(model, task).output_names(model)
    serve, signature = serving_function(model, names)
    function = tf.function(serve, input_signature=signature)
    found = random_ops(function)
    if found:
        raise ExportError(
            f"model {model.name!r} samples at inference ({', '.join(found)}); ONNX "
            "runtimes reject random ops — export a deterministic part (e.g. a VAE's encoder "
            "or decoder) instead"
        )
    with staged(model_dir, version, final) as staging:
        tf2onnx.convert.from_function(function, input_signature=signature, opset=ONNX_OPSET,
                                      output_path=str(staging / "model.onnx"))
        inputs = parity_inputs(model, verify_inputs, task)
        session = onnxruntime.InferenceSession(str(staging / "model.onnx"),
                                               providers=["CPUExecutionProvider"])
        feeds = inputs if isinstance(inputs, dict) else {input_name(model): inputs}
        dtypes = {spec.name: spec.dtype.as_numpy_dtype for spec in signature}
        got = session.run(list(names), {key: np.asarray(value, dtypes[key])
                                        for key, value in feeds.items()})
        diff = max_abs_diff(got if len(names) > 1 else got[0], model(inputs, training=False))
        if not diff <= tolerance:
            raise ExportError(
                f"onnxruntime's outputs differ from the model by {diff:.3g} "
                f"(tolerance {tolerance:g}); nothing was written"
            )
    return ExportResult(path=final / "model.onnx", version=version,
                        input_name=input_name(model), output_names=tuple(names),
                        max_abs_diff=diff, input_names=input_names(model))
