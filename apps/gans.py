"""Lecture 004's GANs side by side on Fashion-MNIST: GAN vs DCGAN vs conditional GAN, with a VAE of
similar size as the reference point; samples over training, a Fréchet distance per epoch and
mode coverage.

Trains, on the same Fashion-MNIST images with the same epochs, batch size and seed:

- `gan` (Goodfellow et al. 2014, "Generative Adversarial Nets"): MLP generator and
  discriminator;
- `dcgan` (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with Deep
  Convolutional GANs"): transposed convolutions with batch norm;
- `conditional_gan` (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"): the
  label joined to the noise and to the image, MLPs as in the paper;
- `conditional_dcgan`: the same label conditioning on the DCGAN's convolutional networks (the
  label a plane of the discriminator's input);
- `vae` (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"): the dense VAE
  784-512-16, about as many weights as the generators (0.83 M; the DCGAN's generator has
  0.86 M, the GAN's 0.56 M), sampled by decoding `z ~ N(0, I)` from the prior.

Every model is trained by `keras_dl.training.train` with its registered optimizer settings
(Adam at 2e-4 with β₁ = 0.5 for the GANs, Radford et al.'s; Adam at 1e-3 for the VAE), a
constant learning rate (the papers'), and one batch size (32) for all, so every model gets the
same number of updates (on CPU a GAN's progress is counted in updates; 32 gives twice as many
as 64 for about the same time); the VAE's early stopping is off (patience = epochs), as the
GANs have none.

The measures (`keras_dl.evaluation.sample_scores`, recorded after every epoch by the
`keras_dl.training.generative_scores.GenerativeScores` callback):

- the **Fréchet distance** between 1,000 samples and the 10,000 test images (Heusel et al.
  2017's formula), computed on the 84 features a small classifier (LeNet-5, trained here for
  2 epochs on the training images) feeds its output layer. These features are a stand-in for
  FID's Inception-v3 features, so the distances rank these models against each other and are
  **not comparable with published FIDs**; the distance of 1,000 real training images is
  recorded as the floor;
- **mode coverage**: the share of the 1,000 samples the classifier assigns to each class;
- for the conditional GANs, the **label accuracy**: the share of its samples (100 per class)
  the classifier assigns to the label they were asked for (real test images score the
  classifier's test accuracy).

The samples come from the same noise every epoch. Quality bars, checked on the last epoch:
the DCGAN's Fréchet distance below the VAE's; each conditional GAN's label accuracy ≥ 85 %;
each unconditional GAN's samples in all 10 classes, none above 25 %.

Writes to `apps/output/gans/`: `samples_over_training.png` (each model's samples at a few
epochs, fixed noise), `frechet_per_epoch.png`, `mode_coverage.png` (class shares per model at
the last epoch), `results.json` (every measure per epoch and model, parameter counts, the
quality bars) and the runs (`runs/MODEL/`, with the GANs' sample grid per epoch). The
default (the first 10,000 training images, 5 epochs, 1,400 updates; the classifier on all
60,000) took 19 minutes (18 min 49 s) on 2 AMD EPYC cores shared with other work (load
average about 12, this run getting 43 % of a core's time), 11 of them the DCGAN's.

    python apps/gans.py [--epochs 5] [--limit 10000]
                        [--models gan dcgan conditional_gan conditional_dcgan vae]
                        [--seed 0] [--classifier-epochs 2] [--classifier-limit N]
                        [--output apps/output/gans]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import matplotlib
import matplotlib.ticker

from keras_dl.cli_inputs import ArgumentParser, positive_int  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data, training, visualize  # noqa: E402
from keras_dl.evaluation.sample_scores import SampleScorer  # noqa: E402
from keras_dl.models import autoencoders  # noqa: E402
from keras_dl.tasks.gan_samples import tile  # noqa: E402
from keras_dl.training.generative_scores import GenerativeScores  # noqa: E402

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot")
# the models compared, with the builder arguments that differ from the registered defaults
MODELS = {"gan": {}, "dcgan": {}, "conditional_gan": {}, "conditional_dcgan": {},
          "vae": {"latent_dim": 16}}
UNCONDITIONAL_GANS = ("gan", "dcgan")
CONDITIONAL_GANS = ("conditional_gan", "conditional_dcgan")
COLOURS = {"gan": "tab:blue", "dcgan": "tab:orange", "conditional_gan": "tab:green",
           "conditional_dcgan": "tab:red",
           "vae": "tab:gray"}
BATCH_SIZE = 32
SAMPLES = 1000  # unconditional samples scored per epoch
PER_CLASS = 100  # conditional samples per class
LABEL_ACCURACY_BAR, LARGEST_SHARE_BAR = 0.85, 0.25


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=5, help="epochs of every model")
    parser.add_argument("--limit", type=positive_int, default=10000,
                        help="first N training and test images of the generative models "
                        "(default 10000)")
    parser.add_argument("--classifier-limit", type=positive_int, default=None,
                        help="first N training and test images of the feature classifier "
                        "(default: all)")
    parser.add_argument("--classifier-epochs", type=positive_int, default=2)
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        metavar="MODEL", help=f"any of {', '.join(MODELS)} (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/gans")
    args = parser.parse_args(argv)
    if args.limit < 2 * BATCH_SIZE:
        parser.error(f"--limit must be at least {2 * BATCH_SIZE} (two batches), got "
                     f"{args.limit}")
    if args.classifier_limit is not None and args.classifier_limit < 20:
        parser.error(f"--classifier-limit must be at least 20, got {args.classifier_limit}")
    args.models = list(dict.fromkeys(args.models))  # once each, in the order given
    return args


def train_classifier(args, output):
    """LeNet-5 on Fashion-MNIST: the classifier whose features and classes score the samples."""
    result = training.train("lenet5", dataset="fashion_mnist", run_dir=output / "runs" / "lenet5",
                            overwrite=True, epochs=args.classifier_epochs, seed=args.seed,
                            limit=args.classifier_limit, verbose=0)
    print(f"feature classifier lenet5: test accuracy {result.metrics['test_accuracy']:.4f}")
    return result


def parameter_counts(name, model):
    """The weights of what generates (the generator, the VAE's decoder) and of what is
    trained with it (the discriminator, the VAE's encoder)."""
    if name == "vae":
        return {"decoder": autoencoders.decoder(model).count_params(),
                "whole_vae": model.count_params()}
    discriminator = keras_dl.model_info(name).task_options["discriminator"](model)
    return {"generator": model.count_params(), "discriminator": discriminator.count_params()}


def train_model(name, args, scorer, output):
    scores = GenerativeScores(scorer, output / "runs" / name / "generative_scores.json",
                              count=SAMPLES, per_class=PER_CLASS, keep=10, seed=args.seed)
    start = time.perf_counter()
    result = training.train(name, dataset="fashion_mnist", run_dir=output / "runs" / name,
                            overwrite=True, epochs=args.epochs, batch_size=BATCH_SIZE,
                            lr_schedule="constant", patience=args.epochs, limit=args.limit,
                            seed=args.seed, verbose=0,
                            builder_kwargs=MODELS[name] or None, extra_callbacks=[scores])
    seconds = time.perf_counter() - start
    last = scores.rows[-1]
    line = (f"{name:>15}: Fréchet distance {last['frechet_distance']:8.2f}, classes covered "
            f"{last['classes_covered']}, largest share {last['largest_class_share']:.3f}")
    if "label_accuracy" in last:
        line += f", label accuracy {last['label_accuracy']:.3f}"
    print(line + f" ({seconds:.0f} s)")
    return {"builder_kwargs": MODELS[name], "parameters": parameter_counts(name, result.model),
            "seconds": round(seconds, 1), "train_seconds": result.metrics["train_seconds"],
            "per_epoch": scores.rows, "last": last}, scores.samples


def quality_bars(runs):
    """The three bars on the last epoch, each over every model it concerns that was run (both
    conditional GANs, both unconditional ones); None where none was run."""
    final = {name: run["last"] for name, run in runs.items()}
    dcgan_beats_vae = (final["dcgan"]["frechet_distance"] < final["vae"]["frechet_distance"]
                       if {"dcgan", "vae"} <= set(final) else None)
    labelled = [final[name]["label_accuracy"] >= LABEL_ACCURACY_BAR
                for name in CONDITIONAL_GANS if name in final]
    covering = [final[name]["classes_covered"] == len(CLASSES)
                and final[name]["largest_class_share"] <= LARGEST_SHARE_BAR
                for name in UNCONDITIONAL_GANS if name in final]
    return {"dcgan_frechet_below_vae": dcgan_beats_vae,
            "conditional_label_accuracy_at_least_85_percent":
                all(labelled) if labelled else None,
            "unconditional_samples_cover_all_10_classes_none_above_25_percent":
                all(covering) if covering else None}


def shown_epochs(epochs, columns=4):
    """Up to `columns` epochs from the first to the last, evenly spread."""
    return sorted({int(round(e)) for e in np.linspace(1, epochs, min(epochs, columns))})


def plot_samples(samples, epochs, path):
    shown = shown_epochs(epochs)
    figure, axes = plt.subplots(len(samples), len(shown), squeeze=False,
                                figsize=(2.9 * len(shown), 1.55 * len(samples) + 0.6))
    for row, (name, by_epoch) in enumerate(samples.items()):
        for column, epoch in enumerate(shown):
            axis = axes[row, column]
            axis.imshow(tile(by_epoch[epoch], 2, 5), cmap="gray", vmin=0, vmax=255,
                        interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(f"epoch {epoch}")
            if column == 0:
                axis.set_ylabel(name)
    figure.suptitle("Samples from fixed noise over training (conditional GAN: one per class, "
                    "0–9)")
    visualize.save_figure(figure, path)


def plot_frechet(runs, floor, path):
    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    for name, run in runs.items():
        rows = run["per_epoch"]
        axis.plot([r["epoch"] for r in rows], [r["frechet_distance"] for r in rows], marker="o",
                  color=COLOURS[name], label=name)
    axis.axhline(floor, color="black", linestyle=":", label="1,000 real training images")
    axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axis.set(xlabel="epoch", ylabel="Fréchet distance (LeNet-5 features; not an FID)",
             yscale="log", title="Fréchet distance of 1,000 samples to the test images")
    axis.legend()
    axis.grid(alpha=0.3, which="both")
    visualize.save_figure(figure, path)


def plot_coverage(runs, real_shares, path):
    figure, axis = plt.subplots(figsize=(11, 4.5))
    series = {**{name: run["last"]["class_shares"] for name, run in runs.items()},
              "real test images": real_shares}
    width = 0.8 / len(series)
    for index, (name, shares) in enumerate(series.items()):
        axis.bar(np.arange(len(CLASSES)) + (index - (len(series) - 1) / 2) * width, shares,
                 width, label=name, color=COLOURS.get(name, "black"),
                 alpha=0.35 if name not in COLOURS else 1.0)
    axis.axhline(0.1, color="black", linewidth=0.8, label="uniform (10 %)")
    axis.axhline(LARGEST_SHARE_BAR, color="tab:red", linestyle="--", linewidth=0.8,
                 label="bar: none above 25 %")
    axis.set_xticks(np.arange(len(CLASSES)), CLASSES, rotation=20)
    axis.set(ylabel="share of the samples", title="Mode coverage at the last epoch: the "
             "class LeNet-5 assigns to each sample")
    axis.legend(fontsize=8, ncol=2)
    visualize.save_figure(figure, path)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    classifier = train_classifier(args, output)
    x_test, _ = data.load_numpy("fashion_mnist", "test", limit=args.limit)
    scorer = SampleScorer(classifier.model, x_test)
    x_real, _ = data.load_numpy("fashion_mnist", "train", limit=SAMPLES)
    real = scorer(x_real)  # the floor: real images at the same sample size
    print(f"{'real images':>15}: Fréchet distance {real['frechet_distance']:8.2f}")
    runs, samples = {}, {}
    for name in args.models:
        runs[name], samples[name] = train_model(name, args, scorer, output)

    plot_samples(samples, args.epochs, output / "samples_over_training.png")
    plot_frechet(runs, real["frechet_distance"], output / "frechet_per_epoch.png")
    test_shares = np.bincount(np.asarray(scorer.network.predict(x_test, verbose=0)[1])
                              .argmax(1), minlength=len(CLASSES)) / len(x_test)
    plot_coverage(runs, test_shares.tolist(), output / "mode_coverage.png")
    bars = quality_bars(runs)
    results = {
        "experiment": "lecture 004: GAN vs DCGAN vs conditional GAN on Fashion-MNIST, with a "
                      "VAE of similar size as the reference point",
        "measures": "Fréchet distance (Heusel et al. 2017's formula) between samples and the "
                    "test images on the features LeNet-5 feeds its output layer, a stand-in "
                    "for FID's Inception features: not comparable with published FIDs; class "
                    "shares of the samples by the same classifier (mode coverage); for the "
                    "conditional GAN the share assigned to the asked label",
        "dataset": "fashion_mnist", "training_images": args.limit, "epochs": args.epochs,
        "batch_size": BATCH_SIZE, "seed": args.seed, "samples_per_epoch": SAMPLES,
        "conditional_samples_per_class": PER_CLASS, "test_images": len(x_test),
        "classifier": {"model": "lenet5", "epochs": args.classifier_epochs,
                       "training_images": args.classifier_limit or "all",
                       "test_accuracy": classifier.metrics["test_accuracy"]},
        "real_images": {"count": len(x_real), **real},
        "models": runs,
        "quality_bars": bars,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    (output / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print("quality bars: " + ", ".join(f"{key} {value}" for key, value in bars.items()))
    print(f"figures and results.json in {output} ({results['wall_seconds']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
    sys.exit(0)
