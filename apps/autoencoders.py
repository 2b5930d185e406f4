"""The autoencoder family of lecture 004 side by side on Fashion-MNIST.

Trains a plain undercomplete autoencoder (32-unit code, untied and tied), a sparse one (256
ReLU units, L1 on the code) beside the same network without the penalty, a contractive one
(256 sigmoid units) beside the same network without the penalty, a denoising one (masking
noise, ν = 0.25) and a convolutional one, then shows

- `reconstructions.png`: test images and each model's reconstruction, row by row;
- `denoising.png`: noisy input / the denoising autoencoder's output / clean target, for
  masking and Gaussian noise;
- `results.json` and the printed table: test reconstruction error of every model; the fraction
  of code units active (h > 0) for the sparse AE and its unpenalised twin; the encoder
  Jacobian's Frobenius norm ‖∂h/∂x‖_F (by autodiff) of the contractive AE and its twin.

About 4 minutes on 2 shared CPU cores at the defaults (20 000 training images, 10 epochs);
`--quick` runs in seconds.

    python apps/autoencoders.py [--epochs 10] [--limit 20000] [--test-limit 2000] [--quick]
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
from keras_dl.evaluation import jacobian_frobenius_norm  # noqa: E402
from keras_dl.layers import corruption_layer  # noqa: E402
from keras_dl.models import autoencoders as ae  # noqa: E402

# name in the table -> (registered builder, builder arguments)
MODELS = {
    "autoencoder (32, untied)": ("autoencoder", {"code_size": 32}),
    "autoencoder (32, tied)": ("autoencoder", {"code_size": 32, "tied": True}),
    "sparse (256 ReLU, λ=1e-3)": ("sparse_autoencoder", {"code_size": 256, "l1": 1e-3}),
    "same, no L1 (256 ReLU)": ("sparse_autoencoder", {"code_size": 256, "l1": 0.0}),
    "contractive (256, λ=0.1)": ("contractive_autoencoder", {"code_size": 256,
                                                             "contractive": 0.1}),
    "same, no penalty (256)": ("contractive_autoencoder", {"code_size": 256,
                                                           "contractive": 0.0}),
    "denoising (256, masking 0.25)": ("denoising_autoencoder", {"code_size": 256}),
    "convolutional (32-64, 8×7×7)": ("conv_autoencoder", {}),
}
SPARSE, SPARSE_TWIN = "sparse (256 ReLU, λ=1e-3)", "same, no L1 (256 ReLU)"
CONTRACTIVE, CONTRACTIVE_TWIN = "contractive (256, λ=0.1)", "same, no penalty (256)"
DENOISING = "denoising (256, masking 0.25)"


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--limit", type=int, default=20000, help="training images used")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-limit", type=int, default=2000, help="test images used")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1 epoch, 256 training and 100 test images")
    parser.add_argument("--output", default="apps/output/autoencoders")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.limit, args.test_limit = 1, 256, 100
    for name in ("epochs", "limit", "test_limit", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    return args


def plot_reconstructions(x, reconstructions, path):
    rows = {"test image": x, **reconstructions}
    figure, axes = plt.subplots(len(rows), 1, figsize=(10, 1.25 * len(rows)))
    for axis, (label, images) in zip(axes, rows.items()):
        axis.imshow(np.concatenate(list(images[..., 0]), axis=1), cmap="gray", vmin=0, vmax=1)
        axis.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle("Fashion-MNIST test images (top) and their reconstructions by each "
                    "autoencoder")
    visualize.save_figure(figure, path, dpi=110)


def plot_denoising(panels, path):
    figure, axes = plt.subplots(len(panels) * 3, 1, figsize=(10, 1.3 * 3 * len(panels)))
    for block, (noise, (noisy, output, clean)) in enumerate(panels.items()):
        for row, (label, images) in enumerate((("noisy input", noisy), ("output", output),
                                               ("clean target", clean))):
            axis = axes[block * 3 + row]
            axis.imshow(np.concatenate(list(images[..., 0]), axis=1), cmap="gray", vmin=0,
                        vmax=1)
            axis.set_ylabel(f"{noise}:\n{label}", rotation=0, ha="right", va="center",
                            fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
    figure.suptitle("Denoising autoencoder (trained with masking noise ν = 0.25): noisy input, "
                    "output, clean target")
    visualize.save_figure(figure, path, dpi=110)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    x_train, _ = data.load_numpy("fashion_mnist", "train", limit=args.limit)
    x_test, _ = data.load_numpy("fashion_mnist", "test", limit=args.test_limit)
    x_fit, _, x_val, _ = data.train_validation_split(x_train, x_train[:, 0, 0, 0], 0.1,
                                                     seed=args.seed)

    trained, rows = {}, {}
    for label, (name, kwargs) in MODELS.items():
        model = keras_dl.create_model(name, seed=args.seed, **kwargs)
        model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy",
                      metrics=[keras.metrics.MeanSquaredError(name="mse")])
        start = time.perf_counter()
        model.fit(x_fit, x_fit, validation_data=(x_val, x_val), epochs=args.epochs,
                  batch_size=args.batch_size, verbose=0)
        seconds = time.perf_counter() - start
        reconstruction = model.predict(x_test, batch_size=500, verbose=0)
        rows[label] = {
            "model": name, "kwargs": kwargs, "parameters": model.count_params(),
            "test_mse": float(np.mean((reconstruction - x_test) ** 2)),
            "test_bce": float(keras.losses.binary_crossentropy(
                x_test.reshape(len(x_test), -1), reconstruction.reshape(len(x_test), -1)
            ).numpy().mean()),
            "train_seconds": round(seconds, 1),
        }
        trained[label] = model
        print(f"{label:32s} test MSE {rows[label]['test_mse']:.4f}  ({seconds:.0f} s)")

    shown = x_test[:10]
    plot_reconstructions(shown, {label: model.predict(shown, verbose=0)
                                 for label, model in trained.items()},
                         output / "reconstructions.png")

    denoiser = trained[DENOISING]
    panels, denoising = {}, {}
    for noise, level in (("masking 0.25", ("masking", 0.25)),
                         ("Gaussian σ=0.3", ("gaussian", 0.3))):
        corrupt = corruption_layer(*level, seed=args.seed)
        noisy = np.clip(np.asarray(corrupt(x_test, training=True)), 0, 1)
        cleaned = denoiser.predict(noisy, batch_size=500, verbose=0)
        panels[noise] = (noisy[:10], cleaned[:10], x_test[:10])
        denoising[noise] = {"noisy_input_mse": float(np.mean((noisy - x_test) ** 2)),
                            "output_mse": float(np.mean((cleaned - x_test) ** 2))}
    plot_denoising(panels, output / "denoising.png")

    active = {label: float((ae.encoder(trained[label]).predict(x_test, verbose=0) > 0).mean())
              for label in (SPARSE, SPARSE_TWIN)}
    jacobian_sample = x_test[:16 if args.quick else 200]  # autodiff: (n, 256, 784) floats
    jacobian = {label: float(jacobian_frobenius_norm(ae.encoder(trained[label]),
                                                     jacobian_sample).mean())
                for label in (CONTRACTIVE, CONTRACTIVE_TWIN)}

    results = {
        "experiment": "lecture 004 autoencoder family on Fashion-MNIST",
        "training_images": len(x_fit), "test_images": len(x_test), "epochs": args.epochs,
        "models": rows,
        "denoising": denoising,
        "sparse_active_fraction": active,
        "contractive_jacobian_frobenius_norm": jacobian,
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\nfraction of code units active (h > 0) on test images: "
          + ", ".join(f"{k}: {v:.3f}" for k, v in active.items()))
    print(f"mean ‖∂h/∂x‖_F on {len(jacobian_sample)} test images: "
          + ", ".join(f"{k}: {v:.3f}" for k, v in jacobian.items()))
    for noise, values in denoising.items():
        print(f"denoising, {noise}: input MSE {values['noisy_input_mse']:.4f} -> output MSE "
              f"{values['output_mse']:.4f}")
    print(f"figures and results.json in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
