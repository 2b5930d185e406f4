"""Our word2vec against gensim's `Word2Vec`, trained in the same run on the same corpus with the
same settings: words per second and WordSim353 / SimLex-999 Spearman ρ of each.

The corpus is gensim's Wikipedia sample (`wiki_sample`, 331,339 tokens in 250 documents);
the settings are word2vec's usual ones: dimension 100, window 5, 5 negatives, 5 epochs,
min_count 5, sub-sampling 1e-3, skip-gram and CBOW (mean of the context), learning rate
0.025 falling linearly to 0.0001 (gensim 4's `alpha` / `min_alpha`, both modes).

- ours: `keras_dl.tasks.embedding.train_word2vec` (the `word2vec` builder; batches of
  (context, word, noise words) made in the graph by `keras_dl.data.skipgrams`; `fit` with
  plain SGD, XLA-compiled steps, 32 steps per call), batch size `--batch-size`;
- gensim with `workers=3` (its default: what a user gets), `workers=2` (the machine's 2
  cores) and `workers=1`.

Words per second are the corpus's tokens times the epochs over the wall-clock seconds of the
whole training call (vocabulary, sampling, tracing and XLA compiling included for ours;
gensim's `Word2Vec(sentences, ...)` builds its vocabulary too); both libraries are imported
before any clock starts. The machine is shared, so each round
runs every contestant once, interleaved, and the ratios are taken within a round: the table
reports each round's ratio of our words/s to gensim's default (workers=3), and the median over
rounds. gensim's threads make its vectors differ from run to run; ours are the same for a
seed.

    python bench/word2vec_vs_gensim.py [--rounds 3] [--modes skipgram,cbow] [--batch-size 1024]
                                       [--out bench/output/word2vec_vs_gensim.json]

The bar (issue 30): skip-gram WordSim353 ρ at least gensim's (workers=3) in the same round, at
≥ 0.5× its words/s.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2

SETTINGS = {"dimension": 100, "window": 5, "negatives": 5, "epochs": 5, "min_count": 5,
            "sample": 1e-3}
GENSIM_WORKERS = (3, 2, 1)


def scores(vectors, vocab) -> dict:
    from keras_dl.text import word_similarity
    from keras_dl.data import text

    result = {}
    for name in ("wordsim353", "simlex999"):
        found = word_similarity(vectors, vocab, text.word_pairs(name))
        result[name] = found["spearman"]
        result[f"{name}_coverage"] = found["coverage"]
    return result


def run_gensim(sentences, mode, workers, seed):
    from gensim.models import Word2Vec

    start = time.perf_counter()
    model = Word2Vec(sentences, vector_size=SETTINGS["dimension"], window=SETTINGS["window"],
                     negative=SETTINGS["negatives"], epochs=SETTINGS["epochs"],
                     min_count=SETTINGS["min_count"], sample=SETTINGS["sample"],
                     sg=int(mode == "skipgram"), workers=workers, seed=seed)
    seconds = time.perf_counter() - start
    return seconds, scores(model.wv.vectors, model.wv.index_to_key), len(model.wv)


def run_ours(sentences, mode, batch_size, seed):
    from keras_dl.models.word2vec import word_vectors
    from keras_dl.tasks.embedding import train_word2vec

    start = time.perf_counter()
    model = train_word2vec(sentences, mode=mode, batch_size=batch_size, seed=seed,
                           epochs=SETTINGS["epochs"], dimension=SETTINGS["dimension"],
                           window=SETTINGS["window"], negatives=SETTINGS["negatives"],
                           min_count=SETTINGS["min_count"], sample=SETTINGS["sample"],
                           vocabulary_size=50_000)
    seconds = time.perf_counter() - start
    vectors, vocab = word_vectors(model)
    return seconds, scores(vectors, vocab), len(vocab)


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="skipgram,cbow")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    for mode in modes:
        if mode not in ("skipgram", "cbow"):
            parser.error(f"--modes: unknown mode {mode!r}; allowed: skipgram, cbow")
    if args.rounds < 1 or args.batch_size < 1:
        parser.error("--rounds and --batch-size must be positive integers")
    import os

    import tensorflow  # noqa: F401  (imported before any clock starts, as gensim is)

    import keras_dl.tasks.embedding  # noqa: F401
    from keras_dl.data import text

    sentences = text.corpus("wiki_sample")
    tokens = sum(map(len, sentences))
    words = tokens * SETTINGS["epochs"]
    rows = []
    print(f"wiki_sample: {tokens:,} tokens; {SETTINGS}; load before: {os.getloadavg()}")
    for number in range(1, args.rounds + 1):
        for mode in modes:
            for workers in GENSIM_WORKERS:
                seconds, found, vocabulary = run_gensim(sentences, mode, workers, args.seed)
                rows.append({"round": number, "mode": mode, "who": f"gensim workers={workers}",
                             "seconds": seconds, "words_per_second": words / seconds,
                             "vocabulary": vocabulary, **found})
                print(_line(rows[-1]), flush=True)
            seconds, found, vocabulary = run_ours(sentences, mode, args.batch_size, args.seed)
            rows.append({"round": number, "mode": mode, "who": "keras_dl",
                         "seconds": seconds, "words_per_second": words / seconds,
                         "vocabulary": vocabulary, **found})
            print(_line(rows[-1]), flush=True)
    summary = {}
    for mode in modes:
        ours = [r for r in rows if r["mode"] == mode and r["who"] == "keras_dl"]
        default = [r for r in rows if r["mode"] == mode and r["who"] == "gensim workers=3"]
        ratios = [o["words_per_second"] / g["words_per_second"] for o, g in zip(ours, default)]
        summary[mode] = {
            "speed_ratio_vs_gensim_default_per_round": ratios,
            "speed_ratio_median": statistics.median(ratios),
            "wordsim353_ours": [o["wordsim353"] for o in ours],
            "wordsim353_gensim_default": [g["wordsim353"] for g in default],
            "wordsim353_at_least_gensim_every_round": all(
                o["wordsim353"] >= g["wordsim353"] for o, g in zip(ours, default)),
        }
        print(f"{mode}: our words/s over gensim's (workers=3) per round "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (median "
              f"{summary[mode]['speed_ratio_median']:.2f}); WordSim353 ρ ours "
              f"{', '.join(f'{v:.3f}' for v in summary[mode]['wordsim353_ours'])} vs gensim "
              f"{', '.join(f'{v:.3f}' for v in summary[mode]['wordsim353_gensim_default'])}")
    print(f"load after: {os.getloadavg()}")
    result = {"settings": SETTINGS, "tokens": tokens, "batch_size": args.batch_size,
              "machine": platform.processor() or platform.machine(), "rows": rows,
              "summary": summary}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))
    return result


def _line(row):
    return (f"round {row['round']} {row['mode']:8s} {row['who']:18s} {row['seconds']:7.2f} s "
            f"{row['words_per_second']:>10,.0f} words/s | WordSim353 ρ {row['wordsim353']:.3f} "
            f"({row['wordsim353_coverage']:.0%}) | SimLex-999 ρ {row['simlex999']:.3f} "
            f"({row['simlex999_coverage']:.0%}) | {row['vocabulary']:,} words")


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
