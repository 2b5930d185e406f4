"""Adversarial examples and adversarial training (lectures 002 §8.6 and 004; Goodfellow, Shlens
& Szegedy 2015).

A maxout MLP and LeNet-5 are trained on Fashion-MNIST twice: normally, and adversarially
(`keras-dl train ... --adversarial fgsm:eps=0.25`, Goodfellow et al.'s α = 0.5 mixture with
fresh FGSM examples each batch). Each of the four is then attacked with FGSM and with PGD
(10 steps, random start) for a range of ε, and the app reports the test error and the mean
confidence under attack, how often the examples made for one model fool another, and the
lecture's figure: a clean image, the perturbation ε·sign(∇ₓL), and the confidently wrong
adversarial image.

Published beside ours (MNIST, not Fashion-MNIST): Goodfellow et al. 2015 §5–6, a maxout
network at ε = 0.25: 89.4 % error with mean confidence 97.6 %; 17.9 % after adversarial
training.

Writes to `apps/output/adversarial_examples/`: `error_vs_eps.png`, `confidence_vs_eps.png`,
`adversarial_example.png`, `transfer.png`, the four run dirs and `results.json`. The default
(10 epochs each, attacks on 2,000 test images) took 25 minutes on 2 CPU cores shared with
other work (21 CPU-minutes; AMD EPYC). Training on FGSM's examples makes a network robust to
FGSM at the trained ε only: PGD still fools it (gradient masking; Tramèr et al. 2018), which
`--train-attack pgd` (Madry et al. 2018) addresses at several times the cost.

    python apps/adversarial_examples.py [--epochs 10] [--train-eps 0.25] [--train-attack fgsm]
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser, positive_int

matplotlib.use("Agg")

from keras_dl.quiet import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data, training, visualize  # noqa: E402
from keras_dl.evaluation import attacks  # noqa: E402

# Goodfellow et al. 2015: the maxout network on MNIST at ε = 0.25
PUBLISHED = {"source": "Goodfellow, Shlens & Szegedy 2015, sections 5 and 6 (MNIST)",
             "eps": 0.25, "maxout_error_under_fgsm": 0.894, "maxout_mean_confidence": 0.976,
             "maxout_error_after_adversarial_training": 0.179}
# The maxout network of Goodfellow et al. 2013 for permutation-invariant MNIST: two layers of
# 240 units of 5 pieces each.
MODELS = {
    "maxout_mlp": ("mlp", {"hidden_units": (240, 240), "activation": "maxout",
                           "maxout_pieces": 5}),
    "lenet5": ("lenet5", {}),
}
STYLES = {"fgsm": "-", "pgd": "--"}


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument("--train-eps", type=float, default=0.25,
                        help="ε of the adversarial training (α = 0.5); default 0.25")
    parser.add_argument("--train-attack", default="fgsm", choices=("fgsm", "pgd"),
                        help="the attack adversarial training draws from: fgsm (Goodfellow et "
                        "al., the default) or pgd (Madry et al.: 7 steps, several times slower)")
    parser.add_argument("--eps", default="0,0.05,0.1,0.15,0.2,0.25,0.3",
                        help="the ε of the curves, comma-separated")
    parser.add_argument("--attack-examples", type=positive_int, default=2000,
                        help="test images attacked (default 2000)")
    parser.add_argument("--pgd-steps", type=positive_int, default=10)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--limit", type=positive_int, help="first N training and test examples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/adversarial_examples")
    args = parser.parse_args(argv)
    try:
        args.eps = [attacks.check_eps(float(text)) for text in args.eps.split(",")]
        attacks.check_eps(args.train_eps)
    except ValueError as error:
        parser.error(f"--eps / --train-eps: {error}")
    if 0.25 not in args.eps:
        args.eps = sorted({*args.eps, 0.25})  # the published figures' ε
    return args


def train_four(args, output):
    """{name: trained model}: each architecture trained normally and adversarially."""
    models, runs = {}, {}
    for name, (model_name, builder_kwargs) in MODELS.items():
        for adversarial in (None, f"{args.train_attack}:eps={args.train_eps:g},alpha=0.5"):
            key = name + ("_adversarial" if adversarial else "")
            result = training.train(
                model_name, dataset=args.dataset, run_dir=output / f"run_{key}", overwrite=True,
                epochs=args.epochs, patience=args.epochs, limit=args.limit, seed=args.seed,
                builder_kwargs=builder_kwargs, adversarial=adversarial, verbose=0)
            models[key] = result.model
            runs[key] = {"test_error": round(1 - result.metrics["test_accuracy"], 4),
                         "train_seconds": result.metrics["train_seconds"],
                         "adversarial_training": adversarial}
            print(f"{key:>27}: clean test error {runs[key]['test_error']:.4f}")
    return models, runs


def plot_curves(curves, key, ylabel, path, title):
    figure, axis = plt.subplots(figsize=(7.5, 5))
    for index, (name, by_attack) in enumerate(curves.items()):
        for attack_name, rows in by_attack.items():
            axis.plot([row["eps"] for row in rows], [row[key] for row in rows],
                      STYLES[attack_name], color=f"C{index}", marker="o", markersize=3,
                      label=f"{name}, {attack_name}")
    axis.set(xlabel="ε (L∞, pixels in [0, 1])", ylabel=ylabel, title=title, ylim=(0, 1.02))
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    visualize.save_figure(figure, path)


def plot_example(model, x, y, eps, class_names, path):
    """The lecture's figure: x, sign(∇ₓL), x + ε·sign(∇ₓL), with labels and confidences."""
    probs = attacks.probabilities(model, x)
    adversarial = attacks.fgsm(model, x, y, eps)
    adv_probs = attacks.probabilities(model, adversarial)
    # of the test images the model gets right and the attack turns, the most confident mistake
    fooled = np.flatnonzero((probs.argmax(1) == y) & (adv_probs.argmax(1) != y))
    index = int(fooled[adv_probs[fooled].max(axis=1).argmax()]) if fooled.size else 0
    clean, attacked = x[index, ..., 0], adversarial[index, ..., 0]
    sign = np.sign(attacked - clean)
    figure, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    panels = [(clean, f"x: {class_names[probs[index].argmax()]}\n"
                      f"{probs[index].max():.1%} confidence", (0, 1)),
              (sign, f"sign(∇ₓ L(x, y))\n× ε = {eps:g}", (-1, 1)),
              (attacked, f"x + ε·sign(∇ₓ L): {class_names[adv_probs[index].argmax()]}\n"
                         f"{adv_probs[index].max():.1%} confidence", (0, 1))]
    for axis, (image, title, (low, high)) in zip(axes, panels):
        axis.imshow(image, cmap="gray", vmin=low, vmax=high)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.suptitle(f"true class: {class_names[y[index]]}", fontsize=10)
    visualize.save_figure(figure, path)
    return {"index": index, "true": class_names[y[index]],
            "clean": [class_names[probs[index].argmax()], float(probs[index].max())],
            "adversarial": [class_names[adv_probs[index].argmax()],
                            float(adv_probs[index].max())]}


def plot_transfer(names, matrix, eps, path):
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    image = axis.imshow(matrix, cmap="magma", vmin=0, vmax=1)
    axis.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            axis.text(j, i, f"{matrix[i][j]:.2f}", ha="center", va="center",
                      color="white" if matrix[i][j] < 0.6 else "black", fontsize=9)
    axis.set(xlabel="evaluated on", ylabel="FGSM examples made for",
             title=f"test error on transferred examples, ε = {eps:g}")
    figure.colorbar(image)
    visualize.save_figure(figure, path)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    models, runs = train_four(args, output)
    x_test, y_test = data.load_numpy(args.dataset, "test", limit=args.limit)
    x, y = x_test[:args.attack_examples], y_test[:args.attack_examples]
    curves = {name: {"fgsm": attacks.attack_curve(model, x, y, args.eps, "fgsm"),
                     "pgd": attacks.attack_curve(model, x, y, args.eps, "pgd",
                                                 steps=args.pgd_steps, seed=args.seed)}
              for name, model in models.items()}
    at = {name: {attack: next(row for row in rows if row["eps"] == 0.25)
                 for attack, rows in by_attack.items()} for name, by_attack in curves.items()}
    for name, rows in at.items():
        print(f"{name:>27}: ε = 0.25 FGSM error {rows['fgsm']['error']:.4f} (confidence "
              f"{rows['fgsm']['mean_confidence']:.3f}), PGD error {rows['pgd']['error']:.4f}")
    plot_curves(curves, "error", "test error", output / "error_vs_eps.png",
                f"{args.dataset}: error under attack (solid FGSM, dashed PGD-{args.pgd_steps})")
    plot_curves(curves, "mean_confidence", "mean confidence (largest probability)",
                output / "confidence_vs_eps.png", "how sure the models are of their answers")
    class_names = data.info(args.dataset).class_names
    example = plot_example(models["maxout_mlp"], x, y, 0.25, class_names,
                           output / "adversarial_example.png")
    names = list(models)
    transfers = {source: {target: attacks.transfer(models[source], models[target], x, y, 0.25)
                          for target in names} for source in names}
    plot_transfer(names, [[transfers[s][t]["target_error"] for t in names] for s in names], 0.25,
                  output / "transfer.png")

    standard, robust = at["maxout_mlp"]["fgsm"], at["maxout_mlp_adversarial"]["fgsm"]
    checks = {
        "fgsm_0.25_drops_standard_maxout_accuracy_below_20%": standard["accuracy"] < 0.20,
        "adversarial_training_at_least_halves_maxout_fgsm_error":
            robust["error"] <= standard["error"] / 2,
        "adversarial_training_at_least_halves_lenet5_fgsm_error":
            at["lenet5_adversarial"]["fgsm"]["error"] <= at["lenet5"]["fgsm"]["error"] / 2,
        "pgd_never_weaker_than_fgsm": all(
            p["error"] >= f["error"] for by_attack in curves.values()
            for f, p in zip(by_attack["fgsm"], by_attack["pgd"])),
    }
    results = {
        "experiment": "lecture 002 §8.6 / 004: adversarial examples and adversarial training",
        "dataset": args.dataset, "epochs": args.epochs, "train_eps": args.train_eps,
        "train_attack": args.train_attack,
        "attack_examples": len(x), "pgd_steps": args.pgd_steps, "limit": args.limit,
        "runs": runs,
        "at_eps_0.25": {name: {attack: {k: row[k] for k in ("error", "mean_confidence",
                                                             "mean_confidence_wrong")}
                               for attack, row in rows.items()} for name, rows in at.items()},
        "published": PUBLISHED,
        "curves": curves,
        "transfer_at_eps_0.25": transfers,
        "example": example,
        "quality_bars": checks,
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for check, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")
    print(f"figures and results.json in {output}")
    return results


if __name__ == "__main__":
    main()
