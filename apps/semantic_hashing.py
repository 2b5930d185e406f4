"""Semantic hashing (Salakhutdinov & Hinton 2009) on Fashion-MNIST: binary codes from a deep
autoencoder against sign random projections of the same length.

Lecture 004: latent spaces for "semantic hashing, i.e., mapping continuous entries to binary
codes and back (a hash function on latent binary codes facilitates efficient search)", with
the "trick to enforce the code to be close to binary: adding random noise before
nonlinearity". The `semantic_hashing_autoencoder` (784-512-256-B, noise σ = 4 before the code
sigmoid, hard threshold at inference) is trained on the training images; every test image is
then hashed to B bits, and each test image queries all the others: the 100 nearest by Hamming
distance are retrieved, and precision@100 is the fraction of the same class. The baseline
hashes with the signs of B random Gaussian projections of the centred images.

Writes `precision.png` (precision@100 per code length), `retrieval.png` (queries and their
nearest codes), `code_histogram.png` (the code units' sigmoid before thresholding: pushed to
0 and 1) and `results.json` to `apps/output/semantic_hashing/`. About 3 minutes on 2 shared
CPU cores at the defaults; `--quick` runs in seconds.

    python apps/semantic_hashing.py [--bits 16 32] [--epochs 15] [--limit 20000] [--quick]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data, visualize  # noqa: E402
from keras_dl.evaluation import (  # noqa: E402
    hamming_precision_at_k,
    random_projection_codes,
)
from keras_dl.models import autoencoders as ae  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--limit", type=int, default=20000, help="training images used")
    parser.add_argument("--test-limit", type=int, default=5000, help="test images hashed")
    parser.add_argument("--k", type=int, default=100, help="precision@k")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1 epoch, 512 training and 300 test images, k = 10")
    parser.add_argument("--output", default="apps/output/semantic_hashing")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.limit, args.test_limit, args.k, args.bits = 1, 512, 300, 10, [16]
    for name in ("epochs", "limit", "test_limit", "k", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if any(b < 1 for b in args.bits):
        parser.error(f"--bits must be positive integers, got {args.bits}")
    if args.k >= args.test_limit:
        parser.error(f"--k must be below --test-limit ({args.test_limit}), got {args.k}")
    return args


def plot_precision(rows, k, path):
    bits = [row["bits"] for row in rows]
    positions = np.arange(len(bits))
    figure, axis = plt.subplots(figsize=(6, 4.2))
    axis.bar(positions - 0.2, [r["autoencoder_precision"] for r in rows], 0.4,
             label="semantic hashing autoencoder")
    axis.bar(positions + 0.2, [r["random_projection_precision"] for r in rows], 0.4,
             label="sign random projections")
    axis.axhline(0.1, color="gray", linestyle=":", label="chance (10 classes)")
    axis.set_xticks(positions, [f"{b} bits" for b in bits])
    axis.set_ylabel(f"precision@{k} (same class)")
    axis.set_ylim(0, 1)
    axis.set_title("Retrieval by Hamming distance on Fashion-MNIST test images")
    axis.legend(loc="upper left")
    visualize.save_figure(figure, path, dpi=120)


def plot_retrieval(x, codes, path, queries=6, shown=10):
    figure, axes = plt.subplots(queries, 1, figsize=(10, 1.2 * queries))
    for row, (axis, query) in enumerate(zip(axes, range(queries))):
        distance = np.abs(codes - codes[query]).sum(axis=1)
        distance[query] = np.inf
        nearest = np.argsort(distance, kind="stable")[:shown]
        strip = np.concatenate([x[query, ..., 0], np.ones((28, 4))] +
                               [x[i, ..., 0] for i in nearest], axis=1)
        axis.imshow(strip, cmap="gray", vmin=0, vmax=1)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_ylabel(f"query {row + 1}", rotation=0, ha="right", va="center", fontsize=9)
    figure.suptitle(f"Query (left) and its {shown} nearest test images by Hamming distance of "
                    f"{codes.shape[1]}-bit codes")
    visualize.save_figure(figure, path, dpi=110)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    x_train, _ = data.load_numpy("fashion_mnist", "train", limit=args.limit)
    x_test, y_test = data.load_numpy("fashion_mnist", "test", limit=args.test_limit)

    rows, logits_for_histogram = [], None
    for bits in args.bits:
        keras.utils.set_random_seed(args.seed)
        model = keras_dl.create_model("semantic_hashing_autoencoder", code_bits=bits,
                                      seed=args.seed)
        model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
        start = time.perf_counter()
        model.fit(x_train, x_train, epochs=args.epochs, batch_size=args.batch_size,
                  validation_split=0.1, verbose=0)
        seconds = time.perf_counter() - start
        codes = ae.encoder(model).predict(x_test, batch_size=1000, verbose=0)
        logits = keras.Model(model.inputs[0], model.get_layer("code_logits").output).predict(
            x_test, batch_size=1000, verbose=0)
        baseline = random_projection_codes(x_test, bits, mean=x_train.mean(axis=0),
                                           seed=args.seed)
        row = {
            "bits": bits,
            "autoencoder_precision": hamming_precision_at_k(codes, y_test, args.k),
            "random_projection_precision": hamming_precision_at_k(baseline, y_test, args.k),
            "distinct_codes": int(len(np.unique(codes, axis=0))),
            "bits_always_same": int(((codes.mean(0) == 0) | (codes.mean(0) == 1)).sum()),
            "train_seconds": round(seconds, 1),
        }
        rows.append(row)
        print(f"{bits:3d} bits: precision@{args.k} autoencoder "
              f"{row['autoencoder_precision']:.3f}, random projections "
              f"{row['random_projection_precision']:.3f} ({seconds:.0f} s training)")
        logits_for_histogram, codes_for_figure = logits, codes

    plot_precision(rows, args.k, output / "precision.png")
    plot_retrieval(x_test, codes_for_figure, output / "retrieval.png")
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.hist(1 / (1 + np.exp(-np.clip(logits_for_histogram.ravel(), -50, 50))), bins=50,
              color="tab:blue")
    axis.set_xlabel("code unit sigmoid(a) on test images (before thresholding)")
    axis.set_ylabel("count")
    axis.set_title(f"{codes_for_figure.shape[1]}-bit code: noise in training pushes units to 0/1")
    visualize.save_figure(figure, output / "code_histogram.png", dpi=120)

    results = {
        "experiment": "semantic hashing (Salakhutdinov & Hinton 2009) on Fashion-MNIST",
        "training_images": len(x_train), "test_images": len(x_test), "epochs": args.epochs,
        "k": args.k, "protocol": "each test image queries all other test images; ties in "
                                 "Hamming distance broken at random",
        "rows": rows,
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
