"""What each `keras-dl` command does, once its arguments are parsed (`cli_parser.py`):
`cmd_NAME(args)` runs the command NAME and prints its result.

A bad input is a `UsageError` (or a `ValueError` from the library), which `keras_dl.cli.main`
prints as one line with exit code 2. TensorFlow, Keras and the rest of the library are imported
inside the commands, never at import time, so `--help` answers without them.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

from keras_dl import settings
from keras_dl.cli_inputs import (UsageError, check_inputs, check_output_dir, load_inputs,
                                 load_keras_model, load_saved_model, parse_settings, unit_range)


def builder_settings(args) -> dict:
    """The `--set` builder arguments of a train or tune command (its model checked first)."""
    import keras_dl
    from keras_dl.models._common import boolean_parameters

    info = keras_dl.model_info(args.model)  # unknown model: fail before anything else
    return parse_settings(args.builder_kwargs, boolean_parameters(info.builder))


# --- commands -------------------------------------------------------------------------------


def cmd_list(args):
    import keras_dl

    names = keras_dl.list_models(args.pattern)
    if not names:
        raise UsageError(f"no registered model matches {args.pattern!r}")
    rows = []
    for name in names:
        info = keras_dl.model_info(name)
        params = info.default_params
        if params is None:  # not declared at registration: build it to count
            params = keras_dl.create_model(name).count_params()
        rows.append((name, info.family, f"{params:,}", info.description))
    _print_table(("model", "family", "parameters", "description"), rows)


def cmd_datasets(args):
    from keras_dl import data

    rows = []
    for name in data.list_datasets():
        info = data.info(name)
        shape = "×".join(str(d) for d in info.input_shape)
        offline = "yes" if info.available_offline() else "no: " + info.how_to_get
        classes = str(info.num_classes) if info.target_shape is None else (
            "images " + "×".join(str(d) for d in info.target_shape))  # image-to-image targets
        if info.modality == "text":  # x holds strings; a translation's y too (no classes)
            shape, classes = "text", classes if info.num_classes else "text"
        rows.append((name, shape, classes, offline, info.source))
    _print_table(("dataset", "shape", "classes", "offline", "source"), rows)
    print("\nAny other tensorflow-datasets name works online (and offline once downloaded).")


def cmd_train(args):
    from keras_dl.training import train
    from keras_dl.training.resolve import resolve

    config = settings.from_arguments(args, args.model, builder_settings(args))
    resolve(config)  # every bad setting fails here, before any output
    run_dir = args.run_dir or os.path.join(
        "runs", f"{args.model}-{args.dataset}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    )
    check_output_dir(run_dir, "--run-dir")
    result = train(args.model, run_dir=run_dir, overwrite=args.overwrite,
                   strategy=args.strategy, gpus=args.gpus, **config.settings())
    m = result.metrics
    scores = ", ".join(f"{key.replace('_', ' ')} {value:.4f}" for key, value in m.items()
                       if key.startswith("test_") and key != "test_examples")
    print(f"{scores}, {m['epochs_run']} epochs in {m['train_seconds']:.1f} s; model: "
          f"{result.run_dir / 'model.keras'}")


def _run_config(path: Path) -> dict:
    config_file = (path if path.is_dir() else path.parent) / "config.json"
    return json.loads(config_file.read_text()) if config_file.is_file() else {}


def _task_of_run(path: Path):
    """The task of the registered model a run dir's (or model file's) config.json names,
    else None (`keras_dl.tasks.infer` decides from the model)."""
    from keras_dl import registry, tasks

    model = _run_config(path).get("model")
    return tasks.for_model(model) if model in registry.list_models() else None


def cmd_evaluate(args):
    from keras_dl import data, registry, tasks
    from keras_dl.training import make_optimizer

    path = Path(args.model)
    if not path.exists():
        raise UsageError(f"{path} does not exist; give a run dir or a .keras model file")
    model = load_keras_model(path)
    dataset = args.dataset or _run_config(path).get("dataset")
    if not dataset:
        raise UsageError(f"{path} holds no config.json naming its dataset; pass --dataset")
    info = data.info(dataset)
    task = _task_of_run(path) or tasks.infer(model)
    if _run_config(path).get("builder_kwargs") is not None:
        task.restore(model, _run_config(path))
    # a generator (a GAN's served model) makes the dataset's examples from noise
    tensor, verb = (model.inputs[0], "takes") if task.serves_examples else (model.outputs[0],
                                                                            "makes")
    want = tuple(tensor.shape[1:])
    if want != tuple(info.input_shape):
        raise UsageError(
            f"dataset {dataset!r} has inputs of shape {tuple(info.input_shape)}, but the model "
            f"{verb} {want}"
        )
    x, y = data.load_numpy(dataset, "test", limit=args.limit)
    model_name = _run_config(path).get("model")
    model_info = registry.model_info(model_name) if model_name in registry.list_models() else None
    task.compile(model, make_optimizer("adam", 1e-3), model_info)
    x, y = task.targets(x, y)
    scores = task.evaluate(model, data.to_dataset(x, y, 256, text=task.text))
    print(json.dumps({"dataset": dataset,
                      **{f"test_{k}": round(float(v), 6) for k, v in sorted(scores.items())},
                      "examples": int(len(x))}))


def cmd_export(args):
    from keras_dl.export import export_onnx, export_saved_model

    path = Path(args.model)
    if not path.exists():
        raise UsageError(f"{path} does not exist; give a .keras model file or a run dir")
    check_output_dir(args.base, "--base")
    model = load_keras_model(path)
    task = _task_of_run(path)
    metadata = {}
    config = _run_config(path)
    if config.get("dataset"):
        from keras_dl import data

        metadata = {"dataset": config["dataset"],
                    "class_names": list(data.info(config["dataset"]).class_names)}
        # what `predict` accepts (None: any); a generator's input is noise, not the data
        input_range = (unit_range(config["dataset"]) if task is None or task.serves_examples
                       else None)
        metadata["input_range"] = None if input_range is None else list(input_range)
    if args.format == "onnx":
        result = export_onnx(model, args.base, args.name, args.version, overwrite=args.overwrite,
                             task=task)
        print(f"exported to {result.path} ({result.input_name} -> "
              f"{', '.join(result.output_names)}; onnxruntime max abs diff "
              f"{result.max_abs_diff:.3g})")
        return
    result = export_saved_model(model, args.base, args.name, args.version,
                                overwrite=args.overwrite, metadata=metadata, task=task)
    print(f"exported to {result.path} (signature serving_default: "
          f"{', '.join(result.input_names or (result.input_name,))} -> "
          f"{', '.join(result.output_names)}; reloaded max abs diff {result.max_abs_diff:.3g})")


def predict_signature(served, name: str):
    """The signature `--signature` names, fed one input; `UsageError` listing the signatures the
    SavedModel has for any other name."""
    try:
        signature = served.signature_named(name)
    except KeyError:
        raise UsageError(f"{served.path} has no signature {name!r}; it has "
                         f"{', '.join(served.signature_names)}") from None
    return signature


def named_input_files(items) -> dict | None:
    """`--input NAME=FILE.npy` items as `{name: Path}`; None for one plain `--input FILE.npy`
    (a file whose own name holds "=" counts as plain when it exists)."""
    if len(items) == 1 and ("=" not in items[0] or Path(items[0]).is_file()):
        return None
    named = {}
    for item in items:
        name, sep, file = item.partition("=")
        if not sep or not name or not file:
            raise UsageError(f"--input takes FILE.npy, or NAME=FILE.npy once for each input of "
                             f"a signature with several inputs; got {item!r}")
        if name in named:
            raise UsageError(f"--input gives {name!r} twice")
        named[name] = Path(file)
    return named


def predict_named(served, signature, files: dict) -> dict:
    """Run `signature` on one `.npy` file per input (`--input NAME=FILE.npy`): the names
    must be the signature's; each input is checked (shape, finite values, an integer input's
    recorded range) before anything runs."""
    import numpy as np

    if set(files) != set(signature.input_specs):
        raise UsageError(f"signature {signature.name!r} takes the inputs "
                         f"{', '.join(sorted(signature.input_specs))}; --input gave "
                         f"{', '.join(sorted(files))}")
    arrays = {name: load_inputs(path) for name, path in files.items()}
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            raise UsageError(f"{files[name]} holds NaN or infinite values; the model takes "
                             "finite numbers")
    try:
        return signature.call(arrays)
    except ValueError as error:
        raise UsageError(str(error)) from None


def cmd_predict(args):
    from keras_dl.export import METADATA_FILE

    files = named_input_files(args.input)
    if files is not None:
        if not Path(args.saved_model).exists():
            raise UsageError(f"{args.saved_model} does not exist")
        served = load_saved_model(args.saved_model)
        signature = predict_signature(served, args.signature)
        outputs = predict_named(served, signature, files)
        _print_outputs(args, served, signature, outputs, {})
        return
    input_file = Path(args.input[0])
    inputs = load_inputs(input_file)
    if not Path(args.saved_model).exists():
        raise UsageError(f"{args.saved_model} does not exist")
    served = load_saved_model(args.saved_model)
    signature = predict_signature(served, args.signature)
    if len(signature.input_specs) != 1:
        raise UsageError(f"signature {signature.name!r} takes {len(signature.input_specs)} "
                         f"inputs ({', '.join(sorted(signature.input_specs))}); give each as "
                         "--input NAME=FILE.npy")
    metadata_file = served.path / METADATA_FILE
    metadata = json.loads(metadata_file.read_text()) if metadata_file.is_file() else {}
    if len(served.default.input_specs) != 1 or (
            (signature.input_name, signature.input_shape)
            != (served.input_name, served.input_shape)):
        metadata = {}  # `decode` takes a code: the training data's range is not its range
    try:
        outputs = served.run(signature.name, check_inputs(inputs, input_file, signature,
                                                           metadata, args.allow_out_of_range))
    except ValueError as error:  # an integer input outside its recorded range
        raise UsageError(str(error)) from None
    _print_outputs(args, served, signature, outputs, metadata)


def _print_outputs(args, served, signature, outputs, metadata):
    import numpy as np

    outputs = {key: (np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(value)
                     if value.dtype.kind == "O" and value.size else value)
               for key, value in outputs.items()}  # strings (a translation) come as bytes
    if args.json:
        print(json.dumps({k: v.tolist() for k, v in outputs.items()}))
        return
    scores = signature is served.default  # encode's code is no row of class scores
    if metadata.get("class_names") == []:  # trained on data without classes: a word's vector
        scores = False
    for output_name, values in outputs.items():
        print_predictions(served.path, output_name, values, metadata.get("class_names"), scores)


def print_predictions(path, output_name, values, names, scores: bool):
    """One line an example: the most probable class of a row of `scores`, else the values."""
    import numpy as np

    print(f"{path}: {len(values)} prediction(s) from {output_name!r}")
    for index, row in enumerate(values):
        if scores and row.ndim == 1 and len(row) > 1:
            label = int(np.argmax(row))
            text = f"class {label}" + (f" ({names[label]})" if names else "")
            print(f"{index}: {text}  {output_name}[{label}]={row[label]:.4f}")
        elif isinstance(row, str):
            print(f"{index}: {row}")
        else:
            print(f"{index}: {np.array2string(row, precision=4)}")


def cmd_tune(args):
    from keras_dl.tuning import tune

    config = settings.from_arguments(args, args.model, builder_settings(args))
    check_output_dir(args.dir, "--dir")
    # Keras' verbose=1 progress bar writes carriage returns and ANSI colour codes even into a
    # pipe or a file: there, one plain line an epoch (verbose=2)
    result = tune(
        args.model, directory=args.dir, tuner=args.tuner, max_trials=args.max_trials,
        objective=args.objective, overwrite=args.overwrite, strategy=args.strategy,
        gpus=args.gpus, verbose=1 if _is_terminal(sys.stdout) else 2, **config.settings(),
    )
    print()
    # KerasTuner's own bookkeeping keys (tuner/epochs, ...) stay in trials.json, off the table
    names = sorted({k for t in result.trials for k in t["hyperparameters"]
                    if not k.startswith("tuner/")})
    rows = [
        (str(rank), _trial_number(t["trial"]), "-" if t["score"] is None else f"{t['score']:.4f}",
         ", ".join(f"{k}={t['hyperparameters'][k]}" for k in names if k in t["hyperparameters"]))
        for rank, t in enumerate(result.trials, start=1)
    ]
    _print_table(("rank", "trial", args.objective, "hyperparameters"), rows)
    print(f"\nbest model: {result.best_model_path} (hyperparameters: "
          f"{result.best_model_path.parent / 'hyperparameters.json'})")


def cmd_plot(args):
    from keras_dl.training.probe_plots import plot_probes

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run dir {str(run_dir)!r} is not a directory; give the run dir of a "
                         "`keras-dl train ... --probe all` run")
    if args.output is not None:
        check_output_dir(args.output, "--output")
    for path in plot_probes(run_dir, args.output):
        print(path)


def cmd_serve(args):
    """`keras-dl serve`: run the server until SIGINT/SIGTERM, then stop cleanly (no new
    connections, every request already read answered) and print "stopped"."""
    import signal
    import threading

    from keras_dl.serving import ModelServer

    if not Path(args.model_base).is_dir():
        raise UsageError(f"model base {args.model_base} is not a directory")
    ports = {"REST": args.rest_port, "gRPC": args.grpc_port}
    for label, port in ports.items():
        if port is not None and not 0 <= port <= 65535:
            raise UsageError(f"{label} port must be in 0..65535, got {port}")
    server = ModelServer(args.model_base, host=args.host, rest_port=args.rest_port,
                         grpc_port=args.grpc_port, request_timeout=args.request_timeout,
                         max_json_depth=args.max_json_depth)
    try:
        server.start()
    except OSError as error:  # the message names the host:port (in use, not this machine's)
        raise UsageError(str(error)) from None
    names = server.repository.model_names()
    listed = ", ".join(names) or "(none yet)"
    print(f"serving {len(names)} model(s) from {args.model_base}: {listed}")
    if server.rest_port is not None:
        print(f"REST: http://{args.host}:{server.rest_port}/v1/models/NAME[:predict]")
    if server.grpc_port is not None:
        print(f"gRPC: {args.host}:{server.grpc_port} (tensorflow.serving.PredictionService)")
    sys.stdout.flush()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    # A signal may land on one of TensorFlow's or gRPC's threads, which does not wake a main
    # thread blocked without a timeout; Python runs its handler when the main thread wakes.
    while not stop.wait(timeout=0.25):
        pass
    if not server.stop():
        print("keras-dl: some requests were still running after the stop's grace period",
              file=sys.stderr)
    print("stopped")


# --- printing ------------------------------------------------------------------------------


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _trial_number(trial_id) -> str:
    """A KerasTuner trial as its log numbers it ("Running Trial #1" is trial id "0")."""
    return str(int(trial_id) + 1) if str(trial_id).isdigit() else str(trial_id)


def _print_table(header, rows):
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [str(c).ljust(w) for c, w in zip(row, widths)] + [str(row[-1])]
        print("  ".join(cells).rstrip())

