"""Text classifiers that read raw strings: a bag of words (or n-grams) under an MLP, and a
recurrent network over word embeddings.

Both start with Keras' `TextVectorization` (lower-case, punctuation stripped, split on
whitespace), so the model's input is one string per example and a SavedModel exported from
it answers raw text. The vectorizer's vocabulary is learnt from the training split before
`fit` (`keras_dl.models.text_vocabulary.adapt_text_model`, which the `text_classification`
task calls: `keras-dl train` and every tuning trial run it); it is part of the model from then
on (a `.keras` file keeps it among its assets, a SavedModel as a lookup table).

- `bow_classifier`: the text as one vector over the vocabulary of its n-grams (1..N):
  counts, presence (`multi_hot`) or tf-idf (counts times `log(1 + N / (1 + df))`, Keras'
  inverse document frequency, learnt from the training split); then an MLP and a softmax.
  The vector has `max_tokens` entries whatever the vocabulary learnt, so the network's
  weights have one shape before and after adapting.
- `text_rnn_classifier`: the text as a sequence of word ids (at most `max_length`; 0 pads) →
  `Embedding` (optionally initialised from trained word vectors) → the recurrent stack of
  `rnn_classifier` (simple / LSTM / GRU, depth, bidirectional, readouts), padded steps
  masked → softmax.

Keras 3.15's `TextVectorization(output_mode="tf_idf", pad_to_max_tokens=True)` cannot be
loaded back from a `.keras` file (its saved inverse document frequencies are padded to
`max_tokens`, its vocabulary is not, and `load_assets` refuses the pair), so tf-idf is a
counting vectorizer followed by a `Normalization` layer (`<vectorizer>_idf`, mean 0, variance
`1 / idf²`: it multiplies each count by its idf) whose statistics `adapt_text_model` sets.
"""

from __future__ import annotations

import keras

from keras_dl.models._common import (
    check_choice,
    require_tensorflow,
    check_fraction,
    check_positive_int,
    check_units,
    classifier_head,
)
from keras_dl.models.rnn import CELLS, READOUTS, check_cell, check_stack, recurrent_stack
from keras_dl.registry import register_model

BOW_MODES = ("count", "tf_idf", "multi_hot")
INPUT_NAME = "text"
VECTORIZER = "vectorize"
IDF_SUFFIX = "_idf"
EMBEDDING = "embedding"
# What every vectorizer here does to a text before looking its words up (Keras' standardize
# and split); `word_counts` counts words the same way.
STANDARDIZE, SPLIT = "lower_and_strip_punctuation", "whitespace"
PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'  # Keras' own, for that standardize
SMOKE_VOCABULARY = ("a", "good", "bad", "film", "not")
_SMOKE = {"num_classes": 3, "vocabulary": SMOKE_VOCABULARY, "max_tokens": 16}


def _check_input_shape(input_shape):
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
    if shape != ():
        raise ValueError(f"input_shape must be () (one string per example), got "
                         f"{input_shape!r}")


def _check_vocabulary(vocabulary, max_tokens, reserved):
    if vocabulary is None:
        return None
    if (isinstance(vocabulary, str) or not isinstance(vocabulary, (tuple, list))
            or not vocabulary or not all(isinstance(w, str) and w for w in vocabulary)):
        raise ValueError(f"vocabulary must be a non-empty list of words, got {vocabulary!r}")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError("vocabulary lists a word twice; give each word once")
    if len(vocabulary) + reserved > max_tokens:
        raise ValueError(f"vocabulary of {len(vocabulary)} words does not fit max_tokens="
                         f"{max_tokens} ({reserved} reserved)")
    return list(vocabulary)


# Why a text model runs on TensorFlow only: JAX has no string tensors.
STRINGS_NEED_TENSORFLOW = ("its input is raw text (a string tensor) that TextVectorization "
                           "turns into word ids, and only TensorFlow has string tensors")


def _text_input(input_shape, model):
    _check_input_shape(input_shape)
    require_tensorflow(model, STRINGS_NEED_TENSORFLOW)
    return keras.Input(shape=(), dtype="string", name=INPUT_NAME)


# === Bag of words ================================================================================


@register_model(
    family="text",
    task="text_classification",
    search_space=lambda hp: {
        "output_mode": hp.Choice("output_mode", list(BOW_MODES), default="tf_idf"),
        "ngrams": hp.Int("ngrams", 1, 3, default=2),
        "hidden_units": [hp.Int("width", 16, 256, step=16, default=64)] * hp.Int(
            "depth", 0, 2, default=1),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.5),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={**_SMOKE, "hidden_units": (4,)},
    train_defaults={"epochs": 30, "batch_size": 32, "learning_rate": 1e-3},
    default_params=1_320_195,
)
def bow_classifier(
    *,
    input_shape=(),
    num_classes=2,
    output_mode="tf_idf",
    ngrams=2,
    max_tokens=20_000,
    vocabulary=None,
    hidden_units=(64,),
    activation="relu",
    dropout=0.5,
    include_top=True,
    classifier_activation="softmax",
    name="bow_classifier",
):
    """Bag-of-words (n-grams) text classifier: `TextVectorization` then an MLP and a softmax.

    Each text becomes one vector with an entry per vocabulary entry (its n-grams for n in
    1..`ngrams`, the most frequent `max_tokens - 1` of the training split; entry 0 counts
    the out-of-vocabulary ones): how often it occurs ("count"), whether it occurs
    ("multi_hot"), or its count times its inverse document frequency ("tf_idf",
    `log(1 + N / (1 + df))` over the N training texts; Sparck Jones 1972). Then Dense layers
    of `hidden_units` with dropout before each, and the `predictions` layer: with no hidden
    layer this is multinomial logistic regression on the vector, the classic baseline
    (Wang & Manning 2012).

    Layer names: `text` (the string input), `vectorize`, `vectorize_idf` (tf-idf only),
    `dropout1`, `dense1`, ..., `predictions`.

    Args:
        input_shape: `()`: one string per example.
        num_classes: number of output classes.
        output_mode: "count", "tf_idf" or "multi_hot".
        ngrams: the largest n of the n-grams (1: single words).
        max_tokens: the vector's length (vocabulary entries, the out-of-vocabulary entry
            included).
        vocabulary: a fixed list of words (or n-grams), instead of the vocabulary learnt from
            the training split.
        hidden_units: widths of the hidden layers (`()`: none).
        activation: the hidden layers' activation.
        dropout: dropout rate before each Dense layer (Srivastava et al. 2014).
        include_top: add the `predictions` layer; without it the model outputs its features.
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("bow_classifier", output_mode="count", ngrams=1)
    keras_dl.models.text_vocabulary.adapt_text_model(model, x_train)   # the vocabulary
    model(np.array(["a gripping, moving film"]))            # probabilities
    ```

    References:
        Sparck Jones. "A statistical interpretation of term specificity and its application in
        retrieval", Journal of Documentation 28(1):11-21, 1972.
        Wang, Manning. "Baselines and Bigrams: Simple, Good Sentiment and Topic
        Classification", ACL 2012.
    """
    check_choice("output_mode", output_mode, BOW_MODES)
    ngrams = check_positive_int("ngrams", ngrams)
    max_tokens = check_positive_int("max_tokens", max_tokens)
    if max_tokens < 2:
        raise ValueError(f"max_tokens must be at least 2 (the out-of-vocabulary entry and one "
                         f"word), got {max_tokens}")
    vocabulary = _check_vocabulary(vocabulary, max_tokens, reserved=1)
    hidden_units = check_units("hidden_units", hidden_units)
    dropout = check_fraction("dropout", dropout)
    inputs = _text_input(input_shape, "bow_classifier")
    vectorize = keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize=STANDARDIZE, split=SPLIT, ngrams=ngrams,
        output_mode="multi_hot" if output_mode == "multi_hot" else "count",
        pad_to_max_tokens=True, vocabulary=vocabulary, name=VECTORIZER)
    x = vectorize(inputs)
    if output_mode == "tf_idf":  # counts times idf (see the module docstring)
        x = keras.layers.Normalization(axis=-1, name=VECTORIZER + IDF_SUFFIX)(x)
    for depth, width in enumerate(hidden_units, start=1):
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{depth}")(x)
        x = keras.layers.Dense(width, activation=activation, name=f"dense{depth}")(x)
    if dropout and include_top:
        x = keras.layers.Dropout(dropout, name=f"dropout{len(hidden_units) + 1}")(x)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=None,
                        classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)


# === Recurrent ===================================================================================


def _vector_dimensions(path) -> int:
    """The dimensions a word2vec text-format file's header declares (`ValueError` else)."""
    from keras_dl.data.text import read_lines

    lines = read_lines(path)
    header = lines[0].split() if lines else []
    if len(header) != 2 or not all(field.isdigit() and int(field) > 0 for field in header):
        raise ValueError(f"{path} line 1 is {lines[0][:60] if lines else ''!r}; the word2vec "
                         "text format starts with '<words> <dimensions>' (two positive integers)")
    return int(header[1])


@register_model(
    family="text",
    task="text_classification",
    search_space=lambda hp: {
        "cell": hp.Choice("cell", list(CELLS), default="lstm"),
        "embedding_dim": hp.Int("embedding_dim", 16, 128, step=16, default=64),
        "units": [hp.Int("units", 16, 128, step=16, default=64)] * hp.Int("depth", 1, 2,
                                                                           default=1),
        "bidirectional": hp.Boolean("bidirectional"),
        "readout": hp.Choice("readout", list(READOUTS)),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs={**_SMOKE, "max_length": 6, "embedding_dim": 4, "units": (4,)},
    train_defaults={"epochs": 20, "batch_size": 32, "learning_rate": 3e-3},
    default_params=1_313_154,
)
def text_rnn_classifier(
    *,
    input_shape=(),
    num_classes=2,
    max_tokens=20_000,
    max_length=100,
    vocabulary=None,
    embedding_dim=64,
    embedding_vectors=None,
    trainable_embedding=True,
    cell="lstm",
    units=(64,),
    bidirectional=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    readout="last",
    include_top=True,
    classifier_activation="softmax",
    name="text_rnn_classifier",
):
    """Recurrent text classifier: `TextVectorization` → `Embedding` → RNN → softmax.

    Each text becomes the ids of its first `max_length` words (0 pads a shorter one; 1 is
    any out-of-vocabulary word; the vocabulary is the `max_tokens - 2` most frequent words of
    the training split); the `embedding` layer turns ids into vectors (Bengio et al. 2003),
    and the recurrent stack of `rnn_classifier` reads them, padding masked, so a text is
    classified the same however much it is padded. With `embedding_vectors` (a word2vec
    text-format file: `keras_dl.text.save_word2vec_format`, gensim's or fastText's) the
    embedding of each vocabulary word found in the file starts from its vector (Kim 2014),
    the others from the usual uniform initialisation; `trainable_embedding=False` keeps
    them fixed.

    Longer texts are cut to `max_length` words in training; a served model (an export)
    refuses them instead, naming the length.

    Layer names: `text`, `vectorize`, `embedding`, `rnn1_lstm`, ... (as `rnn_classifier`),
    `mean_over_time` / `max_over_time`, `predictions`.

    Args:
        input_shape: `()`: one string per example.
        num_classes: number of output classes.
        max_tokens: vocabulary entries, padding and out-of-vocabulary included.
        max_length: the most words a text is read to.
        vocabulary: a fixed list of words, instead of the vocabulary learnt from the training
            split.
        embedding_dim: the word vectors' dimensions (the file's, with `embedding_vectors`).
        embedding_vectors: a word2vec text-format file to initialise the embedding from.
        trainable_embedding: train the embedding with the rest.
        cell: "simple", "lstm" or "gru".
        units: units of each recurrent layer (per direction); a tuple gives the depth.
        bidirectional: run each layer in both directions.
        dropout: dropout rate on each recurrent layer's inputs.
        recurrent_dropout: dropout rate on the recurrent state.
        readout: "last", "mean" or "max" over the unpadded steps.
        include_top: add the `predictions` layer; without it the model outputs the readout.
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.

    References:
        Bengio, Ducharme, Vincent, Jauvin. "A Neural Probabilistic Language Model", JMLR 3,
        2003.
        Kim. "Convolutional Neural Networks for Sentence Classification", EMNLP 2014 (static
        and fine-tuned pre-trained word vectors).
    """
    check_cell(cell)
    max_tokens = check_positive_int("max_tokens", max_tokens)
    if max_tokens < 3:
        raise ValueError(f"max_tokens must be at least 3 (padding, the out-of-vocabulary id "
                         f"and one word), got {max_tokens}")
    max_length = check_positive_int("max_length", max_length)
    vocabulary = _check_vocabulary(vocabulary, max_tokens, reserved=2)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim)
    if embedding_vectors is not None:
        dimensions = _vector_dimensions(embedding_vectors)
        if dimensions != embedding_dim:
            raise ValueError(f"embedding_vectors {embedding_vectors} holds {dimensions}-"
                             f"dimensional vectors; embedding_dim is {embedding_dim} (make "
                             "them equal)")
    units, dropout, recurrent_dropout = check_stack(units, readout, dropout, recurrent_dropout)
    for flag, value in (("bidirectional", bidirectional), ("include_top", include_top),
                        ("trainable_embedding", trainable_embedding)):
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be True or False, got {value!r}")
    inputs = _text_input(input_shape, "text_rnn_classifier")
    x = keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize=STANDARDIZE, split=SPLIT, output_mode="int",
        output_sequence_length=max_length, vocabulary=vocabulary, name=VECTORIZER)(inputs)
    x = keras.layers.Embedding(max_tokens, embedding_dim, mask_zero=True,
                               trainable=trainable_embedding, name=EMBEDDING)(x)
    x = recurrent_stack(x, cell=cell, units=units, bidirectional=bidirectional, dropout=dropout,
                        recurrent_dropout=recurrent_dropout, readout=readout)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=None,
                        classifier_activation=classifier_activation)
    model = keras.Model(inputs, x, name=name)
    model.embedding_vectors = None if embedding_vectors is None else str(embedding_vectors)
    return model
