"""keras_dl.text's word-vector scores against gensim's on the same vectors, and their cost.

Word2vec vectors are trained by gensim itself (skip-gram, negative sampling, one worker, a
fixed seed: the same vectors every run) on the two corpora in gensim's wheel that
keras_dl.data.text loads, `lee_background` and `wiki_sample`. Each set of vectors is then
scored twice: by gensim's `KeyedVectors.evaluate_word_pairs` (WordSim353, SimLex-999) and
`evaluate_word_analogies` (questions-words.txt), and by `keras_dl.text.evaluate_embeddings`.
The two must agree: the share of pairs and questions covered and the analogy accuracy
exactly, Spearman ρ to `RHO_TOLERANCE`. ρ is not bit-equal: gensim computes cosines in
float32, keras_dl in float64, and WordSim353 lists two pairs twice (money–bank, money–cash;
SimLex-999 sly–strange), whose two cosines float64 keeps equal (one tied rank) and float32
can round apart by one unit in the last place (two ranks). The differences are printed. The
wall-clock seconds of each are printed. Last, the vectors go
through `save_word2vec_format` into gensim's loader and back, and `dates_to_iso`'s 24,000
pairs are generated, timed.

    python bench/text_eval_vs_gensim.py [--corpora lee_background,wiki_sample] [--epochs 20]
                                        [--out bench/output/text_eval.json]

Small corpora give small vocabularies: the scores show that the evaluation works and agrees,
not what word2vec reaches on a large corpus (Mikolov et al. 2013 trained on billions of words).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2

RHO_TOLERANCE = 1e-3


def train_vectors(sentences, epochs, seed=0):
    from gensim.models import Word2Vec

    model = Word2Vec(sentences, vector_size=100, window=5, min_count=2, sg=1, negative=5,
                     epochs=epochs, workers=1, seed=seed)
    return model.wv


def compare(name, keyed):
    """gensim's scores and ours on the vectors `keyed`; raises when they disagree."""
    from gensim.test.utils import datapath

    from keras_dl import text

    start = time.perf_counter()
    theirs = {}
    for key, filename in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        _, spearman, oov = keyed.evaluate_word_pairs(datapath(filename))
        theirs[key] = {"spearman": float(spearman.statistic), "coverage": 1 - oov / 100}
    accuracy, sections = keyed.evaluate_word_analogies(datapath("questions-words.txt"))
    covered = sum(len(s["correct"]) + len(s["incorrect"]) for s in sections[:-1])
    theirs["analogies"] = {"accuracy": accuracy, "covered": covered}
    gensim_seconds = time.perf_counter() - start

    start = time.perf_counter()
    ours = text.evaluate_embeddings(keyed.vectors, keyed.index_to_key,
                                    neighbours_of=("government", "fire"), k=5)
    ours_seconds = time.perf_counter() - start

    for key in ("wordsim353", "simlex999"):
        assert abs(ours[key]["spearman"] - theirs[key]["spearman"]) < RHO_TOLERANCE, (name, key)
        assert abs(ours[key]["coverage"] - theirs[key]["coverage"]) < 1e-12, (name, key)
    assert ours["analogies"]["covered"] == theirs["analogies"]["covered"], name
    assert ours["analogies"]["accuracy"] == theirs["analogies"]["accuracy"], name
    return {
        "vocabulary": len(keyed.index_to_key),
        "rho_difference": max(abs(ours[k]["spearman"] - theirs[k]["spearman"])
                              for k in ("wordsim353", "simlex999")),
        "ours": {key: {k: ours[key][k] for k in ("spearman", "coverage")}
                 for key in ("wordsim353", "simlex999")}
        | {"analogies": {k: ours["analogies"][k] for k in ("accuracy", "coverage", "covered")}},
        "gensim": theirs,
        "neighbours": {w: [n for n, _ in ns] for w, ns in ours["neighbours"].items()},
        "seconds": {"gensim": gensim_seconds, "keras_dl": ours_seconds},
    }


def round_trip(keyed):
    """Seconds to write our text format and open it in gensim; the vectors must be equal."""
    import numpy as np
    from gensim.models import KeyedVectors

    from keras_dl import text

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        path = text.save_word2vec_format(Path(folder) / "v.txt", keyed.vectors,
                                         keyed.index_to_key)
        saved = time.perf_counter() - start
        loaded = KeyedVectors.load_word2vec_format(str(path))
    assert loaded.index_to_key == keyed.index_to_key
    assert np.array_equal(loaded.vectors, keyed.vectors)
    return saved


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default="lee_background,wiki_sample")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    from keras_dl.data import text as text_data
    from keras_dl.data import translation

    names = args.corpora.split(",")
    for name in names:
        if name not in text_data.CORPORA:
            parser.error(f"--corpora: unknown corpus {name!r}; allowed: "
                         f"{', '.join(sorted(text_data.CORPORA))}")
    if args.epochs < 1:
        parser.error(f"--epochs: {args.epochs} is not a positive integer")

    results = {}
    for name in names:
        sentences = text_data.corpus(name)
        start = time.perf_counter()
        keyed = train_vectors(sentences, args.epochs)
        result = compare(name, keyed)
        result["tokens"] = sum(map(len, sentences))
        result["seconds"]["train"] = time.perf_counter() - start
        result["seconds"]["save_word2vec_format"] = round_trip(keyed)
        results[name] = result
        ours = result["ours"]
        print(f"{name}: {result['tokens']:,} tokens, {result['vocabulary']:,} words | "
              f"WordSim353 ρ {ours['wordsim353']['spearman']:.3f} "
              f"({ours['wordsim353']['coverage']:.0%} of pairs) | SimLex-999 ρ "
              f"{ours['simlex999']['spearman']:.3f} ({ours['simlex999']['coverage']:.0%}) | "
              f"analogies {ours['analogies']['accuracy'] or 0:.3f} on "
              f"{ours['analogies']['covered']:,} questions | gensim agrees (ρ differs by "
              f"{result['rho_difference']:.1e}) | evaluation "
              f"{result['seconds']['keras_dl']:.2f} s (gensim {result['seconds']['gensim']:.2f} s)")
        print(f"  nearest to 'government': {result['neighbours'].get('government')}")
    start = time.perf_counter()
    translation.generate()
    seconds = results["dates_to_iso_generate_seconds"] = time.perf_counter() - start
    print(f"dates_to_iso: 24,000 pairs generated in {seconds:.2f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
