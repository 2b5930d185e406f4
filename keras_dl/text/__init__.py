"""Word vectors: how good they are, and the file format other tools read.

```python
scores = keras_dl.text.evaluate_embeddings(vectors, vocab)
scores["wordsim353"]["spearman"], scores["analogies"]["accuracy"]
keras_dl.text.nearest_neighbours(vectors, vocab, "king", k=5)
keras_dl.text.save_word2vec_format("vectors.txt", vectors, vocab)   # opens in gensim as it is
```

`vectors` is a `(words, dimensions)` array whose row `i` is `vocab[i]`'s vector, the
vocabulary most frequent first. The evaluation sets come from gensim's wheel
(`keras_dl.data.text`); docs/text.md says what each score means.
"""

from keras_dl.text.evaluation import (
    RESTRICT_VOCAB,
    analogy_accuracy,
    evaluate_embeddings,
    nearest_neighbours,
    word_similarity,
)
from keras_dl.text.word2vec_format import load_word2vec_format, save_word2vec_format

__all__ = [
    "RESTRICT_VOCAB",
    "analogy_accuracy",
    "evaluate_embeddings",
    "load_word2vec_format",
    "nearest_neighbours",
    "save_word2vec_format",
    "word_similarity",
]
