"""Greedy and beam-search decoding of seq2seq models (`keras_dl.models.seq2seq_decoding`),
against an exhaustive search over every output sequence of a tiny target vocabulary."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_dl
from keras_dl.models import seq2seq as s2s
from keras_dl.models.seq2seq_decoding import (
    Parts,
    beam_search,
    greedy,
    lengths,
    normalised,
    sequence_log_probability,
)

SOURCES = ["ab c", "ca", "b", "cab a", "a", "bb", "c c", "ba"]


def _tiny(seed, attention="luong", cell="lstm", target_length=2):
    """A tiny model of two target tokens and at most `target_length` of them, its output
    layer scaled so that its distributions are far from uniform (random weights)."""
    keras.utils.set_random_seed(seed)
    model = keras_dl.create_model(
        "seq2seq", source_vocabulary=("a", "b", "c", " "), target_vocabulary=("x", "y"),
        source_max_tokens=8, target_max_tokens=6, max_source_length=6,
        max_target_length=target_length, embedding_dim=3, units=4, attention=attention,
        cell=cell)
    logits = model.get_layer(s2s.LOGITS)
    logits.kernel.assign(np.asarray(logits.kernel) * 6.0)
    return model


def _exhaustive(model, texts):
    """`[(ids, log_probability)]`: the most probable output of each text, over every sequence
    of `max_target_length + 1` allowed ids (what follows `[END]` ignored)."""
    parts = Parts(model)
    steps = parts.max_target_length + 1
    sequences = np.array(list(itertools.product(np.flatnonzero(parts.allowed), repeat=steps)))
    scores = sequence_log_probability(model, np.repeat(texts, len(sequences)),
                                      np.tile(sequences, (len(texts), 1)))
    scores = scores.reshape(len(texts), len(sequences))
    return [(sequences[np.argmax(row)], row.max()) for row in scores]


def _until_end(ids):
    ids = list(ids)
    return ids[:ids.index(s2s.END_ID) + 1] if s2s.END_ID in ids else ids


@pytest.mark.parametrize("seed, attention, cell", [
    (0, "luong", "lstm"),  # the default suite's budget: the others with the apps
    pytest.param(1, "bahdanau", "gru", marks=pytest.mark.apps),
    pytest.param(2, None, "lstm", marks=pytest.mark.apps)])
def test_wide_beam_finds_the_exhaustive_optimum_and_width_one_is_greedy(seed, attention, cell):
    """Catches a beam that drops or double-counts hypotheses, mis-gathers their states, keeps
    extending a finished one, or scores differently from the model (3 allowed ids over 3
    steps: at most 27 outputs, so width 27 is exhaustive)."""
    model = _tiny(seed, attention, cell)
    found = _exhaustive(model, SOURCES)
    parts = Parts(model)
    texts = tf.constant(np.array(SOURCES, dtype=object))
    ids, scores = (np.asarray(t) for t in beam_search(parts, texts, beam_width=27))
    for index, (best_ids, best_score) in enumerate(found):
        assert scores[index] == pytest.approx(best_score, abs=1e-5)
        assert _until_end(ids[index]) == _until_end(best_ids)
    greedy_ids, greedy_scores = greedy(parts, texts)
    one_ids, one_scores = beam_search(parts, texts, beam_width=1)
    np.testing.assert_array_equal(one_ids, greedy_ids)
    np.testing.assert_allclose(one_scores, greedy_scores, atol=1e-6)
    # the scores the decoders report are the model's log-probabilities of their outputs
    np.testing.assert_allclose(sequence_log_probability(model, SOURCES, greedy_ids),
                               greedy_scores, atol=1e-5)
    np.testing.assert_allclose(sequence_log_probability(model, SOURCES, ids), scores, atol=1e-5)


def test_beam_is_never_below_greedy_and_sometimes_above():
    """Catches a beam search that returns a translation the model scores below greedy's, and
    a beam that only ever reproduces greedy (then the comparison could not fail)."""
    texts = tf.constant(np.array(SOURCES, dtype=object))
    parts = Parts(_tiny(11, target_length=3))
    greedy_scores = np.asarray(greedy(parts, texts)[1])
    gains = []
    for width in (2, 5):
        beam_scores = np.asarray(beam_search(parts, texts, beam_width=width)[1])
        assert np.all(beam_scores >= greedy_scores - 1e-5), width
        gains.append(np.max(beam_scores - greedy_scores))
    assert max(gains) > 1e-3


def test_length_penalty_and_lengths():
    """Catches a hypothesis length that miscounts `[END]`, and a length penalty that is not
    Wu et al.'s: log p / ((5 + |y|) / 6) ** α."""
    ids = tf.constant([[4, 5, s2s.END_ID, 0], [s2s.END_ID, 0, 0, 0], [4, 4, 4, 4]])
    np.testing.assert_array_equal(lengths(ids), [3, 1, 4])
    scores = tf.constant([-2.0, -2.0, -2.0])
    np.testing.assert_allclose(normalised(scores, ids, 0.0), scores)
    np.testing.assert_allclose(normalised(scores, ids, 0.6),
                               -2.0 / (np.array([8.0, 6.0, 9.0]) / 6.0) ** 0.6, rtol=1e-6)


def test_decoded_strings_stop_at_end_and_join_by_tokenisation():
    """Catches tokens after `[END]` leaking into the text, and words joined without spaces."""
    model = _tiny(4)
    parts = Parts(model)
    ids = tf.constant([[4, 5, s2s.END_ID], [s2s.END_ID, 4, 4], [5, 5, 4]])
    assert [t.decode() for t in np.asarray(parts.texts(ids))] == ["xy", "", "yyx"]
    keras.utils.set_random_seed(0)
    words = keras_dl.create_model("seq2seq", tokens="words", source_vocabulary=("one", "two"),
                                  target_vocabulary=("1", "2"), source_max_tokens=8,
                                  target_max_tokens=8, max_source_length=4,
                                  max_target_length=2, embedding_dim=3, units=4)
    assert [t.decode() for t in np.asarray(Parts(words).texts(ids))] == ["1 2", "", "2 2 1"]
