"""Word vectors in word2vec's text format, the one gensim
(`KeyedVectors.load_word2vec_format(path, binary=False)`) and fastText (`.vec` files) read
and write: a header line `<words> <dimensions>`, then one line per word, the word and its
values separated by single spaces, most frequent word first.

```python
keras_dl.text.save_word2vec_format("vectors.txt", vectors, vocab)
vectors, vocab = keras_dl.text.load_word2vec_format("vectors.txt")
```
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from keras_dl.text.evaluation import _check


def save_word2vec_format(path, vectors, vocab) -> Path:
    """Write `vectors` (row `i` is `vocab[i]`'s) to `path` in word2vec's text format, values
    as float32 written in their shortest exact form. The file appears whole or not at all: it
    is written beside `path` under a temporary name and renamed into place (replacing a file
    already there). Returns the path."""
    vectors, vocab = _check(vectors, vocab)
    spaced = [word for word in vocab if len(word.split()) != 1 or word != word.strip()]
    if spaced:
        raise ValueError(f"word {spaced[0]!r} holds white space, which the text format cannot "
                         "hold (a word and its values are separated by spaces)")
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"folder {path.parent} does not exist; create it first")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name")
    values = vectors.astype("float32")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(f"{len(vocab)} {values.shape[1]}\n")
            for word, row in zip(vocab, values):
                out.write(word + " " + " ".join(map(str, row)) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_word2vec_format(path):
    """`(vectors, vocab)` from a word2vec text-format file (gensim's or fastText's, or
    `save_word2vec_format`'s): a float32 array `(words, dimensions)` and the list of words.
    `ValueError` naming the file and line when it is not UTF-8 or not in the format."""
    from keras_dl.data.text import read_lines

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"word-vector file {path} does not exist")
    lines = read_lines(path)
    header = lines[0].split() if lines else []
    if len(header) != 2 or not all(field.isdigit() and int(field) > 0 for field in header):
        raise ValueError(f"{path} line 1 is {lines[0][:60] if lines else ''!r}; the word2vec "
                         "text format starts with '<words> <dimensions>' (two positive integers)")
    count, dimensions = map(int, header)
    body = [line for line in lines[1:] if line.strip()]
    if len(body) != count:
        raise ValueError(f"{path} holds {len(body)} word line(s) but its header says {count}")
    vocab, vectors = [], np.empty((count, dimensions), dtype="float32")
    for number, line in enumerate(body, 2):
        word, *values = line.rstrip().split(" ")
        if len(values) != dimensions:
            raise ValueError(f"{path} line {number} ({word!r}) holds {len(values)} values; the "
                             f"header says {dimensions}")
        try:
            vectors[number - 2] = np.array(values, dtype="float32")
        except ValueError:
            raise ValueError(f"{path} line {number} ({word!r}) holds a value that is not a "
                             "number") from None
        vocab.append(word)
    return vectors, vocab
