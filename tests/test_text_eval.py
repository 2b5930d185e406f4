"""keras_dl.text against gensim on the same small vectors: word similarity (WordSim353,
SimLex-999), 3CosAdd analogies, nearest neighbours, and the word2vec text format both ways."""

from __future__ import annotations

import numpy as np
import pytest

gensim_models = pytest.importorskip("gensim.models")
from gensim.test.utils import datapath  # noqa: E402

from keras_dl import text  # noqa: E402
from keras_dl.data import text as text_data  # noqa: E402

DIMENSIONS = 16
SECTIONS = ("capital-common-countries", "family", "gram3-comparative")
QUESTIONS_PER_SECTION = 120


def _questions():
    """The first QUESTIONS_PER_SECTION questions of three sections of questions-words.txt."""
    chosen = [q for q in text_data.analogies() if q[0] in SECTIONS]
    return [q for s in SECTIONS for q in [q for q in chosen if q[0] == s][:QUESTIONS_PER_SECTION]]


@pytest.fixture(scope="module")
def small_vectors():
    """Vectors over the words of both similarity sets and of `_questions()`, plus a few
    spellings of one word (lower-case "athens" after "Athens"), in which each analogy's b is
    a + its section's offset + noise: 3CosAdd answers many of them, not all. A quarter of the
    similarity words are left out, so coverage is below 1."""
    rng = np.random.default_rng(0)
    words = []
    for name in ("wordsim353", "simlex999"):
        for first, second, _ in text_data.word_pairs(name):
            words += [first, second]
    questions = _questions()
    for _, *quad in questions:
        words += quad
    vocab = list(dict.fromkeys(words))
    dropped = set(vocab[1::4]) - {w for _, *quad in questions for w in quad}
    vocab = [w for w in vocab if w not in dropped] + ["athens", "filler"]
    vectors = rng.normal(size=(len(vocab), DIMENSIONS)).astype("float32")
    row = {w: i for i, w in enumerate(vocab)}
    offsets = {s: rng.normal(size=DIMENSIONS) * 2 for s in SECTIONS}
    for section, a, b, c, d in questions:
        for source, target in ((a, b), (c, d)):
            vectors[row[target]] = vectors[row[source]] + offsets[section] + \
                rng.normal(size=DIMENSIONS) * 0.9
    # "athens" is nearly "Athens": 3CosAdd must skip it where "Athens" is a, b or c
    vectors[row["athens"]] = vectors[row["Athens"]] + rng.normal(size=DIMENSIONS) * 0.05
    keyed = gensim_models.KeyedVectors(DIMENSIONS)
    keyed.add_vectors(vocab, vectors)
    return vectors, vocab, keyed, questions


@pytest.mark.parametrize("name, filename", [("wordsim353", "wordsim353.tsv"),
                                            ("simlex999", "simlex999.txt")])
@pytest.mark.parametrize("restrict_vocab", [300_000, 150])
def test_word_similarity_matches_gensim(small_vectors, name, filename, restrict_vocab):
    """Catches a different correlation, a different set of pairs kept (case folding, the
    restriction to the most frequent words) or a coverage that is not gensim's."""
    vectors, vocab, keyed, _ = small_vectors
    pearson, spearman, oov_percent = keyed.evaluate_word_pairs(datapath(filename),
                                                               restrict_vocab=restrict_vocab)
    ours = text.word_similarity(vectors, vocab, text_data.word_pairs(name),
                                restrict_vocab=restrict_vocab)
    assert ours["spearman"] == pytest.approx(spearman.statistic, abs=1e-6)
    assert ours["pearson"] == pytest.approx(pearson.statistic, abs=1e-6)
    assert ours["coverage"] == pytest.approx(1 - oov_percent / 100, abs=1e-9)
    assert 0 < ours["coverage"] < 1


@pytest.mark.parametrize("restrict_vocab", [300_000, 1050, 1000])
def test_analogy_accuracy_matches_gensim(small_vectors, tmp_path, restrict_vocab):
    """Catches an answer chosen otherwise than gensim's 3CosAdd (a, b or c allowed as the
    answer, another spelling of them not skipped, the restriction ignored), per section."""
    vectors, vocab, keyed, questions = small_vectors
    path = tmp_path / "questions.txt"
    lines = []
    for section in SECTIONS:
        lines.append(f": {section}")
        lines += [" ".join(q[1:]) for q in questions if q[0] == section]
    path.write_text("\n".join(lines) + "\n")
    score, sections = keyed.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab)
    ours = text.analogy_accuracy(vectors, vocab, questions, restrict_vocab=restrict_vocab)
    assert 0.05 < score < 0.95  # a test that can tell right answers from wrong ones
    assert ours["accuracy"] == pytest.approx(score, abs=1e-12)
    theirs = {s["section"]: len(s["correct"]) for s in sections if s["section"] != "Total accuracy"}
    assert {name: tally["correct"] for name, tally in ours["sections"].items()} == \
        {name: count for name, count in theirs.items() if count or name in ours["sections"]}
    covered = sum(len(s["correct"]) + len(s["incorrect"]) for s in sections[:-1])
    assert ours["covered"] == covered and ours["coverage"] == covered / len(questions)


def test_nearest_neighbours_match_gensim(small_vectors):
    vectors, vocab, keyed, _ = small_vectors
    ours = text.nearest_neighbours(vectors, vocab, "king", k=5)
    theirs = keyed.most_similar("king", topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_evaluate_embeddings_reports_every_set(small_vectors):
    vectors, vocab, _, _ = small_vectors
    scores = text.evaluate_embeddings(vectors, vocab, neighbours_of=("king", "notaword"), k=3)
    assert set(scores) == {"wordsim353", "simlex999", "analogies", "neighbours"}
    assert scores["wordsim353"]["pairs"] == 353 and scores["simlex999"]["pairs"] == 999
    assert scores["analogies"]["questions"] == 19544
    assert 0 < scores["analogies"]["coverage"] < 1
    assert list(scores["neighbours"]) == ["king"] and len(scores["neighbours"]["king"]) == 3


def test_case_insensitive_takes_the_most_frequent_spelling():
    """"Love" (row 0) stands for "love" too; case_insensitive=False finds neither."""
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.2, 1.0]])
    vocab = ["Love", "love", "sex", "tiger"]
    pairs = [("love", "sex", 9.0), ("love", "tiger", 1.0), ("sex", "tiger", 2.0)]
    folded = text.word_similarity(vectors, vocab, pairs)
    assert folded["covered"] == 3 and folded["spearman"] == pytest.approx(1.0)
    exact = text.word_similarity(vectors, vocab, [("LOVE", "sex", 1.0)], case_insensitive=False)
    assert exact["covered"] == 0 and exact["spearman"] is None


def test_word2vec_text_format_round_trips_through_gensim(small_vectors, tmp_path):
    """Ours opens in gensim as it is, gensim's opens in ours, with the same words and values;
    non-ASCII words survive."""
    vectors, vocab, keyed, _ = small_vectors
    vocab = ["café"] + vocab[1:]
    ours = text.save_word2vec_format(tmp_path / "ours.txt", vectors, vocab)
    loaded = gensim_models.KeyedVectors.load_word2vec_format(str(ours), binary=False)
    assert loaded.index_to_key == vocab
    np.testing.assert_array_equal(loaded.vectors, vectors)
    keyed.save_word2vec_format(str(tmp_path / "gensim.txt"), binary=False)
    back, back_vocab = text.load_word2vec_format(tmp_path / "gensim.txt")
    assert back_vocab == keyed.index_to_key
    np.testing.assert_array_equal(back, keyed.vectors)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_fasttext_vec_file_in_gensim_wheel_loads():
    vectors, vocab = text.load_word2vec_format(datapath("lee_fasttext.vec"))
    keyed = gensim_models.KeyedVectors.load_word2vec_format(datapath("lee_fasttext.vec"))
    assert vocab == keyed.index_to_key
    np.testing.assert_array_equal(vectors, keyed.vectors)


def test_a_failed_save_leaves_the_old_file_whole(tmp_path):
    """A word with a space is refused before anything is written, and an existing file keeps
    its bytes."""
    path = text.save_word2vec_format(tmp_path / "v.txt", np.eye(2), ["a", "b"])
    before = path.read_bytes()
    with pytest.raises(ValueError, match="word 'new york' holds white space"):
        text.save_word2vec_format(path, np.eye(2), ["a", "new york"])
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("content, fragment", [
    (b"2 3\na 1 2 3\n", "holds 1 word line(s) but its header says 2"),
    (b"1 3\na 1 2\n", "line 2 ('a') holds 2 values; the header says 3"),
    (b"a 1 2 3\n", "line 1 is 'a 1 2 3'; the word2vec text format starts with"),
    (b"1 2\na 1 x\n", "line 2 ('a') holds a value that is not a number"),
    (b"1 2\n\xff 1 2\n", "is not UTF-8 text: byte 0xff at offset 4"),
])
def test_load_refuses_a_malformed_file(tmp_path, content, fragment):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as raised:
        text.load_word2vec_format(path)
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("call, fragment", [
    (lambda: text.word_similarity(np.eye(2), ["a"], [("a", "b", 1.0)]),
     "vocab holds 1 words but vectors 2 rows"),
    (lambda: text.word_similarity(np.ones(3), ["a"], [("a", "b", 1.0)]),
     "vectors must be a 2-D numeric array"),
    (lambda: text.word_similarity(np.eye(2), ["a", "b"], []), "pairs holds no word pairs"),
    (lambda: text.word_similarity(np.eye(2), ["a", "b"], [("a", "b", 1)], restrict_vocab=0),
     "restrict_vocab must be a positive integer, got 0"),
    (lambda: text.word_similarity(np.array([[1.0, np.nan], [0, 1]]), ["a", "b"], [("a", "b", 1)]),
     "the vector of 'a' (row 0) holds NaN"),
    (lambda: text.nearest_neighbours(np.eye(2), ["a", "b"], "zebra"),
     "'zebra' is not in the vocabulary of 2 words"),
    (lambda: text.nearest_neighbours(np.eye(2), ["a", "b"], "a", k=0),
     "k must be a positive integer, got 0"),
    (lambda: text.evaluate_embeddings(np.eye(2), ["xqzv", "wqpj"]),
     "none of the vocabulary's 2 words makes a WordSim353 or SimLex-999 pair"),
])
def test_bad_arguments_get_one_line(call, fragment):
    with pytest.raises(ValueError) as raised:
        call()
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


def test_analogy_on_a_vocabulary_smaller_than_the_top_five():
    """king − man + woman = queen among four words; with the answer's row left out of the
    restriction the question is not covered."""
    vocab = ["king", "man", "woman", "queen"]
    vectors = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    question = [("royalty", "man", "king", "woman", "queen")]
    result = text.analogy_accuracy(vectors, vocab, question)
    assert result["accuracy"] == 1.0 and result["sections"]["royalty"]["correct"] == 1
    cut = text.analogy_accuracy(vectors, vocab, question, restrict_vocab=3)
    assert cut["accuracy"] is None and cut["coverage"] == 0.0


@pytest.mark.apps
def test_bench_text_eval_vs_gensim_smoke(tmp_path):
    """bench/text_eval_vs_gensim.py on one corpus, one epoch: its own agreement asserts pass
    and it writes its figures."""
    import json

    from _scripts import load_script

    bench = load_script("bench", "text_eval_vs_gensim")
    out = tmp_path / "text_eval.json"
    results = bench.main(["--corpora", "lee_background", "--epochs", "1", "--out", str(out)])
    written = json.loads(out.read_text())
    assert written["lee_background"]["vocabulary"] == results["lee_background"]["vocabulary"]
    assert written["lee_background"]["ours"]["analogies"]["covered"] > 0
    with pytest.raises(SystemExit) as exited:
        bench.main(["--corpora", "brown"])
    assert exited.value.code == 2
