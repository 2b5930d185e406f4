"""Regularisation (lectures 001 and 004): one MLP on a small Fashion-MNIST training set under
no regularisation, weight decay (L2), L1, input noise, dropout, early stopping, data
augmentation and an ensemble; and the lecture's "power demo", a network whose first layer
alone is trained, fitting its training set and overfitting.

Every regime starts from the same initial weights of the lecture's 784-225-225-10 ReLU MLP
(Adam, mini-batches of 100) and trains on the same `--train-size` examples; after every epoch
the clean (inference-mode) cross-entropy and error are measured on the training set and on a
held-out validation set, and at the end on the 10,000 test images. Early stopping watches the
validation loss and keeps the best epoch (marked on its curve). The ensemble averages the class
probabilities of `--members` nets trained from different seeds (the unregularised run is its
first member). The demonstration trains only W1 and b1 of the same network (the layers above
keep their random initial weights; no regularisation) on `--first-layer-train-size` examples
for `--first-layer-epochs` epochs with an annealed step size, beside the same network with
every layer trained, and records the training and test error after every epoch.

Writes to `--output` (default `apps/output/regularisation/`): `regimes_error.png` and
`regimes_loss.png` (one panel per regime, training vs validation, the unregularised validation
curve in grey), `regimes_summary.png` (final training / validation / test error of each),
`ensemble.png`, `first_layer_only.png` and `results.json`. The default run takes about
3.5 minutes of CPU on 2 cores (measured: 3 min 26 s of user CPU; 7 minutes of wall time with
the cores shared by other jobs); `--quick` (a few hundred examples, a few epochs) about
20 seconds.

    python apps/regularisation.py [--epochs 50] [--train-size 3000] [--regimes none,l2,...]
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data, training  # noqa: E402
from keras_dl.data.augment import augment_option, build_augmentation  # noqa: E402
from keras_dl.training import regularisation  # noqa: E402
from keras_dl.training.regularisation_plots import (  # noqa: E402
    plot_curves,
    plot_ensemble,
    plot_first_layer,
    plot_summary,
)

REGIMES = ("none", "l2", "l1", "noise", "dropout", "early_stopping", "augment", "ensemble")
# Lecture 001, "Power demo: training first layer only" (MNIST, 784-225-...-10 ReLU MLP).
LECTURE_FIRST_LAYER = {"dataset": "MNIST", "train_error": 0.002, "test_error": 0.02,
                       "all_layers_test_error": 0.012}
SPLITS = ("train", "validation", "test")
CURVES = ("train", "validation")  # measured every epoch; the test set at the end only
QUICK = {"train_size": 300, "validation_size": 300, "test_size": 500, "epochs": 3,
         "members": 2, "first_layer_train_size": 300, "first_layer_epochs": 2,
         "hidden_units": "32,32"}


# === Options ===


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--regimes", default=",".join(REGIMES),
        help=f"comma-separated, from: {', '.join(REGIMES)}")
    add("--epochs", type=int, default=50)
    add("--train-size", type=int, default=3000, help="training examples (small: overfits)")
    add("--validation-size", type=int, default=5000)
    add("--test-size", type=int, default=10000)
    add("--batch-size", type=int, default=100, help="the lecture's 100")
    add("--lr", type=float, default=1e-3, help="Adam's step size")
    add("--hidden-units", default="225,225", help="the lecture's 225 (W1 is 225×784)")
    add("--l2", type=float, default=1e-3, help="λ of λΣw² (weight decay)")
    add("--l1", type=float, default=1e-4, help="λ of λΣ|w|")
    add("--noise", type=float, default=0.3, help="σ of the Gaussian input noise")
    add("--dropout", type=float, default=0.5, help="dropout rate after each hidden layer")
    add("--patience", type=int, default=5, help="early stopping: epochs without a better "
                                                "validation loss")
    add("--augment", default="flip",
        help="augmentation spec (keras_dl.data.augment), e.g. 'flip,translate=0.1,rotate=10'")
    add("--members", type=int, default=5, help="nets in the ensemble")
    add("--first-layer-train-size", type=int, default=3000,
        help="training examples of the first-layer-only demo (the regimes' subset first)")
    add("--first-layer-epochs", type=int, default=120)
    add("--first-layer-lr", type=float, default=3e-3,
        help="the demo's initial step size, annealed to 0 by a cosine schedule")
    add("--quick", action="store_true", help="tiny sizes for a smoke run: "
        + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in QUICK.items()))
    add("--seed", type=int, default=0)
    add("--output", default="apps/output/regularisation")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    check_args(parser, args)
    return args


def check_args(parser, args):
    """`parser.error` (one line, exit 2) for the first bad option."""
    regimes = [name.strip() for name in args.regimes.split(",") if name.strip()]
    unknown = [name for name in regimes if name not in REGIMES]
    if unknown or not regimes:
        parser.error(f"--regimes {args.regimes!r}: unknown regime "
                     f"{unknown[0] if unknown else '(none given)'!r}; allowed: "
                     f"{', '.join(REGIMES)}")
    args.regimes = [name for name in REGIMES if name in regimes]
    for name in ("epochs", "train_size", "validation_size", "test_size", "batch_size",
                 "patience", "first_layer_train_size", "first_layer_epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, "
                         f"got {getattr(args, name)}")
    if args.members < 2:
        parser.error(f"--members must be an integer >= 2 (an ensemble of one is one net), "
                     f"got {args.members}")
    for name in ("lr", "l2", "l1", "noise", "first_layer_lr"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            parser.error(f"--{name} must be a finite number > 0, got {value}")
    if not 0 < args.dropout < 1:
        parser.error(f"--dropout must be a rate in (0, 1), got {args.dropout}")
    if args.train_size + args.validation_size > 60000:
        parser.error(f"--train-size {args.train_size} + --validation-size "
                     f"{args.validation_size} exceed Fashion-MNIST's 60000 training images")
    if args.first_layer_train_size > 60000 or args.test_size > 10000:
        parser.error("--first-layer-train-size is at most 60000 and --test-size at most "
                     f"10000, got {args.first_layer_train_size} and {args.test_size}")
    try:
        args.hidden_units = tuple(int(part) for part in args.hidden_units.split(","))
        if not all(units > 0 for units in args.hidden_units):
            raise ValueError
    except ValueError:
        parser.error(f"--hidden-units must be positive integers separated by commas, "
                     f"got {args.hidden_units!r}")
    try:
        args.augment = augment_option(args.augment, channels=1)
    except ValueError as error:
        parser.error(str(error))
    if "augment" in args.regimes and not args.augment:
        parser.error("--augment none leaves the augment regime nothing to do; give a spec "
                     "or drop augment from --regimes")


# === Training ===


def load_splits(args):
    """Training, validation (disjoint, from the training split) and test arrays."""
    x, y = data.load_numpy("fashion_mnist", "train")
    order = np.random.default_rng(args.seed).permutation(len(x))
    train = order[:args.train_size]
    validation = order[args.train_size:args.train_size + args.validation_size]
    x_test, y_test = data.load_numpy("fashion_mnist", "test", limit=args.test_size)
    return {"train": (x[train], y[train]), "validation": (x[validation], y[validation]),
            "test": (x_test, y_test), "first_layer": (x[order[:args.first_layer_train_size]],
                                                      y[order[:args.first_layer_train_size]])}


def base_model(args, seed, **knobs):
    """The lecture's MLP with seeded initial weights (the same for every regime)."""
    return keras_dl.create_model("mlp", input_shape=(28, 28, 1), num_classes=10,
                                 hidden_units=args.hidden_units, seed=seed, **knobs)


def regime_model(regime, args):
    """The model of `regime`, starting from the initial weights of the unregularised net."""
    model = base_model(args, args.seed)
    if regime == "l2":
        return regularisation.with_weight_penalty(model, l2=args.l2)
    if regime == "l1":
        return regularisation.with_weight_penalty(model, l1=args.l1)
    if regime == "noise":
        return regularisation.with_input_noise(model, args.noise, seed=args.seed)
    if regime == "dropout":  # dropout sits inside the network: the builder's own knob
        return base_model(args, args.seed, dropout=args.dropout)
    return model


def fit(model, args, splits, *, epochs, curve_splits, augment=None, callbacks=(),
        keep_probabilities=(), seed=0, learning_rate=None):
    """Train `model` on `splits["train"]`-like data; returns its `EpochErrors` and seconds."""
    curves = regularisation.EpochErrors({name: splits[name] for name in curve_splits},
                                        keep_probabilities=keep_probabilities)
    training.compile_classifier(model, "adam", learning_rate or args.lr)
    x, y = splits[curve_splits[0]]
    batches = data.to_dataset(x, y, args.batch_size, shuffle=True, seed=seed,
                              augment=augment)
    validation = data.to_dataset(*splits["validation"], 1000) if callbacks else None
    start = time.perf_counter()
    model.fit(batches, epochs=epochs, validation_data=validation, verbose=0, shuffle=False,
              callbacks=[curves, *callbacks])
    return curves, time.perf_counter() - start


def final_errors(model, splits):
    """Clean training / validation / test error of `model` as it is now, and the gap
    (test error − training error)."""
    errors = regularisation.split_errors(model, {name: splits[name] for name in SPLITS})
    return {**{f"final_{name}_error": error for name, error in errors.items()},
            "gap": errors["test"] - errors["train"]}


def run_regime(regime, args, splits, keep_probabilities=()):
    """Train one regime; returns its model, its record and its `EpochErrors`."""
    keras.utils.set_random_seed(args.seed)
    model = regime_model(regime, args)
    augment, callbacks = None, []
    if regime == "augment":
        augment = build_augmentation(args.augment, input_shape=(28, 28, 1), seed=args.seed)
    if regime == "early_stopping":
        callbacks = [keras.callbacks.EarlyStopping("val_loss", patience=args.patience,
                                                   restore_best_weights=True)]
    curves, seconds = fit(model, args, splits, epochs=args.epochs, augment=augment,
                          callbacks=callbacks, curve_splits=CURVES,
                          keep_probabilities=keep_probabilities, seed=args.seed)
    record = {**curves.history, **final_errors(model, splits), "seconds": seconds,
              "epochs_run": len(curves.history["train_error"])}
    if callbacks:
        stopping = callbacks[0]
        record["best_epoch"] = stopping.best_epoch + 1  # 1-based, as on the plots
        record["stopped_epoch"] = stopping.stopped_epoch + 1 if stopping.stopped_epoch else None
    return model, record, curves


def run_ensemble(args, splits, first_model, first_curves):
    """`--members` unregularised nets from different seeds, the `none` run the first.

    The ensemble's curves are those of the mean of the members' probabilities at each epoch;
    its final errors are those of `regularisation.Ensemble`, the members as one model.
    """
    members, member_curves, seconds = [first_model], [first_curves], 0.0
    for index in range(1, args.members):
        keras.utils.set_random_seed(args.seed + index)
        model = base_model(args, args.seed + 1000 * index)
        curves, took = fit(model, args, splits, epochs=args.epochs, curve_splits=CURVES,
                           keep_probabilities=CURVES, seed=args.seed + index)
        members.append(model)
        member_curves.append(curves)
        seconds += took
    ensemble = regularisation.Ensemble(members)
    ensemble.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, test_accuracy = ensemble.evaluate(*splits["test"], batch_size=1000, verbose=0)
    record = {**final_errors(ensemble, splits), "seconds": seconds, "members": args.members,
              "test_error_by_evaluate": 1 - float(test_accuracy)}
    record.update(regularisation.ensemble_curves(
        member_curves, {name: splits[name] for name in CURVES}))
    record["member_final_test_error"] = [
        regularisation.split_errors(member, {"test": splits["test"]})["test"]
        for member in members]
    for name in CURVES:
        record[f"member_{name}_error"] = [c.history[f"{name}_error"] for c in member_curves]
        record[f"member_final_{name}_error"] = [c.history[f"{name}_error"][-1]
                                                for c in member_curves]
    record["epochs_run"] = args.epochs
    return record


def run_first_layer_demo(args, splits):
    """Lecture 001's power demo: only W1, b1 trained (upper layers random), vs all layers."""
    demo_splits = {"train": splits["first_layer"], "test": splits["test"],
                   "validation": splits["validation"]}
    results = {}
    for label in ("first_layer_only", "all_layers"):
        keras.utils.set_random_seed(args.seed)
        model = base_model(args, args.seed)
        if label == "first_layer_only":
            trained = regularisation.train_first_layer_only(model)
            results["trained_layer"] = trained.name
        steps = args.first_layer_epochs * -(-len(demo_splits["train"][0]) // args.batch_size)
        # "Important to anneal the step size towards the end" (lecture 001): cosine to 0.
        schedule = keras.optimizers.schedules.CosineDecay(args.first_layer_lr, steps)
        curves, seconds = fit(model, args, demo_splits, epochs=args.first_layer_epochs,
                              curve_splits=("train", "test"), seed=args.seed,
                              learning_rate=schedule)
        trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
        final = {f"final_{name}_error": curves.history[f"{name}_error"][-1]
                 for name in ("train", "test")}
        results[label] = {**curves.history, **final, "seconds": seconds,
                          "trainable_parameters": trainable,
                          "gap": final["final_test_error"] - final["final_train_error"]}
    return results


# === Main ===


def summary(records, demo):
    """The per-regime finals and the demo's, without the curves (printed and in JSON)."""
    finals = {regime: {key: value for key, value in record.items()
                       if key.startswith("final_") or key in ("gap", "best_epoch",
                                                              "stopped_epoch", "epochs_run")}
              for regime, record in records.items()}
    if demo:
        finals["first_layer_demo"] = {
            label: {key: demo[label][key] for key in ("final_train_error", "final_test_error",
                                                     "gap", "trainable_parameters")}
            for label in ("first_layer_only", "all_layers")}
    return finals


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    splits = load_splits(args)
    start = time.perf_counter()

    records, first = {}, None
    for regime in args.regimes:
        if regime == "ensemble":
            continue
        keep = CURVES if regime == "none" and "ensemble" in args.regimes else ()
        model, record, curves = run_regime(regime, args, splits, keep)
        records[regime] = record
        if regime == "none":
            first = (model, curves)
        print(f"{regime:>15}: train {record['final_train_error']:.3f}  validation "
              f"{record['final_validation_error']:.3f}  test {record['final_test_error']:.3f}")
    if "ensemble" in args.regimes:
        if first is None:  # the ensemble's first member is the unregularised net
            model, _, curves = run_regime("none", args, splits, CURVES)
            first = (model, curves)
        records["ensemble"] = run_ensemble(args, splits, *first)
        print(f"       ensemble: test {records['ensemble']['final_test_error']:.3f} (members: "
              + ", ".join(f"{e:.3f}" for e in records["ensemble"]["member_final_test_error"])
              + ")")
    demo = run_first_layer_demo(args, splits)
    for label in ("first_layer_only", "all_layers"):
        print(f"{label:>16}: train {demo[label]['final_train_error']:.4f}  "
              f"test {demo[label]['final_test_error']:.4f}")

    network = (f"One 784-{'-'.join(map(str, args.hidden_units))}-10 MLP on "
               f"{args.train_size} Fashion-MNIST examples")
    plot_curves(records, "error", output / "regimes_error.png", "error", network)
    plot_curves(records, "loss", output / "regimes_loss.png", "cross-entropy", network)
    plot_summary(records, output / "regimes_summary.png")
    if "ensemble" in records:
        plot_ensemble(records["ensemble"], output / "ensemble.png")
    plot_first_layer(demo, output / "first_layer_only.png", args.first_layer_train_size)

    settings = {key: value for key, value in vars(args).items() if key != "output"}
    results = {
        "experiment": "regularisation of one MLP on a small Fashion-MNIST training set "
                      "(lectures 001 and 004)",
        "settings": settings,
        "summary": summary(records, demo),
        "lecture_first_layer_only": LECTURE_FIRST_LAYER,
        "regimes": records,
        "first_layer_demo": demo,
        "total_seconds": time.perf_counter() - start,
    }
    (output / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
