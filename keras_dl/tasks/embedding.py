"""Word embeddings: word2vec (`keras_dl.models.word2vec`) trained on a corpus.

A corpus dataset (`DatasetInfo.corpus`: `wiki_sample`, `lee_background`) holds documents,
one string of white-space separated words each, and no labels. What the task does with them:

- before `fit` (`adapt`), the vocabulary is learnt from the training documents (the words of
  at least `min_count` occurrences, most frequent first, at most `vocabulary_size`), and the
  words' counts are stored in the model (they give the sub-sampling and the noise
  distribution);
- `fit` takes batches of (context, word, noise words) drawn afresh each epoch in the graph
  (`keras_dl.data.skipgrams`); the validation documents give the same kind of batches, drawn
  once, so `val_loss` is the negative-sampling loss of held-out text;
- its test metrics are that loss on the test documents and the scores of the word vectors:
  Spearman's ρ on WordSim353 and SimLex-999, 3CosAdd analogy accuracy, and the share of
  pairs and questions the vocabulary covers (`keras_dl.text`);
- its export serves one word per request (a `tf.string`) and returns its vector; the served
  model refuses an empty request, one of several words, and a word outside the vocabulary
  (`word_statistics`, as the text classifiers' `text_statistics`).

`train_word2vec(sentences, ...)` trains on token lists from Python with gensim's learning-rate
rule (plain SGD, linear decay from 0.025 to 0.0001 over all steps), the whole corpus and no
held-out text: what `apps/word2vec.py` and `bench/word2vec_vs_gensim.py` compare with gensim.
"""

from __future__ import annotations

import collections

import numpy as np

from keras_dl.tasks.base import Task

STATISTICS = "word_statistics"
STEPS_PER_EXECUTION = 32  # batches per compiled call of `fit`
EVALUATION_SEED = 0  # the held-out examples are the same every evaluation
GENSIM_ALPHA, GENSIM_MIN_ALPHA = 0.025, 0.0001  # gensim 4's alpha and min_alpha


def _documents(x) -> list:
    """Documents (str, or bytes from a dataset) as token lists, split on white space."""
    return [(text.decode("utf-8") if isinstance(text, bytes) else str(text)).split()
            for text in np.asarray(x).ravel()]


def _settings(model):
    from keras_dl.models.word2vec import embeddings_layer

    layer = embeddings_layer(model)
    return {"mode": layer.mode, "window": layer.window, "negatives": layer.negatives,
            "sample": layer.sample}


def learn_vocabulary(model, documents) -> list:
    """Set the model's vocabulary (unless it was given one) and its word counts from
    `documents` (token lists): the words of at least `min_count` occurrences, most frequent
    first (ties in order of first appearance), at most as many as the model has rows for.
    Returns the vocabulary. `ValueError` when no word occurs `min_count` times."""
    from keras_dl.data.text import build_vocabulary
    from keras_dl.models.word2vec import embeddings_layer, lookup_layer, vocabulary

    layer, lookup = embeddings_layer(model), lookup_layer(model)
    if lookup.get_config().get("vocabulary") is None:
        words = build_vocabulary(documents, max_size=layer.rows - 1, min_count=layer.min_count)
        lookup.set_vocabulary(words)
    words = vocabulary(model)
    found = collections.Counter(token for document in documents for token in document)
    counts = np.zeros(layer.rows, dtype="int64")
    counts[1:len(words) + 1] = [found.get(word, 0) for word in words]
    if not counts.sum():
        raise ValueError(f"none of the model's {len(words)} words occurs in the "
                         f"{len(documents)} training documents")
    layer.counts.assign(counts)
    return words


def corpus_of(model, documents):
    """`documents` (token lists) as a `keras_dl.data.skipgrams.Corpus` of the model's ids."""
    from keras_dl.data.skipgrams import encode_corpus
    from keras_dl.models.word2vec import vocabulary

    return encode_corpus(documents, {word: i for i, word in enumerate(vocabulary(model), 1)})


def example_batches(model, documents, batch_size, seed):
    """`(dataset, steps)`: endless batches of the model's training examples from `documents`
    (drawn afresh each epoch), and the expected number of batches an epoch (at least 1)."""
    from keras_dl.data import skipgrams
    from keras_dl.models.word2vec import embeddings_layer

    corpus = corpus_of(model, documents)
    counts = np.asarray(embeddings_layer(model).counts)
    settings = _settings(model)
    expected = skipgrams.expected_examples(corpus, counts, mode=settings["mode"],
                                           window=settings["window"], sample=settings["sample"])
    if expected < 1:
        raise ValueError(f"the {len(documents)} training documents make no example (no two "
                         "vocabulary words in one document); give longer documents")
    dataset = skipgrams.example_batches(corpus, counts, batch_size=batch_size, seed=seed,
                                        **settings)
    return dataset, max(1, int(expected // batch_size))


def held_out_examples(model, documents, seed: int = EVALUATION_SEED):
    """`(inputs, outputs, labels)`: one epoch of examples from held-out `documents`, drawn
    once with `seed`, or None when they make none (no vocabulary word, no counts yet)."""
    from keras_dl.data import skipgrams
    from keras_dl.models.word2vec import embeddings_layer

    counts = np.asarray(embeddings_layer(model).counts)
    try:
        corpus = corpus_of(model, documents)
    except ValueError:  # no vocabulary word in them
        return None
    if not counts.sum():
        return None
    examples = skipgrams.fixed_examples(corpus, counts, seed=seed, **_settings(model))
    return examples if int(examples[1].shape[0]) else None


def embedding_scores(model) -> dict:
    """The word vectors' scores, flat: `wordsim353_spearman`, `simlex999_spearman`,
    `analogy_accuracy` (where anything is covered) and each set's `..._coverage`."""
    from keras_dl import text
    from keras_dl.data import text as text_data
    from keras_dl.models.word2vec import word_vectors

    vectors, vocab = word_vectors(model)
    scores = {}
    for name in ("wordsim353", "simlex999"):
        result = text.word_similarity(vectors, vocab, text_data.word_pairs(name))
        scores[f"{name}_coverage"] = result["coverage"]
        if result["spearman"] is not None:
            scores[f"{name}_spearman"] = result["spearman"]
    result = text.analogy_accuracy(vectors, vocab, text_data.analogies())
    scores["analogy_coverage"] = result["coverage"]
    if result["accuracy"] is not None:
        scores["analogy_accuracy"] = result["accuracy"]
    return scores


def held_out_loss(model, documents, batch_size: int = 1024) -> float | None:
    """The mean negative-sampling loss per example of held-out `documents`
    (`held_out_examples`), or None when they make no example."""
    from keras_dl.models.word2vec import NegativeSamplingLoss, embeddings_layer

    examples = held_out_examples(model, documents)
    if examples is None:
        return None
    inputs, outputs, labels = examples
    layer, loss = embeddings_layer(model), NegativeSamplingLoss(reduction="sum")
    total = sum(float(loss(labels[start:start + batch_size],
                           layer.scores(inputs[start:start + batch_size],
                                        outputs[start:start + batch_size])))
                for start in range(0, int(outputs.shape[0]), batch_size))
    return total / int(outputs.shape[0])


class WordEmbedding(Task):
    """word2vec on a corpus: see the module docstring."""

    name = "word_embedding"
    text = True
    corpus = True
    augmentable = False
    mixed_precision = False
    pretraining = False
    attackable = False

    # === Feeding ===============================================================================

    def check_inputs(self, model, x):
        x = np.asarray(x)
        if x.dtype.kind not in "US":
            raise ValueError(f"model {model.name!r} learns from documents (strings), got "
                             f"examples of dtype {x.dtype}")

    def adapt(self, model, x):
        learn_vocabulary(model, _documents(x))

    def fit_datasets(self, config, fit_model, data, strategy=None):
        from keras_dl import distribute

        if strategy is not None and distribute.is_distributed(strategy):
            raise ValueError(f"model {config['model']!r} trains on one device (its sparse "
                             "updates are not distributed); use --strategy none")
        import tensorflow as tf

        model, batch, seed = fit_model.word_model, config["batch_size"], config["seed"]
        train, steps = example_batches(model, _documents(data.x_fit), batch, seed)
        held_out = held_out_examples(model, _documents(data.x_val), seed + 1)
        if held_out is None:
            raise ValueError(f"the {len(data.x_val)} validation documents make no example "
                             "(no two vocabulary words in one); give more documents or a "
                             "larger validation fraction")
        inputs, outputs, labels = held_out
        validation = tf.data.Dataset.from_tensor_slices(
            ({"inputs": inputs, "outputs": outputs}, labels)).batch(batch)
        return train, validation, {"steps_per_epoch": steps}

    # === Compiling =============================================================================

    def compile(self, model, optimizer, info=None):
        model.compile(optimizer=optimizer)
        return model

    def training_model(self, model, info, make_optimizer):
        from keras_dl.models.word2vec import (NegativeSamplingLoss, Word2VecTrainer,
                                              embeddings_layer)

        trainer = Word2VecTrainer(model, name=f"{model.name}_trainer")
        layer = embeddings_layer(model)
        width = (1, 2 * layer.window) if layer.mode == "cbow" else (1,)
        trainer({"inputs": np.zeros(width, "int32"),  # built: a backup can restore it
                 "outputs": np.zeros((1, 1 + layer.negatives), "int32")})
        trainer.compile(optimizer=make_optimizer(), loss=NegativeSamplingLoss(), jit_compile=True,
                        steps_per_execution=STEPS_PER_EXECUTION)
        return trainer

    # === Evaluating ============================================================================

    def evaluate(self, model, dataset, **kwargs):
        texts = [x for x, *_ in dataset.as_numpy_iterator()]
        documents = _documents(np.concatenate(texts)) if texts else []
        scores = embedding_scores(model)
        loss = held_out_loss(model, documents)
        return {**({"loss": loss} if loss is not None else {}), **scores}

    # === Exporting =============================================================================

    def output_names(self, model):
        from keras_dl.models.word2vec import OUTPUT_NAME

        return (OUTPUT_NAME,)

    def export_endpoints(self, model, input_spec):
        from keras_dl.models.word2vec import word_statistics

        return {STATISTICS: (word_statistics(model), [input_spec])}

    def input_checks(self, model):
        return {"signature": STATISTICS, "max_words": 1}

    def deterministic_endpoints(self, model):
        from keras_dl.models.word2vec import word_statistics

        statistics = word_statistics(model)

        def expected(texts):
            import tensorflow as tf

            return {key: np.asarray(value)
                    for key, value in statistics(tf.constant(texts)).items()}

        return {STATISTICS: expected}

    # === The model contract ====================================================================

    def smoke_inputs(self, model, count=4, seed=0):
        from keras_dl.models.word2vec import vocabulary

        words = vocabulary(model)
        rng = np.random.default_rng(seed)
        return np.array([words[i] for i in rng.integers(len(words), size=count)])

    def smoke_fit_data(self, info, model, fit_model, x):
        from keras_dl.models.word2vec import embeddings_layer, vocabulary

        layer = embeddings_layer(model)
        rng = np.random.default_rng(0)
        rows = len(vocabulary(model)) + 1
        shape = (len(x), 2 * layer.window) if layer.mode == "cbow" else (len(x),)
        inputs = rng.integers(1, rows, size=shape).astype("int32")
        outputs = rng.integers(1, rows, size=(len(x), 1 + layer.negatives)).astype("int32")
        labels = np.zeros(outputs.shape, dtype="float32")
        labels[:, 0] = 1.0
        return {"inputs": inputs, "outputs": outputs}, labels


def train_word2vec(sentences, *, epochs: int = 5, batch_size: int = 1024,
                   learning_rate: float = GENSIM_ALPHA,
                   final_learning_rate: float = GENSIM_MIN_ALPHA, seed: int = 0,
                   verbose: int = 0, **builder_kwargs):
    """A `word2vec` model trained on `sentences` (token lists, or strings of white-space
    separated words) as gensim trains: the whole corpus, plain SGD whose rate falls linearly
    from `learning_rate` to `final_learning_rate` over all steps. `builder_kwargs` go to the
    builder (`mode`, `dimension`, `window`, `negatives`, `sample`, `min_count`, ...). Returns
    the model; `keras_dl.models.word2vec.word_vectors(model)` gives `(vectors, vocab)`."""
    import keras

    from keras_dl import registry
    from keras_dl.settings import positive_int

    positive_int("epochs")(epochs)
    positive_int("batch_size")(batch_size)
    for name, rate in (("learning_rate", learning_rate),
                       ("final_learning_rate", final_learning_rate)):
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not rate > 0:
            raise ValueError(f"{name} must be a positive number, got {rate!r}")
    documents = _documents(sentences) if all(isinstance(s, str) for s in sentences) \
        else [list(sentence) for sentence in sentences]
    keras.utils.set_random_seed(seed)
    model = registry.create_model("word2vec", **builder_kwargs)
    learn_vocabulary(model, documents)
    dataset, steps = example_batches(model, documents, batch_size, seed)
    schedule = keras.optimizers.schedules.PolynomialDecay(
        learning_rate, decay_steps=epochs * steps, end_learning_rate=final_learning_rate)
    task = WordEmbedding()
    task.compile(model, keras.optimizers.SGD(learning_rate))
    trainer = task.training_model(model, None, lambda: keras.optimizers.SGD(schedule))
    trainer.fit(dataset, epochs=epochs, steps_per_epoch=steps, verbose=verbose, shuffle=False)
    return model
