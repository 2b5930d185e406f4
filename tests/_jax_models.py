"""Every registered model of keras_dl on Keras' JAX backend, against TensorFlow's outputs.

Two runs, each in a fresh process (a process holds one Keras backend):

    KERAS_BACKEND=tensorflow python tests/_jax_models.py reference DIR [NAME ...]
    KERAS_BACKEND=jax        python tests/_jax_models.py check DIR [NAME ...]

`reference` builds each model (all registered models when no NAME is given) with its
`smoke_kwargs` and a fixed seed, and writes `DIR/NAME.npz`: its weights (`get_weights()`),
the batch its task feeds (`Task.smoke_inputs`) and TensorFlow's inference outputs on it.

`check`, on JAX, does for each model what the model contract does (tests/test_model_contract.py):
builds it with its `smoke_kwargs`, predicts on the task's smoke inputs (declared output shape,
finite), loads TensorFlow's weights and compares its outputs on the same batch with
TensorFlow's (largest absolute difference), then trains one `fit` step as the task trains it
(`Task.compile`, `Task.training_model`, `Task.smoke_fit_data`) and checks the loss is finite
and a weight changed. A model that cannot run on JAX must say so when built: the error is
reported as it is, so the test can check it is the clear one the library promises. It prints
one JSON object `{"backend": ..., "models": {NAME: {...}}}`, one entry per model, each with
"error" ("stage: Type: first line") where a stage failed.

`jax_models_report(names)` runs both for the tests (tests/test_jax_models.py).
"""

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEED = 1234
GRAPH_FIT_LAYERS = 50  # as the model contract: deeper models take their fit step eagerly


def _run(backend: str, *arguments: str, timeout: float) -> dict | None:
    environment = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu",
                   "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, __file__, *arguments], capture_output=True,
                          text=True, env=environment, timeout=timeout, cwd=str(ROOT))
    assert done.returncode == 0, f"{backend} run failed:\n{done.stderr[-3000:]}"
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


@functools.lru_cache(maxsize=None)
def jax_models_report(names: tuple[str, ...] = (), timeout: float = 1200) -> dict:
    """The JAX report (see the module docstring) for `names` (every registered model when
    empty), after the TensorFlow reference run; each run in its own fresh process."""
    with tempfile.TemporaryDirectory(prefix="keras_dl_jax_") as directory:
        reference = _run("tensorflow", "reference", directory, *names, timeout=timeout)
        report = _run("jax", "check", directory, *names, timeout=timeout)
    report["reference"] = reference
    return report


def _first_line(stage: str, error: BaseException) -> str:
    lines = str(error).strip().splitlines() or [""]
    return f"{stage}: {type(error).__name__}: {lines[0][:400]}"


def _outputs(outputs):
    import numpy as np

    return [np.asarray(y) for y in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def _build(name):
    import keras

    import keras_dl

    info = keras_dl.model_info(name)
    keras.utils.set_random_seed(SEED)
    return info, keras_dl.create_model(name, **info.smoke_kwargs)


def reference(directory: Path, names) -> dict:
    """On TensorFlow: weights, smoke inputs and inference outputs of each model, to `directory`."""
    import keras
    import numpy as np

    from keras_dl import tasks

    written, errors = [], {}
    for name in names:
        try:
            info, model = _build(name)
            x = tasks.get(info.task).smoke_inputs(model)
            arrays = {f"weight_{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
            inputs = x if isinstance(x, dict) else {"": x}
            arrays.update({f"input_{key}": np.asarray(value) for key, value in inputs.items()})
            arrays.update({f"output_{i}": y
                           for i, y in enumerate(_outputs(model(x, training=False)))})
            np.savez(directory / f"{name}.npz", **arrays)
            written.append(name)
        except Exception as error:  # the JAX run reports the model as not checked
            errors[name] = _first_line("tensorflow reference", error)
        keras.backend.clear_session(free_memory=False)
    return {"backend": keras.backend.backend(), "written": written, "errors": errors}


def _load_reference(path: Path):
    import numpy as np

    with np.load(path) as saved:
        keys = list(saved.keys())
        weights = [saved[f"weight_{i}"] for i in range(sum(k.startswith("weight_") for k in keys))]
        inputs = {k[len("input_"):]: saved[k] for k in keys if k.startswith("input_")}
        outputs = [saved[f"output_{i}"] for i in range(sum(k.startswith("output_") for k in keys))]
    x = inputs[""] if list(inputs) == [""] else inputs
    return weights, x, outputs


def check_model(name: str, directory: Path) -> dict:
    """The contract's build, prediction and fit step of one model on this backend, and its
    outputs under TensorFlow's weights."""
    import keras
    import numpy as np

    from keras_dl import tasks
    from keras_dl.training import make_optimizer

    start = time.perf_counter()
    entry = {}
    stage = "build"
    try:
        info, model = _build(name)
        task = tasks.get(info.task)
        entry["layers"] = len(model.layers)

        stage = "predict"
        x = task.smoke_inputs(model)
        shapes = (task.smoke_output_shape(info, model) if len(model.outputs) > 1
                  else [task.smoke_output_shape(info, model)])
        for y, shape in zip(_outputs(model(x, training=False)), shapes, strict=True):
            if y.shape != (4, *shape):
                raise ValueError(f"output shape {y.shape}, declared (4, {shape})")
            if not np.all(np.isfinite(y)):
                raise ValueError("non-finite output")

        stage = "tensorflow weights"
        path = directory / f"{name}.npz"
        if not path.exists():
            raise FileNotFoundError(f"no TensorFlow reference for {name}")
        weights, x_tf, outputs_tf = _load_reference(path)
        model.set_weights(weights)
        outputs_jax = _outputs(model(x_tf, training=False))
        entry["max_abs_diff"] = max(float(np.max(np.abs(got - want)))
                                    for got, want in zip(outputs_jax, outputs_tf, strict=True))
        entry["max_abs_output"] = max(float(np.max(np.abs(y))) for y in outputs_tf)

        stage = "fit"
        task.compile(model, make_optimizer("adam", 1e-3), info)
        fit_model = task.training_model(model, info, lambda: make_optimizer("adam", 1e-3))
        if len(model.layers) > GRAPH_FIT_LAYERS:
            fit_model.run_eagerly = True  # jit-compiling a 300-layer step costs minutes
        before = [np.array(w) for w in model.trainable_weights]
        inputs, targets = task.smoke_fit_data(info, model, fit_model, x)
        history = fit_model.fit(inputs, targets, batch_size=4, epochs=1, verbose=0)
        loss = float(history.history[task.monitor_key("loss", fit_model)][0])
        entry["loss"] = loss
        if not np.isfinite(loss):
            raise ValueError(f"non-finite loss {loss}")
        if all(np.array_equal(b, np.array(w)) for b, w in zip(before, model.trainable_weights)):
            raise ValueError("one optimizer step changed no weight")
    except Exception as error:  # reported per model, so that one failure hides no other
        entry["error"] = _first_line(stage, error)
    entry["seconds"] = round(time.perf_counter() - start, 2)
    keras.backend.clear_session(free_memory=False)
    return entry


def main(argv):
    import keras

    import keras_dl

    if len(argv) < 2 or argv[0] not in ("reference", "check"):
        raise SystemExit("usage: _jax_models.py reference|check DIR [NAME ...]")
    directory = Path(argv[1])
    names = argv[2:] or keras_dl.list_models()
    if argv[0] == "reference":
        print(json.dumps(reference(directory, names)))
        return
    models = {}
    for name in names:
        models[name] = check_model(name, directory)
        print(name, json.dumps(models[name]), file=sys.stderr, flush=True)
    print(json.dumps({"backend": keras.backend.backend(), "models": models}))


if __name__ == "__main__":
    main(sys.argv[1:])
