"""The `keras-dl` command line: its commands, their options and what each option accepts
(`build_parser`). Each command's `run` default is its `cli_commands.cmd_NAME`.

Nothing here imports TensorFlow, so `keras-dl --help`, `--version` and a bad option answer at
once (tests/test_cli_errors.py checks it).
"""

from __future__ import annotations

import argparse

from keras_dl import settings
from keras_dl.cli_commands import (cmd_datasets, cmd_evaluate, cmd_export, cmd_list,
                                   cmd_plot, cmd_predict, cmd_serve, cmd_train,
                                   cmd_tune)
from keras_dl.cli_inputs import ArgumentParser, add_unsafe_load_option, positive_int

# the choices of options outside the settings table (kept here: importing keras_dl.tuning or
# keras_dl.distribute would load TensorFlow before --help; tests/test_settings.py checks them)
STRATEGIES = ("auto", "mirrored", "multiworker", "none")
TUNERS = ("random", "hyperband", "bayesian")
OBJECTIVES = ("val_accuracy", "val_loss", "accuracy", "loss")


def gpu_list(text):
    """An argparse type: `--gpus 0,1`, a list of non-negative GPU indices."""
    try:
        indices = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of GPU indices, e.g. 0,1") from None
    if not indices or any(i < 0 for i in indices):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of GPU indices, e.g. 0,1")
    return indices


def add_strategy_options(parser):
    """`--strategy` and `--gpus`, for the commands that train (train, tune)."""
    parser.add_argument("--strategy", default="auto", choices=STRATEGIES,
                        help="tf.distribute strategy (default auto: multi-worker when TF_CONFIG "
                        "names several tasks, mirrored on GPUs, else none)")
    parser.add_argument("--gpus", type=gpu_list, metavar="0,1",
                        help="GPUs for the mirrored strategy (default: all)")


def build_parser() -> argparse.ArgumentParser:
    """The `keras-dl` parser: one sub-parser a command, its `run` set to the command."""
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
    add_unsafe_load_option(p)  # the --init-from file
    add_strategy_options(p)
    p.set_defaults(run=cmd_train)

    p = commands.add_parser("evaluate", help="test accuracy and loss of a run dir or .keras file")
    p.add_argument("model", metavar="RUN_DIR_OR_MODEL_FILE")
    p.add_argument("--dataset", help="dataset (default: the run's)")
    p.add_argument("--limit", type=positive_int, help="evaluate on the first N test examples")
    add_unsafe_load_option(p)
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
    add_unsafe_load_option(p)
    p.set_defaults(run=cmd_export)

    p = commands.add_parser("predict", help="run a SavedModel on inputs from a .npy file")
    p.add_argument("saved_model", metavar="SAVEDMODEL_DIR",
                   help="BASE/NAME/VERSION, or BASE/NAME for the newest version")
    p.add_argument("--input", required=True, metavar="FILE.npy", action="append",
                   help="a batch, or one example, as a .npy file (numpy.save); for a signature "
                   "of several inputs (a conditional generator's noise and label), "
                   "NAME=FILE.npy once for each")
    p.add_argument("--json", action="store_true", help="print the raw outputs as JSON")
    p.add_argument("--signature", default="serving_default", metavar="NAME",
                   help="the SavedModel signature to run (default serving_default; an "
                   "autoencoder also has encode and decode)")
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
    settings.add_arguments(p, exclude=settings.TRAIN_ONLY)
    p.set_defaults(epochs=5, patience=3)
    for action in p._actions:  # argparse keeps no public way to amend an option's help
        if action.dest in ("epochs", "patience"):
            action.help = f"{action.help.split(' (default')[0]} in each trial (default " \
                          f"{action.default})"
    add_unsafe_load_option(p)  # the --init-from file
    add_strategy_options(p)
    p.set_defaults(run=cmd_tune)

    p = commands.add_parser("plot", help="draw the per-layer probes a run recorded (train --probe)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run dir trained with --probe")
    p.add_argument("--output", metavar="DIR",
                   help="where to write the PNGs (default RUN_DIR/probes/figures)")
    p.set_defaults(run=cmd_plot)

    p = commands.add_parser("serve", help="serve SavedModels with TF Serving's REST/gRPC API")
    p.add_argument("--model-base", default="saved_models",
                   help="directory of NAME/VERSION SavedModels (default saved_models)")
    p.add_argument("--rest-port", type=int, default=8501, help="REST port (default 8501)")
    p.add_argument("--grpc-port", type=int, default=8500, help="gRPC port (default 8500)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--request-timeout", type=settings.cli_positive_float, default=30.0,
                   metavar="SECONDS",
                   help="seconds a REST client has to send a whole request; slower ones are "
                        "cut off (default 30)")
    p.add_argument("--max-json-depth", type=positive_int, default=400, metavar="N",
                   help="REST bodies nested deeper are refused before parsing (default 400)")
    p.set_defaults(run=cmd_serve)
    return parser

