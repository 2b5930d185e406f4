"""keras-dl: list models and datasets, train, evaluate, export and predict from the shell.

Bad input (an unknown model or dataset, a `--set` key the builder does not take, a
non-positive count, a missing file, an input of the wrong shape) ends with exit code 2 and one
line `keras-dl: error: ...` (or `keras-dl COMMAND: error: ...` for a bad option) naming the bad
value and what is allowed.

The arguments are parsed before TensorFlow is imported, so `--help`, `--version` and a bad
option answer at once; TensorFlow's start-up log lines are kept off the terminal
(`KERAS_DL_VERBOSE_TF=1` shows them, `keras_dl.quiet`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

from keras_dl import settings
from keras_dl.cli_inputs import (EXIT_USAGE, ArgumentParser, UsageError, check_inputs,
                                 load_inputs, parse_settings, positive_int, unit_range)
from keras_dl.quiet import quiet_tensorflow
# the choices of options outside the settings table (kept here: importing keras_dl.tuning or
# keras_dl.distribute would load TensorFlow before --help; tests/test_cli.py checks them)
STRATEGIES = ("auto", "mirrored", "multiworker", "none")
TUNERS = ("random", "hyperband", "bayesian")
OBJECTIVES = ("val_accuracy", "val_loss", "accuracy", "loss")


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
        rows.append((name, shape, str(info.num_classes), offline, info.source))
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
    result = train(args.model, run_dir=run_dir, overwrite=args.overwrite,
                   strategy=args.strategy, gpus=args.gpus, **config.settings())
    m = result.metrics
    scores = ", ".join(f"{key.replace('_', ' ')} {value:.4f}" for key, value in m.items()
                       if key.startswith("test_") and key != "test_examples")
    print(f"{scores}, {m['epochs_run']} epochs in {m['train_seconds']:.1f} s; model: "
          f"{result.run_dir / 'model.keras'}")


def _load_keras_model(path: Path):
    import keras_dl

    model_file = path / "model.keras" if path.is_dir() else path
    if not model_file.is_file():
        raise UsageError(f"{path} is neither a .keras model file nor a run dir holding model.keras")
    if model_file.suffix != ".keras":
        raise UsageError(f"{model_file} is not a .keras model file")
    try:
        return keras_dl.load_model(model_file)
    except (ValueError, OSError) as error:
        raise UsageError(f"{model_file} could not be loaded as a Keras model: {error}") from None


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
    model = _load_keras_model(path)
    dataset = args.dataset or _run_config(path).get("dataset")
    if not dataset:
        raise UsageError(f"{path} holds no config.json naming its dataset; pass --dataset")
    info = data.info(dataset)
    want = tuple(model.inputs[0].shape[1:])
    if want != tuple(info.input_shape):
        raise UsageError(
            f"dataset {dataset!r} has inputs of shape {tuple(info.input_shape)}, but the model "
            f"takes {want}"
        )
    x, y = data.load_numpy(dataset, "test", limit=args.limit)
    task = _task_of_run(path) or tasks.infer(model)
    model_name = _run_config(path).get("model")
    model_info = registry.model_info(model_name) if model_name in registry.list_models() else None
    task.compile(model, make_optimizer("adam", 1e-3), model_info)
    x, y = task.targets(x, y)
    scores = task.evaluate(model, data.to_dataset(x, y, 256))
    print(json.dumps({"dataset": dataset,
                      **{f"test_{k}": round(float(v), 6) for k, v in sorted(scores.items())},
                      "examples": int(len(x))}))


def cmd_export(args):
    from keras_dl.export import export_onnx, export_saved_model

    path = Path(args.model)
    if not path.exists():
        raise UsageError(f"{path} does not exist; give a .keras model file or a run dir")
    model = _load_keras_model(path)
    task = _task_of_run(path)
    metadata = {}
    config = _run_config(path)
    if config.get("dataset"):
        from keras_dl import data

        metadata = {"dataset": config["dataset"],
                    "class_names": list(data.info(config["dataset"]).class_names)}
        input_range = unit_range(config["dataset"])  # what `predict` accepts (None: any)
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
    print(f"exported to {result.path} (signature serving_default: {result.input_name} -> "
          f"{', '.join(result.output_names)}; reloaded max abs diff {result.max_abs_diff:.3g})")


def cmd_predict(args):
    import numpy as np

    from keras_dl.export import METADATA_FILE, ServedModel

    input_file = Path(args.input)
    inputs = load_inputs(input_file)
    if not Path(args.saved_model).exists():
        raise UsageError(f"{args.saved_model} does not exist")
    served = ServedModel(args.saved_model)
    metadata_file = served.path / METADATA_FILE
    metadata = json.loads(metadata_file.read_text()) if metadata_file.is_file() else {}
    outputs = served(check_inputs(inputs, input_file, served, metadata,
                                   args.allow_out_of_range))
    names = metadata.get("class_names")
    if args.json:
        print(json.dumps({k: v.tolist() for k, v in outputs.items()}))
        return
    (output_name, values), = outputs.items()
    print(f"{served.path}: {len(values)} prediction(s) from {output_name!r}")
    for index, row in enumerate(values):
        if row.ndim == 1 and len(row) > 1:
            label = int(np.argmax(row))
            text = f"class {label}" + (f" ({names[label]})" if names else "")
            print(f"{index}: {text}  {output_name}[{label}]={row[label]:.4f}")
        else:
            print(f"{index}: {np.array2string(row, precision=4)}")


def cmd_tune(args):
    from keras_dl.tuning import tune

    config = settings.from_arguments(args, args.model, builder_settings(args))
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


def cmd_serve(args):
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
                         grpc_port=args.grpc_port)
    try:
        server.start()
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}: {error.strerror or error}") from None
    names = server.repository.model_names()
    print(f"serving {len(names)} model(s) from {args.model_base}: {', '.join(names) or '(none yet)'}")
    if server.rest_port is not None:
        print(f"REST: http://{args.host}:{server.rest_port}/v1/models/NAME[:predict]")
    if server.grpc_port is not None:
        print(f"gRPC: {args.host}:{server.grpc_port} (tensorflow.serving.PredictionService)")
    sys.stdout.flush()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop()
    print("stopped")


# --- plumbing -------------------------------------------------------------------------------


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


def gpu_list(text):
    try:
        indices = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of GPU indices, e.g. 0,1") from None
    if not indices or any(i < 0 for i in indices):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of GPU indices, e.g. 0,1")
    return indices


def add_strategy_options(parser):
    parser.add_argument("--strategy", default="auto", choices=STRATEGIES,
                        help="tf.distribute strategy (default auto: multi-worker when TF_CONFIG "
                        "names several tasks, mirrored on GPUs, else none)")
    parser.add_argument("--gpus", type=gpu_list, metavar="0,1",
                        help="GPUs for the mirrored strategy (default: all)")


def build_parser() -> argparse.ArgumentParser:
    from keras_dl import __version__

    parser = ArgumentParser(
        prog="keras-dl", description="Classic deep learning in Keras 3: train, evaluate, "
        "export and serve the architectures the lectures teach."
    )
    parser.add_argument("--version", action="version", version=f"keras_dl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.command_names = commands.choices.keys()  # named in "COMMAND is required"

    p = commands.add_parser("list", help="registered models with family and parameter count")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'lenet*'")
    p.set_defaults(run=cmd_list)

    p = commands.add_parser("datasets", help="known datasets and whether each is available offline")
    p.set_defaults(run=cmd_datasets)

    p = commands.add_parser("train", help="train a model; writes a run dir")
    p.add_argument("model", help="a registered model (see keras-dl list)")
    settings.add_arguments(p)  # every training setting, from keras_dl.settings.SETTINGS
    p.add_argument("--run-dir", help="where to write the run (default runs/MODEL-DATASET-TIME)")
    p.add_argument("--overwrite", action="store_true", help="delete an existing run dir first")
    add_strategy_options(p)
    p.set_defaults(run=cmd_train)

    p = commands.add_parser("evaluate", help="test accuracy and loss of a run dir or .keras file")
    p.add_argument("model", metavar="RUN_DIR_OR_MODEL_FILE")
    p.add_argument("--dataset", help="dataset (default: the run's)")
    p.add_argument("--limit", type=positive_int, help="evaluate on the first N test examples")
    p.set_defaults(run=cmd_evaluate)

    p = commands.add_parser("export", help="export a .keras model as a versioned SavedModel")
    p.add_argument("model", metavar="MODEL_FILE", help="a .keras file or a run dir")
    p.add_argument("--name", required=True, help="model name, the directory under --base")
    p.add_argument("--version", type=positive_int, help="version (default: next free)")
    p.add_argument("--base", default="saved_models", help="export root (default saved_models)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing version")
    p.add_argument("--format", default="savedmodel", choices=("savedmodel", "onnx"),
                   help="savedmodel (TF Serving layout, default) or onnx (BASE/onnx/NAME/VERSION/"
                   "model.onnx, checked with onnxruntime)")
    p.set_defaults(run=cmd_export)

    p = commands.add_parser("predict", help="run a SavedModel on inputs from a .npy file")
    p.add_argument("saved_model", metavar="SAVEDMODEL_DIR",
                   help="BASE/NAME/VERSION, or BASE/NAME for the newest version")
    p.add_argument("--input", required=True, metavar="FILE.npy",
                   help="a batch, or one example, as a .npy file (numpy.save)")
    p.add_argument("--json", action="store_true", help="print the raw outputs as JSON")
    p.add_argument("--allow-out-of-range", action="store_true",
                   help="predict on values outside the range of the data the model was "
                   "trained on (by default refused: [0, 1] for keras_dl's image datasets)")
    p.set_defaults(run=cmd_predict)

    p = commands.add_parser("tune", help="hyperparameter search (KerasTuner), resumable; "
                            "each trial trains as train does")
    p.add_argument("model", help="a registered model (see keras-dl list)")
    p.add_argument("--tuner", default="random", choices=TUNERS)
    p.add_argument("--max-trials", type=positive_int, default=10, help="trials in all (default 10)")
    p.add_argument("--objective", default="val_accuracy", choices=OBJECTIVES,
                   help="what ranks the trials (default val_accuracy; val_loss for models "
                   "that are not classifiers)")
    p.add_argument("--dir", required=True, help="search directory; rerun to resume")
    p.add_argument("--overwrite", action="store_true", help="start the search over")
    # the training settings, as for train; a trial's budget and patience default lower
    settings.add_arguments(p)
    p.set_defaults(epochs=5, patience=3)
    for action in p._actions:  # argparse keeps no public way to amend an option's help
        if action.dest in ("epochs", "patience"):
            action.help = f"{action.help.split(' (default')[0]} in each trial (default " \
                          f"{action.default})"
    add_strategy_options(p)
    p.set_defaults(run=cmd_tune)

    p = commands.add_parser("serve", help="serve SavedModels with TF Serving's REST/gRPC API")
    p.add_argument("--model-base", default="saved_models",
                   help="directory of NAME/VERSION SavedModels (default saved_models)")
    p.add_argument("--rest-port", type=int, default=8501, help="REST port (default 8501)")
    p.add_argument("--grpc-port", type=int, default=8500, help="gRPC port (default 8500)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.set_defaults(run=cmd_serve)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)  # before TensorFlow: --help and bad options are fast
    quiet_tensorflow()
    from keras_dl.data import DatasetUnavailableError

    try:
        args.run(args)
    except (UsageError, ValueError, FileNotFoundError, FileExistsError,
            DatasetUnavailableError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"keras-dl: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("keras-dl: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
