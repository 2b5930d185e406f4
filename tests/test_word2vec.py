"""word2vec: the sampling (`keras_dl.data.skipgrams`) against its formulas, the model's
training rule, and the word-embedding task's data, vocabulary and scores. Tiny shapes: the
training-quality figures are bench/word2vec_vs_gensim.py's and apps/word2vec.py's."""

import re

import numpy as np
import pytest
import tensorflow as tf

import keras_dl
from keras_dl.data import skipgrams
from keras_dl.models import word2vec as w2v
from keras_dl.tasks import embedding

SEED = tf.constant([7, 1], "int64")


# === The formulas ===============================================================================


def test_keep_probabilities_follow_gensims_formula():
    """Catches a sub-sampling formula other than (sqrt(c/(sT)) + 1)·sT/c capped at 1 (the
    original paper's 1 − sqrt(t/f), or the cap forgotten)."""
    counts = np.array([0, 10_000, 1_000, 100, 10, 1], dtype="float64")
    sample = 1e-3
    threshold = sample * counts.sum()
    keep = skipgrams.keep_probabilities(counts, sample)
    for count, got in zip(counts[1:], keep[1:]):
        want = min(1.0, (np.sqrt(count / threshold) + 1) * threshold / count)
        assert got == pytest.approx(want, rel=1e-12)
    assert keep[1] < 0.15 and keep[-1] == 1.0  # the frequent word mostly dropped, a rare kept
    np.testing.assert_array_equal(skipgrams.keep_probabilities(counts, 0.0), 1.0)


def test_noise_is_unigram_to_the_three_quarters_and_the_alias_table_is_exact():
    """Catches a noise distribution not proportional to c^0.75, and an alias table (or its
    draws) giving another distribution than the one it was built from."""
    counts = np.array([0, 500, 120, 40, 7, 1, 1, 0, 3], dtype="float64")
    noise = skipgrams.noise_distribution(counts)
    np.testing.assert_allclose(noise, counts ** 0.75 / (counts ** 0.75).sum(), rtol=1e-12)
    accept, alias = skipgrams.alias_table(noise)
    np.testing.assert_allclose(skipgrams.alias_probabilities(accept, alias), noise, atol=1e-7)
    draws = np.asarray(skipgrams.draw_noise([200_000], tf.constant(accept), tf.constant(alias),
                                            SEED))
    frequencies = np.bincount(draws, minlength=len(counts)) / len(draws)
    # 5 standard errors of a share estimated from 200k draws
    assert (np.abs(frequencies - noise)
            <= 5 * np.sqrt(noise * (1 - noise) / len(draws)) + 1e-9).all()
    assert frequencies[0] == frequencies[7] == 0  # words never seen are never noise


def test_subsampling_keeps_each_word_at_its_probability():
    counts = np.array([0, 9_000, 900, 100], dtype="float64")
    keep = skipgrams.keep_probabilities(counts, 1e-2)
    ids = np.repeat(np.arange(1, 4), 20_000).astype("int32")
    kept, _ = skipgrams.subsample(tf.constant(ids), tf.zeros_like(ids), tf.constant(keep,
                                                                                  "float32"),
                                  SEED)
    rates = np.bincount(np.asarray(kept), minlength=4)[1:] / 20_000
    np.testing.assert_allclose(rates, keep[1:], atol=0.012)


def test_shrinking_window_pair_counts_are_exact_and_average_to_the_formula():
    """Each word pairs with exactly min(b, words before) + min(b, words after) words of its
    sentence for its drawn window b, no pair crosses a sentence, CBOW rows hold the same
    contexts, and over many draws the count averages to `expected_pairs`."""
    window, lengths = 4, (9, 1, 6)
    sentences = np.repeat(np.arange(len(lengths)), lengths).astype("int32")
    ids = np.arange(1, len(sentences) + 1, dtype="int32")  # position + 1: pairs say who
    draws = 120

    @tf.function
    def pairs(seed):
        radius = skipgrams.draw_windows(len(ids), window, seed)
        return (radius, *skipgrams.skipgram_pairs(tf.constant(ids), tf.constant(sentences),
                                                  radius, window),
                *skipgrams.cbow_rows(tf.constant(ids), tf.constant(sentences), radius, window))

    totals = []
    for draw in range(draws):
        radius, inputs, outputs, contexts, words = (
            np.asarray(t) for t in pairs(tf.constant([draw, 3], "int64")))
        assert radius.min() >= 1 and radius.max() <= window
        assert (sentences[inputs - 1] == sentences[outputs - 1]).all()
        assert (np.abs(inputs - outputs) <= radius[outputs - 1]).all()
        start = np.concatenate([[0], np.cumsum(lengths)[:-1]])[sentences]
        end = np.cumsum(lengths)[sentences] - 1
        position = np.arange(len(ids))
        want = np.minimum(radius, position - start) + np.minimum(radius, end - position)
        np.testing.assert_array_equal(np.bincount(outputs - 1, minlength=len(ids)), want)
        np.testing.assert_array_equal((contexts != skipgrams.PAD).sum(axis=1), want[words - 1])
        totals.append(len(outputs))
    expected = sum(skipgrams.expected_pairs(length, window) for length in lengths)
    assert skipgrams.expected_pairs(1, window) == 0
    assert skipgrams.expected_pairs(2, 1) == 2  # both words see each other
    assert np.mean(totals) == pytest.approx(expected, abs=4 * np.std(totals) / np.sqrt(draws))


def _tiny_corpus():
    rng = np.random.default_rng(0)
    return skipgrams.Corpus(rng.integers(1, 6, size=400).astype("int32"),
                            np.repeat(np.arange(8), 50).astype("int32"))


def test_batches_are_determined_by_the_seed_and_label_the_noise():
    counts = np.bincount(_tiny_corpus().ids, minlength=6)

    def first(seed, mode="skipgram"):
        batches = skipgrams.example_batches(_tiny_corpus(), counts, mode=mode, window=3,
                                            negatives=4, sample=0.0, batch_size=64, seed=seed)
        return [tf.nest.map_structure(np.asarray, b) for b in batches.take(3)]

    a, b, c = first(5), first(5), first(6)
    for x, y in zip(a, b):
        tf.nest.map_structure(np.testing.assert_array_equal, x, y)
    assert not np.array_equal(a[0][0]["outputs"], c[0][0]["outputs"])
    assert not np.array_equal(a[0][0]["outputs"], a[1][0]["outputs"])  # epochs/batches differ
    (inputs, labels), outputs = (a[0][0]["inputs"], a[0][1]), a[0][0]["outputs"]
    assert inputs.shape == (64,) and outputs.shape == labels.shape == (64, 5)
    np.testing.assert_array_equal(labels[:, 0], 1)
    noise_is_word = outputs[:, 1:] == outputs[:, :1]
    assert noise_is_word.any()  # 5 words: collisions happen, and are left out
    np.testing.assert_array_equal(labels[:, 1:], np.where(noise_is_word, skipgrams.IGNORED, 0))
    cbow = first(5, "cbow")[0][0]["inputs"]
    assert cbow.shape == (64, 6) and ((cbow != skipgrams.PAD).sum(axis=1) >= 1).all()


# === The model's training rule ==================================================================


def _model(mode="skipgram", **kwargs):
    return keras_dl.create_model("word2vec", vocabulary=["a", "b", "c", "d", "e"], dimension=3,
                                 window=2, negatives=2, mode=mode, **kwargs)


@pytest.mark.parametrize("cbow_mean", [True, False])
def test_cbow_takes_the_mean_and_gives_each_context_word2vec_cs_gradient(cbow_mean):
    """Forward: the mean (sum) of the context vectors; backward: the gradient reaching h added
    whole to each context word (mean, word2vec.c) or divided by their number (sum, gensim)."""
    layer = w2v.embeddings_layer(_model("cbow", cbow_mean=cbow_mean))
    layer.output_embeddings.assign(np.random.default_rng(0).normal(size=(6, 3)))
    inputs = tf.constant([[1, 2, 0, 3]])  # three context words, one PAD
    outputs = tf.constant([[4, 5, 1]])
    with tf.GradientTape() as tape:
        hidden = layer.hidden(inputs)
        score = layer.scores(inputs, outputs)[0, 0]
    vectors = np.asarray(layer.input_embeddings)[[1, 2, 3]]
    want = vectors.mean(0) if cbow_mean else vectors.sum(0)
    np.testing.assert_allclose(np.asarray(hidden)[0], want, rtol=1e-6)
    gradient = tape.gradient(score, layer.input_embeddings.value)
    dense = np.asarray(tf.convert_to_tensor(gradient))
    direction = np.asarray(layer.output_embeddings)[4] * (1.0 if cbow_mean else 1 / 3)
    for row in (1, 2, 3):
        np.testing.assert_allclose(dense[row], direction, rtol=1e-5)
    assert not dense[0].any() and not dense[4:].any()


def test_loss_and_per_example_steps():
    """The loss is −log σ(s) for the word and −log σ(−s) for noise, ignored entries left out,
    averaged over examples; the scores' gradient is the summed loss's."""
    loss = w2v.NegativeSamplingLoss()
    scores = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], "float32")
    labels = np.array([[1, 0, skipgrams.IGNORED], [1, 0, 0]], "float32")
    softplus = np.log1p(np.exp(scores))
    want = ((softplus[0, 0] - 2.0 + softplus[0, 1]) + (softplus[1, 0] + softplus[1, 1]
                                                        + softplus[1, 2])) / 2
    assert float(loss(labels, scores)) == pytest.approx(want, rel=1e-6)
    x = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = w2v.per_example_steps(x)
        total = tf.reduce_sum(y * [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(np.asarray(y), scores)
    np.testing.assert_allclose(np.asarray(tape.gradient(total, x)), [[2, 4, 6]] * 2)


def test_builder_refuses_bad_arguments():
    for kwargs, message in (({"mode": "glove"}, "mode must be one of 'skipgram', 'cbow'"),
                            ({"window": 0}, "window must be a positive integer, got 0"),
                            ({"vocabulary_size": 0}, "vocabulary_size must be a positive"),
                            ({"sample": 1.5}, "sample must be a number in [0, 1)"),
                            ({"vocabulary": ["a", "a"]}, "lists a word twice"),
                            ({"vocabulary": ["new york"]}, "strings without white space")):
        with pytest.raises(ValueError, match=re.escape(message)):
            keras_dl.create_model("word2vec", **kwargs)


# === The task ===================================================================================


def _topic_corpus(documents=40, length=30, seed=0):
    """Two topics of four words each, and a word shared by both: documents of one topic."""
    rng = np.random.default_rng(seed)
    topics = (["red", "green", "blue", "pink"], ["cat", "dog", "cow", "pig"])
    return [" ".join(rng.choice(topics[i % 2] + ["and"], size=length)) for i in range(documents)]


def test_vocabulary_counts_and_word_vectors_open_in_gensim(tmp_path):
    from gensim.models import KeyedVectors

    from keras_dl.text import save_word2vec_format

    model = keras_dl.create_model("word2vec", dimension=4, vocabulary_size=6, min_count=2)
    documents = [d.split() for d in _topic_corpus()] + [["rare"]]
    words = embedding.learn_vocabulary(model, documents)
    assert len(words) == 6 and "rare" not in words  # capped at vocabulary_size, min_count
    counts = np.asarray(w2v.embeddings_layer(model).counts)
    assert counts[0] == 0 and (np.diff(counts[1:7]) <= 0).all()  # most frequent first
    assert counts[1] == sum(d.count(words[0]) for d in documents)
    vectors, vocab = w2v.word_vectors(model)
    np.testing.assert_array_equal(np.asarray(model(np.array(vocab))), vectors)
    loaded = KeyedVectors.load_word2vec_format(str(save_word2vec_format(tmp_path / "v.txt",
                                                                        vectors, vocab)))
    assert loaded.index_to_key == vocab and np.array_equal(loaded.vectors, vectors)
    statistics = w2v.word_statistics(model)(tf.constant([vocab[0], "zebra", "", "a b"]))
    np.testing.assert_array_equal(statistics["words"], [1, 1, 0, 2])
    np.testing.assert_array_equal(statistics["known_words"], [1, 0, 0, 0])


def test_training_separates_the_topics_and_the_held_out_loss_falls():
    """Catches a training rule that learns nothing (a sign flipped, the output vectors never
    updated, noise labelled as the word): after training, words of one topic are nearer each
    other than words of the other, and the held-out loss is below its value at the start."""
    documents = [d.split() for d in _topic_corpus()]
    held_out = [d.split() for d in _topic_corpus(6, seed=1)]
    start = keras_dl.create_model("word2vec", dimension=8, window=3, min_count=1, sample=0.0)
    embedding.learn_vocabulary(start, documents)
    before = embedding.held_out_loss(start, held_out)
    model = embedding.train_word2vec(documents, epochs=3, batch_size=64, dimension=8,
                                     window=3, min_count=1, sample=0.0, learning_rate=0.05)
    vectors, vocab = w2v.word_vectors(model)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = dict(zip(vocab, unit))
    same = similarity["red"] @ similarity["blue"] + similarity["cat"] @ similarity["cow"]
    across = similarity["red"] @ similarity["cat"] + similarity["blue"] @ similarity["cow"]
    assert same > across + 0.5
    assert embedding.held_out_loss(model, held_out) < before - 0.1
    scores = embedding.embedding_scores(model)
    # nine toy words cover no pair and no question: coverage 0 and no correlation
    assert scores["wordsim353_coverage"] == scores["analogy_coverage"] == 0
    assert "wordsim353_spearman" not in scores and "analogy_accuracy" not in scores
