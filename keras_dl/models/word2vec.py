"""word2vec: continuous bag-of-words and continuous skip-gram with negative sampling
(Mikolov et al. 2013), lecture 002's word embeddings.

Each vocabulary word has two vectors, rows of two matrices: its *input* vector (the word
vector, `W_in`, word2vec.c's `syn0`) and its *output* vector (`W_out`, `syn1neg`). An
example is a word to predict and what predicts it:

- skip-gram: one context word; `h = W_in[context]`;
- CBOW: the context words of the word's window; `h` is their mean (`cbow_mean=True`, the
  default) or their sum.

The word and `negatives` noise words (drawn from the unigram distribution to the 3/4:
`keras_dl.data.skipgrams`) are scored by dot products, `s_k = h · W_out[word_k]`, and the
loss is negative sampling's logistic loss (Mikolov et al. 2013b, eq. 4),

    − log σ(s_word) − Σ_noise log σ(−s_noise),

summed over the examples of a batch, so that plain SGD at rate η moves each vector as
word2vec.c's per-example update at rate η does. In CBOW the gradient reaching `h` is added
whole to every context word's input vector (word2vec.c's and gensim's rule with the mean;
with the sum gensim divides it by the number of context words): written as
`h = sum + stop_gradient(mean − sum)` (and the other way round for the sum), so the forward
value is the mean (the sum) and the gradient is word2vec.c's.

The registered model is what is served: a word (a `tf.string`) → its input vector, through a
`StringLookup` (id 0 is any word outside the vocabulary; the vocabulary is learnt from the
training corpus before `fit`, most frequent word first, or given). Both matrices, and the
training corpus's word counts, are weights of one layer (`Word2VecEmbeddings`), so a `.keras`
file keeps everything training needs; `Word2VecTrainer` is the model `fit` trains, sharing that
layer. `word_vectors(model)` gives `(vectors, vocab)` for `keras_dl.text` (evaluation,
`save_word2vec_format`).

References:
    Mikolov, Chen, Corrado, Dean. "Efficient Estimation of Word Representations in Vector
    Space", ICLR workshop 2013.
    Mikolov, Sutskever, Chen, Corrado, Dean. "Distributed Representations of Words and
    Phrases and their Compositionality", NeurIPS 2013.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_dl.data.skipgrams import MODES, PAD
from keras_dl.models._common import (
    check_bool,
    check_choice,
    check_positive_int,
    require_tensorflow,
)
from keras_dl.registry import register_model

INPUT_NAME = "word"
LOOKUP = "lookup"
EMBEDDINGS = "embeddings"
OUTPUT_NAME = "vector"
DEFAULT_VOCABULARY_SIZE = 20_000
SMOKE_VOCABULARY = ("king", "queen", "man", "woman", "paris", "france", "rome", "italy")


# === The two matrices ===========================================================================


@keras.saving.register_keras_serializable(package="keras_dl")
class Word2VecEmbeddings(keras.layers.Layer):
    """word2vec's input and output embedding matrices, and the training corpus's word counts.

    Called on word ids it returns their input vectors (the word vectors); `scores` gives the
    logits negative sampling trains on. `W_in` starts uniform in ±0.5/dimension and `W_out` at
    zero, as in word2vec.c and gensim.

    The layer also carries the sampling settings its examples are drawn with (the
    `word2vec` builder's), so a model loaded from a file trains and evaluates as it did.

    Args:
        rows: the number of ids (the vocabulary and the out-of-vocabulary id 0).
        dimension: the vectors' dimension.
        mode: "skipgram" or "cbow".
        cbow_mean: CBOW averages the context vectors (True) or sums them.
        window, negatives, sample, min_count: the sampling settings (`word2vec`'s).
    """

    def __init__(self, rows, dimension, mode="skipgram", cbow_mean=True, window=5,
                 negatives=5, sample=1e-3, min_count=5, **kwargs):
        super().__init__(**kwargs)
        self.rows = check_positive_int("rows", rows)
        self.dimension = check_positive_int("dimension", dimension)
        check_choice("mode", mode, MODES)
        self.mode, self.cbow_mean = mode, check_bool("cbow_mean", cbow_mean)
        self.window = check_positive_int("window", window)
        self.negatives = check_positive_int("negatives", negatives)
        self.sample = _check_sample(sample)
        self.min_count = check_positive_int("min_count", min_count)
        bound = 0.5 / dimension
        self.input_embeddings = self.add_weight(
            shape=(rows, dimension), name="input_embeddings",
            initializer=keras.initializers.RandomUniform(-bound, bound))
        self.output_embeddings = self.add_weight(
            shape=(rows, dimension), name="output_embeddings", initializer="zeros")
        self.counts = self.add_weight(shape=(rows,), name="counts", initializer="zeros",
                                      dtype="int64", trainable=False)

    def call(self, ids):
        return ops.take(self.input_embeddings, ids, axis=0)

    def hidden(self, inputs):
        """`h`: a skip-gram context word's input vector, or a CBOW row's mean (sum) of its
        context words' (`PAD` ids left out), with word2vec.c's gradient (module docstring)."""
        vectors = ops.take(self.input_embeddings, inputs, axis=0)
        if self.mode == "skipgram":
            return vectors
        present = ops.cast(ops.not_equal(inputs, PAD), vectors.dtype)[..., None]
        total = ops.sum(vectors * present, axis=1)
        mean = total / ops.maximum(ops.sum(present, axis=1), 1.0)
        if self.cbow_mean:
            return total + ops.stop_gradient(mean - total)
        return mean + ops.stop_gradient(total - mean)

    def scores(self, inputs, outputs):
        """The logits `h · W_out[w]` of each example's output words (`(batch, 1 + noise)`)."""
        targets = ops.take(self.output_embeddings, outputs, axis=0)
        return ops.einsum("bd,bkd->bk", self.hidden(inputs), targets)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dimension)

    def get_config(self):
        return {**super().get_config(), "rows": self.rows, "dimension": self.dimension,
                "mode": self.mode, "cbow_mean": self.cbow_mean, "window": self.window,
                "negatives": self.negatives, "sample": self.sample,
                "min_count": self.min_count}


@keras.saving.register_keras_serializable(package="keras_dl")
class NegativeSamplingLoss(keras.losses.Loss):
    """Negative sampling's logistic loss of one example, `Σ_k softplus(s_k) − y_k·s_k` over
    its scores (−log σ(s) for the word, y = 1; −log σ(−s) for a noise word, y = 0; a score
    whose label is `IGNORED`, a noise word equal to the word, is left out as word2vec.c
    skips it); averaged over the batch by default."""

    def __init__(self, reduction="sum_over_batch_size", name="negative_sampling", **kwargs):
        super().__init__(reduction=reduction, name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        counted = ops.cast(ops.greater_equal(y_true, 0), y_pred.dtype)
        return ops.sum(counted * (ops.softplus(y_pred) - y_true * y_pred), axis=-1)


def per_example_steps(scores):
    """`scores` unchanged, with their gradient multiplied by the batch's size: the mean loss
    (what is logged: comparable across batch sizes) then steps as the sum would, i.e. SGD at
    rate η moves each vector as word2vec.c's update of each example at rate η does."""
    size = ops.cast(ops.shape(scores)[0], scores.dtype)
    return ops.stop_gradient(scores) + (scores - ops.stop_gradient(scores)) * size


@keras.saving.register_keras_serializable(package="keras_dl")
class Word2VecTrainer(keras.Model):
    """The model `fit` trains: batches `{"inputs", "outputs"}` of ids
    (`keras_dl.data.skipgrams`) → the scores of the output words, through the served model's
    `Word2VecEmbeddings` (shared, not copied); the gradient is the batch's summed
    (`per_example_steps`)."""

    def __init__(self, word_model, **kwargs):
        super().__init__(**kwargs)
        # held, not tracked as a sub-layer: its string lookup is no part of what `fit` runs,
        # and would keep XLA from compiling the step
        object.__setattr__(self, "word_model", word_model)
        self.embeddings = embeddings_layer(word_model)

    def call(self, inputs):
        return per_example_steps(self.embeddings.scores(inputs["inputs"], inputs["outputs"]))

    def get_config(self):  # the served model whole, its learnt vocabulary included
        return {"name": self.name, "vocabulary": vocabulary(self.word_model),
                "word_model": keras.saving.serialize_keras_object(self.word_model)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        word_model = keras.saving.deserialize_keras_object(config.pop("word_model"))
        words = config.pop("vocabulary")
        if lookup_layer(word_model).get_config().get("vocabulary") is None:
            lookup_layer(word_model).set_vocabulary(words)
        return cls(word_model, **config)


# === Reading a model ============================================================================


def embeddings_layer(model) -> Word2VecEmbeddings:
    return model.get_layer(EMBEDDINGS)


def lookup_layer(model):
    return model.get_layer(LOOKUP)


def vocabulary(model) -> list:
    """The model's words, id 1 first (id 0, out of vocabulary, left out)."""
    return [str(word) for word in lookup_layer(model).get_vocabulary()[1:]]


def word_vectors(model):
    """`(vectors, vocab)`: the input vector of each vocabulary word (float32, one row per word,
    most frequent first when the vocabulary was learnt), and the words."""
    import numpy as np

    words = vocabulary(model)
    weights = np.asarray(embeddings_layer(model).input_embeddings)
    return weights[1:len(words) + 1], words


def word_statistics(model):
    """`fn(texts) -> {"words": ..., "known_words": ...}`: per request, its white-space
    separated words, and 1 when the text is a vocabulary word (what a served model checks a
    request against: an empty text, more than one word, an unknown word)."""
    import tensorflow as tf

    lookup = lookup_layer(model)

    def statistics(texts):
        words = tf.cast(tf.strings.split(texts).row_lengths(), "int32")
        return {"words": words, "known_words": tf.cast(lookup(texts) > 0, "int32")}

    return statistics


# === The builder ================================================================================


def _check_vocabulary(vocabulary):
    if vocabulary is None:
        return None
    if (isinstance(vocabulary, str) or not isinstance(vocabulary, (tuple, list))
            or not vocabulary or not all(isinstance(w, str) and w and len(w.split()) == 1
                                         and w == w.strip() for w in vocabulary)):
        raise ValueError(f"vocabulary must be a non-empty list of words (strings without "
                         f"white space), got {vocabulary!r}")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError("vocabulary lists a word twice; give each word once")
    return list(vocabulary)


def _check_sample(sample):
    if not isinstance(sample, (int, float)) or isinstance(sample, bool) or not 0 <= sample < 1:
        raise ValueError(f"sample must be a number in [0, 1) (0: no sub-sampling), got "
                         f"{sample!r}")
    return float(sample)


@register_model(
    family="embedding",
    task="word_embedding",
    search_space=lambda hp: {
        "dimension": hp.Int("dimension", 50, 300, step=50, default=100),
        "window": hp.Int("window", 2, 10, default=5),
        "sample": hp.Choice("sample", [0.0, 1e-4, 1e-3], default=1e-3),
        "learning_rate": hp.Float("learning_rate", 0.005, 0.1, sampling="log",
                                  default=0.025),
    },
    smoke_kwargs={"vocabulary": SMOKE_VOCABULARY, "dimension": 4, "window": 2,
                  "negatives": 2},
    train_defaults={"epochs": 5, "batch_size": 1024, "learning_rate": 0.025, "optimizer": "sgd"},
    default_params=4_020_201,
)
def word2vec(
    *,
    input_shape=(),
    mode="skipgram",
    vocabulary=None,
    vocabulary_size=None,
    dimension=100,
    window=5,
    negatives=5,
    sample=1e-3,
    min_count=5,
    cbow_mean=True,
    name="word2vec",
):
    """word2vec (Mikolov et al. 2013): a word's vector, learnt by skip-gram or CBOW with
    negative sampling; the served model maps a word (a string) to its vector.

    Training (the `word_embedding` task, `keras_dl.data.skipgrams`): sub-sampling of frequent
    words (`sample`), the shrinking window (1..`window`), `negatives` noise words per example
    from the unigram distribution to the 3/4, the loss summed over a batch (SGD at rate η is
    word2vec.c's update at rate η). The defaults are word2vec.c's and gensim's, but the mode:
    skip-gram, which Mikolov et al. found better on small corpora (gensim's default is CBOW).

    Layer names: `word` (the string input), `lookup` (`StringLookup`: id 0 is any unknown
    word), `embeddings` (`Word2VecEmbeddings`: the input and output matrices, the counts).

    Args:
        input_shape: `()`: one word (a string) per example.
        mode: "skipgram" (a context word predicts the word) or "cbow" (its context words
            together predict it).
        vocabulary: a fixed list of words (id 1 first), instead of the vocabulary learnt from
            the training corpus.
        vocabulary_size: the most words learnt (default 20,000; with `vocabulary`, its length).
        dimension: the vectors' dimension.
        window: the largest window (each word draws its own from 1..`window`).
        negatives: noise words per example.
        sample: the sub-sampling threshold `s` (0: keep every word).
        min_count: the fewest occurrences a word of the learnt vocabulary has.
        cbow_mean: CBOW averages its context vectors (True) or sums them.
        name: model name.

    Example:
    ```python
    vectors, vocab = keras_dl.tasks.embedding.train_word2vec(sentences, mode="skipgram")
    model = keras_dl.create_model("word2vec", vocabulary=["king", "queen"], dimension=8)
    model(np.array(["queen"]))                       # (1, 8)
    ```

    References:
        Mikolov, Chen, Corrado, Dean. "Efficient Estimation of Word Representations in Vector
        Space", ICLR workshop 2013.
        Mikolov, Sutskever, Chen, Corrado, Dean. "Distributed Representations of Words and
        Phrases and their Compositionality", NeurIPS 2013.
    """
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
    if shape != ():
        raise ValueError(f"input_shape must be () (one word per example), got {input_shape!r}")
    check_choice("mode", mode, MODES)
    vocabulary = _check_vocabulary(vocabulary)
    if vocabulary_size is not None:
        vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
    if vocabulary is not None and vocabulary_size not in (None, len(vocabulary)):
        raise ValueError(f"vocabulary_size {vocabulary_size} differs from the {len(vocabulary)} "
                         "words of vocabulary; give one of them")
    size = len(vocabulary) if vocabulary else vocabulary_size or DEFAULT_VOCABULARY_SIZE
    require_tensorflow(name, "its input is a word (a string tensor) that a StringLookup turns "
                       "into an id, and only TensorFlow has string tensors")
    inputs = keras.Input(shape=(), dtype="string", name=INPUT_NAME)
    ids = keras.layers.StringLookup(vocabulary=vocabulary, num_oov_indices=1, mask_token=None,
                                    max_tokens=None if vocabulary else size + 1,
                                    name=LOOKUP)(inputs)
    vectors = Word2VecEmbeddings(size + 1, dimension, mode=mode, cbow_mean=cbow_mean,
                                 window=window, negatives=negatives, sample=sample,
                                 min_count=min_count, name=EMBEDDINGS)(ids)
    return keras.Model(inputs, vectors, name=name)
