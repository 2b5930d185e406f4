"""Sequence-to-sequence translation: a recurrent encoder reads the source text, a recurrent
decoder writes the target text one token at a time, optionally attending to the encoder's
states (lecture 004's transcription / machine-translation mapping).

The registered model is the network as it trains, with teacher forcing (Williams & Zipser
1989; Sutskever et al. 2014): it takes the source string and the target string, and the
decoder reads the target shifted right behind a start token, so step t predicts target token
t from the true tokens before it. Its output is one row of logits over the target vocabulary
per step: `max_target_length + 1` steps (the tokens, then the end token).

Translating a new text (no target known) is decoding, step by step from the start token:
greedy or beam search (`keras_dl.models.seq2seq_decoding`), in-graph, so a SavedModel serves
it as a `translate` signature that takes strings and returns strings.

Both texts are split by `TextVectorization` layers inside the model ("characters": every
character a token; "words": lower-cased, punctuation stripped, split on whitespace); their
vocabularies are learnt from the training split before `fit` (`adapt_seq2seq`, which the
`translation` task calls) and travel inside the model as the text classifiers' do. Target
ids: 0 pads, 1 is an unknown token, 2 `[START]`, 3 `[END]`, then the vocabulary.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl.models._common import check_choice, check_positive_int, require_tensorflow
from keras_dl.models.rnn import CELLS
from keras_dl.registry import register_model

TOKENS = ("characters", "words")
ATTENTIONS = (None, "luong", "bahdanau")
START, END = "[START]", "[END]"
PAD_ID, UNKNOWN_ID, START_ID, END_ID = 0, 1, 2, 3
SOURCE, TARGET = "source", "target"  # the input names
# layer names the decoding (`seq2seq_decoding`) finds the parts by
SOURCE_VECTORIZER, TARGET_VECTORIZER = "source_vectorize", "target_vectorize"
SOURCE_EMBEDDING, TARGET_EMBEDDING = "source_embedding", "target_embedding"
ENCODER, DECODER = "encoder", "decoder"
ATTENTION_QUERY, ATTENTION_KEYS, ATTENTION = "attention_query", "attention_keys", "attention"
ATTENTION_CONCAT, ATTENTIONAL_STATE, LOGITS = "attention_concat", "attentional_state", "logits"
SPLITS = {"characters": ("character", None),  # (split, standardize) of each tokenisation
          "words": ("whitespace", "lower_and_strip_punctuation")}
SMOKE_PAIRS = (("ab c", "xy"), ("ca", "zzx"), ("b", "y"), ("cab a", "xyz"), ("a", "x"),
               ("bb", "yy"))
_SMOKE = {"source_vocabulary": ("a", "b", "c", " "), "target_vocabulary": ("x", "y", "z"),
          "source_max_tokens": 8, "target_max_tokens": 8, "max_source_length": 6,
          "max_target_length": 4, "embedding_dim": 3, "units": 4}


def check_attention(attention):
    """`attention` normalised ("none" is None); `ValueError` naming the allowed values."""
    if attention == "none":
        return None
    if attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of None, 'luong', 'bahdanau'; got "
                         f"{attention!r}")
    return attention


def _check_vocabulary(name, vocabulary, max_tokens, reserved):
    if vocabulary is None:
        return None
    if (isinstance(vocabulary, str) or not isinstance(vocabulary, (tuple, list))
            or not vocabulary or not all(isinstance(w, str) and w for w in vocabulary)):
        raise ValueError(f"{name} must be a non-empty list of tokens, got {vocabulary!r}")
    if len(set(vocabulary)) != len(vocabulary) or {START, END} & set(vocabulary):
        raise ValueError(f"{name} lists a token twice or names {START} / {END}; give each "
                         "token once")
    if len(vocabulary) + reserved > max_tokens:
        raise ValueError(f"{name} of {len(vocabulary)} tokens does not fit its max_tokens="
                         f"{max_tokens} ({reserved} reserved)")
    return list(vocabulary)


def _vectorizer(tokens, max_tokens, length, vocabulary, name):
    split, standardize = SPLITS[tokens]
    return keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize=standardize, split=split, output_mode="int",
        output_sequence_length=length, vocabulary=vocabulary, name=name)


def _recurrent(cell, units, name):
    return CELLS[cell](units, return_sequences=True, return_state=True, name=name)


def attend(attention, query, values, keys, source_mask):
    """The attention layers of a built model applied to decoder states `query` (batch, steps,
    units): `(context, weights)`, the weights (batch, steps, source steps). `attention` is a
    dict of the model's layers by name (see `seq2seq_decoding.Parts`)."""
    if ATTENTION_QUERY in attention:  # Bahdanau: W1 h_t inside the tanh
        query = attention[ATTENTION_QUERY](query)
    return attention[ATTENTION]([query, values, keys], mask=[None, source_mask],
                                return_attention_scores=True)


@register_model(
    family="seq2seq",
    task="translation",
    search_space=lambda hp: {
        "cell": hp.Choice("cell", ["lstm", "gru"], default="lstm"),
        "units": hp.Int("units", 32, 256, step=32, default=128),
        "embedding_dim": hp.Int("embedding_dim", 16, 64, step=16, default=32),
        "attention": hp.Choice("attention", ["none", "luong", "bahdanau"], default="luong"),
        "learning_rate": hp.Float("learning_rate", 3e-4, 1e-2, sampling="log"),
    },
    smoke_kwargs=_SMOKE,
    train_defaults={"epochs": 20, "batch_size": 64, "learning_rate": 3e-3},
    default_params=228_544,
)
def seq2seq(
    *,
    input_shape=(),
    cell="lstm",
    units=128,
    tokens="characters",
    attention="luong",
    embedding_dim=32,
    max_source_length=32,
    max_target_length=12,
    source_max_tokens=128,
    target_max_tokens=64,
    source_vocabulary=None,
    target_vocabulary=None,
    name="seq2seq",
):
    """Encoder-decoder translation network (LSTM or GRU), trained with teacher forcing.

    The encoder (one recurrent layer) reads the embedded source tokens, padding masked; its
    final state starts the decoder (Sutskever et al. 2014; Cho et al. 2014), which reads the
    embedded target shifted right (`[START]` first). Without attention, step t's logits are a
    Dense layer of the decoder state h_t. With attention (Luong et al. 2015's global
    attention), every step looks back at all encoder states h̄_s:

        α_ts = softmax_s(score(h_t, h̄_s)),  c_t = Σ_s α_ts h̄_s,
        h̃_t = tanh(W_c [c_t; h_t]),          logits_t = W_y h̃_t

    (Luong eq. 5-7), with either score:

    - "luong", multiplicative (Luong eq. 8, "general"): `score = h_t^T W_a h̄_s`;
    - "bahdanau", additive (Bahdanau et al. 2015, eq. 6 / Luong's "concat"):
      `score = v_a^T tanh(W_1 h_t + W_2 h̄_s)`.

    Both take the current state h_t as the query, as Luong's architecture does (every step's
    attention can then be computed at once in training); Bahdanau et al.'s own decoder feeds
    c_t into the next step's input instead, which is not done here.

    Layer names: `source`, `target` (the string inputs), `source_vectorize`,
    `target_vectorize`, `source_embedding`, `target_embedding`, `encoder`, `decoder`,
    `attention_query` (Bahdanau only: W_1), `attention_keys` (W_a or W_2), `attention` (the
    softmax over source steps; Bahdanau's holds v_a), `attention_concat`,
    `attentional_state` (W_c), `logits` (W_y).

    Args:
        input_shape: `()`: one source string per example.
        cell: "lstm" or "gru" (encoder and decoder).
        units: the recurrent state's size.
        tokens: "characters" (each character a token, case kept) or "words" (lower-cased,
            punctuation stripped, split on whitespace; decoded words are joined by spaces).
        attention: None (or "none"), "luong" or "bahdanau".
        embedding_dim: the token embeddings' size (source and target).
        max_source_length: the most source tokens the model reads (longer texts are refused
            by `decode` and the served model, and by training).
        max_target_length: the most target tokens it writes (the decoder runs one step more,
            for `[END]`).
        source_max_tokens: source vocabulary entries, padding and the unknown id included.
        target_max_tokens: target vocabulary entries, padding, unknown, `[START]`, `[END]`
            included.
        source_vocabulary: a fixed list of source tokens instead of the one learnt from the
            training split.
        target_vocabulary: the same for the target.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("seq2seq", attention="bahdanau")
    keras_dl.models.seq2seq.adapt_seq2seq(model, sources, targets)   # the vocabularies
    keras_dl.models.seq2seq_decoding.decode(model, ["March 4, 2021"], mode="beam")
    ```

    References:
        Sutskever, Vinyals, Le. "Sequence to Sequence Learning with Neural Networks",
        NeurIPS 2014.
        Cho et al. "Learning Phrase Representations using RNN Encoder-Decoder for
        Statistical Machine Translation", EMNLP 2014.
        Bahdanau, Cho, Bengio. "Neural Machine Translation by Jointly Learning to Align and
        Translate", ICLR 2015.
        Luong, Pham, Manning. "Effective Approaches to Attention-based Neural Machine
        Translation", EMNLP 2015.
    """
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
    if shape != ():
        raise ValueError(f"input_shape must be () (one string per example), got "
                         f"{input_shape!r}")
    if cell not in CELLS or cell == "simple":
        raise ValueError(f"cell must be 'lstm' or 'gru'; got {cell!r}")
    units = check_positive_int("units", units)
    check_choice("tokens", tokens, TOKENS)
    attention = check_attention(attention)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim)
    max_source_length = check_positive_int("max_source_length", max_source_length)
    max_target_length = check_positive_int("max_target_length", max_target_length)
    source_max_tokens = check_positive_int("source_max_tokens", source_max_tokens)
    target_max_tokens = check_positive_int("target_max_tokens", target_max_tokens)
    if source_max_tokens < 3:
        raise ValueError(f"source_max_tokens must be at least 3 (padding, the unknown id and "
                         f"one token), got {source_max_tokens}")
    if target_max_tokens < 5:
        raise ValueError(f"target_max_tokens must be at least 5 (padding, unknown, {START}, "
                         f"{END} and one token), got {target_max_tokens}")
    source_vocabulary = _check_vocabulary("source_vocabulary", source_vocabulary,
                                          source_max_tokens, 2)
    target_vocabulary = _check_vocabulary("target_vocabulary", target_vocabulary,
                                          target_max_tokens, 4)
    if target_vocabulary is not None:
        target_vocabulary = [START, END, *target_vocabulary]

    require_tensorflow(name, "its inputs are texts (string tensors) that TextVectorization "
                       "turns into token ids, and only TensorFlow has string tensors")
    source = keras.Input(shape=(), dtype="string", name=SOURCE)
    target = keras.Input(shape=(), dtype="string", name=TARGET)
    source_ids = _vectorizer(tokens, source_max_tokens, max_source_length, source_vocabulary,
                             SOURCE_VECTORIZER)(source)
    target_ids = _vectorizer(tokens, target_max_tokens, max_target_length, target_vocabulary,
                             TARGET_VECTORIZER)(target)
    # teacher forcing: the decoder reads [START] y_1 ... y_n (and padding)
    decoder_ids = keras.ops.pad(target_ids, [[0, 0], [1, 0]], constant_values=START_ID)
    source_mask = keras.ops.not_equal(source_ids, PAD_ID)

    x = keras.layers.Embedding(source_max_tokens, embedding_dim, mask_zero=True,
                               name=SOURCE_EMBEDDING)(source_ids)
    encoded, *states = _recurrent(cell, units, ENCODER)(x)
    y = keras.layers.Embedding(target_max_tokens, embedding_dim, mask_zero=True,
                               name=TARGET_EMBEDDING)(decoder_ids)
    decoded, *_ = _recurrent(cell, units, DECODER)(y, initial_state=states)
    if attention is not None:
        layers = {ATTENTION_KEYS: keras.layers.Dense(units, use_bias=False, name=ATTENTION_KEYS)}
        if attention == "bahdanau":
            layers[ATTENTION_QUERY] = keras.layers.Dense(units, use_bias=False,
                                                         name=ATTENTION_QUERY)
            layers[ATTENTION] = keras.layers.AdditiveAttention(name=ATTENTION)
        else:
            layers[ATTENTION] = keras.layers.Attention(name=ATTENTION)
        context, _ = attend(layers, decoded, encoded, layers[ATTENTION_KEYS](encoded),
                            source_mask)
        decoded = keras.layers.Concatenate(name=ATTENTION_CONCAT)([context, decoded])
        decoded = keras.layers.Dense(units, activation="tanh", name=ATTENTIONAL_STATE)(decoded)
    logits = keras.layers.Dense(target_max_tokens, name=LOGITS)(decoded)
    return keras.Model([source, target], logits, name=name)


# === Vocabularies and targets ====================================================================


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"model {model.name!r} has no layer {name!r}; it is no seq2seq "
                         "model") from None


def tokens_of(model) -> str:
    """"characters" or "words": how the model splits its texts."""
    split = _layer(model, SOURCE_VECTORIZER).get_config()["split"]
    return "characters" if split == "character" else "words"


def max_lengths(model) -> tuple[int, int]:
    """`(max_source_length, max_target_length)` of a built seq2seq model."""
    return (_layer(model, SOURCE_VECTORIZER).get_config()["output_sequence_length"],
            _layer(model, TARGET_VECTORIZER).get_config()["output_sequence_length"])


def target_vocabulary(model) -> list:
    """The target ids' tokens, in order: "", "[UNK]", "[START]", "[END]", ..."""
    return [str(token) for token in _layer(model, TARGET_VECTORIZER).get_vocabulary()]


def token_counts(texts, tokens: str) -> np.ndarray:
    """The number of tokens in each text as a seq2seq model of `tokens` splits it."""
    import tensorflow as tf

    return np.asarray(count_tokens(tf.constant(np.asarray(texts, dtype=object).astype(str)),
                                   tokens))


def count_tokens(texts, tokens: str):
    """`count_tokens` in TensorFlow ops (a served model's check runs it in its graph)."""
    import tensorflow as tf

    if tokens == "characters":
        return tf.strings.length(texts, unit="UTF8_CHAR")
    from keras_dl.models.text_vocabulary import _count_words

    return _count_words(texts)


def _check_texts(name, texts):
    texts = np.asarray(texts)
    if texts.dtype.kind not in "US" or not texts.size:
        raise ValueError(f"a seq2seq model learns its {name} vocabulary from strings; got "
                         f"{texts.size} values of dtype {texts.dtype}")
    return texts.astype(str)


def adapt_seq2seq(model, sources=None, targets=None, batch_size: int = 1024) -> None:
    """Learn the source vocabulary from the training `sources` and the target vocabulary from
    the training `targets` (each where given), unless the builder was given them: the most
    frequent tokens first, as many as `*_max_tokens` leaves room for."""
    sides = [(layer_name, side, texts, reserved) for layer_name, side, texts, reserved in
             ((SOURCE_VECTORIZER, "source", sources, 2), (TARGET_VECTORIZER, "target", targets, 4))
             if texts is not None]
    for layer_name, side, texts, reserved in sides:
        texts = _check_texts(side, texts)
        vectorizer = _layer(model, layer_name)
        if vectorizer.get_config().get("vocabulary") is not None:
            continue
        vectorizer.adapt(texts, batch_size=batch_size)
        learnt = [str(token) for token in vectorizer.get_vocabulary()[2:]]
        if not learnt:
            raise ValueError(f"the {len(texts)} training {side} texts hold no token; a seq2seq "
                             "model needs tokens to learn a vocabulary from")
        room = vectorizer.get_config()["max_tokens"] - reserved
        special = [START, END] if side == "target" else []
        vectorizer.set_vocabulary(special + learnt[:room])


def target_ids(model, texts):
    """The decoder's targets for the target `texts`: each text's token ids, then `[END]`,
    then padding (0), `max_target_length + 1` ids in all (a `tf.Tensor` of int32; runs in a
    `tf.data` map)."""
    import tensorflow as tf

    ids = tf.cast(_layer(model, TARGET_VECTORIZER)(texts), "int32")
    lengths = tf.reduce_sum(tf.cast(ids != PAD_ID, "int32"), axis=1)
    ids = tf.pad(ids, [[0, 0], [0, 1]])
    return ids + END_ID * tf.one_hot(lengths, tf.shape(ids)[1], dtype="int32")
