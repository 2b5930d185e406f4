"""The text classifiers (`keras_dl.models.text`) and their task: the vocabulary learnt from
the training split and kept by the model, tf-idf, n-grams, word vectors, the string-signature
SavedModel, and `keras-dl train / evaluate / export / predict` on raw text.

(The model contract checks both builders' shapes, fit step, config / `.keras` / SavedModel
round trips and search spaces on their smoke instances; the server's REST and gRPC round
trips are in tests/test_text_serving.py.)
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_dl
from _cli import run_cli
from keras_dl import tasks
from keras_dl.export import ServedModel, export_saved_model
from keras_dl.models.text_vocabulary import (
    adapt_text_model,
    initialise_embedding,
    word_counts,
)

TEXTS = np.array(["a good film", "a bad film", "good acting , good story", "bad bad bad",
                  "not a good film", "the story is thin"])


def _bow(**kwargs):
    keras.utils.set_random_seed(0)
    return keras_dl.create_model("bow_classifier", **{"max_tokens": 40, "hidden_units": (4,),
                                                      "num_classes": 2, **kwargs})


def _rnn(**kwargs):
    keras.utils.set_random_seed(0)
    return keras_dl.create_model("text_rnn_classifier", **{
        "max_tokens": 40, "max_length": 8, "embedding_dim": 4, "units": (4,),
        "num_classes": 2, **kwargs})


def _vectorizer(model):
    return model.get_layer("vectorize")


def test_both_builders_take_one_string_per_example_and_belong_to_the_text_task():
    for name in ("bow_classifier", "text_rnn_classifier"):
        assert tasks.for_model(name).name == "text_classification"
        model = keras_dl.create_model(name, **keras_dl.model_info(name).smoke_kwargs)
        assert str(model.inputs[0].dtype) == "string" and tuple(model.inputs[0].shape) == (None,)


def test_the_vocabulary_is_learnt_from_the_texts_given_and_counts_words_and_bigrams():
    model = _bow(output_mode="count", ngrams=2)
    adapt_text_model(model, TEXTS)
    vocabulary = _vectorizer(model).get_vocabulary()
    assert vocabulary[0] == "[UNK]" and set(vocabulary[1:3]) == {"good", "bad"}  # 4 times each
    assert "good film" in vocabulary and "zebra" not in vocabulary
    counts = np.asarray(_vectorizer(model)(np.array(["good good film zebra"])))[0]
    assert counts[vocabulary.index("good")] == 2 and counts[vocabulary.index("good film")] == 1
    assert counts[0] == 3  # "zebra", "good good", "film zebra": out of vocabulary
    assert counts.shape == (40,)  # max_tokens entries, whatever the vocabulary


def test_multi_hot_marks_presence():
    model = _bow(output_mode="multi_hot", ngrams=1)
    adapt_text_model(model, TEXTS)
    assert set(np.unique(np.asarray(_vectorizer(model)(np.array(["bad bad bad"]))))) == {0, 1}


def test_tf_idf_multiplies_each_count_by_the_inverse_document_frequency():
    model = _bow(output_mode="tf_idf", ngrams=1)
    adapt_text_model(model, TEXTS)
    vocabulary = _vectorizer(model).get_vocabulary()
    features = keras.Model(model.input, model.get_layer("vectorize_idf").output)
    got = np.asarray(features(np.array(["good good story"])))[0]
    # "good" is in 3 of the 6 texts, "story" in 2: idf = log(1 + N / (1 + df))
    np.testing.assert_allclose(got[vocabulary.index("good")], 2 * np.log(1 + 6 / 4), rtol=1e-5)
    np.testing.assert_allclose(got[vocabulary.index("story")], np.log(1 + 6 / 3), rtol=1e-5)
    assert got[vocabulary.index("bad")] == 0


@pytest.mark.parametrize("build", [_bow, _rnn], ids=["bow", "rnn"])
def test_the_learnt_vocabulary_travels_in_the_keras_file(build, tmp_path):
    model = build()
    adapt_text_model(model, TEXTS)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert _vectorizer(loaded).get_vocabulary() == _vectorizer(model).get_vocabulary()
    probe = np.array(["a good story", "thin bad film", "zebra"])
    np.testing.assert_allclose(loaded(probe), model(probe), atol=1e-6)


def test_a_fixed_vocabulary_is_kept():
    model = _bow(vocabulary=["good", "bad"], output_mode="count", ngrams=1)
    adapt_text_model(model, TEXTS)
    assert _vectorizer(model).get_vocabulary() == ["[UNK]", "good", "bad"]


def test_the_rnn_reads_word_ids_padded_and_masked():
    model = _rnn()
    adapt_text_model(model, TEXTS)
    ids = np.asarray(_vectorizer(model)(np.array(["a good film zebra"])))[0]
    assert ids.shape == (8,) and list(ids[4:]) == [0, 0, 0, 0] and ids[3] == 1  # pad, OOV
    longer = _rnn(max_length=12)  # same weights, more padding: the same answer
    longer.set_weights(model.get_weights())
    _vectorizer(longer).set_vocabulary(_vectorizer(model).get_vocabulary()[2:])
    np.testing.assert_allclose(longer(TEXTS), model(TEXTS), atol=1e-6)


def test_the_embedding_starts_from_word_vectors_found_in_the_file(tmp_path):
    from keras_dl.text import save_word2vec_format

    path = tmp_path / "vectors.txt"
    vectors = np.arange(8, dtype="float32").reshape(2, 4) + 1
    save_word2vec_format(path, vectors, ["good", "zebra"])
    model = _rnn(embedding_vectors=str(path))
    adapt_text_model(model, TEXTS)
    vocabulary = _vectorizer(model).get_vocabulary()
    table = np.asarray(model.get_layer("embedding").embeddings)
    np.testing.assert_array_equal(table[vocabulary.index("good")], vectors[0])
    assert not np.array_equal(table[vocabulary.index("bad")], vectors[1])
    assert initialise_embedding(model.get_layer("embedding"), vocabulary, path) == 1
    with pytest.raises(ValueError, match="holds 4-dimensional vectors; embedding_dim is 5"):
        _rnn(embedding_vectors=str(path), embedding_dim=5)


@pytest.mark.parametrize("kwargs, message", [
    ({"input_shape": (28, 28, 1)}, r"input_shape must be \(\) \(one string per example\)"),
    ({"output_mode": "binary"}, "output_mode must be one of"),
    ({"vocabulary": ["a", "a"]}, "vocabulary lists a word twice"),
    ({"vocabulary": [f"w{i}" for i in range(40)]}, "vocabulary of 40 words does not fit"),
    ({"max_tokens": 1}, "max_tokens must be at least 2"),
])
def test_bow_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _bow(**kwargs)


def test_texts_without_words_teach_no_vocabulary():
    with pytest.raises(ValueError, match="hold no word"):
        adapt_text_model(_bow(), np.array(["", " ... !"]))
    # Keras' standardization drops punctuation inside words too ("b-c" is "bc")
    assert list(word_counts(np.array(["", "A, b-c d!", "--"]))) == [0, 3, 0]


# === the string-signature SavedModel ==========================================================


@pytest.mark.parametrize("build", [_bow, _rnn], ids=["bow", "rnn"])
def test_the_saved_model_takes_raw_strings_and_answers_as_keras(build, tmp_path):
    model = build()
    adapt_text_model(model, TEXTS)
    probe = np.array(["a good story", "thin bad film", "not good at all"])
    result = export_saved_model(model, tmp_path, "text", verify_inputs=probe)
    assert result.max_abs_diff <= 1e-6
    loaded = tf.saved_model.load(str(result.path))  # TensorFlow's loader alone
    signature = loaded.signatures["serving_default"]
    assert signature.structured_input_signature[1]["text"].dtype == tf.string
    np.testing.assert_allclose(signature(text=tf.constant(probe))["probabilities"],
                               model(probe), atol=1e-6)
    statistics = loaded.signatures["text_statistics"](text=tf.constant(["good zebra film", ""]))
    assert list(np.asarray(statistics["words"])) == [3, 0]
    assert np.asarray(statistics["known_words"])[0] >= 2
    facts = json.loads((result.path / "assets.extra" / "keras_dl.json").read_text())
    assert facts["input"]["dtype"] == "string" and facts["task"] == "text_classification"
    assert facts["input_checks"]["signature"] == "text_statistics"


def test_the_served_model_refuses_empty_unknown_long_and_numeric_texts(tmp_path):
    model = _rnn()
    adapt_text_model(model, TEXTS)
    served = ServedModel(export_saved_model(model, tmp_path, "rnn").path)
    np.testing.assert_allclose(served("a good film")["probabilities"],
                               model(np.array(["a good film"])), atol=1e-6)
    for texts, message in ((["a good film", "  "], r"text 1 \('  '\) holds no word"),
                           (["zebra quagga"], "none of its 2 word"),
                           (["good " * 9], "holds 9 words; the model reads at most 8"),
                           (np.array([0.5, 1.5]), "takes strings .* got 0.5 of type float"),
                           ([b"\xff good"], "takes UTF-8 text; example 0 has byte 0xff")):
        with pytest.raises(ValueError, match=message):
            served(np.array(texts, dtype=object) if isinstance(texts, list) else texts)


def test_text_models_do_not_convert_to_onnx(tmp_path):
    from keras_dl.export import ExportError, export_onnx

    with pytest.raises(ExportError, match="takes raw strings"):
        export_onnx(_bow(vocabulary=["good"]), tmp_path, "bow")
    assert not (tmp_path / "onnx" / "bow").exists()


# === the command line on raw text =============================================================


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A bow_classifier trained one epoch on pang_lee_polarity, and its export."""
    root = tmp_path_factory.mktemp("text_run")
    code = keras_dl.cli.main([
        "train", "bow_classifier", "--dataset", "pang_lee_polarity", "--epochs", "1",
        "--limit", "80", "--set", "max_tokens=300", "--set", "hidden_units=[4]",
        "--run-dir", str(root / "run")])
    assert code == 0
    assert keras_dl.cli.main(["export", str(root / "run"), "--name", "bow",
                              "--base", str(root / "saved")]) == 0
    return root


def test_train_adapts_on_the_training_split_and_the_run_keeps_the_vocabulary(run):
    from keras_dl.training import preparation

    config = json.loads((run / "run" / "config.json").read_text())
    data = preparation.load_data(config)
    model = keras.saving.load_model(run / "run" / "model.keras")
    vocabulary = set(_vectorizer(model).get_vocabulary())
    fit_words = set(" ".join(data.x_fit).lower().split())
    val_only = set(" ".join(data.x_val).lower().split()) - fit_words
    assert vocabulary - {"[UNK]"} and not (vocabulary & {w for w in val_only if w.isalpha()})


def test_evaluate_export_and_predict_take_raw_text(run, capsys):
    code, out, _ = run_cli(capsys, "evaluate", run / "run")
    assert code == 0 and json.loads(out)["examples"] == 40
    texts = run / "texts.txt"
    texts.write_text("a gripping , moving film\nthe dullest film of the year\n")
    code, out, _ = run_cli(capsys, "predict", run / "saved" / "bow" / "1", "--input", texts,
                           "--json")
    served = np.asarray(json.loads(out)["probabilities"])
    model = keras.saving.load_model(run / "run" / "model.keras")
    assert code == 0 and served.shape == (2, 2)
    np.testing.assert_allclose(served, model(np.array(texts.read_text().splitlines())),
                               atol=1e-5)
    np.save(run / "texts.npy", np.array(["a moving film"]))
    assert run_cli(capsys, "predict", run / "saved" / "bow" / "1", "--input",
                   run / "texts.npy")[0] == 0


@pytest.mark.parametrize("content, fragment", [
    ("a good film\n\n", "text 1 ('') holds no word"),
    ("qwzx vbnm\n", "none of its 2 word(s) is in the model's vocabulary"),
])
def test_predict_refuses_bad_texts_in_one_line(run, capsys, tmp_path, content, fragment):
    texts = tmp_path / "bad.txt"
    texts.write_text(content)
    code, out, err = run_cli(capsys, "predict", run / "saved" / "bow" / "1", "--input", texts)
    assert code == 2 and not out and fragment in err and len(err.strip().splitlines()) == 1


def test_predict_refuses_numbers_for_a_text_model(run, capsys, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2,), "float32"))
    code, _, err = run_cli(capsys, "predict", run / "saved" / "bow" / "1", "--input",
                           tmp_path / "x.npy")
    assert code == 2 and "takes strings" in err


@pytest.mark.parametrize("name", ["bow_classifier", "text_rnn_classifier"])
def test_declared_default_parameter_counts(name):
    model = keras_dl.create_model(name)
    assert model.count_params() == keras_dl.model_info(name).default_params


def test_a_killed_run_resumes_with_the_same_vocabulary_and_weights(tmp_path):
    """The vocabulary is learnt again from the same split on resuming, so the weights restored
    from the backup meet the vocabulary they were trained with (a resumed run's weights are not
    bit-equal to an uninterrupted one's: epoch 2 is shuffled as a first epoch)."""
    from keras_dl.training import train

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt  # a kill between epochs, after the backup

    settings = {"dataset": "pang_lee_polarity", "epochs": 2, "limit": 80, "seed": 5,
                "builder_kwargs": {"max_tokens": 300, "hidden_units": [4]}, "verbose": 0}
    with pytest.raises(KeyboardInterrupt):
        train("bow_classifier", run_dir=tmp_path / "run", extra_callbacks=[StopAfterFirstEpoch()],
              **settings)
    resumed = train("bow_classifier", run_dir=tmp_path / "run", **settings)
    whole = train("bow_classifier", run_dir=tmp_path / "whole", **settings)
    assert resumed.metrics["resumed"] and resumed.metrics["epochs_run"] == 2
    assert (_vectorizer(resumed.model).get_vocabulary()
            == _vectorizer(whole.model).get_vocabulary())
    saved = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert _vectorizer(saved).get_vocabulary() == _vectorizer(whole.model).get_vocabulary()
    probe = np.array(["a good film", "a dull story"])
    np.testing.assert_allclose(saved(probe), resumed.model(probe), atol=1e-6)
