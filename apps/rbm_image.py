"""Lecture 003's "RBM for an image" and "Feature maps for an image using RBM", and homework task 2.

The demo: an RBM with 49 hidden units is trained by CD-1 on the 10×10 patches of one photograph
(a 200×200 grey crop of scikit-learn's `china.jpg`); its 49 weight images are shown as a 7×7
grid, and the photograph, and an unseen one (`flower.jpg`), are rebuilt from the RBM's
reconstructions of their patches: from binary hidden features (a Bernoulli sample of h) and
from real-valued ones (the probabilities Q(h | v)), the patches put back as tiles (stride 10)
or overlapping (stride 5, averaged). Two RBMs: Bernoulli visible units on grey levels in
[0, 1], and Gaussian visible units on standardised grey levels. Errors are the mean squared
error per pixel in grey levels of [0, 1], whatever the RBM's input scale.

Homework task 2 ("train on an image of one category, reconstruct one of another"): the RBM
sees only the left three quarters of the training photograph, so the error is measured on the
seen region, on the held-out right quarter of the same photograph, and on the other photograph.
Beside them: the variance of each (the error of painting it in its mean grey level) and the
error of painting each patch in its own mean grey level, the baseline an RBM must beat.

The feature maps: the Bernoulli RBM turned into a convolution (`keras_dl.layers.rbm_to_conv2d`)
gives 49 feature maps of the 200×200 photograph (191×191: every 10×10 patch), then 4×4 max and
average pooling of them with stride 4, as the lecture shows.

Writes to `apps/output/rbm_image/`: `weights_bernoulli.png`, `weights_gaussian.png`,
`reconstructions_stride10.png`, `reconstructions_stride5.png`, `feature_maps.png`,
`feature_maps_max_pool.png`, `feature_maps_average_pool.png` and `results.json`. About two
minutes on 2 CPU cores; `--quick` runs in seconds.

    python apps/rbm_image.py [--train-image china] [--test-image flower] [--patch 10]
                             [--units 49] [--size 200] [--quick] [--output DIR]
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

from keras_dl import visualize  # noqa: E402
from keras_dl.data.patches import (  # noqa: E402
    PHOTOGRAPHS,
    assemble_patches,
    extract_patches,
    grey_photograph,
)
from keras_dl.layers import RBM, rbm_to_conv2d  # noqa: E402

# per visible type: SGD learning rate (Gaussian units need a smaller one: Hinton 2010 §13.2)
LEARNING_RATES = {"bernoulli": 0.1, "gaussian": 0.01}
FEATURES = ("binary", "real")
MAX_SIZE = 213  # the halved photographs are 213×320
POOL = 4


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-image", default="china", choices=PHOTOGRAPHS)
    parser.add_argument("--test-image", default="flower", choices=PHOTOGRAPHS)
    parser.add_argument("--size", type=int, default=200,
                        help=f"side of the grey centre crop, up to {MAX_SIZE}")
    parser.add_argument("--patch", type=int, default=10, help="patch side k (k×k patches)")
    parser.add_argument("--overlap-stride", type=int, default=5,
                        help="stride of the overlapping reconstruction (below --patch)")
    parser.add_argument("--units", type=int, default=49, help="hidden units")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run (seconds): an 80×80 crop, 1 epoch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/rbm_image")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.epochs = 80, 1
    for name in ("size", "patch", "overlap_stride", "units", "epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} {getattr(args, name)} is not allowed; "
                         "give a positive integer")
    if args.size > MAX_SIZE:
        parser.error(f"--size {args.size} is larger than the halved photographs; allowed: 1 to "
                     f"{MAX_SIZE}")
    held_out = args.size // 4
    if not 2 <= args.patch <= held_out:
        parser.error(f"--patch {args.patch} does not fit: patches overlap from 2 px and must fit "
                     f"the held-out strip ({held_out} px, a quarter of --size {args.size}); "
                     f"allowed: 2 to {held_out}")
    if args.overlap_stride >= args.patch:
        parser.error(f"--overlap-stride {args.overlap_stride} does not overlap patches of "
                     f"{args.patch} px; allowed: 1 to {args.patch - 1}")
    return args


# === Data: photographs, patches, the scale each RBM sees ===

class PixelScale:
    """Grey levels in [0, 1] ↔ what an RBM sees: themselves (Bernoulli) or standardised by the
    training region's mean and standard deviation (Gaussian)."""

    def __init__(self, visible, training_pixels):
        gaussian = visible == "gaussian"
        self.mean = float(np.mean(training_pixels)) if gaussian else 0.0
        self.std = float(np.std(training_pixels)) if gaussian else 1.0

    def to_rbm(self, x):
        return ((x - self.mean) / self.std).astype("float32")

    def to_grey(self, x):
        return x * self.std + self.mean


def flat_patches(image, patch, stride):
    return extract_patches(image, patch, stride).reshape(-1, patch * patch)


# === Training and reconstruction ===

def train_rbm(patches, visible, args):
    keras.utils.set_random_seed(args.seed)
    inputs = keras.Input((patches.shape[1],))
    layer = RBM(args.units, visible=visible, seed=args.seed, name="rbm")
    model = keras.Model(inputs, layer(inputs))
    model.compile(keras.optimizers.SGD(LEARNING_RATES[visible], momentum=0.5),
                  steps_per_execution=32)
    start = time.perf_counter()
    history = model.fit(patches, epochs=args.epochs, batch_size=32, shuffle=True,
                        verbose=0).history
    return layer, history, time.perf_counter() - start


def reconstruct_patches(layer, patches, features):
    """Each patch rebuilt as `P(v | h)` from binary `h ~ Q(h | v)` or real-valued `Q(h | v)`."""
    if features == "binary":
        return np.asarray(layer.visible_probabilities(layer.sample_hidden(patches)))
    return np.asarray(layer.reconstruct(patches))


def reconstruct_image(layer, scale, image, features, patch, stride):
    """The grey image rebuilt from the RBM's reconstructions of its patches (overlaps averaged)."""
    patches = flat_patches(scale.to_rbm(image), patch, stride)
    rebuilt = reconstruct_patches(layer, patches, features).reshape(-1, patch, patch)
    return np.clip(scale.to_grey(assemble_patches(rebuilt, image.shape, stride)), 0, 1)


def patch_mean_image(image, patch, stride):
    """The baseline: every patch rebuilt as its own mean grey level (one number per patch)."""
    patches = extract_patches(image, patch, stride)
    means = np.broadcast_to(patches.mean(axis=(1, 2), keepdims=True), patches.shape)
    return assemble_patches(means, image.shape, stride)


def regions(train_image, test_image, cut):
    """The four images the errors are measured on (homework task 2)."""
    return {"train_image": train_image, "seen_region": train_image[:, :cut],
            "held_out_region": train_image[:, cut:], "other_image": test_image}


def mse(a, b):
    return float(np.mean((np.asarray(a, "float64") - b) ** 2))


# === Figures ===

def plot_reconstructions(rows, path, stride, names):
    """`rows`: {visible: [(title, image), ...]} drawn one row per RBM."""
    columns = len(next(iter(rows.values())))
    figure, axes = plt.subplots(len(rows), columns, figsize=(2.4 * columns, 2.7 * len(rows)),
                                squeeze=False)
    for r, (visible, panels) in enumerate(rows.items()):
        for c, (title, image) in enumerate(panels):
            axes[r, c].imshow(image, cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_title(title, fontsize=8)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(f"{visible} RBM")
    how = "tiled patches" if stride == names["patch"] else "overlapping patches, averaged"
    figure.suptitle(f"Trained on {names['train']} (left ¾), reconstructing it and the unseen "
                    f"{names['test']}: {how} (stride {stride})")
    visualize.save_figure(figure, path, dpi=100)


def feature_maps(layer, image, patch):
    """The RBM's hidden probabilities at every patch position, and their 4×4 pools."""
    conv = rbm_to_conv2d(layer, patch, output="probabilities")
    maps = conv(image[None, :, :, None].astype("float32"))
    pooled_max = keras.layers.MaxPooling2D(POOL, strides=POOL)(maps)
    pooled_average = keras.layers.AveragePooling2D(POOL, strides=POOL)(maps)
    return tuple(np.moveaxis(np.asarray(x)[0], -1, 0)  # (units, height, width)
                 for x in (maps, pooled_max, pooled_average))


# === The experiment ===

def rebuild_and_measure(layer, scale, images, cut, features, patch, stride):
    """Both photographs rebuilt whole, and the errors of homework task 2: on the whole training
    photograph, its seen (left) and held-out (right) regions each rebuilt on their own, and the
    other photograph."""
    rebuilt = {name: reconstruct_image(layer, scale, image, features, patch, stride)
               for name, image in regions(*images, cut).items()}
    errors = {name: mse(rebuilt[name], image) for name, image in regions(*images, cut).items()}
    return [rebuilt["train_image"], rebuilt["other_image"]], errors


def run_rbm(visible, train_image, test_image, cut, args, output):
    scale = PixelScale(visible, train_image[:, :cut])
    patches = flat_patches(scale.to_rbm(train_image[:, :cut]), args.patch, 1)
    layer, history, seconds = train_rbm(patches, visible, args)
    visualize.save_image_grid(
        visualize.kernel_images(np.asarray(layer.kernel), (args.patch, args.patch)),
        output / f"weights_{visible}.png",
        title=f"{visible} RBM: {args.units} weights of {args.patch}×{args.patch} patches")
    errors, panels = {}, {}
    for stride in (args.patch, args.overlap_stride):
        errors[f"stride_{stride}"], panels[stride] = {}, []
        for features in FEATURES:
            rebuilt, errors[f"stride_{stride}"][features] = rebuild_and_measure(
                layer, scale, (train_image, test_image), cut, features, args.patch, stride)
            panels[stride] += [(f"{args.train_image}, {features} h", rebuilt[0]),
                               (f"{args.test_image}, {features} h", rebuilt[1])]
    return layer, panels, {
        "learning_rate": LEARNING_RATES[visible],
        "pixel_mean": scale.mean, "pixel_std": scale.std,
        "train_patches": len(patches),
        "train_seconds": round(seconds, 2),
        "final_reconstruction_error": float(history["reconstruction_error"][-1]),
        "errors": errors,
    }


def print_table(results):
    print(f"{'RBM':9} | {'stride':6} | {'features':8} | {'whole train image':17} | "
          f"{'seen region':11} | {'held-out region':15} | other image")
    for visible, row in results["rbms"].items():
        for stride, by_features in row["errors"].items():
            for features, e in by_features.items():
                print(f"{visible:9} | {stride[7:]:6} | {features:8} | {e['train_image']:17.5f} | "
                      f"{e['seen_region']:11.5f} | {e['held_out_region']:15.5f} | "
                      f"{e['other_image']:.5f}")
    v = results["pixel_variance"]
    print(f"{'(variance: MSE of the mean grey level)':36} | {v['train_image']:17.5f} | "
          f"{v['seen_region']:11.5f} | {v['held_out_region']:15.5f} | {v['other_image']:.5f}")
    for stride, e in results["patch_mean_baseline"].items():
        label = f"(each patch as its mean, stride {stride[7:]})"
        print(f"{label:36} | {e['train_image']:17.5f} | {e['seen_region']:11.5f} | "
              f"{e['held_out_region']:15.5f} | {e['other_image']:.5f}")


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    train_image = grey_photograph(args.train_image, size=args.size)
    test_image = grey_photograph(args.test_image, size=args.size)
    cut = args.size - args.size // 4  # the right quarter is held out
    results = {"experiment": "lecture 003 RBM for an image, its feature maps, homework task 2",
               "quick": args.quick, "seed": args.seed, "train_image": args.train_image,
               "test_image": args.test_image, "size": args.size, "patch": args.patch,
               "units": args.units, "epochs": args.epochs, "held_out_columns": [cut, args.size],
               "error": "mean squared error per pixel, grey levels in [0, 1]",
               # the error of rebuilding every pixel as its region's mean grey level
               "pixel_variance": {name: float(np.var(image)) for name, image
                                  in regions(train_image, test_image, cut).items()},
               # the error of rebuilding every patch as its own mean grey level
               "patch_mean_baseline": {
                   f"stride_{stride}": {
                       name: mse(patch_mean_image(image, args.patch, stride), image)
                       for name, image in regions(train_image, test_image, cut).items()}
                   for stride in (args.patch, args.overlap_stride)},
               "rbms": {}}
    start, panels_by_stride = time.perf_counter(), {}
    for visible in LEARNING_RATES:
        layer, panels, results["rbms"][visible] = run_rbm(visible, train_image, test_image, cut,
                                                          args, output)
        for stride, row in panels.items():
            panels_by_stride.setdefault(stride, {})[visible] = [
                ("original", train_image), ("unseen", test_image), *row]
        if visible == "bernoulli":
            maps, pooled_max, pooled_average = feature_maps(layer, train_image, args.patch)
    names = {"train": args.train_image, "test": args.test_image, "patch": args.patch}
    for stride, rows in panels_by_stride.items():
        plot_reconstructions(rows, output / f"reconstructions_stride{stride}.png", stride, names)
    for images, file, what in ((maps, "feature_maps", "feature maps"),
                               (pooled_max, "feature_maps_max_pool", "maps, 4×4 max pooled"),
                               (pooled_average, "feature_maps_average_pool",
                                "maps, 4×4 average pooled")):
        visualize.save_image_grid(images, output / f"{file}.png",
                                  title=f"{args.train_image}: {args.units} {what} "
                                        f"({images.shape[1]}×{images.shape[2]} each)")
    results["feature_maps"] = {"maps": list(maps.shape), "max_pool": list(pooled_max.shape),
                               "average_pool": list(pooled_average.shape)}
    results["seconds"] = round(time.perf_counter() - start, 2)
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
