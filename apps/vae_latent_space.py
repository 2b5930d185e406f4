"""Lecture 004's three latent spaces of a 2-D VAE on Fashion-MNIST, a decoded latent grid,
and the ELBO on the test set.

The lecture shows the latent space of an MNIST VAE "optimized only for reconstruction loss"
(clusters pushed apart, gaps between them), "only for divergence loss" (everything collapsed
onto the prior, classes mixed) and for both (compact and continuous). This script trains the
same dense VAE (784-512-2, Bernoulli decoder on pixel intensities) three times — β = 0 (recon-
struction only), reconstruction weight 0 (KL only), and the full ELBO — and writes to
`apps/output/vae_latent_space/`:

- `latent_spaces.png`: the test images' `z_mean` for the three models, coloured by class;
- `latent_grid.png`: images decoded from a 15×15 grid over the latent plane of the full VAE
  (at the N(0, 1) quantiles 0.05…0.95, as Kingma & Welling's figure 4);
- `results.json`: the test-set ELBO in nats per image (Bernoulli likelihood of the grey-level
  intensities, i.e. binary cross-entropy summed over 784 pixels, 10 draws of z per image;
  KL exact) for each model, and its two terms.

About 3 minutes on 2 shared CPU cores at the defaults (20 000 images, 20 epochs); `--quick`
runs in seconds.

    python apps/vae_latent_space.py [--epochs 20] [--limit 20000] [--quick] [--output DIR]
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2
from keras_dl.quiet import quiet_tensorflow

matplotlib.use("Agg")
quiet_tensorflow()

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data, visualize  # noqa: E402
from keras_dl.evaluation import evidence_lower_bound  # noqa: E402
from keras_dl.models import autoencoders as ae  # noqa: E402

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot")
VARIANTS = {
    "reconstruction only (β = 0)": {"beta": 0.0},
    "KL divergence only": {"reconstruction_weight": 0.0},
    "reconstruction + KL (the VAE)": {},
}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--limit", type=int, default=20000, help="training images used")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=10, help="draws of z for the ELBO")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 epoch, 512 images")
    parser.add_argument("--output", default="apps/output/vae_latent_space")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.limit, args.samples = 1, 512, 1
    for name in ("epochs", "limit", "batch_size", "samples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    return args


def plot_latent_spaces(latents, labels, path):
    figure, axes = plt.subplots(1, len(latents), figsize=(6 * len(latents), 5.6))
    for axis, (title, z) in zip(axes, latents.items()):
        points = axis.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5,
                              vmax=9.5)
        axis.set_title(title)
        axis.set_xlabel("z₁ (mean of q(z|x))")
        axis.set_ylabel("z₂")
    colorbar = figure.colorbar(points, ax=axes, ticks=range(10))
    colorbar.ax.set_yticklabels(CLASSES)
    figure.suptitle("Latent space of a 2-D VAE on Fashion-MNIST test images, by training loss")
    visualize.save_figure(figure, path, dpi=110, tight="bbox")


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    x_train, _ = data.load_numpy("fashion_mnist", "train", limit=args.limit)
    x_test, y_test = data.load_numpy("fashion_mnist", "test", limit=None if not args.quick
                                     else 1000)

    latents, results, models = {}, {}, {}
    for title, kwargs in VARIANTS.items():
        keras.utils.set_random_seed(args.seed)
        model = keras_dl.create_model("vae", latent_dim=2, seed=args.seed, **kwargs)
        model.compile(keras.optimizers.Adam(1e-3))
        start = time.perf_counter()
        with warnings.catch_warnings():  # KL only: the decoder gets no gradient, by design
            warnings.filterwarnings("ignore", message="Gradients do not exist")
            history = model.fit(x_train, epochs=args.epochs, batch_size=args.batch_size,
                                validation_split=0.1, verbose=0).history
        seconds = time.perf_counter() - start
        z_mean, _ = ae.encoder(model).predict(x_test, batch_size=1000, verbose=0)
        latents[title] = z_mean
        bound = evidence_lower_bound(model, x_test, samples=args.samples, seed=args.seed)
        results[title] = {**kwargs, **bound, "final_val_loss": history["val_loss"][-1],
                          "train_seconds": round(seconds, 1)}
        models[title] = model
        print(f"{title:32s} test ELBO {bound['elbo']:9.2f} nats  "
              f"(−log p(x|z) {bound['reconstruction_nll']:.2f}, KL {bound['kl']:.2f})")
    plot_latent_spaces(latents, y_test, output / "latent_spaces.png")

    full = models["reconstruction + KL (the VAE)"]
    quantiles = norm.ppf(np.linspace(0.05, 0.95, 15))
    grid = np.array([[a, b] for b in quantiles[::-1] for a in quantiles], dtype="float32")
    images = ae.decoder(full).predict(grid, verbose=0)[..., 0]
    visualize.save_image_grid(
        images, output / "latent_grid.png", grid=(15, 15),
        title="Decoded from a 15×15 grid over the 2-D latent plane (N(0,1) quantiles "
              "0.05…0.95)")

    summary = {
        "experiment": "lecture 004 VAE latent spaces, 2-D dense VAE (784-512-2) on "
                      "Fashion-MNIST",
        "likelihood": "Bernoulli on pixel intensities in [0, 1] (binary cross-entropy summed "
                      "over 784 pixels); ELBO in nats per test image",
        "training_images": len(x_train), "test_images": len(x_test), "epochs": args.epochs,
        "elbo_samples": args.samples,
        "variants": results,
    }
    (output / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
