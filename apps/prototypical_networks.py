"""Prototypical networks (lecture 002 §8.5; Snell, Swersky & Zemel 2017) on classes never seen in
training, against two baselines that classify by the nearest class mean as well:

- raw pixels: the class means of the support images themselves;
- a base-class classifier's features: the same conv-4 network trained as an ordinary softmax
  classifier of the 48 training classes, its 64-dimensional features then used as the
  embedding.

The data is `fewshot_rotations` (offline; `keras_dl.data.few_shot`): Fashion-MNIST and the
8×8 digits, each class in four rotations as four classes, split by base class into 48 training,
8 validation and 24 held-out classes. One prototypical network is trained per shot (1 and 5),
with 20-way training episodes, as the paper trains with more ways than it tests. Each method is
tested on the same 1,000 episodes of the held-out classes, 5-way and 20-way, 1-shot and 5-shot,
with 15 queries per class; every accuracy has its 95 % confidence interval.

Omniglot, the paper's benchmark, is online only (tensorflow-datasets); its published table
(5-way 98.8 / 99.7 %, 20-way 96.0 / 98.9 %, 1-shot / 5-shot) is printed beside ours, and with
`--omniglot` (online, or once downloaded) the same networks are trained and tested on it.

Writes `accuracy.png`, `episode.png`, `training.png` and `results.json` to
`apps/output/prototypical_networks/`. The default run takes about 11 minutes of CPU time on 2
cores (26 minutes of wall-clock time when the cores were shared with other jobs).

    python apps/prototypical_networks.py [--epochs 10] [--episodes 50] [--test-episodes 1000]
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser, positive_int

matplotlib.use("Agg")

from keras_dl.quiet import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import keras_dl  # noqa: E402
from keras_dl import data, training, visualize  # noqa: E402
from keras_dl.tasks.episodic import embed, prototype_scores  # noqa: E402

DATASET = "fewshot_rotations"
PUBLISHED = {"source": "Snell, Swersky & Zemel 2017, NeurIPS, Table 1 (Omniglot, Euclidean "
                       "distance, 60-way training)",
             "5-way 1-shot": 0.988, "5-way 5-shot": 0.997, "20-way 1-shot": 0.960,
             "20-way 5-shot": 0.989}
SHOTS = (1, 5)
WAYS = (5, 20)
METHODS = ("prototypical_network", "classifier_features", "raw_pixels")


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=10,
                        help="epochs of each prototypical network and of the classifier")
    parser.add_argument("--episodes", type=positive_int, default=50,
                        help="training episodes per epoch (default 50)")
    parser.add_argument("--train-ways", type=positive_int, default=20,
                        help="classes per training episode (default 20)")
    parser.add_argument("--queries", type=positive_int, default=5,
                        help="queries per class in a training episode (default 5)")
    parser.add_argument("--test-episodes", type=positive_int, default=1000)
    parser.add_argument("--test-queries", type=positive_int, default=15)
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="examples of each split (default: all)")
    parser.add_argument("--omniglot", action="store_true",
                        help="also train and test on Omniglot (tensorflow-datasets; online)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="apps/output/prototypical_networks")
    args = parser.parse_args(argv)
    for shots in SHOTS:  # episodes that the data cannot fill: one line, exit 2, nothing written
        try:
            training.resolve_config("prototypical_network", **run_settings(args, shots))
        except ValueError as error:
            parser.error(str(error))
    return args


def run_settings(args, shots, dataset=DATASET):
    """The training settings of the `shots`-shot prototypical network."""
    return {"dataset": dataset, "epochs": args.epochs, "limit": args.limit, "seed": args.seed,
            "builder_kwargs": {"train_ways": args.train_ways, "shots": shots,
                               "queries": args.queries, "test_queries": args.test_queries,
                               "episodes_per_epoch": args.episodes, "validation_episodes": 20,
                               "test_episodes": args.test_episodes}}


def train_prototypical(args, shots, output, dataset=DATASET):
    """A prototypical network trained with `shots`-shot, `--train-ways`-way episodes."""
    return training.train("prototypical_network", run_dir=output / f"run_{dataset}_{shots}shot",
                          overwrite=True, verbose=0, **run_settings(args, shots, dataset))


def train_base_classifier(args, dataset=DATASET):
    """The conv-4 embedding with a softmax over the training classes, trained on their examples
    as an ordinary classifier; returns the embedding part (its features)."""
    info = data.info(dataset)
    x, y = data.load_numpy(dataset, "train", limit=args.limit)
    keep = np.isin(y, info.class_splits["train"])
    classes = np.asarray(info.class_splits["train"])
    x, y = x[keep], np.searchsorted(classes, y[keep]).astype("int32")
    keras.utils.set_random_seed(args.seed)
    features = keras_dl.create_model("prototypical_network", input_shape=info.input_shape)
    outputs = keras.layers.Dense(len(classes), activation="softmax",
                                 name="predictions")(features.output)
    classifier = keras.Model(features.input, outputs, name="base_classifier")
    keras_dl.tasks.get("classification").compile(classifier, keras.optimizers.Adam(1e-3))
    history = classifier.fit(x, y, epochs=args.epochs, batch_size=64, validation_split=0.1,
                             verbose=0)
    return features, history.history


def score_all(embeddings_of, y_test, args):
    """`{method: {"N-way K-shot": scores}}` on the same test episodes for every method."""
    scores = {}
    for method, shots_to_embeddings in embeddings_of.items():
        scores[method] = {}
        for ways in WAYS:
            for shots in SHOTS:
                key = f"{ways}-way {shots}-shot"
                scores[method][key] = prototype_scores(
                    shots_to_embeddings(shots), y_test, ways=ways, shots=shots,
                    queries=args.test_queries, episodes=args.test_episodes, seed=args.seed)
                print(f"{method:22s} {key}: {scores[method][key]['accuracy']:.4f} "
                      f"± {scores[method][key]['accuracy_ci95']:.4f}")
    return scores


def run_dataset(args, output, dataset=DATASET):
    x_test, y_test = data.load_numpy(dataset, "test", limit=args.limit)
    runs = {shots: train_prototypical(args, shots, output, dataset) for shots in SHOTS}
    features, classifier_history = train_base_classifier(args, dataset)
    protonet = {shots: embed(run.model, x_test) for shots, run in runs.items()}
    classifier = embed(features, x_test)
    pixels = x_test.reshape(len(x_test), -1)
    scores = score_all({"prototypical_network": protonet.get,
                        "classifier_features": lambda shots: classifier,
                        "raw_pixels": lambda shots: pixels}, y_test, args)
    return scores, runs, classifier_history, (x_test, y_test)


def plot_accuracy(scores, path):
    keys = list(scores["prototypical_network"])
    figure, axis = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(METHODS)
    for index, method in enumerate(METHODS):
        means = [scores[method][key]["accuracy"] for key in keys]
        errors = [scores[method][key]["accuracy_ci95"] for key in keys]
        axis.bar(np.arange(len(keys)) + (index - 1) * width, means, width, yerr=errors,
                 capsize=3, label=method.replace("_", " "))
    axis.set_xticks(np.arange(len(keys)), keys)
    axis.set_ylabel("accuracy on held-out classes (95 % CI)")
    lowest = min(scores[method][key]["accuracy"] for method in METHODS for key in keys)
    axis.set_ylim(max(0.0, lowest - 0.1), 1)
    axis.legend(loc="lower left")
    axis.set_title(f"{DATASET}: nearest class mean in three embeddings")
    visualize.save_figure(figure, path)


def plot_episode(model, x_test, y_test, seed, path, ways=5, shots=1, queries=3):
    """One 5-way 1-shot test episode: the support images, then queries with the predicted
    class (red where wrong)."""
    from keras_dl.data.episodes import episode_indices

    indices, _ = next(episode_indices(y_test, np.unique(y_test), ways=ways, shots=shots,
                                      queries=queries, count=1, seed=seed + 7)
                      .as_numpy_iterator())
    points = embed(model, x_test[indices.ravel()]).reshape(ways, shots + queries, -1)
    prototypes = points[:, :shots].mean(axis=1)
    figure, axes = plt.subplots(ways, shots + queries, figsize=(1.5 * (shots + queries),
                                                                1.5 * ways))
    for way in range(ways):
        for column in range(shots + queries):
            axis = axes[way, column]
            axis.imshow(x_test[indices[way, column], ..., 0], cmap="gray")
            axis.set_xticks([])
            axis.set_yticks([])
            if column < shots:
                axis.set_title(f"support {way}", fontsize=8)
            else:
                guess = int(((prototypes - points[way, column]) ** 2).sum(axis=1).argmin())
                axis.set_title(f"→ {guess}", fontsize=8, color="black" if guess == way else "red")
    figure.suptitle("a 5-way 1-shot episode on held-out classes")
    visualize.save_figure(figure, path)


def plot_training(runs, classifier_history, path):
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for shots, run in runs.items():
        epochs = [row["epoch"] + 1 for row in run.history]
        axes[0].plot(epochs, [row["accuracy"] for row in run.history],
                     label=f"{shots}-shot, training episodes")
        axes[0].plot(epochs, [row["val_accuracy"] for row in run.history], "--",
                     label=f"{shots}-shot, validation classes (5-way)")
    axes[0].set_title("prototypical networks: episode accuracy")
    axes[0].set_xlabel("epoch")
    axes[0].legend(fontsize=8)
    axes[1].plot(classifier_history["accuracy"], label="training")
    axes[1].plot(classifier_history["val_accuracy"], "--", label="validation examples")
    axes[1].set_title("base-class classifier (48 classes)")
    axes[1].set_xlabel("epoch")
    axes[1].legend(fontsize=8)
    visualize.save_figure(figure, path)


def quality_bars(scores):
    bars = {}
    for key in ("5-way 1-shot", "5-way 5-shot"):
        ours = scores["prototypical_network"][key]["accuracy"]
        for baseline in ("raw_pixels", "classifier_features"):
            name = f"protonet_beats_{baseline}_{key.replace('-', '_').replace(' ', '_')}"
            bars[name] = ours > scores[baseline][key]["accuracy"]
    return bars


def omniglot(args, output):
    """The same comparison on Omniglot, or why it was not run."""
    if not args.omniglot:
        return {"run": False, "why": "not asked for (--omniglot): Omniglot is online only"}
    try:
        scores, _, _, _ = run_dataset(args, output, "omniglot")
    except data.DatasetUnavailableError as error:
        return {"run": False, "why": str(error)}
    return {"run": True, "accuracy": scores}


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    scores, runs, classifier_history, (x_test, y_test) = run_dataset(args, output)
    plot_accuracy(scores, output / "accuracy.png")
    plot_episode(runs[1].model, x_test, y_test, args.seed, output / "episode.png")
    plot_training(runs, classifier_history, output / "training.png")
    results = {
        "experiment": "lecture 002 §8.5: few-shot learning with prototypical networks",
        "dataset": DATASET, "seed": args.seed, "epochs": args.epochs,
        "episodes_per_epoch": args.episodes, "train_ways": args.train_ways,
        "train_queries": args.queries, "test_episodes": args.test_episodes,
        "test_queries": args.test_queries, "limit": args.limit,
        "accuracy": scores,
        "omniglot": {"published": PUBLISHED, "ours": omniglot(args, output)},
        "quality_bars": quality_bars(scores),
    }
    (output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for key, value in PUBLISHED.items():
        if key != "source":
            print(f"Omniglot {key}: published {value:.3f}")
    for check, passed in results["quality_bars"].items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")
    print(f"figures and results.json in {output}")
    return results


if __name__ == "__main__":
    main()
