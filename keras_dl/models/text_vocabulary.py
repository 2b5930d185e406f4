"""What a text model (`keras_dl.models.text`) learns before `fit` and what its export checks:
the vocabulary adapted on the training split, tf-idf's inverse document frequencies, an
embedding started from word vectors, and each text's word counts as its vectorizer splits it.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl import compat
from keras_dl.models.text import EMBEDDING, IDF_SUFFIX, PUNCTUATION


# === Learning the vocabulary =====================================================================


def vectorizers(model) -> list:
    """The model's `TextVectorization` layers."""
    return [layer for layer in compat.all_layers(model)
            if isinstance(layer, keras.layers.TextVectorization)]


def _layer_named(model, name):
    return next((layer for layer in compat.all_layers(model) if layer.name == name), None)


def adapt_text_model(model, texts, batch_size: int = 1024) -> None:
    """Learn what a text model takes from its training texts, before `fit`: each
    vectorizer's vocabulary (unless it was given one), the inverse document frequencies of a
    tf-idf vectorizer, and an embedding's rows from the builder's `embedding_vectors` file.
    `ValueError` when the texts hold no word."""
    texts = np.asarray(texts)
    if texts.dtype.kind not in "US" or not texts.size:
        raise ValueError(f"a text model learns its vocabulary from strings; got "
                         f"{texts.size} values of dtype {texts.dtype}")
    found = word_counts(texts)
    if not found.sum():
        raise ValueError(f"the {len(texts)} training texts hold no word; a text model needs "
                         "words to learn a vocabulary from")
    for vectorizer in vectorizers(model):
        if vectorizer.get_config().get("vocabulary") is None:
            vectorizer.adapt(texts, batch_size=batch_size)
        idf = _layer_named(model, vectorizer.name + IDF_SUFFIX)
        if idf is not None:
            _set_idf(idf, vectorizer, texts, batch_size)
    vectors_file = getattr(model, "embedding_vectors", None)
    embedding = _layer_named(model, EMBEDDING)
    if vectors_file and embedding is not None:
        initialise_embedding(embedding, vectorizers(model)[0].get_vocabulary(), vectors_file)


def _set_idf(normalization, vectorizer, texts, batch_size):
    """`normalization` multiplies each count by `log(1 + N / (1 + df))` (Keras' idf)."""
    df = np.zeros(normalization.adapt_mean.shape[0], dtype="float64")
    for start in range(0, len(texts), batch_size):
        counts = np.asarray(vectorizer(texts[start:start + batch_size]))
        df += (counts > 0).sum(axis=0)
    idf = np.log1p(len(texts) / (1.0 + df))
    normalization.adapt_mean.assign(np.zeros_like(idf, dtype="float32"))
    normalization.adapt_variance.assign((1.0 / idf ** 2).astype("float32"))
    normalization.finalize_state()


def initialise_embedding(embedding, vocabulary, path) -> int:
    """Set the rows of `embedding` for the words of `vocabulary` (ids as the vectorizer
    gives them) that the word2vec text-format file `path` holds; returns how many."""
    from keras_dl.text import load_word2vec_format

    vectors, words = load_word2vec_format(path)
    row = {word: i for i, word in enumerate(words)}
    weights = np.array(embedding.embeddings)
    if vectors.shape[1] != weights.shape[1]:
        raise ValueError(f"{path} holds {vectors.shape[1]}-dimensional vectors; the embedding "
                         f"has {weights.shape[1]}")
    found = 0
    for index, word in enumerate(vocabulary[:len(weights)]):
        if index > 1 and word in row:  # 0 pads, 1 is out of vocabulary
            weights[index] = vectors[row[word]]
            found += 1
    embedding.embeddings.assign(weights)
    return found


# === Counting words as the vectorizers do ========================================================


def word_counts(texts) -> np.ndarray:
    """The number of words in each text as the vectorizers split it (lower-cased, Keras'
    punctuation stripped, split on whitespace)."""
    import tensorflow as tf

    return np.asarray(_count_words(tf.constant(np.asarray(texts, dtype=object).astype(str))))


def _count_words(texts):
    import tensorflow as tf

    standardized = tf.strings.regex_replace(tf.strings.lower(texts), PUNCTUATION, "")
    return tf.cast(tf.strings.split(standardized).row_lengths(), "int32")


def text_statistics(model):
    """`fn(texts) -> {"words": ..., "known_words": ...}`: per text, its words and how many of
    them (or of its n-grams) the model's vocabulary holds, read through its own vectorizer
    (what a served text model checks a request against: an empty text, one with no known
    word, one longer than `max_length`)."""
    import tensorflow as tf

    vectorizer = vectorizers(model)[0]
    counting = vectorizer.get_config()["output_mode"] != "int"

    def statistics(texts):
        ids = vectorizer(texts)
        if counting:  # entry 0 counts the out-of-vocabulary n-grams
            known = tf.reduce_sum(tf.cast(ids[:, 1:] > 0, "int32"), axis=1)
        else:  # 0 pads, 1 is out of vocabulary
            known = tf.reduce_sum(tf.cast(ids > 1, "int32"), axis=1)
        return {"words": _count_words(texts), "known_words": known}

    return statistics


def max_length(model):
    """The most words the model reads a text to (None: any number)."""
    return vectorizers(model)[0].get_config().get("output_sequence_length")
