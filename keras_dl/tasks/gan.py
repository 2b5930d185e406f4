"""The GAN task: a generator trained against a discriminator (Goodfellow et al. 2014).

The registered model is the generator (`keras_dl.models.gan`); the registration's
`task_options["discriminator"]` makes its discriminator from it. `training_model` pairs the two
in a `GANTrainer` (`keras_dl.models.gan_training`): the discriminator's optimizer is a fresh
one from the run's factory, the generator's the one its `compile` gave it. `fit` receives
`(images, labels)`: an unconditional generator ignores the labels, a conditional one is asked
for them. The generator's loss is the builder's `gan_loss` (`--set gan_loss=minimax`):
"non_saturating" (default, `−log D(G(z))`) or "minimax" (`log(1 − D(G(z)))`); a generator
loaded from a file trains with the default.

What a run does differently, all said here and read by the trainer generically:

- no early stopping (`early_stopping = False`): neither network's loss measures how good the
  samples are, and early stopping would also restore the weights of the "best" epoch at the
  end; `model.keras` is the generator after the last epoch. The best checkpoint watches the
  generator's validation loss (`monitor_key`: "val_loss" → "val_g_loss"): the epoch whose
  generator fooled the discriminator best, not a measure of quality;
- a sample grid per epoch, from fixed noise (`callbacks`: `RUN_DIR/samples/epoch_NNN.png`);
- the test metric is the Fréchet distance between generated images and the test images, in
  pixel space (`evaluate`; Heusel et al. 2017's formula on raw pixels: it ranks generators on
  the same data, it is no FID).

Served (`keras-dl export`): `serving_default` maps "noise" (and an integer "label") to
"images"; the export records the label's range, which the served model checks.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from keras_dl.models.gan_training import GANTrainer
from keras_dl.tasks.base import Task

DEFAULT_LOSS = "non_saturating"


def latent_dim(generator) -> int:
    """The width of a generator's noise input."""
    return int(generator.inputs[0].shape[-1])


def num_classes(generator) -> int | None:
    """The classes of a conditional generator (the input dimension of the embedding that reads
    its "label" input); None for an unconditional generator."""
    if len(generator.inputs) < 2:
        return None
    label = generator.inputs[1]
    for layer in generator.layers:
        if isinstance(layer, keras.layers.Embedding) and layer.input is label:
            return int(layer.input_dim)
    raise ValueError(f"generator {generator.name!r} takes a second input but no embedding "
                     "reads it: a conditional generator embeds its label")


def check_labels(labels, classes: int, what: str = "label") -> np.ndarray:
    """Integer `labels` in `0..classes-1`, as int32; `ValueError` naming the first bad one."""
    labels = np.asarray(labels)
    if labels.size and (not np.issubdtype(labels.dtype, np.number)
                        or not np.all(np.isfinite(labels))
                        or not np.all(labels == np.round(labels))):
        raise ValueError(f"{what} must be integers, got {labels.ravel()[:5].tolist()}")
    bad = labels[(labels < 0) | (labels >= classes)] if labels.size else labels
    if bad.size:
        raise ValueError(f"{what} {bad.ravel()[0]:g} is outside the generator's classes; "
                         f"allowed: 0..{classes - 1}")
    return labels.astype("int32")


def check_generator_inputs(generator, noise, labels=None):
    """`(noise, labels)` checked for `generator`: noise of shape `(batch, latent_dim)` (or one
    vector), labels for a conditional generator, one per noise row, in its classes.
    `ValueError` in one line otherwise."""
    width = latent_dim(generator)
    noise = np.asarray(noise, dtype="float32")
    noise = noise[None] if noise.ndim == 1 else noise
    if noise.ndim != 2 or noise.shape[1] != width:
        raise ValueError(f"noise of shape {tuple(noise.shape)} does not fit generator "
                         f"{generator.name!r}, which takes (batch, {width})")
    classes = num_classes(generator)
    if classes is None:
        if labels is not None:
            raise ValueError(f"generator {generator.name!r} is unconditional: it takes no labels")
        return noise, None
    if labels is None:
        raise ValueError(f"generator {generator.name!r} is conditional: give a label per "
                         f"noise row, in 0..{classes - 1}")
    labels = np.atleast_1d(check_labels(labels, classes))
    if labels.shape != (len(noise),):
        raise ValueError(f"{len(labels)} labels for {len(noise)} noise rows: give one label "
                         "per row")
    return noise, labels


def generate(generator, count: int | None = None, *, noise=None, labels=None, seed: int = 0):
    """Images from `generator`: from `noise` (checked), or from `count` noise vectors
    `z ~ N(0, I)` drawn with `seed`; a conditional generator needs `labels`."""
    if noise is None:
        if count is None:
            count = len(np.atleast_1d(labels)) if labels is not None else 1
        noise = np.random.default_rng(seed).standard_normal((count, latent_dim(generator)))
    noise, labels = check_generator_inputs(generator, noise, labels)
    inputs = noise if labels is None else [noise, labels]
    return keras.ops.convert_to_numpy(generator(inputs, training=False))


def set_adam_beta_1(optimizer, info):
    """The registration's `train_defaults["adam_beta_1"]` (DCGAN's 0.5) on an Adam optimizer
    made by the run's factory (which uses Adam's own β₁ = 0.9 otherwise)."""
    beta_1 = (getattr(info, "train_defaults", None) or {}).get("adam_beta_1")
    if beta_1 is not None and isinstance(optimizer, keras.optimizers.Adam):
        optimizer.beta_1 = float(beta_1)
    return optimizer



def paired_trainer(trainer_class, model, info, make_optimizer, **options):
    """`trainer_class(model, discriminator, ...)` compiled: the discriminator made by the
    registration's `task_options["discriminator"]`, trained by a fresh optimizer from
    `make_optimizer`; the generator by the one its `compile` gave it. `options` go to the
    trainer (the GAN loss defaults to the generator's `gan_loss`)."""
    task_options = getattr(info, "task_options", None) or {}
    if "discriminator" not in task_options:
        raise ValueError(f"model {model.name!r} names no discriminator in its task_options; "
                         "a GAN registration gives task_options={'discriminator': fn}")
    trainer = trainer_class(model, task_options["discriminator"](model),
                            gan_loss=getattr(model, "gan_loss", DEFAULT_LOSS),
                            name=f"{model.name}_trainer", **options)
    generator_optimizer = model.optimizer or set_adam_beta_1(make_optimizer(), info)
    trainer.compile(optimizer=set_adam_beta_1(make_optimizer(), info),
                    generator_optimizer=generator_optimizer)
    return trainer


def generator_loss_key(monitor: str) -> str:
    """The log key of a GAN's `monitor`: a loss is the generator's (`val_loss` → `val_g_loss`)."""
    return monitor[: -len("loss")] + "g_loss" if monitor.endswith("loss") else monitor


class GAN(Task):
    """A generator trained against its discriminator; served as the generator alone."""

    name = "gan"
    early_stopping = False
    serves_examples = False

    # === Compiling and monitoring ================================================================

    def compile(self, model, optimizer, info=None):
        """The generator, compiled with its own optimizer (no loss: `GANTrainer` computes it)."""
        model.compile(optimizer=set_adam_beta_1(optimizer, info))
        return model

    def training_model(self, model, info, make_optimizer):
        """A compiled `GANTrainer` of `model` and the discriminator the registration makes for
        it; the discriminator's optimizer is a fresh one from `make_optimizer`."""
        return paired_trainer(GANTrainer, model, info, make_optimizer)

    def monitor_key(self, monitor, fit_model=None):
        """A loss is the generator's (`val_loss` → `val_g_loss`)."""
        return generator_loss_key(monitor)

    def callbacks(self, model, fit_model, run_dir, config) -> list:
        from keras_dl.tasks.gan_samples import SampleGrid

        return [SampleGrid(model, Path(run_dir) / "samples", num_classes=num_classes(model),
                           seed=int(config.get("seed", 0)))]

    # === Evaluating ==============================================================================

    def evaluate(self, model, dataset, **kwargs):
        """`{"pixel_frechet_distance"}`: the Fréchet distance between the test images and as
        many generated ones (for a conditional generator, of the test labels), on pixels."""
        from keras_dl.evaluation.generative import frechet_distance

        real, fake = [], []
        conditional = num_classes(model) is not None
        for step, batch in enumerate(dataset.as_numpy_iterator()):
            images, labels = batch if isinstance(batch, tuple) else (batch, None)
            fake.append(generate(model, len(images), labels=labels if conditional else None,
                                 seed=step))
            real.append(images)
        real, fake = np.concatenate(real), np.concatenate(fake)
        return {"pixel_frechet_distance": frechet_distance(real.reshape(len(real), -1),
                                                           fake.reshape(len(fake), -1))}

    # === Exporting ===============================================================================

    def output_names(self, model):
        return ("images",)

    def input_ranges(self, model) -> dict:
        classes = num_classes(model)
        return {} if classes is None else {model.inputs[1].name: [0, classes - 1]}

    # === The model contract ======================================================================

    def smoke_inputs(self, model, count=4, seed=0):
        """Noise `z ~ N(0, I)`, with labels cycling through the classes for a conditional
        generator (then a dict by input name)."""
        noise = np.random.default_rng(seed).standard_normal(
            (count, latent_dim(model))).astype("float32")
        classes = num_classes(model)
        if classes is None:
            return noise
        return {model.inputs[0].name: noise,
                model.inputs[1].name: (np.arange(count) % classes).astype("int32")}

    def smoke_fit_data(self, info, model, fit_model, x):
        """Training images (uniform [0, 1) of the generator's output shape) and labels."""
        count = len(next(iter(x.values())) if isinstance(x, dict) else x)
        shape = tuple(model.outputs[0].shape[1:])
        images = np.random.default_rng(1).random((count, *shape), dtype="float32")
        return images, self.smoke_labels(info, count)

    def smoke_output_shape(self, info, model):
        return tuple(model.outputs[0].shape[1:])
