"""`GenerativeScores`: a callback that scores a generative model's samples after every epoch.

After each epoch it draws samples from the model being trained — a GAN's generator (the
`generator` of the `GANTrainer` that `fit` runs) or a VAE's decoder fed `z ~ N(0, I)` — from
the same noise every epoch, scores them with a `keras_dl.evaluation.sample_scores.SampleScorer`
(the Fréchet distance on a classifier's features, the class shares, and for a conditional
generator the label accuracy) and writes every epoch's scores to a JSON file, whole each
time (a reader never sees part of one).

```python
scorer = SampleScorer(classifier, x_test)
scores = GenerativeScores(scorer, "runs/dcgan/generative_scores.json")
keras_dl.training.train("dcgan", dataset="fashion_mnist", run_dir="runs/dcgan",
                        extra_callbacks=[scores])
scores.rows        # [{"epoch": 1, "frechet_distance": ..., "class_shares": [...], ...}, ...]
scores.samples[1]  # the first `keep` samples after epoch 1 (the same noise every epoch)
```
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from keras_dl.evaluation.sample_scores import sample_images
from keras_dl.training.run_dir import write_atomically


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class GenerativeScores(keras.callbacks.Callback):
    """After each epoch, the scores of the model's samples, kept in `rows` and written to
    `path` as JSON (`{"rows": [...]}`, one row per epoch, 1-based `epoch`).

    An unconditional generator (or a VAE) is scored on `count` samples; a conditional one on
    `per_class` samples of every class, the labels cycling `0, 1, …, 0, 1, …`, with the label
    accuracy added. The noise is drawn with `seed` every epoch, so the samples of successive
    epochs come from the same `z`; the first `keep` of them are kept in `samples[epoch]`
    (for a conditional generator, one per class when `keep` is the number of classes).

    Args:
        scorer: a `SampleScorer` (classifier and reference images).
        path: the JSON file (its folder is made).
        generator: the model to sample (default: the fitted model's `generator` when it has
            one, as a `GANTrainer` does, else the fitted model itself, e.g. a VAE).
        count: samples of an unconditional generator.
        per_class: samples per class of a conditional generator.
        keep: samples kept per epoch in `samples` (0: none).
        seed: seed of the noise.
    """

    def __init__(self, scorer, path, *, generator=None, count=1000, per_class=100, keep=10,
                 seed=0):
        super().__init__()
        self.scorer = scorer
        self.path = Path(path)
        self.generator = generator
        self.count = _positive("count", count)
        self.per_class = _positive("per_class", per_class)
        if isinstance(keep, bool) or not isinstance(keep, (int, np.integer)) or keep < 0:
            raise ValueError(f"keep must be a non-negative integer, got {keep!r}")
        self.keep = int(keep)
        self.seed = int(seed)
        self.rows: list[dict] = []
        self.samples: dict[int, np.ndarray] = {}

    def sampled_model(self) -> keras.Model:
        """The model whose samples are scored."""
        if self.generator is not None:
            return self.generator
        return getattr(self.model, "generator", None) or self.model

    def score(self, epoch: int) -> dict:
        """Sample, score, record and write the row of the (0-based) `epoch`."""
        from keras_dl.tasks.gan import num_classes

        model = self.sampled_model()
        classes = num_classes(model)  # None: unconditional (a GAN's generator, a VAE)
        labels = None if classes is None else np.tile(np.arange(classes), self.per_class)
        count = self.count if labels is None else len(labels)
        images = sample_images(model, count, labels, seed=self.seed)
        row = {"epoch": epoch + 1, "samples": count, **self.scorer(images, labels)}
        self.rows = [r for r in self.rows if r["epoch"] != row["epoch"]] + [row]
        if self.keep:
            self.samples[row["epoch"]] = images[: self.keep]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps({"rows": self.rows}, indent=1) + "\n")
        return row

    def on_train_begin(self, logs=None):
        if not self.rows and self.path.is_file():  # a resumed run keeps its earlier epochs
            self.rows = json.loads(self.path.read_text()).get("rows", [])

    def on_epoch_end(self, epoch, logs=None):
        self.score(epoch)
