"""Translation: a sequence-to-sequence model (`keras_dl.models.seq2seq`) trained on pairs of
strings (a source text, its target text) with teacher forcing, tested and served by decoding.

- Data: a text dataset of string pairs (`DatasetInfo.modality == "text"`, no classes:
  `dates_to_iso`). `check_run` refuses a dataset with labels and texts longer than the
  model reads, before anything is written.
- Before `fit`, the source vocabulary is learnt from the training sources (`adapt`) and the
  target vocabulary from the training targets (`adapt_targets`).
- Batches: `adapt_dataset` turns each batch of `(sources, targets)` into
  `({"source": sources, "target": targets}, target ids)`: the model reads the target shifted
  right, and learns to predict its ids then `[END]`; padding is ignored by the loss
  (cross-entropy on the logits).
- Evaluation: the teacher-forced loss, and the share of test sources translated exactly right
  by greedy decoding and by beam search (width 4), and the share of target characters
  right at their position (greedy).
- Export: `serving_default` serves the teacher-forced logits (the model as it trains: a
  source and a candidate target in, a distribution per step out); `translate` (beam search,
  width 4) and `translate_greedy` take source strings and return
  `{"translation": strings, "log_probability": floats}`; `source_statistics` gives each
  source's tokens, which the served model checks first (an empty text, one longer than
  `max_source_length`, one of no known token are refused with one line).
"""

from __future__ import annotations

import keras
import numpy as np

from keras_dl.tasks.base import Task

STATISTICS = "source_statistics"
TRANSLATE, TRANSLATE_GREEDY = "translate", "translate_greedy"
BEAM_WIDTH = 4


class Translation(Task):
    """Sequence-to-sequence translation of strings into strings (teacher-forced training)."""

    name = "translation"
    text = True
    text_pairs = True
    monitors = ("val_loss",)
    objectives = ("val_loss", "loss")

    # === Feeding =================================================================================

    def check_run(self, config):
        """Refuse a dataset whose sources or targets are longer than the model reads (the
        dataset's kind was checked before: `keras_dl.training.data_kinds`)."""
        from keras_dl import data
        from keras_dl.models import seq2seq as s2s

        kwargs = config["builder_kwargs"]
        x, y = data.load_numpy(config["dataset"], "train", limit=config.get("limit"))
        for side, texts, limit in (("source", x, kwargs["max_source_length"]),
                                   ("target", y, kwargs["max_target_length"])):
            counts = s2s.token_counts(texts, kwargs["tokens"])
            if counts.max() > limit:
                index = int(np.argmax(counts))
                raise ValueError(f"dataset {config['dataset']!r} has a {side} of {counts[index]} "
                                 f"{kwargs['tokens']} ({str(texts[index])[:60]!r}); model "
                                 f"{config['model']!r} reads at most max_{side}_length="
                                 f"{limit} (raise it)")

    def check_inputs(self, model, x):
        x = np.asarray(x)
        if x.dtype.kind not in "US":
            raise ValueError(f"model {model.name!r} translates strings, got examples of dtype "
                             f"{x.dtype}")

    def adapt(self, model, x):
        from keras_dl.models.seq2seq import adapt_seq2seq

        adapt_seq2seq(model, sources=x)

    def adapt_targets(self, model, y):
        from keras_dl.models.seq2seq import adapt_seq2seq

        adapt_seq2seq(model, targets=y)

    def adapt_dataset(self, dataset, fit_model):
        import tensorflow as tf

        from keras_dl.models.seq2seq import SOURCE, TARGET, target_ids

        def teacher_forcing(sources, targets):
            return {SOURCE: sources, TARGET: targets}, target_ids(fit_model, targets)

        return dataset.map(teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE)

    # === Compiling ===============================================================================

    def compile(self, model, optimizer, info=None):
        """Cross-entropy of each target id from the logits; padding (id 0) ignored."""
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                      ignore_class=0))
        return model

    # === Evaluating ==============================================================================

    def evaluate(self, model, dataset, **kwargs):
        """Loss (teacher-forced), exact match of greedy and beam decoding, per-character
        accuracy of greedy decoding, on batches of `(sources, targets)` strings."""
        from keras_dl.models.seq2seq_decoding import decode

        scores = model.evaluate(self.adapt_dataset(dataset, model), verbose=0,
                                return_dict=True, **kwargs)
        sources, targets = [], []
        for x, y in dataset:
            sources += [t.decode("utf-8") for t in np.asarray(x)]
            targets += [t.decode("utf-8") for t in np.asarray(y)]
        greedy = decode(model, sources, mode="greedy")
        beam = decode(model, sources, mode="beam", beam_width=BEAM_WIDTH)
        return {**scores, **translation_scores(targets, greedy, beam)}

    # === Exporting ===============================================================================

    def output_names(self, model):
        return ("logits",)

    def export_endpoints(self, model, input_spec):
        from keras_dl.models.seq2seq_decoding import translator

        return {TRANSLATE: (translator(model, "beam", BEAM_WIDTH), [input_spec]),
                TRANSLATE_GREEDY: (translator(model, "greedy"), [input_spec]),
                STATISTICS: (source_statistics(model), [input_spec])}

    def input_checks(self, model):
        from keras_dl.models.seq2seq import max_lengths, tokens_of

        return {"signature": STATISTICS, "max_words": max_lengths(model)[0],
                "unit": tokens_of(model)[:-1], "signatures": [TRANSLATE, TRANSLATE_GREEDY]}

    def deterministic_endpoints(self, model):
        import tensorflow as tf

        from keras_dl.models.seq2seq import SOURCE
        from keras_dl.models.seq2seq_decoding import translator

        def source(inputs):
            return inputs[SOURCE] if isinstance(inputs, dict) else inputs

        def scores(function):  # the log-probabilities: strings have no max abs difference
            def expected(texts):
                out = function(tf.constant(np.asarray(texts).astype(object)))
                return {"log_probability": np.asarray(out["log_probability"])}
            return (source, expected)

        statistics = source_statistics(model)

        def expected_statistics(texts):
            out = statistics(tf.constant(np.asarray(texts).astype(object)))
            return {key: np.asarray(value) for key, value in out.items()}

        return {TRANSLATE: scores(translator(model, "beam", BEAM_WIDTH)),
                TRANSLATE_GREEDY: scores(translator(model, "greedy")),
                STATISTICS: (source, expected_statistics)}

    # === The model contract ======================================================================

    def smoke_inputs(self, model, count=4, seed=0):
        from keras_dl.models.seq2seq import SMOKE_PAIRS, SOURCE, TARGET

        rng = np.random.default_rng(seed)
        pairs = [SMOKE_PAIRS[i] for i in rng.integers(len(SMOKE_PAIRS), size=count)]
        return {SOURCE: np.array([s for s, _ in pairs]), TARGET: np.array([t for _, t in pairs])}

    def smoke_fit_data(self, info, model, fit_model, x):
        import tensorflow as tf

        from keras_dl.models.seq2seq import TARGET, target_ids

        inputs = {key: tf.constant(value) for key, value in x.items()}
        return inputs, target_ids(model, inputs[TARGET])

    def smoke_output_shape(self, info, model):
        from keras_dl.models.seq2seq import max_lengths

        return (max_lengths(model)[1] + 1, info.smoke_kwargs["target_max_tokens"])


def source_statistics(model):
    """`fn(texts) -> {"words": ..., "known_words": ...}`: each source's tokens (characters or
    words, as the model splits it) and how many of them its vocabulary holds."""
    import tensorflow as tf

    from keras_dl.models.seq2seq import SOURCE_VECTORIZER, count_tokens, tokens_of

    vectorizer, tokens = model.get_layer(SOURCE_VECTORIZER), tokens_of(model)

    def statistics(texts):
        known = tf.reduce_sum(tf.cast(vectorizer(texts) > 1, "int32"), axis=1)  # 0 pads, 1 unknown
        return {"words": tf.cast(count_tokens(texts, tokens), "int32"), "known_words": known}

    return statistics


def translation_scores(targets, greedy, beam) -> dict:
    """Exact-match accuracy of the greedy and beam translations against `targets`, and the
    share of target characters that greedy decoding gets right at their position."""
    targets = list(targets)
    right = sum(sum(a == b for a, b in zip(t, g)) for t, g in zip(targets, greedy))
    return {
        "exact_match_greedy": float(np.mean([t == g for t, g in zip(targets, greedy)])),
        "exact_match_beam": float(np.mean([t == b for t, b in zip(targets, beam)])),
        "character_accuracy": right / max(1, sum(len(t) for t in targets)),
    }
