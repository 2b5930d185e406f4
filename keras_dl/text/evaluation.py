"""How good word vectors are: word similarity, analogies, nearest neighbours.

Vectors are a `(words, dimensions)` array whose row `i` is the vector of `vocab[i]`, the
vocabulary most frequent first (as word2vec and gensim order it). The measures follow gensim's
`KeyedVectors.evaluate_word_pairs` and `evaluate_word_analogies`, so their numbers can be set
side by side:

- word similarity (WordSim353, SimLex-999): Spearman's ρ (and Pearson's r) between the human
  scores and the cosine similarities, over the pairs whose two words are both among the first
  `restrict_vocab` words; `coverage` is the share of pairs kept (gensim reports the
  complement, as an out-of-vocabulary percentage);
- analogies (`questions-words.txt`): 3CosAdd (Mikolov et al. 2013): the answer to "a is to b
  as c is to ?" is the word, among the first `restrict_vocab` and other than a, b and c, whose
  unit vector is nearest in cosine to `unit(b) - unit(a) + unit(c)`; questions with a word
  outside those `restrict_vocab` words are skipped, and `coverage` is the share kept.

With `case_insensitive` (the default, as in gensim), words are compared upper-cased, and a
word spelt several ways takes the vector of its most frequent spelling (the first in `vocab`).
`restrict_vocab` defaults to gensim's 300,000.
"""

from __future__ import annotations

import numpy as np

RESTRICT_VOCAB = 300_000
ANALOGY_TOP = 5  # gensim looks at the 5 nearest words for one that is not a, b or c
SCORES_PER_BATCH = 2**22  # questions x candidate words scored at once (16 MiB of float32)


def _check(vectors, vocab):
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.number):
        raise ValueError(f"vectors must be a 2-D numeric array (words, dimensions), got shape "
                         f"{vectors.shape} and dtype {vectors.dtype}")
    vocab = list(vocab)
    if not vocab:
        raise ValueError("vocab holds no words; give one word per row of vectors")
    if len(vocab) != len(vectors):
        raise ValueError(f"vocab holds {len(vocab)} words but vectors {len(vectors)} rows; give "
                         "one word per row")
    bad = [w for w in vocab if not isinstance(w, str) or not w]
    if bad:
        raise ValueError(f"vocab holds {bad[0]!r}; words are non-empty strings")
    if not np.isfinite(vectors).all():
        row = int(np.argwhere(~np.isfinite(vectors))[0][0])
        raise ValueError(f"the vector of {vocab[row]!r} (row {row}) holds NaN or infinity")
    return vectors.astype("float64"), vocab


def _check_restrict(restrict_vocab):
    if not isinstance(restrict_vocab, int) or isinstance(restrict_vocab, bool) \
            or restrict_vocab < 1:
        raise ValueError(f"restrict_vocab must be a positive integer, got {restrict_vocab!r}")


def _unit(vectors):
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def _index(vocab, restrict_vocab, case_insensitive):
    """word (upper-cased with case_insensitive) -> row, among the first restrict_vocab words;
    the first (most frequent) spelling wins."""
    index = {}
    for row, word in enumerate(vocab[:restrict_vocab]):
        index.setdefault(word.upper() if case_insensitive else word, row)
    return index


def _top(scores, k):
    """Per row, the columns of the `k` highest scores, highest first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else \
        np.broadcast_to(np.arange(k), scores.shape)
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def word_similarity(vectors, vocab, pairs, restrict_vocab: int = RESTRICT_VOCAB,
                    case_insensitive: bool = True) -> dict:
    """Spearman's ρ and Pearson's r between `pairs`' human scores (`(word1, word2, score)`
    triples: `keras_dl.data.text.word_pairs(name)`) and the vectors' cosine similarities.

    Returns `{"spearman", "pearson", "coverage", "pairs", "covered"}`; the correlations are
    None when fewer than two pairs are covered.
    """
    from scipy import stats

    vectors, vocab = _check(vectors, vocab)
    _check_restrict(restrict_vocab)
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs holds no word pairs; give (word, word, score) triples")
    index, unit = _index(vocab, restrict_vocab, case_insensitive), _unit(vectors)
    fold = str.upper if case_insensitive else str
    human, model = [], []
    for first, second, score in pairs:
        rows = index.get(fold(first)), index.get(fold(second))
        if None not in rows:
            human.append(float(score))
            model.append(float(unit[rows[0]] @ unit[rows[1]]))
    result = {"spearman": None, "pearson": None, "coverage": len(human) / len(pairs),
              "pairs": len(pairs), "covered": len(human)}
    if len(human) >= 2:
        result["spearman"] = float(stats.spearmanr(human, model).statistic)
        result["pearson"] = float(stats.pearsonr(human, model).statistic)
    return result


def analogy_accuracy(vectors, vocab, questions, restrict_vocab: int = RESTRICT_VOCAB,
                     case_insensitive: bool = True) -> dict:
    """3CosAdd accuracy on `questions` (`(section, a, b, c, d)` tuples:
    `keras_dl.data.text.analogies()`), over the questions whose four words are among the
    first `restrict_vocab` words.

    Returns `{"accuracy", "coverage", "questions", "covered", "correct", "sections"}`, with
    `sections[name] = {"accuracy", "covered", "correct"}` for each section with a covered
    question; `accuracy` is None when no question is covered.
    """
    vectors, vocab = _check(vectors, vocab)
    _check_restrict(restrict_vocab)
    questions = list(questions)
    if not questions:
        raise ValueError("questions holds no analogies; give (section, a, b, c, d) tuples")
    index = _index(vocab, restrict_vocab, case_insensitive)
    fold = str.upper if case_insensitive else str
    kept = [(section, [index.get(fold(w)) for w in words], [fold(w) for w in words])
            for section, *words in questions]
    kept = [q for q in kept if None not in q[1]]
    candidates = _unit(vectors[:restrict_vocab]).astype("float32")
    batch = max(1, SCORES_PER_BATCH // len(candidates))
    folded = [fold(word) for word in vocab[:restrict_vocab]]
    sections: dict[str, dict] = {}
    for start in range(0, len(kept), batch):
        chunk = kept[start:start + batch]
        rows = np.array([q[1] for q in chunk])
        target = candidates[rows[:, 1]] - candidates[rows[:, 0]] + candidates[rows[:, 2]]
        scores = _unit(target) @ candidates.T
        scores[np.arange(len(chunk))[:, None], rows[:, :3]] = -np.inf  # never a, b or c
        top = _top(scores, ANALOGY_TOP)
        for (section, _, words), nearest in zip(chunk, top):
            ignore = set(words[:3])  # another spelling of a, b or c is skipped too
            answer = next((folded[i] for i in nearest if folded[i] not in ignore), None)
            tally = sections.setdefault(section, {"covered": 0, "correct": 0})
            tally["covered"] += 1
            tally["correct"] += int(answer == words[3])
    for tally in sections.values():
        tally["accuracy"] = tally["correct"] / tally["covered"]
    correct = sum(t["correct"] for t in sections.values())
    return {"accuracy": correct / len(kept) if kept else None,
            "coverage": len(kept) / len(questions), "questions": len(questions),
            "covered": len(kept), "correct": correct, "sections": sections}


def nearest_neighbours(vectors, vocab, word: str, k: int = 10) -> list:
    """The `k` words nearest to `word` in cosine similarity, nearest first, as
    `[(word, cosine), ...]` (the word itself left out; exact spelling)."""
    vectors, vocab = _check(vectors, vocab)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    rows = {w: i for i, w in reversed(list(enumerate(vocab)))}
    if word not in rows:
        raise ValueError(f"{word!r} is not in the vocabulary of {len(vocab)} words")
    unit = _unit(vectors)
    scores = unit @ unit[rows[word]]
    scores[rows[word]] = -np.inf
    order = np.argsort(-scores, kind="stable")[:min(k, len(vocab) - 1)]
    return [(vocab[i], float(scores[i])) for i in order]


def evaluate_embeddings(vectors, vocab, restrict_vocab: int = RESTRICT_VOCAB,
                        neighbours_of=(), k: int = 10, case_insensitive: bool = True) -> dict:
    """Word vectors scored on the evaluation sets in gensim's wheel.

    Returns `{"wordsim353": word_similarity(...), "simlex999": ..., "analogies":
    analogy_accuracy(...), "neighbours": {word: nearest_neighbours(...)}}` for each word of
    `neighbours_of` in the vocabulary. `ValueError` when the vocabulary covers no pair and no
    question at all (vectors of another language, or of stemmed words, say).
    """
    from keras_dl.data import text

    vocab = list(vocab)
    result = {name: word_similarity(vectors, vocab, text.word_pairs(name), restrict_vocab,
                                    case_insensitive) for name in ("wordsim353", "simlex999")}
    result["analogies"] = analogy_accuracy(vectors, vocab, text.analogies(), restrict_vocab,
                                           case_insensitive)
    if not any(result[name]["covered"] for name in result):
        raise ValueError(f"none of the vocabulary's {len(vocab)} words makes a "
                         "WordSim353 or SimLex-999 pair or an analogy question; these "
                         "sets are English words")
    known = set(vocab)
    result["neighbours"] = {word: nearest_neighbours(vectors, vocab, word, k)
                            for word in neighbours_of if word in known}
    return result
