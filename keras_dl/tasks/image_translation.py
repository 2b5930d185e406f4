"""Image-to-image translation: a model from an input image to a target image, trained on the
datasets that pair them (`fashion_mnist_edges`, `fashion_mnist_inpainting`).

Two tasks, one for each way Isola et al. 2017 train their U-Net:

- "image_translation" (`ImageTranslation`): `fit(x, y)` on the L1 error `mean |y − G(x)|`
  (eq. 3 alone: the paper's blurry "L1" baseline; `unet_translation`);
- "image_translation_gan" (`ImageTranslationGAN`): pix2pix, the conditional GAN plus λ·L1
  (eq. 4), trained through `Pix2PixTrainer` against the conditional PatchGAN that the
  registration's `task_options["discriminator"]` makes from the generator (`pix2pix`).

Both use Adam with the registration's β₁ (`train_defaults["adam_beta_1"]`, the paper's 0.5),
write a sample grid per epoch (`RUN_DIR/samples/epoch_NNN.png`: rows input | output | target
for 8 fixed validation pairs), and are evaluated on the test split by `evaluate`:
`l1` (mean |y − G(x)| per pixel) and `pixel_frechet_distance` (Heusel et al. 2017's formula
between the outputs and the targets, on raw pixels: it ranks models on the same data, it is
no FID). The GAN has no early stopping (its losses do not measure how good its outputs are);
its best checkpoint watches the generator's validation loss, adversarial + λ·L1.

Served (`keras-dl export`): `serving_default` maps an image of the input shape to "images";
another shape is refused in one line by the served model, `keras-dl predict` and
`keras-dl serve` (`keras_dl.export.ServedSignature.check_input`).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from keras_dl.tasks.base import Task
from keras_dl.tasks.gan import generator_loss_key, paired_trainer, set_adam_beta_1
from keras_dl.tasks.gan_samples import tile, write_png

GRID_COLUMNS = 8


class ImageTranslation(Task):
    """An image → image model trained with `fit(x, y)` on the L1 error (Isola et al., eq. 3)."""

    name = "image_translation"
    image_targets = True

    # === Compiling ================================================================================

    def compile(self, model, optimizer, info=None):
        """Mean absolute error (L1), with the mean squared error as a metric."""
        model.compile(optimizer=set_adam_beta_1(optimizer, info), loss="mae",
                      metrics=[keras.metrics.MeanSquaredError(name="mse")])
        return model

    def callbacks(self, model, fit_model, run_dir, config) -> list:
        """A `TranslationGrid` of the run's first `GRID_COLUMNS` validation pairs."""
        from keras_dl import data

        x, y = data.load_numpy(config["dataset"], "train", limit=config.get("limit"))
        _, _, x_val, y_val = data.train_validation_split(
            x, y, config["validation_fraction"], seed=config["seed"])
        return [TranslationGrid(model, x_val[:GRID_COLUMNS], y_val[:GRID_COLUMNS],
                                Path(run_dir) / "samples")]

    # === Evaluating ===============================================================================

    def evaluate(self, model, dataset, **kwargs):
        """`{"l1", "pixel_frechet_distance"}` of `model`'s outputs against the targets of the
        batches `(inputs, targets)` in `dataset`."""
        from keras_dl.evaluation.generative import frechet_distance

        outputs, targets = [], []
        for inputs, target in dataset.as_numpy_iterator():
            outputs.append(keras.ops.convert_to_numpy(model(inputs, training=False)))
            targets.append(target)
        outputs, targets = np.concatenate(outputs), np.concatenate(targets)
        return {"l1": float(np.mean(np.abs(outputs - targets))),
                "pixel_frechet_distance": frechet_distance(outputs.reshape(len(outputs), -1),
                                                           targets.reshape(len(targets), -1))}

    # === Exporting ================================================================================

    def output_names(self, model):
        return ("images",)

    # === The model contract =======================================================================

    def smoke_fit_data(self, info, model, fit_model, x):
        """The smoke inputs and target images (uniform [0, 1) of the output shape)."""
        shape = tuple(model.outputs[0].shape[1:])
        return x, np.random.default_rng(1).random((len(x), *shape), dtype="float32")

    def smoke_output_shape(self, info, model):
        return tuple(model.outputs[0].shape[1:])


class ImageTranslationGAN(ImageTranslation):
    """pix2pix: the generator trained against a conditional PatchGAN on `L_cGAN + λ·L1`
    (Isola et al. 2017, eq. 4); served as the generator alone."""

    name = "image_translation_gan"
    early_stopping = False

    def compile(self, model, optimizer, info=None):
        """The generator, compiled with its own optimizer (no loss: `Pix2PixTrainer` computes
        it)."""
        model.compile(optimizer=set_adam_beta_1(optimizer, info))
        return model

    def training_model(self, model, info, make_optimizer):
        """A compiled `Pix2PixTrainer` of `model` and the discriminator the registration makes
        for it, with the builder's `l1_weight` and `gan_loss` (defaults for a loaded model);
        the discriminator's optimizer is a fresh one from `make_optimizer`."""
        from keras_dl.models.pix2pix_training import DEFAULT_L1_WEIGHT, Pix2PixTrainer

        return paired_trainer(Pix2PixTrainer, model, info, make_optimizer,
                              l1_weight=getattr(model, "l1_weight", DEFAULT_L1_WEIGHT))

    def monitor_key(self, monitor, fit_model=None):
        """A loss is the generator's (`val_loss` → `val_g_loss`: adversarial + λ·L1)."""
        return generator_loss_key(monitor)


class TranslationGrid(keras.callbacks.Callback):
    """After each epoch, `directory/epoch_NNN.png` (NNN: the 1-based epoch): three rows, the
    fixed `inputs`, the model's outputs for them (inference mode) and the `targets`, one
    pair per column.

    Args:
        model: the image → image model.
        inputs: input images (n, h, w, c) in [0, 1].
        targets: their target images, of the output shape.
        directory: where the PNGs go (a run's `samples/`).
    """

    def __init__(self, model, inputs, targets, directory):
        super().__init__()
        self.translator = model
        self.inputs = np.asarray(inputs, dtype="float32")
        self.targets = np.asarray(targets, dtype="float32")
        self.directory = Path(directory)

    def path(self, epoch: int) -> Path:
        """The grid of the (0-based) `epoch`."""
        return self.directory / f"epoch_{epoch + 1:03d}.png"

    def on_epoch_end(self, epoch, logs=None):
        outputs = keras.ops.convert_to_numpy(self.translator(self.inputs, training=False))
        write_png(translation_grid(self.inputs, outputs, self.targets), self.path(epoch))


def translation_grid(*rows) -> np.ndarray:
    """Rows of images (each (n, h, w, c) in [0, 1], the same n and size; e.g. inputs, outputs,
    targets) as one uint8 mosaic, one row each (`keras_dl.tasks.gan_samples.tile`)."""
    columns = len(rows[0])
    if any(len(row) != columns for row in rows):
        raise ValueError(f"every row needs {columns} images, got {[len(r) for r in rows]}")
    return tile(np.concatenate(rows), len(rows), columns)
