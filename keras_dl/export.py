"""SavedModel export in TensorFlow Serving's layout, written atomically and verified.

```python
result = keras_dl.export.export_saved_model(model, "saved_models", "lenet5")
result.path            # saved_models/lenet5/1
result.max_abs_diff    # reloaded SavedModel vs the Keras model, on sample inputs
```

Layout: `BASE/NAME/VERSION/` with `saved_model.pb`, `variables/` and
`assets.extra/keras_dl.json` (what was exported, for people and for `keras-dl predict`).
Autoencoders (`keras_dl.models.autoencoders`) get two more signatures beside
`serving_default` (the reconstruction): `encode` (input → code; a VAE: `z_mean` and
`z_log_var`) and `decode` (code or `z` → reconstruction); a VAE also gets `sample` (input →
the reconstruction of a fresh draw `z ~ q(z|x)`, new noise on every call).
TensorFlow Serving serves the highest numeric VERSION under `BASE/NAME`; the export is first
written to a hidden, non-numeric directory beside it (which Serving ignores), checked, and only
then renamed into place, so a failed or interrupted export never leaves a half-written version.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from keras_dl import __version__

SIGNATURE = "serving_default"
METADATA_FILE = Path("assets.extra") / "keras_dl.json"
PARITY_TOLERANCE = 1e-5


class ExportError(ValueError):
    """An export that cannot be done as asked (bad name or version, existing version, ...)."""


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where an export went and how closely the reloaded SavedModel matches the model."""

    path: Path
    version: int
    input_name: str
    output_names: tuple
    max_abs_diff: float


def output_name(model: keras.Model) -> str:
    """The served output's name: "probabilities" after a softmax, "logits" before none."""
    last = model.layers[-1]
    if last.name in ("reconstruction", "decoder_output"):  # an autoencoder or its decoder
        return "reconstruction"
    activation = getattr(last, "activation", None)
    if activation is keras.activations.softmax:
        return "probabilities"
    if activation is keras.activations.sigmoid:
        return "probabilities"
    if last.name == "predictions":
        return "logits"
    return last.name


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name or name.startswith(".") or os.sep in name:
        raise ExportError(
            f"model name {name!r} is not usable as a directory name; use letters, digits, '-', '_'"
        )
    if not all(c.isalnum() or c in "-_." for c in name):
        raise ExportError(f"model name {name!r} may hold only letters, digits, '-', '_' and '.'")
    return name


def existing_versions(model_dir) -> list[int]:
    """The numeric version directories under `BASE/NAME`, ascending."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def _serving_function(model, input_name, out_name):
    import tensorflow as tf

    spec = model.inputs[0]
    input_spec = tf.TensorSpec(shape=spec.shape, dtype=spec.dtype or "float32", name=input_name)

    names = output_names(model, out_name)

    def serve(inputs):
        outputs = model(inputs, training=False)
        if len(names) == 1:
            return {names[0]: outputs}
        return dict(zip(names, outputs))

    return serve, [input_spec]


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
    signatures = {
        name: tf.function(fn, input_signature=signature, autograph=False).get_concrete_function()
        for name, (fn, signature) in endpoints.items()
    }
    tf.saved_model.save(module, str(path), signatures=signatures)


def output_names(model: keras.Model, out_name: str | None = None) -> tuple:
    """The served output names: `(output_name(model),)`, or one per output of a multi-output
    model (the layers' names, e.g. a VAE encoder's `("z_mean", "z_log_var")`)."""
    if len(model.outputs) > 1:
        return tuple(tensor._keras_history[0].name for tensor in model.outputs)
    return (out_name or output_name(model),)


def sample_inputs(model: keras.Model, count: int = 8, seed: int = 0) -> np.ndarray:
    """Uniform [0, 1) inputs of the model's input shape, for parity checks."""
    shape = tuple(d if d is not None else 1 for d in model.inputs[0].shape[1:])
    return np.random.default_rng(seed).random((count, *shape), dtype="float32")


def verify_saved_model(path, model: keras.Model, inputs: np.ndarray) -> float:
    """Max abs difference between the SavedModel's `serving_default` and `model` on `inputs`."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    signature = loaded.signatures[SIGNATURE]
    (input_name,) = signature.structured_input_signature[1]
    served = signature(**{input_name: tf.constant(inputs)})
    return _max_abs_diff([served[name] for name in output_names(model)]
                         if len(served) > 1 else list(served.values()),
                         model(inputs, training=False))


def _max_abs_diff(got, expected) -> float:
    got = got if isinstance(got, (list, tuple)) else [got]
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    return max(float(np.max(np.abs(np.asarray(g) - np.asarray(e))))
               for g, e in zip(got, expected))


def _autoencoder_endpoints(model, input_name):
    """`{name: (fn, input_signature)}` of the extra endpoints of an autoencoder, else `{}`."""
    import tensorflow as tf

    from keras_dl.models import autoencoders

    if not autoencoders.is_autoencoder(model):
        return {}
    encoder, decoder = autoencoders.encoder(model), autoencoders.decoder(model)
    input_spec = tf.TensorSpec(model.inputs[0].shape, model.inputs[0].dtype or "float32",
                               name=input_name)
    code = decoder.inputs[0]
    code_name = code.name.split(":")[0]
    code_spec = tf.TensorSpec(code.shape, code.dtype or "float32", name=code_name)
    vae = autoencoders.is_vae(model)

    def encode(inputs):
        if vae:
            z_mean, z_log_var = encoder(inputs, training=False)
            return {"z_mean": z_mean, "z_log_var": z_log_var}
        return {"code": encoder(inputs, training=False)}

    def decode(code):
        return {"reconstruction": decoder(code, training=False)}

    endpoints = {"encode": (encode, [input_spec]), "decode": (decode, [code_spec])}
    if vae:
        sampling = autoencoders.sampler(model)

        def sample(inputs):
            z_mean, z_log_var = encoder(inputs, training=False)
            z = sampling.sample(z_mean, z_log_var)
            return {"reconstruction": decoder(z, training=False), "z": z}

        endpoints["sample"] = (sample, [input_spec])
    return endpoints


def _verify_endpoints(path, model, inputs) -> float:
    """Max abs difference of the deterministic extra endpoints (`encode`, `decode`)."""
    import tensorflow as tf

    from keras_dl.models import autoencoders

    loaded = tf.saved_model.load(str(path))
    encoder, decoder = autoencoders.encoder(model), autoencoders.decoder(model)
    encode = loaded.signatures["encode"]
    (input_name,) = encode.structured_input_signature[1]
    served = encode(**{input_name: tf.constant(inputs)})
    expected = encoder(inputs, training=False)
    names = ["z_mean", "z_log_var"] if autoencoders.is_vae(model) else ["code"]
    diff = _max_abs_diff([served[n] for n in names], expected)
    code = expected[0] if autoencoders.is_vae(model) else expected
    decode = loaded.signatures["decode"]
    (code_name,) = decode.structured_input_signature[1]
    served = decode(**{code_name: tf.constant(np.asarray(code))})["reconstruction"]
    return max(diff, _max_abs_diff(served, decoder(code, training=False)))


def _check_one_input(model):
    if len(model.inputs) != 1:
        raise ExportError(
            f"export needs a model with one input, {model.name!r} has {len(model.inputs)}"
        )


def _target_version(model_dir: Path, version, overwrite: bool):
    """`(version, final_path)` for an export into `model_dir`; `ExportError` if not allowed."""
    versions = existing_versions(model_dir)
    if version is None:
        version = (versions[-1] + 1) if versions else 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ExportError(f"version must be a positive integer, got {version!r}")
    final = model_dir / str(version)
    if final.exists() and not overwrite:
        raise ExportError(
            f"{final} already exists; pass overwrite=True (--overwrite) to replace it, "
            f"or choose another version (next free: {max(versions + [0]) + 1})"
        )
    return version, final


@contextlib.contextmanager
def _staged(model_dir: Path, version: int, final: Path):
    """A hidden staging directory, renamed to `final` when the block succeeds, else removed.

    With an existing `final` (overwrite), the old version is swapped out, the new one in, and
    the old one deleted, so `final` is never missing or half-written.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir))
    staging.chmod(0o755)  # mkdtemp makes it private; a Serving process may run as another user
    try:
        yield staging
        if final.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".old-{version}-", dir=model_dir))
            os.rename(final, retired / "v")
            os.rename(staging, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _parity_inputs(model, verify_inputs):
    return sample_inputs(model) if verify_inputs is None else np.asarray(verify_inputs, "float32")


def export_saved_model(model: keras.Model, base_dir, name: str, version: int | None = None, *,
                       overwrite: bool = False, verify_inputs: np.ndarray | None = None,
                       tolerance: float = PARITY_TOLERANCE, metadata: dict | None = None
                       ) -> ExportResult:
    """Export `model` to `base_dir/name/version/` for TensorFlow Serving.

    The `serving_default` signature takes the model's input under its input layer's name
    (`images` for the CNNs, `inputs` for the MLP) and returns `{"probabilities": ...}` for a
    softmax classifier (`{"logits": ...}` without one). Layers run in inference mode (dropout
    off, batch norm on its moving statistics).

    Args:
        model: a built Keras model with one input.
        base_dir: the model base directory (TF Serving's `--model_base_path` parent).
        name: the model's name, a directory under `base_dir`.
        version: a positive integer; None for one more than the highest existing version.
        overwrite: replace an existing `version` (otherwise `ExportError`).
        verify_inputs: inputs for the parity check (default: 8 uniform random inputs).
        tolerance: the largest max-abs difference accepted between the reloaded SavedModel
            and the model; above it the export is discarded and `ExportError` raised.
        metadata: extra JSON-serialisable facts to record in `assets.extra/keras_dl.json`.

    An autoencoder also gets the `encode` and `decode` signatures (and a VAE `sample`; see
    the module docstring). Parity is checked on the deterministic signatures only —
    `serving_default`, `encode`, `decode` — because a VAE serves its reconstruction from
    `z = μ`; its sampling lives in `sample`, whose output is meant to differ on every call.

    Returns:
        An `ExportResult` with the path and the measured max abs difference.
    """
    _check_one_input(model)
    model_dir = Path(base_dir) / _check_name(name)
    version, final = _target_version(model_dir, version, overwrite)
    input_name = model.inputs[0].name.split(":")[0] or "inputs"
    out_name = output_name(model)
    with _staged(model_dir, version, final) as staging:
        extra = _autoencoder_endpoints(model, input_name)
        _write_saved_model(model, staging, {
            SIGNATURE: _serving_function(model, input_name, out_name), **extra})
        parity_inputs = _parity_inputs(model, verify_inputs)
        max_abs_diff = verify_saved_model(staging, model, parity_inputs)
        if extra:
            max_abs_diff = max(max_abs_diff, _verify_endpoints(staging, model, parity_inputs))
        if not max_abs_diff <= tolerance:
            raise ExportError(
                f"the reloaded SavedModel differs from the model by {max_abs_diff:.3g} "
                f"(tolerance {tolerance:g}); nothing was written"
            )
        facts = {
            "model": model.name,
            "input": {"name": input_name, "shape": list(model.inputs[0].shape),
                      "dtype": str(model.inputs[0].dtype or "float32")},
            "outputs": [out_name],
            "signature": SIGNATURE,
            **({"endpoints": [SIGNATURE, *extra]} if extra else {}),
            "max_abs_diff": max_abs_diff,
            "keras_dl_version": __version__,
            "keras_version": keras.__version__,
            **(metadata or {}),
        }
        (staging / METADATA_FILE).parent.mkdir(exist_ok=True)
        (staging / METADATA_FILE).write_text(json.dumps(facts, indent=2) + "\n")
    return ExportResult(path=final, version=version, input_name=input_name,
                        output_names=(out_name,), max_abs_diff=max_abs_diff)


def resolve_saved_model_dir(path) -> Path:
    """A SavedModel directory from either `BASE/NAME/VERSION` or `BASE/NAME` (newest version)."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    versions = existing_versions(path)
    if versions and (path / str(versions[-1]) / "saved_model.pb").is_file():
        return path / str(versions[-1])
    raise ExportError(
        f"{path} is not a SavedModel directory (no saved_model.pb) nor a model directory with "
        "numeric version subdirectories"
    )


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
        expected = self.input_shape
        if inputs.ndim == len(expected):
            inputs = inputs[None]
        fits = inputs.ndim == len(expected) + 1 and all(
            want is None or want == got for want, got in zip(expected, inputs.shape[1:])
        )
        if not fits:
            shape = "(batch, " + ", ".join("?" if d is None else str(d) for d in expected) + ")"
            raise ValueError(
                f"input of shape {tuple(inputs.shape)} does not fit the model's input "
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


# --- ONNX ------------------------------------------------------------------------------------

ONNX_OPSET = 17
RANDOM_OP_PREFIXES = ("Random", "StatelessRandom", "Multinomial", "TruncatedNormal")


def _random_ops(function) -> list[str]:
    graph = function.get_concrete_function().graph
    return sorted({op.type for op in graph.get_operations()
                   if op.type.startswith(RANDOM_OP_PREFIXES)})


def export_onnx(model: keras.Model, base_dir, name: str, version: int | None = None, *,
                overwrite: bool = False, verify_inputs: np.ndarray | None = None,
                tolerance: float = PARITY_TOLERANCE) -> ExportResult:
    """Export `model` as ONNX to `base_dir/onnx/name/version/model.onnx`, checked by onnxruntime.

    The ONNX graph is the serving graph (inference mode, the same input and output names as
    the SavedModel's `serving_default`), converted by tf2onnx at opset 17 and run by
    onnxruntime on sample inputs; above `tolerance` max abs difference nothing is written.
    The layout is an ONNX model repository (`NAME/VERSION/model.onnx`, as Triton reads it),
    kept under `onnx/` so it never mixes with TensorFlow Serving's SavedModel versions.

    Only deterministic serving graphs convert: ONNX runtimes reject random ops, so a model
    whose inference samples noise raises `ExportError`; export a deterministic part instead
    (a VAE's served reconstruction uses `z = μ` and converts; so do its encoder, with the
    outputs `z_mean` and `z_log_var`, and its decoder).
    """
    import tensorflow as tf
    import tf2onnx
    import onnxruntime

    _check_one_input(model)
    model_dir = Path(base_dir) / "onnx" / _check_name(name)
    version, final = _target_version(model_dir, version, overwrite)
    input_name = model.inputs[0].name.split(":")[0] or "inputs"
    out_name = output_name(model)
    serve, signature = _serving_function(model, input_name, out_name)
    function = tf.function(serve, input_signature=signature)
    random_ops = _random_ops(function)
    if random_ops:
        raise ExportError(
            f"model {model.name!r} samples at inference ({', '.join(random_ops)}); ONNX "
            "runtimes reject random ops — export a deterministic part (e.g. a VAE's encoder "
            "or decoder) instead"
        )
    with _staged(model_dir, version, final) as staging:
        tf2onnx.convert.from_function(function, input_signature=signature, opset=ONNX_OPSET,
                                      output_path=str(staging / "model.onnx"))
        inputs = _parity_inputs(model, verify_inputs)
        session = onnxruntime.InferenceSession(str(staging / "model.onnx"),
                                               providers=["CPUExecutionProvider"])
        names = output_names(model, out_name)
        got = session.run(list(names), {input_name: inputs})
        max_abs_diff = _max_abs_diff(got if len(names) > 1 else got[0],
                                     model(inputs, training=False))
        if not max_abs_diff <= tolerance:
            raise ExportError(
                f"onnxruntime's outputs differ from the model by {max_abs_diff:.3g} "
                f"(tolerance {tolerance:g}); nothing was written"
            )
    return ExportResult(path=final / "model.onnx", version=version, input_name=input_name,
                        output_names=names, max_abs_diff=max_abs_diff)
