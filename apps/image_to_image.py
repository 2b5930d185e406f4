"""pix2pix against its blurry L1 baseline (Isola et al. 2017): Fashion-MNIST edges → images.

Isola et al. train one U-Net two ways: on the L1 error alone, whose outputs are "reasonable
but blurry" (where a pixel is uncertain, the L1 optimum is the median of what it could be),
and on L1 plus a conditional GAN (eq. 4, λ = 100), whose PatchGAN discriminator penalises
blur and so sharpens the outputs. This app trains both on the same pairs with the same seed,
epochs and optimizer (Adam at 2e-4, β₁ = 0.5): `pix2pix` and `unet_translation`
(`keras-dl train pix2pix|unet_translation --dataset fashion_mnist_edges --set filters=16`).

It reports for each its test L1 error and two Fréchet distances between its outputs and the
test images: on pixels, and on the features of a small Fashion-MNIST classifier (LeNet-5
trained here for 2 epochs, its last hidden layer: `keras_dl.evaluation.generative`). The
classifier distances rank the two models on the same features; they are **not comparable
with published FIDs** (Inception-v3 features of other images). The paper's claim, as a
quality bar: the adversarial term lowers the distributional distance even where it raises
the L1 error (`pix2pix_frechet_below_l1_only`, on the classifier features).

Writes to `apps/output/image_to_image/`: `side_by_side.png` (input | L1 only | pix2pix |
target for 8 test images), `results.json`, and the runs in `runs/` (each with its per-epoch
sample grids, `runs/MODEL/samples/epoch_NNN.png`: input, output and target rows). The
default (U-Net with 16 filters, 8,000 pairs of which 7,200 train, 4 epochs each) takes about
10 minutes on 2 CPU cores shared with another training job (measured 592 s, of which 65 s
train the LeNet-5; 16 minutes when more jobs compete for the cores).

    python apps/image_to_image.py [--epochs 4] [--limit 8000] [--seed 0] [--filters 16]
        [--dataset fashion_mnist_edges|fashion_mnist_inpainting] [--output DIR]

Reference:
    Isola, Zhu, Zhou, Efros. "Image-to-Image Translation with Conditional Adversarial
    Networks", CVPR 2017 (figure 4, table 1); Heusel et al. "GANs Trained by a Two
    Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017 (FID).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser, positive_int  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow
from keras_dl.settings import cli_int

matplotlib.use("Agg")
quiet_tensorflow()

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data, training, visualize  # noqa: E402
from keras_dl.evaluation.generative import (  # noqa: E402
    classifier_features,
    frechet_distance,
    label_accuracy,
)

DATASETS = ("fashion_mnist_edges", "fashion_mnist_inpainting")
MODELS = {"unet_translation": "L1 only", "pix2pix": "pix2pix (cGAN + 100·L1)"}
CLASSIFIER = {"model": "lenet5", "dataset": "fashion_mnist", "epochs": 2}
SHOWN = 8


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=4)
    parser.add_argument("--limit", type=positive_int, default=8_000,
                        help="first N training pairs (and at most N test pairs)")
    parser.add_argument("--dataset", default=DATASETS[0], choices=DATASETS)
    parser.add_argument("--seed", type=cli_int(0, "non-negative"), default=0)
    parser.add_argument("--filters", type=positive_int, default=16,
                        help="the U-Net's first width (the paper's 64)")
    parser.add_argument("--classifier-limit", type=positive_int,
                        help="first N Fashion-MNIST examples for the feature classifier "
                        "(default: all 60,000)")
    parser.add_argument("--output", default="apps/output/image_to_image")
    return parser.parse_args(argv)


def train_translators(args, runs: Path) -> dict:
    """Both models trained with the same settings: `{name: TrainResult}`. Early stopping
    cannot end the L1 run early (patience = epochs), so both train every epoch."""
    results = {}
    for name in MODELS:
        results[name] = training.train(
            name, dataset=args.dataset, run_dir=runs / name, overwrite=True,
            epochs=args.epochs, limit=args.limit, seed=args.seed, patience=args.epochs,
            lr_schedule="constant", builder_kwargs={"filters": args.filters}, verbose=2)
        print(f"{name}: test L1 {results[name].metrics['test_l1']:.4f} in "
              f"{results[name].metrics['train_seconds']:.0f} s", flush=True)
    return results


def feature_classifier(runs: Path, seed: int, limit) -> tuple[keras.Model, float]:
    """`(classifier, test accuracy)`: LeNet-5 on Fashion-MNIST, reused from `runs/classifier`
    when a finished run with the same settings is there."""
    run = runs / "classifier"
    wanted = {**CLASSIFIER, "seed": seed, "limit": limit}
    try:
        config = json.loads((run / "config.json").read_text())
        metrics = json.loads((run / "metrics.json").read_text())
        if {key: config.get(key) for key in wanted} == wanted:
            return keras.saving.load_model(run / "model.keras"), metrics["test_accuracy"]
    except (OSError, ValueError, KeyError):
        pass
    result = training.train(CLASSIFIER["model"], dataset=CLASSIFIER["dataset"],
                            epochs=CLASSIFIER["epochs"], run_dir=run, overwrite=True, seed=seed,
                            limit=limit, verbose=2)
    return result.model, result.metrics["test_accuracy"]


def plot_side_by_side(columns: dict, path, title):
    """One row per test pair, one column per entry of `columns` (title → images)."""
    count = len(next(iter(columns.values())))
    figure, axes = plt.subplots(count, len(columns), figsize=(1.6 * len(columns), 1.6 * count))
    for column, (heading, images) in enumerate(columns.items()):
        for row in range(count):
            axis = axes[row, column]
            axis.imshow(np.clip(images[row, ..., 0], 0, 1), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(heading, fontsize=9)
    figure.suptitle(title, fontsize=10)
    visualize.save_figure(figure, path)


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    output = Path(args.output)
    runs = output / "runs"
    output.mkdir(parents=True, exist_ok=True)

    translators = train_translators(args, runs)
    classifier, classifier_accuracy = feature_classifier(runs, args.seed, args.classifier_limit)
    features = classifier_features(classifier)

    inputs, targets = data.load_numpy(args.dataset, "test", limit=args.limit)
    _, labels = data.load_numpy("fashion_mnist", "test", limit=args.limit)  # the pairs' classes
    target_features = features.predict(targets, batch_size=256, verbose=0)
    rows, outputs = {}, {}
    for name, result in translators.items():
        outputs[name] = result.model.predict(inputs, batch_size=256, verbose=0)
        rows[name] = {
            "test_l1": round(result.metrics["test_l1"], 5),
            "pixel_frechet_distance": round(result.metrics["test_pixel_frechet_distance"], 3),
            "classifier_frechet_distance": round(frechet_distance(
                features.predict(outputs[name], batch_size=256, verbose=0), target_features), 4),
            "classifier_accuracy_on_outputs": round(label_accuracy(classifier, outputs[name],
                                                                   labels), 4),
            "train_seconds": round(result.metrics["train_seconds"], 1),
            "sample_grids": sorted(str(p) for p in (result.run_dir / "samples").glob("*.png")),
        }
    plot_side_by_side({"input": inputs[:SHOWN],
                       **{MODELS[name]: images[:SHOWN] for name, images in outputs.items()},
                       "target": targets[:SHOWN]},
                      output / "side_by_side.png",
                      f"{args.dataset}, test pairs; {args.epochs} epochs each")
    pix2pix, l1_only = rows["pix2pix"], rows["unet_translation"]
    results = {
        "experiment": "Isola et al. 2017: one U-Net trained on L1 alone and as pix2pix "
                      "(conditional PatchGAN + 100·L1); the same data, seed and epochs",
        "dataset": args.dataset, "epochs": args.epochs, "limit": args.limit, "seed": args.seed,
        "filters": args.filters,
        "train_examples": translators["pix2pix"].metrics["train_examples"],
        "test_examples": int(len(inputs)),
        "models": rows,
        "classifier": {**CLASSIFIER, "limit": args.classifier_limit,
                       "features": f"the output of layer {features.layers[-1].name!r}",
                       "test_accuracy": round(classifier_accuracy, 4),
                       "accuracy_on_test_targets": round(label_accuracy(classifier, targets,
                                                                        labels), 4)},
        "note": "Fréchet distances on pixels and on a LeNet-5's features rank the two models "
                "on the same test images; they are not comparable with published FIDs",
        "quality_bars": {
            "pix2pix_frechet_below_l1_only": bool(pix2pix["classifier_frechet_distance"]
                                                   < l1_only["classifier_frechet_distance"]),
        },
        "seconds": round(time.time() - started, 1),
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, row in rows.items():
        print(f"{MODELS[name]:>24}: L1 {row['test_l1']:.4f}, Fréchet on pixels "
              f"{row['pixel_frechet_distance']:.2f}, on LeNet-5 features "
              f"{row['classifier_frechet_distance']:.3f}")
    print(f"quality bars: {results['quality_bars']}; figures and results.json in {output}")
    return results


if __name__ == "__main__":
    main()
    sys.exit(0)
