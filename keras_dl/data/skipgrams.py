"""word2vec's training examples, sampled as Mikolov et al. 2013 (and word2vec.c, and gensim)
sample them, built in the TensorFlow graph: no Python loop per word.

```python
corpus = encode_corpus(sentences, {"the": 1, "cat": 2, ...})   # flat ids + sentence ids
batches = example_batches(corpus, counts, mode="skipgram", window=5, negatives=5,
                          sample=1e-3, batch_size=1024, seed=0)  # infinite, epoch after epoch
```

One epoch of examples, from the corpus's word ids (a word's id is its row in the embedding
matrices; the words outside the vocabulary are already dropped, as gensim drops them):

1. **Sub-sampling of frequent words** (Mikolov et al. 2013b, §2.3, in word2vec.c's form, which
   gensim 4 uses): each occurrence of a word of count `c` out of `T` counted words is kept with
   probability `p = (sqrt(c / (s·T)) + 1) · (s·T) / c`, capped at 1 (`s`: `sample`, 1e-3;
   `keep_probabilities`). Dropped occurrences leave the sentence before the windows are
   drawn, so a window reaches past them.
2. **The shrinking window** (Mikolov et al. 2013a, §3.2): each kept word draws its window
   `b` uniformly from 1..`window`, and pairs with the words at most `b` positions away in its
   sentence. A word at distance `d` is so a context with probability `(window − d + 1) /
   window`: near words count more (`expected_pairs`).
3. The examples: **skip-gram** pairs (the context word's input vector predicts the word's
   output vector; gensim's orientation), or **CBOW** rows (the word's up to `2·window` context
   words, id 0 padding the absent ones, predict the word).
4. **Negative sampling** (Mikolov et al. 2013b, §2.2): `negatives` noise words per example,
   drawn from the unigram distribution raised to 3/4 (`noise_distribution`), by Walker's
   alias method (`alias_table`): exact, and one draw costs two gathers. A noise word equal to
   the example's word is left out of the loss (its label is `IGNORED`), as word2vec.c skips it.
5. The examples are shuffled and cut into batches of `batch_size` (the last, partial batch of
   an epoch is dropped; an epoch of fewer examples is one batch).

What a batch holds: `({"inputs": ids, "outputs": ids}, labels)`; `inputs` is `(B,)`
(skip-gram) or `(B, 2·window)` (CBOW); `outputs` is `(B, 1 + negatives)`, the word to predict
first and its noise words after; `labels` is 1 for the first column, 0 for the others, and
`IGNORED` (−1) where a noise word is the word itself.

Every draw is a stateless random op seeded by `(seed, epoch)`: the same seed gives the same
examples, in any process.

References:
    Mikolov, Chen, Corrado, Dean. "Efficient Estimation of Word Representations in Vector
    Space", ICLR workshop 2013 (2013a).
    Mikolov, Sutskever, Chen, Corrado, Dean. "Distributed Representations of Words and
    Phrases and their Compositionality", NeurIPS 2013 (2013b).
    Walker. "An efficient method for generating discrete random variables with general
    distributions", ACM TOMS 3(3), 1977 (the alias method; Vose 1991's construction).
"""

from __future__ import annotations

import dataclasses

import numpy as np

MODES = ("skipgram", "cbow")
NOISE_EXPONENT = 0.75
IGNORED = -1  # the label of a noise word equal to the word: left out of the loss
PAD = 0  # the id that pads a CBOW row's absent context words (the out-of-vocabulary row)


# === The formulas =================================================================================


def _counts(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype="float64")
    if counts.ndim != 1 or not counts.size or (counts < 0).any() or not counts.sum():
        raise ValueError("counts must be a 1-D array of non-negative word counts, not all 0")
    return counts


def keep_probabilities(counts, sample: float = 1e-3) -> np.ndarray:
    """The probability that an occurrence of each word is kept by sub-sampling:
    `(sqrt(c / (s·T)) + 1) · (s·T) / c`, capped at 1 (`c` the word's count, `T` all counts'
    sum, `s` = `sample`; gensim 4 and word2vec.c). `sample=0` keeps every word; a word of
    count 0 gets 1 (it never occurs)."""
    counts = _counts(counts)
    if not isinstance(sample, (int, float)) or isinstance(sample, bool) or not 0 <= sample < 1:
        raise ValueError(f"sample must be a number in [0, 1), got {sample!r}")
    if sample == 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore"):
        keep = (np.sqrt(counts / threshold) + 1) * threshold / counts
    return np.minimum(np.where(counts > 0, keep, 1.0), 1.0)


def noise_distribution(counts, exponent: float = NOISE_EXPONENT) -> np.ndarray:
    """Negative sampling's noise distribution: `c^exponent / Σ c^exponent` (3/4: Mikolov et
    al. 2013b, "outperformed significantly the unigram and the uniform distributions")."""
    counts = _counts(counts)
    weights = np.where(counts > 0, counts ** exponent, 0.0)
    return weights / weights.sum()


def alias_table(probabilities):
    """Walker's alias table of a discrete distribution (Vose's construction): `(accept,
    alias)`, two arrays of its length `n`. A draw takes a column `k` uniformly, then `k` with
    probability `accept[k]`, else `alias[k]`; `alias_probabilities` gives back the
    distribution exactly (up to float rounding)."""
    p = np.asarray(probabilities, dtype="float64")
    n = len(p)
    scaled = p * n / p.sum()
    accept, alias = np.ones(n), np.arange(n, dtype="int64")
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        low, high = small.pop(), large.pop()
        accept[low], alias[low] = scaled[low], high
        scaled[high] -= 1.0 - scaled[low]
        (small if scaled[high] < 1.0 else large).append(high)
    return accept.astype("float32"), alias.astype("int32")  # the rest: accept 1 (rounding)


def alias_probabilities(accept, alias) -> np.ndarray:
    """The distribution an alias table draws from: `(accept[k] + Σ_{j: alias[j]=k} (1 −
    accept[j])) / n`."""
    accept = np.asarray(accept, dtype="float64")
    p = accept.copy()
    np.add.at(p, np.asarray(alias), 1.0 - accept)
    return p / len(accept)


def expected_pairs(length: int, window: int) -> float:
    """The expected number of skip-gram pairs of a sentence of `length` kept words under the
    shrinking window: `Σ_{d=1..window} 2 (length − d)⁺ (window − d + 1) / window` (each of
    the `(length − d)⁺` couples at distance `d` is a pair once for each of its two words whose
    drawn window reaches `d`: probability `(window − d + 1) / window`)."""
    return sum(2 * max(length - d, 0) * (window - d + 1) / window
               for d in range(1, window + 1))


# === The corpus as word ids =======================================================================


@dataclasses.dataclass(frozen=True)
class Corpus:
    """A corpus as word ids: `ids[i]` the id of the i-th counted word, `sentences[i]` the
    number of its sentence (windows never cross sentences)."""

    ids: np.ndarray
    sentences: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def encode_corpus(sentences, index: dict) -> Corpus:
    """`sentences` (token lists, or strings split on white space) as a `Corpus` of the ids
    `index` gives their words; words `index` lacks are dropped. `ValueError` when no word
    is left."""
    ids, numbers = [], []
    for number, sentence in enumerate(sentences):
        tokens = sentence.split() if isinstance(sentence, str) else sentence
        found = [index[token] for token in tokens if token in index]
        ids += found
        numbers += [number] * len(found)
    if not ids:
        raise ValueError("none of the corpus's words is in the vocabulary; give text in the "
                         "vocabulary's language")
    return Corpus(np.array(ids, dtype="int32"), np.array(numbers, dtype="int32"))


# === One epoch in the graph =======================================================================


def _check(mode, window, negatives):
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
    for name, value in (("window", window), ("negatives", negatives)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def subsample(ids, sentences, keep, seed):
    """The occurrences kept by sub-sampling: `(ids, sentences)` of those whose uniform draw
    falls below their word's keep probability (`keep`, indexed by id)."""
    import tensorflow as tf

    draws = tf.random.stateless_uniform(tf.shape(ids), seed)
    kept = draws < tf.gather(keep, ids)
    return tf.boolean_mask(ids, kept), tf.boolean_mask(sentences, kept)


def draw_windows(count, window, seed):
    """Each word's shrunk window, uniform in 1..`window`."""
    import tensorflow as tf

    return tf.random.stateless_uniform([count], seed, minval=1, maxval=window + 1,
                                       dtype="int32")


def skipgram_pairs(ids, sentences, radius, window):
    """`(inputs, outputs)`: for each word `i` and each word `j` of its sentence at most
    `radius[i]` positions away, the pair (`ids[j]`, `ids[i]`): the context's input vector
    predicts the word's output vector (gensim's orientation)."""
    import tensorflow as tf

    # All distances at once, as (distance, side, word) grids masked in one pass; the pairs
    # come out ordered by distance, then right (word i, context i + d) before left (word
    # i + d, context i), then by i.
    n = tf.shape(ids)[0]
    distance = tf.range(1, window + 1)[:, None]                   # (window, 1)
    partner = tf.range(n)[None, :] + distance                     # i + d, (window, n)
    inside = partner < n
    partner = tf.minimum(partner, n - 1)
    same = inside & tf.equal(tf.gather(sentences, partner), sentences[None, :])
    right = same & (radius[None, :] >= distance)                  # i's window reaches i + d
    left = same & (tf.gather(radius, partner) >= distance)        # i + d's window reaches i
    here = tf.broadcast_to(ids[None, :], tf.shape(partner))
    there = tf.gather(ids, partner)
    mask = tf.stack([right, left], axis=1)                        # (window, 2, n)
    inputs = tf.boolean_mask(tf.stack([there, here], axis=1), mask)
    outputs = tf.boolean_mask(tf.stack([here, there], axis=1), mask)
    return inputs, outputs


def cbow_rows(ids, sentences, radius, window):
    """`(contexts, words)`: per word, its context words within its shrunk window (columns
    `d − 1` the word `d` before, `window + d − 1` the word `d` after; `PAD` where there is
    none), for the words that have at least one."""
    import tensorflow as tf

    n = tf.shape(ids)[0]
    before, after = [], []
    for d in range(1, window + 1):
        pad = tf.fill([tf.minimum(d, n)], PAD)
        pad_sentence = tf.fill([tf.minimum(d, n)], -1)
        ids_before = tf.concat([pad, ids[:-d]], 0)[:n]
        ids_after = tf.concat([ids[d:], pad], 0)[-n:]
        sentences_before = tf.concat([pad_sentence, sentences[:-d]], 0)[:n]
        sentences_after = tf.concat([sentences[d:], pad_sentence], 0)[-n:]
        near = radius >= d
        before.append(tf.where(near & tf.equal(sentences_before, sentences), ids_before, PAD))
        after.append(tf.where(near & tf.equal(sentences_after, sentences), ids_after, PAD))
    contexts = tf.stack(before + after, axis=1)
    some = tf.reduce_any(contexts != PAD, axis=1)
    return tf.boolean_mask(contexts, some), tf.boolean_mask(ids, some)


def draw_noise(shape, accept, alias, seed):
    """Noise words by the alias method: a uniform column, kept with its `accept`
    probability, else its `alias`."""
    import tensorflow as tf

    columns_seed, coin_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    columns = tf.random.stateless_uniform(shape, columns_seed, maxval=tf.shape(accept)[0],
                                          dtype="int32")
    coins = tf.random.stateless_uniform(shape, coin_seed)
    return tf.where(coins < tf.gather(accept, columns), columns, tf.gather(alias, columns))


def epoch_examples(corpus_ids, corpus_sentences, keep, accept, alias, seed, *, mode, window,
                   negatives, subsampling=True):
    """One epoch's examples, shuffled: `(inputs, outputs, labels)` as the module
    docstring says (`seed`: a stateless seed, shape (2,))."""
    import tensorflow as tf

    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 4))
    ids, sentences = corpus_ids, corpus_sentences
    if subsampling:
        ids, sentences = subsample(ids, sentences, keep, seeds[0])
    radius = draw_windows(tf.shape(ids)[0], window, seeds[1])
    if mode == "skipgram":
        inputs, words = skipgram_pairs(ids, sentences, radius, window)
    else:
        inputs, words = cbow_rows(ids, sentences, radius, window)
    order = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(words)[0]), seeds[2])
    inputs, words = tf.gather(inputs, order), tf.gather(words, order)
    noise = draw_noise(tf.stack([tf.shape(words)[0], negatives]), accept, alias, seeds[3])
    outputs = tf.concat([words[:, None], noise], axis=1)
    labels = tf.concat([tf.ones_like(words[:, None]),
                        tf.where(noise == words[:, None], IGNORED, 0)], axis=1)
    return inputs, outputs, tf.cast(labels, "float32")


def _tables(counts, sample, noise_exponent):
    """Sub-sampling's keep probabilities and the noise's alias table, as constants."""
    import tensorflow as tf

    accept, alias = alias_table(noise_distribution(counts, noise_exponent))
    return (tf.constant(keep_probabilities(counts, sample), "float32"), tf.constant(accept),
            tf.constant(alias))


def _check_batch_size(batch_size):
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


def example_batches(corpus: Corpus, counts, *, mode: str = "skipgram", window: int = 5,
                    negatives: int = 5, sample: float = 1e-3, batch_size: int = 1024,
                    seed: int = 0, epochs: int | None = None,
                    noise_exponent: float = NOISE_EXPONENT):
    """A `tf.data.Dataset` of batches `({"inputs", "outputs"}, labels)`: `epochs` epochs of
    examples (None: endless), each drawn afresh in the graph from `(seed, epoch)`. `counts`
    (by id) give the sub-sampling and the noise distribution."""
    import tensorflow as tf

    _check(mode, window, negatives)
    _check_batch_size(batch_size)
    keep, accept, alias = _tables(counts, sample, noise_exponent)
    ids, sentences = tf.constant(corpus.ids), tf.constant(corpus.sentences)

    def epoch(number):
        inputs, outputs, labels = epoch_examples(
            ids, sentences, keep, accept, alias, tf.stack([tf.cast(seed, "int64"), number]),
            mode=mode, window=window, negatives=negatives, subsampling=sample > 0)
        count = tf.shape(outputs)[0]
        size = tf.minimum(batch_size, tf.maximum(count, 1))  # an epoch smaller than a batch:
        batches = count // size  # one batch of it all
        cut = batches * size

        def split(tensor):
            return tf.reshape(tensor[:cut], tf.concat([[batches, size],
                                                       tf.shape(tensor)[1:]], 0))

        return tf.data.Dataset.from_tensor_slices(
            ({"inputs": split(inputs), "outputs": split(outputs)}, split(labels)))

    numbers = tf.data.Dataset.range(epochs) if epochs is not None else \
        tf.data.Dataset.range(2**62)
    # `epoch` is plain graph code (its loops run over Python numbers): tracing it through
    # autograph would only add about a second before the first batch
    return numbers.flat_map(tf.autograph.experimental.do_not_convert(epoch)).prefetch(2)


def fixed_examples(corpus: Corpus, counts, *, mode: str = "skipgram", window: int = 5,
                   negatives: int = 5, sample: float = 1e-3, seed: int = 0,
                   noise_exponent: float = NOISE_EXPONENT):
    """One epoch of examples drawn once, now: `(inputs, outputs, labels)` tensors (held-out
    text: the same examples every time it is scored). `counts` are the training corpus's:
    held-out text is sampled by the training words' frequencies."""
    import tensorflow as tf

    _check(mode, window, negatives)
    keep, accept, alias = _tables(counts, sample, noise_exponent)
    return epoch_examples(tf.constant(corpus.ids), tf.constant(corpus.sentences), keep, accept,
                          alias, tf.constant([seed, 0], "int64"), mode=mode, window=window,
                          negatives=negatives, subsampling=sample > 0)


def expected_examples(corpus: Corpus, counts, *, mode: str, window: int,
                      sample: float = 1e-3) -> float:
    """The expected number of examples of one epoch (an estimate under sub-sampling: the
    kept length of each sentence taken at its expectation): pairs for skip-gram, words with
    a context for CBOW (taken as all kept words)."""
    keep = keep_probabilities(counts, sample) if sample > 0 else np.ones(len(counts))
    lengths = np.bincount(corpus.sentences, weights=keep[corpus.ids])
    if mode == "cbow":
        return float(lengths.sum())
    return float(sum(expected_pairs(length, window) for length in lengths))
