"""keras_dl's adversarial attacks against IBM's adversarial-robustness-toolbox (ART): the same
adversarial images, and how many images a second each makes.

Lecture 001's 784-225-225-10 ReLU MLP (`keras_dl.create_model("mlp")`, softmax output) is
trained for `--epochs` epochs on Fashion-MNIST; then, on the first `--images` test images,
FGSM at ε = `--eps` and the iterative method (`--steps` steps of 2.5 ε / steps, no random
start) are run by `keras_dl.evaluation.attacks` and by ART's `FastGradientMethod` and
`ProjectedGradientDescent` (`num_random_init=0`) through its `TensorFlowV2Classifier`, both
256 images a batch. Each timing is the best of `--repeats` runs after one untimed run (the
first traces the graph). Reported: images/s of each, the largest difference between the two
libraries' adversarial images, and the test accuracy under each attack.

    python bench/attacks_vs_art.py [--images 2000] [--eps 0.1] [--steps 10] [--quick]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import warnings

from keras_dl.cli_inputs import ArgumentParser, positive_float, positive_int
from keras_dl.quiet import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data  # noqa: E402
from keras_dl.evaluation import attacks  # noqa: E402

BATCH = 256


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=positive_int, default=2000,
                        help="test images attacked (default 2000, at most 10000)")
    parser.add_argument("--eps", type=positive_float, default=0.1,
                        help="L∞ size of the perturbation (default 0.1, at most 1)")
    parser.add_argument("--steps", type=positive_int, default=10,
                        help="steps of the iterative method (default 10)")
    parser.add_argument("--epochs", type=positive_int, default=2,
                        help="training epochs of the attacked MLP (default 2)")
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="timed runs of each attack, the best is kept (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="200 images, 1 epoch on 2,000 training images, 1 repeat")
    parser.add_argument("--output", help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    if args.images > 10_000:
        parser.error(f"--images must be at most 10000 (Fashion-MNIST's test set), got {args.images}")
    if args.eps > 1:
        parser.error(f"--eps must be at most 1 (the images lie in [0, 1]), got {args.eps}")
    return args


def best_time(run, repeats):
    run()  # untimed: traces the graph
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return result, min(times)


def accuracy(model, x, y):
    return float(np.mean(model.predict(x, batch_size=BATCH, verbose=0).argmax(1) == y))


def main(argv=None):
    args = parse_args(argv)
    with warnings.catch_warnings():  # ART says it found no PyTorch: not needed here
        warnings.filterwarnings("ignore", message="PyTorch not found")
        from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
        from art.estimators.classification import TensorFlowV2Classifier

    train_limit = 2_000 if args.quick else None
    images, epochs, repeats = ((200, 1, 1) if args.quick else
                               (args.images, args.epochs, args.repeats))
    x_train, y_train = data.load_numpy("fashion_mnist", "train", limit=train_limit)
    x, y = data.load_numpy("fashion_mnist", "test", limit=images)
    keras.utils.set_random_seed(0)
    model = keras_dl.create_model("mlp", input_shape=x.shape[1:], num_classes=10)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=epochs, batch_size=100, verbose=0)
    step = 2.5 * args.eps / args.steps
    classifier = TensorFlowV2Classifier(
        model=model, nb_classes=10, input_shape=x.shape[1:],
        loss_object=keras.losses.SparseCategoricalCrossentropy(), clip_values=(0.0, 1.0))
    art_fgsm = FastGradientMethod(classifier, norm=np.inf, eps=args.eps, batch_size=BATCH)
    art_iterative = ProjectedGradientDescent(
        classifier, norm=np.inf, eps=args.eps, eps_step=step, max_iter=args.steps,
        num_random_init=0, batch_size=BATCH, verbose=False)
    runs = {
        "fgsm": (lambda: attacks.fgsm(model, x, y, args.eps, batch_size=BATCH),
                 lambda: art_fgsm.generate(x, y)),
        f"iterative_fgsm ({args.steps} steps)": (
            lambda: attacks.iterative_fgsm(model, x, y, args.eps, steps=args.steps,
                                           step_size=step, batch_size=BATCH),
            lambda: art_iterative.generate(x, y)),
    }
    rows = {"clean": {"accuracy": accuracy(model, x, y)}}
    print(f"clean test accuracy on {len(x)} images: {rows['clean']['accuracy']:.4f}")
    for name, (ours_run, art_run) in runs.items():
        ours, ours_s = best_time(ours_run, repeats)
        theirs, art_s = best_time(art_run, repeats)
        rows[name] = {"keras_dl_images_per_s": round(len(x) / ours_s, 1),
                      "art_images_per_s": round(len(x) / art_s, 1),
                      "speed_ratio": round(art_s / ours_s, 2),
                      "max_abs_difference": float(np.abs(ours - theirs).max()),
                      "accuracy_keras_dl": accuracy(model, ours, y),
                      "accuracy_art": accuracy(model, theirs, y)}
        row = rows[name]
        print(f"{name:26s} keras_dl {row['keras_dl_images_per_s']:9.1f} images/s, ART "
              f"{row['art_images_per_s']:9.1f} images/s ({row['speed_ratio']}×); images differ "
              f"by ≤ {row['max_abs_difference']:.2g}; accuracy {row['accuracy_keras_dl']:.4f} / "
              f"{row['accuracy_art']:.4f}", flush=True)
    report = {"environment": {"python": platform.python_version(), "keras": keras.__version__,
                              "machine": platform.machine(), "cpus": os.cpu_count()},
              "images": len(x), "eps": args.eps, "steps": args.steps, "epochs": epochs,
              "results": rows}
    if args.output:
        with open(args.output, "w") as stream:
            json.dump(report, stream, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
