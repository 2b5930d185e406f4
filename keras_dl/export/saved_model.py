"""SavedModel export for TensorFlow Serving, written atomically and verified.

```python
result = keras_dl.export.export_saved_model(model, "saved_models", "lenet5")
result.path            # saved_models/lenet5/1
result.max_abs_diff    # reloaded SavedModel vs the Keras model, on sample inputs
```

Layout: `BASE/NAME/VERSION/` with `saved_model.pb`, `variables/` and
`assets.extra/keras_dl.json` (what was exported, for people and for `keras-dl predict`). What
is served is the model's task's to say (`keras_dl.tasks.Task`): the names of
`serving_default`'s outputs ("probabilities" or "logits" for a classifier, "reconstruction"
for an autoencoder) and the signatures beside it (an autoencoder's `encode` and `decode`, a
VAE's `sample`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np

from keras_dl import __version__
from keras_dl import tasks as tasks_
from keras_dl.export.layout import ONNX_DIR, ExportError, check_name, staged, target_version

SIGNATURE = "serving_default"
METADATA_FILE = Path("assets.extra") / "keras_dl.json"
PARITY_TOLERANCE = 1e-5


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where an export went and how closely the reloaded SavedModel matches the model."""

    path: Path
    version: int
    input_name: str
    output_names: tuple
    max_abs_diff: float
    input_names: tuple = ()  # every input's name, `input_name` first (a conditional generator's
    #                          "noise" and "label")


def task_for(model: keras.Model, task=None):
    """The `Task` an export of `model` follows: `task` (a name or object), or the task of the
    registered model whose name the model carries (`keras_dl.tasks.infer`)."""
    return tasks_.infer(model) if task is None else tasks_.get(task)


def output_names(model: keras.Model, task=None) -> tuple:
    """The names of `serving_default`'s outputs, as the model's task names them."""
    return task_for(model, task).output_names(model)


def output_name(model: keras.Model, task=None) -> str:
    """The name of a single-output model's served output ("probabilities", "logits", ...)."""
    return output_names(model, task)[0]


def input_name(model: keras.Model) -> str:
    """The served input's name: the model's (first) input layer's (`images`, `inputs`, ...)."""
    return input_names(model)[0]


def input_names(model: keras.Model) -> tuple:
    """The names of every served input, in the model's order (a conditional generator's
    `noise` and `label`)."""
    return tuple(tensor.name.split(":")[0] or f"inputs{index or ''}"
                 for index, tensor in enumerate(model.inputs))


def input_specs(model: keras.Model) -> list:
    """One `tf.TensorSpec` per model input, named as served."""
    import tensorflow as tf

    return [tf.TensorSpec(shape=tensor.shape, dtype=tensor.dtype or "float32", name=name)
            for tensor, name in zip(model.inputs, input_names(model))]


def input_spec(model: keras.Model):
    return input_specs(model)[0]


def serving_function(model, names):
    """`(fn, input_signature)`: the model in inference mode, returning `{name: output}`; a
    model of several inputs takes them as separate, named signature inputs."""

    def outputs_named(outputs):
        if len(names) == 1:
            return {names[0]: outputs}
        return dict(zip(names, outputs))

    if len(model.inputs) == 1:
        def serve(inputs):
            return outputs_named(model(inputs, training=False))
    else:
        def serve(*inputs):
            return outputs_named(model(list(inputs), training=False))

    return serve, input_specs(model)


def _write_saved_model(model, path, endpoints):
    """Write `model`'s variables and one signature per `endpoints` entry (name → (fn,
    input_signature)) as a SavedModel at `path`.

    Each endpoint is traced once, as a concrete function, and saved as a signature only (not
    also as a method of the saved object): `keras.export.ExportArchive.write_out` traces every
    endpoint three times (to find the variables it uses, again for the `serving_default`
    alias, again inside the save), which for a 500-layer network is most of the export's time.
    The model's variables (weights, batch-norm statistics, seed-generator states) are saved as
    the object's `model_variables`, so TensorFlow Serving and `tf.saved_model.load` restore
    them from `variables/` as for any SavedModel.
    """
    import tensorflow as tf

    module = tf.Module(name=model.name)
    module.model_variables = [getattr(variable, "value", variable) for variable in model.variables]
    module.lookup_tables = lookup_tables(model)  # a text model's vocabulary
    signatures = {
        name: tf.function(fn, input_signature=signature, autograph=False).get_concrete_function()
        for name, (fn, signature) in endpoints.items()
    }
    tf.saved_model.save(module, str(path), signatures=signatures)


LOOKUP_LAYERS = (keras.layers.TextVectorization, keras.layers.StringLookup,
                 keras.layers.IntegerLookup)


def lookup_tables(model: keras.Model) -> list:
    """The lookup tables (TensorFlow resources, not variables) of `model`'s lookup layers
    (`TextVectorization`, `StringLookup`, `IntegerLookup`), each once: a SavedModel must
    track them, as it tracks variables, for its signatures to find them when loaded."""
    import tensorflow as tf
    from tensorflow.saved_model.experimental import TrackableResource

    from keras_dl import compat

    tables = {}
    for layer in compat.all_layers(model):
        if isinstance(layer, LOOKUP_LAYERS):
            for trackable in tf.train.TrackableView(layer).descendants():
                if isinstance(trackable, TrackableResource):
                    tables.setdefault(id(trackable), trackable)
    return list(tables.values())


def string_input(model: keras.Model) -> bool:
    """True when the model's (first) input takes strings (a text model)."""
    return str(model.inputs[0].dtype) == "string"


def sample_inputs(model: keras.Model, count: int = 8, seed: int = 0) -> np.ndarray:
    """Uniform [0, 1) inputs of the model's input shape, for parity checks."""
    shape = tuple(d if d is not None else 1 for d in model.inputs[0].shape[1:])
    return np.random.default_rng(seed).random((count, *shape), dtype="float32")


def worst_diff(diffs) -> float:
    """The largest of `diffs`, or NaN if any is NaN. (Python's `max` keeps a NaN only when it
    comes first, and a NaN compared with a tolerance is never above it.)"""
    diffs = [float(d) for d in diffs]
    return float("nan") if any(np.isnan(d) for d in diffs) else max(diffs)


def max_abs_diff(got, expected) -> float:
    """The largest absolute difference between `got` and `expected` (arrays, or lists of
    arrays paired in order); NaN where any element differs by NaN (a NaN on one side only, or
    on both), so that `diff <= tolerance` rejects it."""
    got = got if isinstance(got, (list, tuple)) else [got]
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    return worst_diff(np.max(np.abs(np.asarray(g) - np.asarray(e)))
                      for g, e in zip(got, expected, strict=True))


def _call_signature(signature, values):
    """`signature` called on `values`: an array for a single-input signature, else a dict
    input name → array (each cast to its input's dtype)."""
    import tensorflow as tf

    specs = signature.structured_input_signature[1]
    if not isinstance(values, dict):
        (name,) = specs
        values = {name: values}
    return signature(**{name: tf.constant(np.asarray(values[name]), dtype=spec.dtype)
                        for name, spec in specs.items()})


def verify_saved_model(path, model: keras.Model, inputs: np.ndarray, task=None) -> float:
    """Max abs difference between the SavedModel at `path` and `model` on `inputs`, over
    `serving_default` and every deterministic signature the task serves beside it; NaN where
    any output differs by NaN (see `max_abs_diff`)."""
    import tensorflow as tf

    task = task_for(model, task)
    loaded = tf.saved_model.load(str(path))
    served = _call_signature(loaded.signatures[SIGNATURE], inputs)
    names = task.output_names(model)
    diff = max_abs_diff([served[name] for name in names], model(inputs, training=False))
    for signature, expected in task.deterministic_endpoints(model).items():
        feed, expect = expected if isinstance(expected, tuple) else (lambda x: x, expected)
        fed = feed(inputs)
        got = _call_signature(loaded.signatures[signature], fed)
        want = expect(fed)
        diff = worst_diff([diff, max_abs_diff([got[key] for key in want], list(want.values()))])
    return diff


def parity_inputs(model, verify_inputs, task=None):
    """The inputs of a parity check: `verify_inputs` (an array, or a dict input name → array
    for a model of several inputs), else sample inputs (the task's smoke inputs for a model
    of several inputs: it knows which values each may take)."""
    if verify_inputs is None:
        if len(model.inputs) > 1 or string_input(model):
            return task_for(model, task).smoke_inputs(model, count=8)
        return sample_inputs(model)
    if isinstance(verify_inputs, dict):
        return {name: np.asarray(value) for name, value in verify_inputs.items()}
    if string_input(model):
        return np.asarray(verify_inputs).astype(str)
    return np.asarray(verify_inputs, "float32")


def export_saved_model(model: keras.Model, base_dir, name: str, version: int | None = None, *,
                       overwrite: bool = False, verify_inputs: np.ndarray | None = None,
                       tolerance: float = PARITY_TOLERANCE, metadata: dict | None = None,
                       task=None) -> ExportResult:
    """Export `model` to `base_dir/name/version/` for TensorFlow Serving.

    The `serving_default` signature takes the model's input under its input layer's name
    (`images` for the CNNs, `inputs` for the MLP) and returns the outputs its task names
    (`{"probabilities": ...}` for a softmax classifier, `{"logits": ...}` without one,
    `{"reconstruction": ...}` for an autoencoder). Layers run in inference mode (dropout off,
    batch norm on its moving statistics).

    A model of several inputs (a conditional generator: `noise` and `label`) is served with
    one signature input per model input, under the input layers' names; the integer inputs'
    allowed values (`Task.input_ranges`) are recorded as `input_ranges`, and the served model
    refuses others.

    Args:
        model: a built Keras model.
        base_dir: the model base directory (TF Serving's `--model_base_path` parent).
        name: the model's name, a directory under `base_dir`.
        version: a positive integer; None for one more than the highest existing version.
        overwrite: replace an existing `version` (otherwise `ExportError`).
        verify_inputs: inputs for the parity check (default: 8 uniform random inputs; a dict
            by input name for a model of several inputs).
        tolerance: the largest max-abs difference accepted between the reloaded SavedModel
            and the model; above it the export is discarded and `ExportError` raised.
        metadata: extra JSON-serialisable facts to record in `assets.extra/keras_dl.json`.
        task: the model's task (a name or `keras_dl.tasks.Task`); default: the task of the
            registered model whose name `model` carries, else classification.

    A text model (`keras_dl.models.text`) takes a `tf.string` input; its vocabulary's lookup
    tables are saved with the variables, and the task's `text_statistics` signature and
    `input_checks` let the served model refuse bad texts (`keras_dl.export.ServedModel`).

    An autoencoder also gets the `encode` and `decode` signatures (and a VAE `sample`).
    Parity is checked on the deterministic signatures only — `serving_default`, `encode`,
    `decode` — because a VAE serves its reconstruction from `z = μ`; its sampling lives in
    `sample`, whose output is meant to differ on every call.

    Returns:
        An `ExportResult` with the path and the measured max abs difference.
    """
    task = task_for(model, task)
    if check_name(name) == ONNX_DIR:
        raise ExportError(
            f"model name {name!r} is reserved: {Path(base_dir) / ONNX_DIR} holds the ONNX "
            "exports; choose another name for a SavedModel"
        )
    model_dir = Path(base_dir) / name
    version, final = target_version(model_dir, version, overwrite)
    names = task.output_names(model)
    with staged(model_dir, version, final) as staging:
        extra = task.export_endpoints(model, input_spec(model))
        _write_saved_model(model, staging, {SIGNATURE: serving_function(model, names), **extra})
        diff = verify_saved_model(staging, model, parity_inputs(model, verify_inputs, task),
                                  task)
        if not diff <= tolerance:
            raise ExportError(
                f"the reloaded SavedModel differs from the model by {diff:.3g} "
                f"(tolerance {tolerance:g}); nothing was written"
            )
        facts = {
            "model": model.name,
            "task": task.name,
            "input": {"name": input_name(model), "shape": list(model.inputs[0].shape),
                      "dtype": str(model.inputs[0].dtype or "float32")},
            **({"inputs": [{"name": spec.name, "shape": spec.shape.as_list(),
                            "dtype": spec.dtype.name} for spec in input_specs(model)]}
               if len(model.inputs) > 1 else {}),
            **({"input_ranges": task.input_ranges(model)} if task.input_ranges(model) else {}),
            **({"input_checks": task.input_checks(model)} if task.input_checks(model) else {}),
            **({"batch_groups": task.batch_groups(model)} if task.batch_groups(model) else {}),
            "outputs": list(names),
            "signature": SIGNATURE,
            **({"endpoints": [SIGNATURE, *extra]} if extra else {}),
            "max_abs_diff": diff,
            "keras_dl_version": __version__,
            "keras_version": keras.__version__,
            **(metadata or {}),
        }
        (staging / METADATA_FILE).parent.mkdir(exist_ok=True)
        (staging / METADATA_FILE).write_text(json.dumps(facts, indent=2) + "\n")
    return ExportResult(path=final, version=version, input_name=input_name(model),
                        output_names=tuple(names), max_abs_diff=diff,
                        input_names=input_names(model))
