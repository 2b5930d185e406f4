"""The lectures' small worked examples on convolution and pooling, computed by Keras layers.

1. Lecture 003, "Subsampling with 2×2 filter and stride 2": max and average pooling of the
   4×4 example `[[1,2,0,3],[4,3,6,5],[3,4,1,2],[2,7,2,0]]` (the slide prints the last average
   as 1.2; it is 1.25).
2. Lecture 003, "All nodes share the same weight matrix": a convolution `A_ij = Σ W_kl
   X_{i+k, j+l}` is a fully connected layer whose weight matrix repeats the same few kernel
   weights; the script builds that dense matrix from a `Conv2D` kernel and checks both give
   the same outputs.
3. Lecture 003, "Example: 200×200 image": parameters of 400,000 hidden units fully connected
   (16 billion), locally connected with 10×10 fields (40 million), and convolutional (the
   same 10×10 field shared: 100 weights per feature map). The formulas are checked against
   `count_params()` of real Keras layers on a small image, then evaluated at 200×200.
4. Lecture 004, "compare one 7×7 conv feature map with two stacked 3×3": receptive field
   (measured by pushing an impulse through the layers) and parameter count, for one 7×7, two
   3×3 and three 3×3 convolutions with C channels.

Writes `results.json` and `pooling_example.png` to `--output`. Runs in seconds.

    python apps/pooling_and_convolution.py [--output DIR] [--channels 64]
"""

from __future__ import annotations

import json
import sys
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

POOLING_EXAMPLE = np.array([[1, 2, 0, 3], [4, 3, 6, 5], [3, 4, 1, 2], [2, 7, 2, 0]], "float32")
LECTURE_POOLING = {"max": [[4, 6], [7, 2]], "average": [[2.5, 3.5], [4, 1.2]]}


def pooling_example():
    x = POOLING_EXAMPLE[None, :, :, None]
    max_pooled = keras.layers.MaxPooling2D(2, strides=2)(x)
    avg_pooled = keras.layers.AveragePooling2D(2, strides=2)(x)
    return (np.asarray(max_pooled)[0, :, :, 0], np.asarray(avg_pooled)[0, :, :, 0])


def convolution_as_shared_weights(size=6, kernel_size=3, seed=0):
    """A `Conv2D` and the dense layer with the same (shared, repeated) weights: same outputs."""
    rng = np.random.default_rng(seed)
    image = rng.random((1, size, size, 1)).astype("float32")
    conv = keras.layers.Conv2D(1, kernel_size, use_bias=False)
    conv_out = np.asarray(conv(image))[0, :, :, 0]
    kernel = np.asarray(conv.kernel)[:, :, 0, 0]
    out = size - kernel_size + 1
    dense_matrix = np.zeros((size * size, out * out), "float32")
    for i in range(out):
        for j in range(out):
            for k in range(kernel_size):
                for l in range(kernel_size):
                    dense_matrix[(i + k) * size + (j + l), i * out + j] = kernel[k, l]
    dense = keras.layers.Dense(out * out, use_bias=False)
    dense.build((None, size * size))
    dense.set_weights([dense_matrix])
    dense_out = np.asarray(dense(image.reshape(1, -1))).reshape(out, out)
    return {
        "image": f"{size}x{size}",
        "kernel": f"{kernel_size}x{kernel_size}",
        "max_abs_difference_conv_vs_dense": float(np.max(np.abs(conv_out - dense_out))),
        "dense_matrix_entries": int(dense_matrix.size),
        "dense_matrix_nonzero": int(np.count_nonzero(dense_matrix)),
        "distinct_weights": int(len(np.unique(dense_matrix[dense_matrix != 0]))),
        "conv_parameters": int(conv.count_params()),
    }


def parameter_counts(side, hidden_units, field, feature_maps):
    """Weights (no biases) of fully connected, locally connected and convolutional layers."""
    inputs = side * side
    return {
        "fully_connected": inputs * hidden_units,
        "locally_connected": hidden_units * field * field,
        "convolutional": feature_maps * field * field,
    }


def check_parameter_formulas(side=12, field=3, feature_maps=2):
    """The formulas above against Keras layers on a small image (biases off)."""
    hidden = side * side * feature_maps  # one unit per pixel and map ("same" padding)
    formulas = parameter_counts(side, hidden, field, feature_maps)
    dense = keras.layers.Dense(hidden, use_bias=False)
    dense.build((None, side * side))
    conv = keras.layers.Conv2D(feature_maps, field, padding="same", use_bias=False)
    conv.build((None, side, side, 1))
    # locally connected: every unit has its own field × field weights; Keras 3 has no such
    # layer, so count one Dense(1) per unit on its own patch
    local = keras.layers.Dense(1, use_bias=False)
    local.build((None, field * field))
    return {
        "fully_connected": (formulas["fully_connected"], int(dense.count_params())),
        "locally_connected": (formulas["locally_connected"], hidden * int(local.count_params())),
        "convolutional": (formulas["convolutional"], int(conv.count_params())),
    }


def receptive_field(layers, size=31):
    """Side of the region of the input that one output unit sees, by an impulse response."""
    image = np.zeros((1, size, size, 1), "float32")
    image[0, size // 2, size // 2, 0] = 1
    x = image
    for kernel_size in layers:
        conv = keras.layers.Conv2D(1, kernel_size, padding="same", use_bias=False,
                                   kernel_initializer="ones")
        x = conv(x)
    reached = np.argwhere(np.asarray(x)[0, :, :, 0] != 0)
    return int(reached[:, 0].max() - reached[:, 0].min() + 1)


def stacked_parameters(layers, channels):
    inputs = keras.Input((32, 32, channels))
    x = inputs
    for kernel_size in layers:
        x = keras.layers.Conv2D(channels, kernel_size, padding="same", use_bias=False)(x)
    return int(keras.Model(inputs, x).count_params())


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="apps/output/pooling_and_convolution")
    parser.add_argument("--channels", type=int, default=64,
                        help="channels C of the 7×7 vs 3×3 comparison (default 64)")
    args = parser.parse_args(argv)
    if args.channels < 1:
        parser.error(f"--channels must be a positive integer, got {args.channels}")
    return args


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    results = {}

    max_pooled, avg_pooled = pooling_example()
    results["pooling"] = {"input": POOLING_EXAMPLE.tolist(), "max": max_pooled.tolist(),
                          "average": avg_pooled.tolist(), "lecture": LECTURE_POOLING}
    print("1. 2×2 pooling, stride 2, of", POOLING_EXAMPLE.astype(int).tolist())
    print("   max:    ", max_pooled.tolist(), "(lecture:", LECTURE_POOLING["max"], ")")
    print("   average:", avg_pooled.tolist(), "(lecture:", LECTURE_POOLING["average"],
          "— its 1.2 is 1.25 truncated)")

    shared = convolution_as_shared_weights()
    results["shared_weights"] = shared
    print(f"2. a {shared['kernel']} convolution on a {shared['image']} image as a dense layer: "
          f"{shared['dense_matrix_entries']} matrix entries, {shared['dense_matrix_nonzero']} "
          f"nonzero, {shared['distinct_weights']} distinct = the conv's "
          f"{shared['conv_parameters']} parameters; max |conv - dense| = "
          f"{shared['max_abs_difference_conv_vs_dense']:.2g}")

    checks = check_parameter_formulas()
    big = parameter_counts(200, 400_000, 10, 400_000 // (200 * 200))
    results["parameters_200x200"] = {"counts": big, "small_image_checks": checks,
                                     "lecture": {"fully_connected": 16e9,
                                                 "locally_connected": 40e6}}
    print("3. 200×200 image, 400,000 hidden units, 10×10 fields (weights, no biases):")
    for kind, count in big.items():
        print(f"   {kind:18s} {count:>15,}")
    print("   formulas = Keras count_params on a 12×12 image:",
          all(a == b for a, b in checks.values()), checks)

    c = args.channels
    stacks = {"one 7x7": (7,), "two 3x3": (3, 3), "three 3x3": (3, 3, 3)}
    results["stacked_convolutions"] = {
        name: {"receptive_field": receptive_field(layers),
               "parameters": stacked_parameters(layers, c),
               "formula": f"{sum(k * k for k in layers)}·C² = {sum(k * k for k in layers) * c * c}"}
        for name, layers in stacks.items()
    }
    print(f"4. receptive field and parameters (C = {c} channels in and out, no biases):")
    for name, row in results["stacked_convolutions"].items():
        print(f"   {name:10s} field {row['receptive_field']}×{row['receptive_field']}, "
              f"{row['parameters']:,} parameters ({row['formula']})")

    figure, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    for axis, (title, values) in zip(axes, (("input", POOLING_EXAMPLE), ("max pool", max_pooled),
                                            ("average pool", avg_pooled))):
        axis.imshow(values, cmap="Blues")
        for (i, j), v in np.ndenumerate(values):
            axis.text(j, i, f"{v:g}", ha="center", va="center")
        axis.set_title(title)
        axis.set_xticks([])
        axis.set_yticks([])
    visualize.save_figure(figure, output / "pooling_example.png", dpi=110)
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {output / 'results.json'} and {output / 'pooling_example.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
