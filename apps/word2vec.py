"""word2vec's two schemes on gensim's Wikipedia sample: continuous bag-of-words (a word from its
neighbours) and continuous skip-gram (the neighbours from the word), lecture 002, each beside
gensim's `Word2Vec` trained in the same run on the same corpus with the same settings.

The corpus is `wiki_sample` (gensim's `head500.noblanks.cor`: 250 English Wikipedia articles,
331,339 tokens, lower-cased, stop words removed and Porter-stemmed). The settings are word2vec's
usual ones: dimension 100, window 5, 5 noise words, sub-sampling 1e-3, min_count 5, learning
rate 0.025 falling linearly to 0.0001 (gensim 4's defaults), 5 epochs. Ours is
`keras_dl.tasks.embedding.train_word2vec`; gensim runs with its default 3 worker threads.

For each model the app reports Spearman's ρ on WordSim353 and SimLex-999, 3CosAdd analogy
accuracy on questions-words.txt (`keras_dl.text.evaluate_embeddings`), and the nearest
neighbours of chosen words; it draws the vectors of chosen word groups (countries, months,
war, science, water) projected on their first two principal components.

No published figures exist for this corpus: Mikolov et al. 2013 trained on billions of words
(and the stemming here makes most evaluation words unknown: about a quarter of WordSim353's
pairs and a twentieth of the analogies are covered). gensim's figures, measured in
the same run, are the reference; gensim's threads make its vectors differ a little from run
to run.

Writes `projection.png` (a panel per model) and `results.json` to `apps/output/word2vec/`.
The full run takes about 2 minutes on 2 idle CPU cores (more on a loaded machine).

    python apps/word2vec.py [--epochs 5] [--quick]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser, positive_int

matplotlib.use("Agg")

from keras_dl.quiet import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import text  # noqa: E402
from keras_dl.data import text as text_data  # noqa: E402
from keras_dl.models.word2vec import word_vectors  # noqa: E402
from keras_dl.tasks.embedding import train_word2vec  # noqa: E402

SETTINGS = {"dimension": 100, "window": 5, "negatives": 5, "sample": 1e-3, "min_count": 5}
MODES = ("skipgram", "cbow")
NEIGHBOURS_OF = ("king", "war", "music", "januari", "germani")
GROUPS = {  # stems, as the corpus spells them
    "countries": ("franc", "germani", "itali", "spain", "england", "japan", "china", "india"),
    "months": ("januari", "februari", "march", "april", "june", "juli", "august", "octob"),
    "war": ("war", "armi", "battl", "soldier", "militari"),
    "science": ("physic", "chemistri", "mathemat", "biolog", "scienc", "theori"),
    "water": ("water", "river", "sea", "ocean", "lake", "island"),
}


def parse(argv):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=5)
    parser.add_argument("--batch-size", type=positive_int, default=1024)
    parser.add_argument("--documents", type=positive_int, default=None,
                        help="the first N documents only (smoke runs)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 30 documents, 1 epoch, dimension 20")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default="apps/output/word2vec")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.documents = 1, args.documents or 30
    return args


def gensim_vectors(sentences, mode, settings, epochs, seed):
    from gensim.models import Word2Vec

    model = Word2Vec(sentences, vector_size=settings["dimension"], window=settings["window"],
                     negative=settings["negatives"], sample=settings["sample"],
                     min_count=settings["min_count"], sg=int(mode == "skipgram"),
                     epochs=epochs, seed=seed)
    return model.wv.vectors, list(model.wv.index_to_key)


def ours_vectors(sentences, mode, settings, epochs, batch_size, seed):
    model = train_word2vec(sentences, mode=mode, epochs=epochs, batch_size=batch_size,
                           seed=seed, vocabulary_size=50_000, **settings)
    return word_vectors(model)


def summary(vectors, vocab, seconds, words) -> dict:
    scores = text.evaluate_embeddings(vectors, vocab, neighbours_of=NEIGHBOURS_OF, k=5)
    return {
        "seconds": seconds, "words_per_second": words / seconds, "vocabulary": len(vocab),
        "wordsim353": scores["wordsim353"]["spearman"],
        "wordsim353_coverage": scores["wordsim353"]["coverage"],
        "simlex999": scores["simlex999"]["spearman"],
        "simlex999_coverage": scores["simlex999"]["coverage"],
        "analogy_accuracy": scores["analogies"]["accuracy"],
        "analogy_questions": scores["analogies"]["covered"],
        "neighbours": {word: [n for n, _ in found]
                       for word, found in scores["neighbours"].items()},
    }


def projection(vectors, vocab):
    """The chosen groups' words found in `vocab` and their 2-D principal-component
    coordinates (of those words' unit vectors)."""
    rows = {word: i for i, word in enumerate(vocab)}
    words = [(group, w) for group, members in GROUPS.items() for w in members if w in rows]
    if len(words) < 3:
        return []
    unit = vectors[[rows[w] for _, w in words]]
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    centred = unit - unit.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    points = centred @ components[:2].T
    return [(group, word, float(x), float(y)) for (group, word), (x, y) in zip(words, points)]


def plot(projections, path):
    figure, axes = plt.subplots(1, len(projections), figsize=(5 * len(projections), 5),
                                squeeze=False)
    colours = dict(zip(GROUPS, plt.cm.tab10.colors))
    for axis, (name, points) in zip(axes[0], projections.items()):
        for group, word, x, y in points:
            axis.scatter(x, y, color=colours[group], s=18)
            axis.annotate(word, (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
        axis.set_title(name, fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=colours[g], label=g)
               for g in GROUPS]
    figure.legend(handles=handles, loc="lower center", ncol=len(GROUPS), fontsize=8)
    figure.suptitle("word groups on their first two principal components (wiki_sample)")
    figure.tight_layout(rect=(0, 0.06, 1, 0.95))
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None):
    args = parse(argv)
    output = Path(args.output)
    sentences = text_data.corpus("wiki_sample")[:args.documents]
    settings = dict(SETTINGS, dimension=20) if args.quick else dict(SETTINGS)
    words = sum(map(len, sentences)) * args.epochs
    results, projections = {}, {}
    for mode in MODES:
        for who in ("keras_dl", "gensim"):
            start = time.perf_counter()
            if who == "keras_dl":
                vectors, vocab = ours_vectors(sentences, mode, settings, args.epochs,
                                              args.batch_size, args.seed)
            else:
                vectors, vocab = gensim_vectors(sentences, mode, settings, args.epochs,
                                                args.seed)
            name = f"{who} {mode}"
            results[name] = summary(vectors, vocab, time.perf_counter() - start, words)
            projections[name] = projection(np.asarray(vectors), vocab)
            found = results[name]
            print(f"{name:18s} WordSim353 ρ {found['wordsim353'] or 0:.3f} "
                  f"({found['wordsim353_coverage']:.0%} of pairs) | SimLex-999 ρ "
                  f"{found['simlex999'] or 0:.3f} | analogies "
                  f"{found['analogy_accuracy'] or 0:.3f} of {found['analogy_questions']} | "
                  f"{found['words_per_second']:,.0f} words/s", flush=True)
            for word, neighbours in found["neighbours"].items():
                print(f"    {word}: {', '.join(neighbours)}")
    output.mkdir(parents=True, exist_ok=True)
    plot(projections, output / "projection.png")
    record = {"corpus": "wiki_sample", "documents": len(sentences), "epochs": args.epochs,
              "settings": settings, "batch_size": args.batch_size, "seed": args.seed,
              "published": None, "reference": "gensim Word2Vec, same run, same settings",
              "results": results, "projections": projections}
    (output / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"projection.png and results.json in {output}")
    return record


if __name__ == "__main__":
    main()
