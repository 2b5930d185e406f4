"""Decoding a trained seq2seq model (`keras_dl.models.seq2seq`): greedy and beam search,
in TensorFlow ops, so the same functions run eagerly, in a `tf.function`, and inside an
exported SavedModel's `translate` signature.

```python
decode(model, ["March 4, 2021", "4.3.2021"])                          # greedy
decode(model, texts, mode="beam", beam_width=4, length_penalty=0.6)   # beam search
```

Both run the decoder one step at a time from `[START]`, for `max_target_length + 1` steps
(a `tf.while_loop`: the step is traced once), reusing the trained layers: the
recurrent layer's cell, the attention layers, the output layer. Padding, the unknown id and
`[START]` are never emitted (their log-probability is taken as -inf); after `[END]` a
hypothesis is finished.

- Greedy: the most probable token at every step.
- Beam search (Sutskever et al. 2014, section 3.2): the `beam_width` most probable partial
  translations by summed log-probability `log p(y_1..y_t | x)`, each extended by every token
  and cut back to `beam_width`; finished ones stay in the beam with their score. At the end
  the best hypothesis is chosen by `log p(y | x) / lp(y)`, with Wu et al. 2016's length
  penalty `lp(y) = ((5 + |y|) / 6) ** length_penalty` (|y| counting `[END]`; 0: no
  normalisation, the plain log-probability). The greedy translation is one more candidate in
  that choice, so beam search never returns a translation the model scores below greedy's.
  With `beam_width` at least the number of possible outputs it is an exhaustive search
  (`tests/test_seq2seq_decoding.py` checks both).
"""

from __future__ import annotations

import numpy as np

from keras_dl.models import seq2seq as s2s

MODES = ("greedy", "beam")
DEFAULT_BEAM_WIDTH = 4


def check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"decoding mode must be 'greedy' or 'beam'; got {mode!r}")
    return mode


def check_beam_width(beam_width):
    if (not isinstance(beam_width, (int, np.integer)) or isinstance(beam_width, bool)
            or beam_width < 1):
        raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}")
    return int(beam_width)


def check_length_penalty(length_penalty):
    if (isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float))
            or not 0 <= length_penalty <= 10):
        raise ValueError(f"length_penalty must be a number in [0, 10], got {length_penalty!r}")
    return float(length_penalty)


class Parts:
    """A trained seq2seq model taken apart for step-by-step decoding."""

    def __init__(self, model):
        self.model = model
        layer = s2s._layer
        self.source_vectorizer = layer(model, s2s.SOURCE_VECTORIZER)
        self.source_embedding = layer(model, s2s.SOURCE_EMBEDDING)
        self.encoder = layer(model, s2s.ENCODER)
        self.target_embedding = layer(model, s2s.TARGET_EMBEDDING)
        self.decoder_cell = layer(model, s2s.DECODER).cell
        self.logits = layer(model, s2s.LOGITS)
        names = {lay.name for lay in model.layers}
        self.attention = {name: model.get_layer(name) for name in
                          (s2s.ATTENTION_QUERY, s2s.ATTENTION_KEYS, s2s.ATTENTION)
                          if name in names}
        if self.attention:
            self.concat = layer(model, s2s.ATTENTION_CONCAT)
            self.attentional_state = layer(model, s2s.ATTENTIONAL_STATE)
        self.tokens = s2s.tokens_of(model)
        self.max_source_length, self.max_target_length = s2s.max_lengths(model)
        self.vocabulary = s2s.target_vocabulary(model)
        self.size = self.logits.units
        allowed = np.ones(self.size, dtype=bool)
        allowed[[s2s.PAD_ID, s2s.UNKNOWN_ID, s2s.START_ID]] = False
        allowed[len(self.vocabulary):] = False  # ids the vocabulary does not fill
        self.allowed = allowed

    def encode(self, texts):
        """`(memory, states)`: `memory` the encoder's outputs, the attention's keys and the
        source mask; `states` the encoder's final state(s), the decoder's first."""
        import tensorflow as tf

        ids = self.source_vectorizer(texts)
        mask = tf.not_equal(ids, s2s.PAD_ID)
        encoded, *states = self.encoder(self.source_embedding(ids), mask=mask, training=False)
        keys = (self.attention[s2s.ATTENTION_KEYS](encoded) if self.attention else encoded)
        return (encoded, keys, mask), list(states)

    def step(self, tokens, states, memory):
        """`(log_probabilities, states, weights)` of one decoder step fed `tokens` (batch,):
        log-probabilities (batch, vocabulary), the forbidden ids at -inf; weights the
        attention over the source steps (None without attention)."""
        import tensorflow as tf

        x = tf.gather(self.target_embedding.embeddings, tokens)  # no padding mask: one step
        h, states = self.decoder_cell(x, states, training=False)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        weights = None
        if self.attention:
            encoded, keys, mask = memory
            context, weights = s2s.attend(self.attention, h[:, None], encoded, keys, mask)
            h = self.attentional_state(self.concat([context, h[:, None]]))[:, 0]
            weights = weights[:, 0]
        log_p = tf.nn.log_softmax(self.logits(h), axis=-1)
        log_p = tf.where(tf.constant(self.allowed)[None], log_p, -np.inf)
        return log_p, states, weights

    # === Turning ids into text ===================================================================

    def texts(self, ids):
        """The strings of decoded ids (batch, steps): the tokens before `[END]`, joined ("" for
        characters, " " for words)."""
        import tensorflow as tf

        ended = tf.cumsum(tf.cast(tf.equal(ids, s2s.END_ID), "int32"), axis=1) > 0
        tokens = tf.gather(tf.constant(self.vocabulary), ids)
        kept = tf.ragged.boolean_mask(tokens, ~ended)
        return tf.strings.reduce_join(kept, axis=1,
                                      separator="" if self.tokens == "characters" else " ")


def lengths(ids):
    """Each hypothesis's length in tokens, `[END]` counted (all steps when it has none)."""
    import tensorflow as tf

    ended = tf.cumsum(tf.cast(tf.equal(ids, s2s.END_ID), "int32"), axis=-1)
    return tf.reduce_sum(tf.cast(ended == 0, "int32"), axis=-1) + tf.cast(
        ended[..., -1] > 0, "int32")


def normalised(scores, ids, length_penalty):
    """`log p / lp(y)`, `lp(y) = ((5 + |y|) / 6) ** length_penalty` (Wu et al. 2016)."""
    import tensorflow as tf

    if not length_penalty:
        return scores
    return scores / ((5.0 + tf.cast(lengths(ids), scores.dtype)) / 6.0) ** length_penalty


def _write(columns, step, values):
    """`columns` (..., steps) with column `step` set to `values` (...)."""
    import tensorflow as tf

    at = tf.one_hot(step, tf.shape(columns)[-1], dtype=columns.dtype)
    return columns * (1 - at) + values[..., None] * at


def greedy(parts, texts):
    """`(ids, log_probability)`: each text's greedy translation as ids (batch, steps) and its
    log-probability under the model."""
    import tensorflow as tf

    memory, states = parts.encode(texts)
    batch, steps = tf.shape(texts)[0], parts.max_target_length + 1

    def body(step, tokens, states, finished, total, chosen):
        log_p, states, _ = parts.step(tokens, states, memory)
        tokens = tf.where(finished, s2s.PAD_ID, tf.argmax(log_p, axis=-1, output_type="int32"))
        total += tf.where(finished, 0.0, tf.gather(log_p, tokens, batch_dims=1))
        finished |= tf.equal(tokens, s2s.END_ID)
        return step + 1, tokens, states, finished, total, _write(chosen, step, tokens)

    loop = (tf.constant(0), tf.fill([batch], s2s.START_ID), states,
            tf.zeros([batch], dtype=bool), tf.zeros([batch]),
            tf.zeros([batch, steps], dtype="int32"))
    *_, total, chosen = tf.while_loop(lambda step, *_: step < steps, body, loop)
    return chosen, total


def beam_search(parts, texts, beam_width: int, length_penalty: float = 0.0):
    """`(ids, log_probability)`: each text's best translation found by beam search (see the
    module docstring), as ids (batch, steps), and its log-probability."""
    import tensorflow as tf

    k, size, steps = beam_width, parts.size, parts.max_target_length + 1
    memory, states = parts.encode(texts)
    batch = tf.shape(texts)[0]
    memory = tuple(tf.repeat(m, k, axis=0) for m in memory)  # example-major: (batch * k, ...)
    states = [tf.repeat(s, k, axis=0) for s in states]
    only_padding = tf.constant([0.0] + [-np.inf] * (size - 1))  # what a finished beam adds

    def body(step, tokens, states, scores, finished, history):
        log_p, states, _ = parts.step(tokens, states, memory)
        log_p = tf.reshape(log_p, [batch, k, size])
        log_p = tf.where(finished[..., None], only_padding, log_p)
        candidates = tf.reshape(scores[..., None] + log_p, [batch, k * size])
        scores, best = tf.math.top_k(candidates, k=k)
        parent, token = best // size, tf.cast(best % size, "int32")
        history = _write(tf.gather(history, parent, batch_dims=1), step, token)
        finished = tf.gather(finished, parent, batch_dims=1) | tf.equal(token, s2s.END_ID)
        states = [tf.reshape(tf.gather(tf.reshape(s, [batch, k, -1]), parent, batch_dims=1),
                             tf.shape(s)) for s in states]
        return step + 1, tf.reshape(token, [-1]), states, scores, finished, history

    loop = (tf.constant(0), tf.fill([batch * k], s2s.START_ID), states,
            tf.tile(tf.constant([[0.0] + [-np.inf] * (k - 1)]), [batch, 1]),  # one live beam
            tf.zeros([batch, k], dtype=bool), tf.zeros([batch, k, steps], dtype="int32"))
    *_, scores, _, history = tf.while_loop(lambda step, *_: step < steps, body, loop)
    ranked = normalised(scores, history, length_penalty)
    top = tf.argmax(ranked, axis=1, output_type="int32")
    ids, log_probability = tf.gather(history, top, batch_dims=1), tf.gather(scores, top,
                                                                          batch_dims=1)
    # greedy's translation is a candidate too: beam search never returns a worse one
    greedy_ids, greedy_score = greedy(parts, texts)
    better = (normalised(greedy_score, greedy_ids, length_penalty)
              > tf.gather(ranked, top, batch_dims=1))
    return (tf.where(better[:, None], greedy_ids, ids),
            tf.where(better, greedy_score, log_probability))


def translator(model, mode: str = "greedy", beam_width: int = DEFAULT_BEAM_WIDTH,
               length_penalty: float = 0.0):
    """`fn(texts) -> {"translation": strings, "log_probability": floats}` for a `tf.string`
    batch, in TensorFlow ops (what the export's `translate` signatures run)."""
    check_mode(mode)
    beam_width = check_beam_width(beam_width)
    length_penalty = check_length_penalty(length_penalty)
    parts = Parts(model)

    def translate(texts):
        if mode == "greedy":
            ids, log_probability = greedy(parts, texts)
        else:
            ids, log_probability = beam_search(parts, texts, beam_width, length_penalty)
        return {"translation": parts.texts(ids), "log_probability": log_probability}

    return translate


def check_sources(model, texts) -> np.ndarray:
    """`texts` as an array of str, each of at least one token and at most
    `max_source_length`; `ValueError` naming the first that is not."""
    texts = np.asarray(texts)
    if texts.ndim == 0:
        texts = texts[None]
    if texts.ndim != 1 or texts.dtype.kind not in "US" or not texts.size:
        raise ValueError(f"a seq2seq model translates a list of strings; got {texts.size} "
                         f"value(s) of dtype {texts.dtype} and shape {texts.shape}")
    texts = texts.astype(str)
    tokens = s2s.tokens_of(model)
    counts = s2s.token_counts(texts, tokens)
    limit = s2s.max_lengths(model)[0]
    unit = tokens[:-1]
    for index, (text, count) in enumerate(zip(texts.tolist(), counts)):
        shown = text if len(text) <= 60 else text[:57] + "..."
        if not count:
            raise ValueError(f"text {index} ({shown!r}) holds no {unit}; the model translates "
                             f"text of at least one {unit}")
        if count > limit:
            raise ValueError(f"text {index} ({shown!r}) holds {count} {tokens}; the model reads "
                             f"at most {limit} (max_source_length)")
    return texts


_COMPILED = {}  # the last model's decoding functions: {"model": model, settings: function}


def _compiled(model, mode, beam_width, length_penalty):
    import tensorflow as tf

    if _COMPILED.get("model") is not model:  # one model's functions at a time
        _COMPILED.clear()
        _COMPILED["model"] = model
    key = (mode, beam_width, length_penalty)
    if key not in _COMPILED:
        _COMPILED[key] = tf.function(translator(model, mode, beam_width, length_penalty),
                                     input_signature=[tf.TensorSpec([None], tf.string)],
                                     autograph=False)
    return _COMPILED[key]


def decode(model, texts, mode: str = "greedy", beam_width: int = DEFAULT_BEAM_WIDTH,
           length_penalty: float = 0.0, batch_size: int = 256, with_scores: bool = False):
    """Translate `texts` (str) with a trained seq2seq model: a list of strings (and, with
    `with_scores`, an array of their log-probabilities under the model).

    Args:
        model: a seq2seq model (`keras_dl.models.seq2seq`), vocabularies adapted.
        texts: source strings, each of at most `max_source_length` tokens.
        mode: "greedy" or "beam".
        beam_width: hypotheses kept by beam search.
        length_penalty: Wu et al.'s α for choosing among beam search's hypotheses (0: the
            plain log-probability).
        batch_size: texts decoded at once.
        with_scores: also return each translation's log-probability.
    """
    check_mode(mode)
    beam_width = check_beam_width(beam_width)
    length_penalty = check_length_penalty(length_penalty)
    texts = check_sources(model, texts)
    function = _compiled(model, mode, beam_width, length_penalty)
    translations, scores = [], []
    for start in range(0, len(texts), batch_size):
        out = function(texts[start:start + batch_size].astype(object))
        translations += [t.decode("utf-8") for t in np.asarray(out["translation"])]
        scores.append(np.asarray(out["log_probability"]))
    return (translations, np.concatenate(scores)) if with_scores else translations


def sequence_log_probability(model, texts, ids):
    """The model's log-probability of the decoder outputs `ids` (batch, steps; a hypothesis
    ends at its first `[END]`, what follows is ignored) given the source `texts`, by teacher
    forcing through the decoding step: what greedy and beam search score hypotheses by."""
    import tensorflow as tf

    parts = Parts(model)
    ids = tf.constant(np.asarray(ids), dtype="int32")
    memory, states = parts.encode(tf.constant(np.asarray(texts).astype(object)))
    tokens = tf.fill([tf.shape(ids)[0]], s2s.START_ID)
    finished = tf.zeros([tf.shape(ids)[0]], dtype=bool)
    total = tf.zeros([tf.shape(ids)[0]])
    for step in range(ids.shape[1]):
        log_p, states, _ = parts.step(tokens, states, memory)
        tokens = ids[:, step]
        total += tf.where(finished, 0.0, tf.gather(log_p, tokens, batch_dims=1))
        finished |= tf.equal(tokens, s2s.END_ID)
    return np.asarray(total)


def attention_weights(model, texts, mode: str = "greedy"):
    """`[(source tokens, output tokens, weights)]` per text: the greedy translation's
    attention over the source (weights: output steps × source tokens), for figures. Needs a
    model with attention."""
    import tensorflow as tf

    parts = Parts(model)
    if not parts.attention:
        raise ValueError(f"model {model.name!r} has no attention (attention=None)")
    texts = check_sources(model, texts)
    ids, _ = greedy(parts, tf.constant(texts.astype(object)))
    memory, states = parts.encode(tf.constant(texts.astype(object)))
    tokens = tf.fill([len(texts)], s2s.START_ID)
    rows = []
    for step in range(ids.shape[1]):
        _, states, weights = parts.step(tokens, states, memory)
        rows.append(np.asarray(weights))
        tokens = ids[:, step]
    weights = np.stack(rows, axis=1)  # (texts, steps, source steps)
    source_ids = np.asarray(parts.source_vectorizer(tf.constant(texts.astype(object))))
    source_vocabulary = [str(t) for t in parts.source_vectorizer.get_vocabulary()]
    result = []
    for index, text in enumerate(texts):
        n_source = int((source_ids[index] != s2s.PAD_ID).sum())
        out = [parts.vocabulary[i] for i in np.asarray(ids[index])]
        n_out = out.index(s2s.END) + 1 if s2s.END in out else len(out)
        result.append(([source_vocabulary[i] for i in source_ids[index][:n_source]],
                       out[:n_out], weights[index, :n_out, :n_source]))
    return result
