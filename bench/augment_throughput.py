"""What each augmentation costs in the trainer's input pipeline, in images/s.

For each `--augment` name (and for none, the baseline): the trainer's own pipeline,
`keras_dl.data.to_dataset(x, y, 128, shuffle=True, augment=build_augmentation(name))`, over
Fashion-MNIST's 60,000 training images (28×28×1), timed for `--batches` batches after
`--warmup` untimed ones (the first traces the graph). The pipeline runs alone here; during
training it shares the cores with the network's steps, so compare its rate with the training
samples/s of bench/RESULTS.md's throughput tables: an augmentation many times faster than
the network costs little. `pca_jitter` is left out: it needs RGB images.

    python bench/augment_throughput.py [--names flip,crop,erase] [--quick] [--output r.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402

from keras_dl import data  # noqa: E402
from keras_dl.cli_inputs import positive_int  # noqa: E402
from keras_dl.data.augment import AUGMENTATIONS, DEFAULTS, build_augmentation  # noqa: E402

BATCH = 128
GREY = [name for name in AUGMENTATIONS if name != "pca_jitter"]


def measure(spec, x, y, *, batches, warmup, batch=BATCH):
    """Images/s of `to_dataset(..., augment=spec)` over `batches` batches after `warmup`."""
    augmentation = build_augmentation(spec, input_shape=x.shape[1:], seed=0)
    dataset = data.to_dataset(x, y, batch, shuffle=True, augment=augmentation)
    iterator = iter(dataset.repeat())
    for _ in range(warmup):
        next(iterator)
    started = time.perf_counter()
    images = 0
    for _ in range(batches):
        xb, _ = next(iterator)
        images += int(xb.shape[0])
    return images / (time.perf_counter() - started)


def augmentation_names(text):
    """`--names`: a comma-separated list of augmentations that grey images can take."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    bad = [name for name in names if name not in GREY]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown augmentation {bad[0] if bad else '(none)'!r}; allowed: {', '.join(GREY)}")
    return names


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=augmentation_names, default=GREY,
                        help=f"comma-separated subset of: {', '.join(GREY)} (default: all)")
    parser.add_argument("--batches", type=positive_int, default=1000,
                        help="timed batches (default 1000)")
    parser.add_argument("--warmup", type=positive_int, default=20,
                        help="untimed batches (default 20)")
    parser.add_argument("--quick", action="store_true", help="5 timed batches, 1 warm-up")
    parser.add_argument("--output", help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.warmup = 5, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    x, y = data.load_numpy("fashion_mnist", "train")
    rows = {}
    baseline = measure(None, x, y, batches=args.batches, warmup=args.warmup)
    rows["none"] = {"spec": None, "images_per_s": round(baseline, 1)}
    print(f"{'none':12s} {baseline:10.1f} images/s", flush=True)
    for name in args.names:
        spec = name if DEFAULTS[name] is None else f"{name}={DEFAULTS[name]:g}"
        rate = measure(spec, x, y, batches=args.batches, warmup=args.warmup)
        rows[name] = {"spec": spec, "images_per_s": round(rate, 1)}
        print(f"{spec:16s} {rate:10.1f} images/s", flush=True)
    report = {"environment": {"python": platform.python_version(), "keras": keras.__version__,
                              "machine": platform.machine(), "cpus": os.cpu_count()},
              "batch": BATCH, "batches": args.batches, "warmup": args.warmup, "results": rows}
    if args.output:
        with open(args.output, "w") as stream:
            json.dump(report, stream, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
