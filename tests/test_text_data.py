"""Text data offline: gensim's bundled corpora, sentiment sentences and evaluation sets
(keras_dl.data.text), the generated dates_to_iso translation task (keras_dl.data.translation),
and tensorflow-datasets' text names failing fast offline."""

from __future__ import annotations

import datetime
import time

import numpy as np
import pytest

pytest.importorskip("gensim")

from keras_dl import data  # noqa: E402
from keras_dl.data import sources, text, translation  # noqa: E402

# === the sentiment sentences ====================================================================


def test_polarity_splits_are_stratified_disjoint_and_whole():
    """Catches a split that loses or repeats sentences, unbalanced classes, or bytes where
    strings are promised."""
    x_train, y_train = data.load_numpy("pang_lee_polarity", "train")
    x_test, y_test = data.load_numpy("pang_lee_polarity", "test")
    assert (len(x_train), len(x_test)) == (160, 40)
    assert x_train.dtype.kind == "U" and y_train.dtype == np.int32
    assert np.bincount(y_train).tolist() == [80, 80] and np.bincount(y_test).tolist() == [20, 20]
    assert not set(x_train) & set(x_test)
    x_all, y_all = text.polarity_sentences()
    assert sorted(x_all) == sorted([*x_train, *x_test])
    labels = dict(zip(x_all, y_all))
    assert [labels[s] for s in x_test] == y_test.tolist()
    assert x_all[0] == "simplistic , silly and tedious ." and y_all[0] == 0
    assert any("—" in s for s in x_all)  # the file is Windows-1252, read as such


def test_polarity_info_and_pipeline():
    info = data.info("pang_lee_polarity")
    assert info.modality == "text" and info.num_classes == 2 and info.available_offline()
    assert "pang_lee_polarity" in data.list_datasets()
    assert data.info("digits").modality == "array"
    x, y = next(iter(data.load("pang_lee_polarity", "test", batch_size=8)))
    assert x.dtype.name == "string" and x.shape == (8,) and y.shape == (8,)
    assert x.numpy()[0].decode() == data.load_numpy("pang_lee_polarity", "test")[0][0]


def test_kfold_covers_every_sentence_once_stratified_and_by_seed():
    _, labels = text.polarity_sentences()
    folds = text.kfold(labels, k=5, seed=0)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests) == list(range(200))
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == 200
        assert np.bincount(labels[test]).tolist() == [20, 20]
    again = text.kfold(labels, k=5, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    other = text.kfold(labels, k=5, seed=1)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))
    with pytest.raises(ValueError, match="k must be an integer from 2 to 100 .* got 1"):
        text.kfold(labels, k=1)


# === corpora and evaluation sets ===============================================================


def test_corpora_are_documents_of_tokens():
    wiki = text.corpus("wiki_sample")
    lee = text.corpus("lee_background")
    assert len(wiki) == 250 and wiki[0][:3] == ["anarch", "greek", "rule"]
    assert len(lee) == 300 and lee[0][:4] == ["hundreds", "of", "people", "have"]
    assert "south-west" in lee[0] and all(t == t.lower() for doc in lee for t in doc)
    assert not any("\r" in t for doc in wiki for t in doc)  # the file has CRLF line ends
    with pytest.raises(ValueError, match="unknown corpus 'wiki'; allowed: lee_background, "
                                         "wiki_sample"):
        text.corpus("wiki")


def test_tokenize():
    assert text.tokenize("It's 4:00pm in South-West Sydney, (AEDT)_now!") == \
        ["it's", "4", "00pm", "in", "south-west", "sydney", "aedt", "now"]
    assert text.tokenize(" ... ") == []


def test_evaluation_sets():
    wordsim, simlex, questions = (text.word_pairs("wordsim353"), text.word_pairs("simlex999"),
                                  text.analogies())
    assert len(wordsim) == 353 and wordsim[0] == ("love", "sex", 6.77)
    assert len(simlex) == 999 and simlex[0] == ("old", "new", 1.58)
    assert len(questions) == 19544 and len({q[0] for q in questions}) == 14
    assert questions[0] == ("capital-common-countries", "Athens", "Greece", "Baghdad", "Iraq")
    with pytest.raises(ValueError, match="unknown word-pair set 'men'; allowed: simlex999, "
                                         "wordsim353"):
        text.word_pairs("men")


@pytest.mark.parametrize("content, error, fragment", [
    (None, FileNotFoundError, "text file {tmp}/c.txt does not exist"),
    (b"caf\xe9 au lait\n", ValueError, "{tmp}/c.txt is not UTF-8 text: byte 0xe9 at offset 3"),
    (b"\n  \n...\n", ValueError, "{tmp}/c.txt holds no words"),
])
def test_read_corpus_refuses_missing_non_utf8_and_empty_files(tmp_path, content, error,
                                                               fragment):
    path = tmp_path / "c.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error) as raised:
        text.read_corpus(path)
    assert fragment.format(tmp=tmp_path) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_gensim_file_fails_fast_with_how_to_get(monkeypatch):
    import gensim.test.utils

    monkeypatch.setattr(gensim.test.utils, "datapath", lambda name: f"/nonexistent/{name}")
    with pytest.raises(data.DatasetUnavailableError, match="wordsim353.tsv is not in this "
                                                           "gensim's test data"):
        text.gensim_file("wordsim353.tsv")


# === vocabulary, ids, skip-gram pairs ==========================================================


def test_vocabulary_encode_and_context_pairs():
    sentences = [["b", "a", "c", "a"], ["c", "a", "d"], ["e"]]
    vocab = text.build_vocabulary(sentences)
    assert vocab == ["a", "c", "b", "d", "e"]  # by count, ties by first appearance
    assert text.build_vocabulary(sentences, max_size=2) == ["a", "c"]
    assert text.build_vocabulary(sentences, min_count=2) == ["a", "c"]
    encoded = text.encode(sentences, ["a", "c"])
    assert [ids.tolist() for ids in encoded] == [[0, 1, 0], [1, 0], []]
    ids = [np.array([0, 1, 2, 3])]
    centres, contexts = text.context_pairs(ids, window=2)
    expected = {(i, j) for i in range(4) for j in range(4) if 0 < abs(i - j) <= 2}
    pairs = list(zip(centres.tolist(), contexts.tolist()))
    assert len(pairs) == len(expected) and set(pairs) == expected


@pytest.mark.parametrize("call, fragment", [
    (lambda: text.build_vocabulary([[], []]), "the text holds no words"),
    (lambda: text.build_vocabulary([["a"]], max_size=0),
     "max_size must be a positive integer (at least 1), got 0"),
    (lambda: text.build_vocabulary([["a"]], min_count=3),
     "no word occurs min_count=3 times"),
    (lambda: text.encode([["x", "y"]], ["a", "b"]),
     "none of the text's 2 word(s) is in the vocabulary of 2 word(s)"),
    (lambda: text.context_pairs([np.array([0, 1])], window=0),
     "window must be a positive integer (at least 1), got 0"),
    (lambda: text.context_pairs([np.array([0])], window=2), "no sentence holds two words"),
])
def test_vocabulary_bad_input_gets_one_line(call, fragment):
    with pytest.raises(ValueError) as raised:
        call()
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


# === dates_to_iso ==============================================================================


def test_dates_splits_share_no_source_string_and_have_their_sizes():
    """Catches splits that overlap (a model tested on strings it trained on), sizes other
    than the documented, or a split name `load_numpy` refuses."""
    splits = {s: data.load_numpy("dates_to_iso", s) for s in ("train", "validation", "test")}
    assert {s: len(x) for s, (x, _) in splits.items()} == translation.SIZES
    seen = [set(x.tolist()) for x, _ in splits.values()]
    assert sum(map(len, seen)) == sum(translation.SIZES.values())  # distinct within and across
    assert data.info("dates_to_iso").splits == ("train", "validation", "test")
    assert data.info("dates_to_iso").modality == "text"
    x, y = next(iter(data.load("dates_to_iso", "validation", batch_size=4)))
    assert x.dtype.name == y.dtype.name == "string"
    with pytest.raises(ValueError, match="unknown split 'valid'; allowed: train, validation, "
                                         "test"):
        data.load_numpy("dates_to_iso", "valid")
    with pytest.raises(ValueError, match="unknown split 'validation'; allowed: train, test$"):
        data.load_numpy("digits", "validation")


def test_dates_targets_are_the_dates_the_sources_write():
    """Each source string, read by dateutil (an independent parser; `.` means day first),
    is the date its ISO target names, on the weekday it names; every format is used."""
    from dateutil import parser

    x, y = data.load_numpy("dates_to_iso", "test")
    for source, target in zip(x[:600], y[:600]):
        date = datetime.date.fromisoformat(target)
        assert parser.parse(source, dayfirst="." in source, fuzzy=True).date() == date, source
        for weekday in translation.WEEKDAYS:
            if weekday[:3].lower() in source.lower().split(",")[0].split()[0]:
                assert date.strftime("%A") == weekday, source
    assert {len(t) for t in y} == {10}
    years = np.array([int(t[:4]) for t in y])
    assert years.min() < 1920 and years.max() > 2080
    shapes = {translation.write_date(datetime.date(2021, 3, 4), f) for f in translation.FORMATS}
    assert len(shapes) == len(translation.FORMATS)
    train, _ = data.load_numpy("dates_to_iso", "train")
    written = {translation.write_date(datetime.date.fromisoformat(t), f): f
               for t in y[:2000] for f in translation.FORMATS}
    assert {written[s] for s in x[:2000]} == set(translation.FORMATS)
    assert len(set(train.tolist())) == len(train)


def test_dates_are_deterministic_by_seed():
    first = translation.generate({"train": 300, "test": 50}, seed=3)
    again = translation.generate({"train": 300, "test": 50}, seed=3)
    other = translation.generate({"train": 300, "test": 50}, seed=4)
    assert all(np.array_equal(first[s][0], again[s][0]) for s in first)
    assert not np.array_equal(first["train"][0], other["train"][0])
    named = translation.generate()
    loaded, _ = data.load_numpy("dates_to_iso", "train")
    assert np.array_equal(named["train"][0], loaded)
    with pytest.raises(ValueError, match="size of split 'train' must be a positive integer, "
                                         "got 0"):
        translation.generate({"train": 0})


def test_ordinals():
    assert [translation.ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]


# === strings through the pipeline ===============================================================


def test_check_examples_takes_strings_only_for_text():
    strings = np.array(["a b", "c"])
    data.check_examples(strings, np.array([0, 1]), text=True)
    with pytest.raises(ValueError, match="x has dtype <U3; examples and labels are numbers"):
        data.check_examples(strings, np.array([0, 1]))
    with pytest.raises(ValueError, match="x holds no examples"):
        data.check_examples(np.array([], dtype=str), None, text=True)


# === tensorflow-datasets text names, offline ====================================================


def test_imdb_reviews_is_text_and_fails_fast_offline(monkeypatch, tmp_path):
    """The tfds name is known as a text dataset, and loading it with no copy on disk and no
    network answers within seconds, saying how to get it."""
    import tensorflow_datasets as tfds

    monkeypatch.setattr(sources, "is_online", lambda *args, **kwargs: False)
    monkeypatch.setattr(tfds.core.constants, "DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    data._cached_arrays.cache_clear()
    info = data.info("imdb_reviews")
    assert info.modality == "text" and info.num_classes == 2 and info.input_shape == ()
    start = time.monotonic()
    with pytest.raises(data.DatasetUnavailableError, match="dataset 'imdb_reviews' is not on "
                                                           "this machine"):
        data.load_numpy("imdb_reviews", "test")
    assert time.monotonic() - start < 30


def test_cli_lists_the_text_datasets(capsys):
    from _cli import run_cli

    code, out, _ = run_cli(capsys, "datasets")
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines() if line.strip()}
    assert code == 0
    assert rows["pang_lee_polarity"] == ["text", "2"] and rows["dates_to_iso"] == ["text", "text"]


def test_tfds_text_comes_back_as_str(monkeypatch, tmp_path):
    """A prepared tensorflow-datasets text dataset (a stand-in builder here: offline, none is
    prepared) gives `x` as str, UTF-8 decoded, and int32 labels."""
    import types

    import tensorflow as tf

    (tmp_path / "dataset_info.json").write_text("{}")
    builder = types.SimpleNamespace(
        data_dir=str(tmp_path),
        as_dataset=lambda split, as_supervised: tf.data.Dataset.from_tensor_slices(
            (["un film très réussi", "dull"], [1, 0])))
    monkeypatch.setattr(sources, "_tfds_builder", lambda name: builder)
    x, y = sources._load_tfds("imdb_reviews", "test")
    assert x.dtype.kind == "U" and x.tolist() == ["un film très réussi", "dull"]
    assert y.dtype == np.int32 and y.tolist() == [1, 0]
