"""Text classification: a model that takes raw strings, one per example, and outputs a
probability per class (`keras_dl.models.text`: `bow_classifier`, `text_rnn_classifier`).

It trains as classification does (`fit(texts, labels)`, cross-entropy, accuracy); what
differs is what comes before and after:

- before `fit`, the model's vocabulary (and tf-idf weights, and word vectors) is learnt from
  the training split (`adapt`), so it travels inside the model: in the `.keras` file, in the
  best checkpoint, in the SavedModel;
- it trains only on text datasets (`DatasetInfo.modality == "text"`) with integer labels,
  and its batches hold strings;
- its export serves raw strings (a `tf.string` input) and adds a `text_statistics`
  signature (each text's words, and how many the vocabulary knows), which the served model
  runs first to refuse an empty text, one with no known word, or one longer than the model
  reads (`keras_dl.export.ServedModel`).
"""

from __future__ import annotations

import numpy as np

from keras_dl.tasks.classification import Classification

SMOKE_TEXTS = ("a good film", "a bad film", "not good", "not a bad film at all", "good good",
               "bad", "film", "a film not good")
STATISTICS = "text_statistics"


class TextClassification(Classification):
    """Classification of raw strings; the vocabulary is adapted on the training split."""

    name = "text_classification"
    text = True
    augmentable = False
    mixed_precision = False
    pretraining = False
    attackable = False  # no gradient reaches a string

    def check_run(self, config):
        from keras_dl import data

        info = data.info(config["dataset"])
        if not info.num_classes:
            raise ValueError(f"dataset {config['dataset']!r} pairs texts with texts "
                             f"(translation); model {config['model']!r} classifies texts and "
                             "needs integer labels (allowed: "
                             + ", ".join(n for n in data.list_datasets()
                                         if data.info(n).modality == "text"
                                         and data.info(n).num_classes) + ")")

    def check_inputs(self, model, x):
        x = np.asarray(x)
        if x.dtype.kind not in "US":
            raise ValueError(f"model {model.name!r} takes strings, got examples of dtype "
                             f"{x.dtype}")
        super().check_inputs(model, x)

    def adapt(self, model, x):
        from keras_dl.models.text_vocabulary import adapt_text_model

        adapt_text_model(model, x)

    # === Exporting ===========================================================================

    def export_endpoints(self, model, input_spec):
        from keras_dl.models.text_vocabulary import text_statistics

        return {STATISTICS: (text_statistics(model), [input_spec])}

    def input_checks(self, model):
        from keras_dl.models.text_vocabulary import max_length

        return {"signature": STATISTICS, "max_words": max_length(model)}

    def deterministic_endpoints(self, model):
        from keras_dl.models.text_vocabulary import text_statistics

        statistics = text_statistics(model)

        def expected(texts):
            import tensorflow as tf

            return {key: np.asarray(value)
                    for key, value in statistics(tf.constant(texts)).items()}

        return {STATISTICS: expected}

    # === The model contract ==================================================================

    def smoke_inputs(self, model, count=4, seed=0):
        rng = np.random.default_rng(seed)
        return np.array([SMOKE_TEXTS[i] for i in rng.integers(len(SMOKE_TEXTS), size=count)])

    def smoke_fit_data(self, info, model, fit_model, x):
        import tensorflow as tf

        inputs, targets = super().smoke_fit_data(info, model, fit_model, x)
        return tf.constant(inputs), targets
