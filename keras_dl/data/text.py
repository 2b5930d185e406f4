"""Text offline: the corpora, the sentiment sentences and the word-embedding evaluation sets
that ship inside gensim's wheel (`gensim.test.utils.datapath`), and the few steps that turn
text into what a model reads (tokens, a vocabulary, word ids, skip-gram pairs).

```python
sentences = keras_dl.data.text.corpus("lee_background")      # list of token lists
x, y = keras_dl.data.load_numpy("pang_lee_polarity", "train")  # array of str, int labels
pairs = keras_dl.data.text.word_pairs("wordsim353")           # [(word, word, score), ...]
```

- Corpora (`CORPORA`), for training word embeddings: `wiki_sample`, gensim's
  `head500.noblanks.cor` (250 English Wikipedia articles, already lower-cased, stop words
  removed and Porter-stemmed: "anarch", "philosophi"; tokens are its words as they are), and
  `lee_background`, `lee_background.cor` (300 Australian news articles, Lee et al. 2005;
  tokenised here by `tokenize`). Each line of a file is one document: one token list. Both
  are also datasets `load` / `load_numpy` know (`DatasetInfo.corpus`: the documents as
  strings of space-separated tokens, `y` 0, every 20th document the test split), for
  `keras-dl train word2vec` (`keras_dl.tasks.embedding`).
- `pang_lee_polarity`, a dataset `load` / `load_numpy` know: gensim's
  `pang_lee_polarity.cor`, 200 movie-review sentences from Pang & Lee's sentence polarity
  data, 100 negative (label 0) and 100 positive (label 1). `x` holds the sentences as str
  (the file is Windows-1252, not UTF-8: it is read as such).
  Its train / test split is stratified 160 / 40 (seed 0); `polarity_sentences()` gives all
  200 and `kfold` a deterministic stratified k-fold split of them, for cross-validation.
- Evaluation sets: `word_pairs("wordsim353")` (WordSim353, Finkelstein et al. 2002: 353
  pairs, relatedness 0..10), `word_pairs("simlex999")` (SimLex-999, Hill et al. 2015: 999
  pairs, similarity 0..10), and `analogies()` (Mikolov et al. 2013's `questions-words.txt`:
  19,544 questions "a is to b as c is to d" in 14 sections). `keras_dl.text` scores
  embeddings on them.
"""

from __future__ import annotations

import collections
import functools
import re
from pathlib import Path

import numpy as np

from keras_dl.data import sources

GENSIM_HOW_TO_GET = "pip install gensim (keras_dl's setup installs it)"
CORPORA = {  # name -> (file in gensim's test data, already tokenised?)
    "wiki_sample": ("head500.noblanks.cor", True),
    "lee_background": ("lee_background.cor", False),
}
WORD_PAIR_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_FILE = "questions-words.txt"
POLARITY_FILE = "pang_lee_polarity.cor"
POLARITY_CLASSES = ("negative", "positive")
POLARITY_LABELS = {"__label__neg": 0, "__label__pos": 1}
POLARITY_TEST_FRACTION = 0.2
POLARITY_SPLIT_SEED = 0
# Pang & Lee's sentences are Windows-1252 text (8 bytes outside ASCII: "—", "é", "ó", "í"),
# not UTF-8, in the file gensim ships.
POLARITY_ENCODING = "cp1252"

# A word: letters and digits, with inner apostrophes or hyphens ("it's", "south-west").
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


# === Files ======================================================================================


def gensim_file(filename: str) -> Path:
    """The path of `filename` in gensim's bundled test data; `DatasetUnavailableError` saying
    how to get it when gensim (or the file) is not installed."""
    try:
        from gensim.test.utils import datapath
    except ImportError:
        raise sources.DatasetUnavailableError(
            f"{filename} ships inside gensim's wheel, and gensim is not installed: "
            f"{GENSIM_HOW_TO_GET}") from None
    path = Path(datapath(filename))
    if not path.is_file():
        raise sources.DatasetUnavailableError(
            f"{filename} is not in this gensim's test data ({path.parent}): reinstall gensim "
            "4.x (pip install --force-reinstall gensim)")
    return path


def _gensim_available() -> bool:
    try:
        gensim_file(POLARITY_FILE)
    except sources.DatasetUnavailableError:
        return False
    return True


def read_lines(path, encoding: str = "utf-8") -> list[str]:
    """The lines of a text file (UTF-8 unless told), without their line ends.
    `FileNotFoundError` naming a file that does not exist; `ValueError` naming the file and
    the first byte that is not in `encoding`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text file {path} does not exist")
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not {encoding.upper()} text: byte 0x{raw[error.start]:02x} "
                         f"at offset {error.start}; re-encode it (iconv -t {encoding})") from None
    return text.splitlines()


def tokenize(text: str) -> list[str]:
    """Lower-cased words of `text`: runs of letters and digits, keeping inner apostrophes and
    hyphens; punctuation and underscores split words and are dropped."""
    return WORD.findall(text.lower())


def read_corpus(path, tokenized: bool = False) -> list[list[str]]:
    """One token list per non-blank line of the UTF-8 text file `path`: its whitespace-
    separated words as they are (`tokenized=True`), else `tokenize(line)`. `ValueError` when
    the file holds no words."""
    split = str.split if tokenized else tokenize
    sentences = [tokens for tokens in map(split, read_lines(path)) if tokens]
    if not sentences:
        raise ValueError(f"{path} holds no words; a corpus is UTF-8 text, one sentence or "
                         "document per line")
    return sentences


def corpus(name: str) -> list[list[str]]:
    """A bundled corpus as token lists, one per document (see `CORPORA`)."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; allowed: {', '.join(sorted(CORPORA))}")
    filename, tokenized = CORPORA[name]
    return read_corpus(gensim_file(filename), tokenized=tokenized)


# === Evaluation sets ============================================================================


@functools.lru_cache(maxsize=4)
def word_pairs(name: str) -> tuple:
    """A word-similarity set as `((word1, word2, human_score), ...)`, in the file's order
    (words as the file spells them; lines starting with `#` are comments)."""
    if name not in WORD_PAIR_SETS:
        raise ValueError(f"unknown word-pair set {name!r}; allowed: "
                         f"{', '.join(sorted(WORD_PAIR_SETS))}")
    path = gensim_file(WORD_PAIR_SETS[name])
    pairs = []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{path} line {number} holds {len(fields)} tab-separated fields; "
                             "a pair is word, word, score")
        pairs.append((fields[0].strip(), fields[1].strip(), float(fields[2])))
    return tuple(pairs)


@functools.lru_cache(maxsize=1)
def analogies() -> tuple:
    """`questions-words.txt` as `((section, a, b, c, d), ...)`: "a is to b as c is to d"."""
    path = gensim_file(ANALOGY_FILE)
    questions, section = [], None
    for number, line in enumerate(read_lines(path), 1):
        if line.startswith(": "):
            section = line[2:].strip()
            continue
        words = line.split()
        if len(words) != 4 or section is None:
            raise ValueError(f"{path} line {number} is not four words under a ': section' line")
        questions.append((section, *words))
    return tuple(questions)


# === The sentiment sentences (a dataset `load` knows) ===========================================


@functools.lru_cache(maxsize=1)
def polarity_sentences():
    """All 200 sentences of `pang_lee_polarity.cor` and their labels (0 negative, 1
    positive), in the file's order: `(x: array of str, y: int32 array)`."""
    path = gensim_file(POLARITY_FILE)
    sentences, labels = [], []
    for number, line in enumerate(read_lines(path, POLARITY_ENCODING), 1):
        if not line.strip():
            continue
        tag, _, sentence = line.partition(" ")
        if tag not in POLARITY_LABELS:
            raise ValueError(f"{path} line {number} starts with {tag!r}; allowed: "
                             f"{', '.join(POLARITY_LABELS)}")
        sentences.append(sentence.strip())
        labels.append(POLARITY_LABELS[tag])
    x, y = np.array(sentences), np.array(labels, dtype="int32")
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _load_polarity(split):
    from sklearn.model_selection import train_test_split

    x, y = polarity_sentences()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=POLARITY_TEST_FRACTION, stratify=y, random_state=POLARITY_SPLIT_SEED)
    return (x_train, y_train) if split == "train" else (x_test, y_test)


def kfold(labels, k: int = 10, seed: int = 0) -> list:
    """A stratified `k`-fold split of examples with these `labels`: `k` pairs of index arrays
    `(train, test)`; each example is in exactly one test fold, every fold holds each class in
    proportion, and the same `seed` gives the same folds."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    smallest = int(np.bincount(labels).min()) if labels.size else 0
    if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= smallest:
        raise ValueError(f"k must be an integer from 2 to {smallest} (the smallest class's "
                         f"count), got {k!r}")
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(labels)), labels))


# === Vocabulary, word ids, skip-gram pairs ======================================================


def _positive(name, value):
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                              or value < 1):
        raise ValueError(f"{name} must be a positive integer (at least 1), got {value!r}")


def build_vocabulary(sentences, max_size: int | None = None, min_count: int = 1) -> list:
    """The words of `sentences` (token lists) seen at least `min_count` times, most frequent
    first (ties in order of first appearance), at most `max_size` of them."""
    _positive("max_size", max_size)
    _positive("min_count", min_count)
    counts = collections.Counter(token for sentence in sentences for token in sentence)
    if not counts:
        raise ValueError("the text holds no words; give at least one non-empty sentence")
    words = [word for word, count in counts.most_common() if count >= min_count]
    if not words:
        raise ValueError(f"no word occurs min_count={min_count} times (the most frequent "
                         f"occurs {counts.most_common(1)[0][1]}); lower min_count")
    return words[:max_size]


def encode(sentences, vocabulary) -> list:
    """Each sentence as an int32 array of word ids (positions in `vocabulary`), words outside
    the vocabulary dropped. `ValueError` when no word of the text is in the vocabulary."""
    index = {word: i for i, word in reversed(list(enumerate(vocabulary)))}
    encoded = [np.array([index[t] for t in sentence if t in index], dtype="int32")
               for sentence in sentences]
    total = sum(len(sentence) for sentence in sentences)
    if not sum(len(ids) for ids in encoded):
        raise ValueError(f"none of the text's {total} word(s) is in the vocabulary of "
                         f"{len(index)} word(s); give text in the vocabulary's language")
    return encoded


def context_pairs(encoded, window: int):
    """Skip-gram pairs (Mikolov et al. 2013): `(centres, contexts)` int32 arrays holding every
    pair of word ids at most `window` positions apart within a sentence."""
    _positive("window", window)
    centres, contexts = [], []
    for ids in encoded:
        for offset in range(1, window + 1):
            if offset >= len(ids):
                break
            centres += [ids[:-offset], ids[offset:]]
            contexts += [ids[offset:], ids[:-offset]]
    if not centres:
        raise ValueError("no sentence holds two words; skip-gram pairs need at least two")
    return np.concatenate(centres), np.concatenate(contexts)


# === The corpora as datasets (`load` / `load_numpy`: word2vec's `keras-dl train`) ==============

CORPUS_TEST_EVERY = 20  # every 20th document is the test split (5 %), the others train


def _load_corpus(name, split):
    """A corpus's documents as str (tokens joined by single spaces), every
    `CORPUS_TEST_EVERY`-th in the test split; `y` is 0 (no labels)."""
    documents = [" ".join(tokens) for tokens in corpus(name)]
    test = split == "test"
    x = np.array([d for i, d in enumerate(documents) if (i % CORPUS_TEST_EVERY == 0) == test])
    return x, np.zeros(len(x), dtype="int32")


def _corpus_info(name, what):
    filename = CORPORA[name][0]
    return sources.DatasetInfo(
        name=name, input_shape=(), num_classes=0, class_names=(),
        source=f"{filename} in gensim's wheel: {what}, one document a line, no labels (every "
        f"{CORPUS_TEST_EVERY}th document is the test split)",
        how_to_get=GENSIM_HOW_TO_GET, _offline=_gensim_available,
        _load=lambda split: _load_corpus(name, split), modality="text", corpus=True)


DATASETS = {
    "wiki_sample": _corpus_info("wiki_sample", "250 English Wikipedia articles, lower-cased, "
                                "stop words removed, Porter-stemmed"),
    "lee_background": _corpus_info("lee_background", "300 Australian news articles (Lee et al. "
                                   "2005), tokenised by keras_dl.data.text.tokenize"),
    "pang_lee_polarity": sources.DatasetInfo(
        name="pang_lee_polarity",
        input_shape=(),
        num_classes=2,
        class_names=POLARITY_CLASSES,
        source="pang_lee_polarity.cor in gensim's wheel: 200 sentences of Pang & Lee's "
        "sentence polarity data (100 per class; stratified 160/40 split, seed 0)",
        how_to_get=GENSIM_HOW_TO_GET,
        _offline=_gensim_available,
        _load=_load_polarity,
        modality="text",
    ),
}
sources.KNOWN.update(DATASETS)
