"""pix2pix's training rule (Isola et al. 2017): a conditional GAN whose condition is an image,
plus an L1 term that ties the output to the target.

The generator maps an input image `x` to `G(x)`; the conditional PatchGAN discriminator sees
pairs `(x, y)` and outputs one logit per patch (`keras_dl.models.pix2pix`). The objective
(Isola et al., eq. 4) is

    G* = arg min_G max_D  L_cGAN(G, D) + λ·L_L1(G),   λ = 100,

with `L_cGAN = E[log D(x, y)] + E[log(1 − D(x, G(x)))]` (eq. 1) and
`L_L1 = E‖y − G(x)‖₁` (eq. 3). As for every keras_dl GAN, the generator minimises the
non-saturating `−log D(x, G(x))` (Goodfellow et al. 2014, section 3; Isola et al. section
3.3 follow it too). The adversarial terms average over every patch logit (section 3.2.2). The
losses are those of `keras_dl.models.gan_training` (`discriminator_loss`, `generator_loss`),
applied to the patch logits.

Isola et al. add no noise `z`: the generator's dropout is its only randomness (section 3.1).
They also halve D's objective "to slow down the rate at which D learns relative to G"; under
Adam, which divides each step by the running RMS of the gradient, a constant factor on a loss
cancels (up to Adam's ε), so keras_dl's trainer leaves it out.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_dl.models.gan_training import GANTrainer, discriminator_loss, generator_loss

DEFAULT_L1_WEIGHT = 100.0  # Isola et al., section 4: λ = 100


def check_weight(name: str, value) -> float:
    """A finite, non-negative loss weight as a float; `ValueError` in one line otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 <= value < float("inf")):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def l1_loss(targets, fakes):
    """`L_L1 = mean |y − G(x)|` (Isola et al., eq. 3, averaged over pixels)."""
    return ops.mean(ops.abs(ops.convert_to_tensor(targets) - fakes))


def translation_generator_loss(fake_logits, fakes, targets, l1_weight=DEFAULT_L1_WEIGHT,
                               gan_loss="non_saturating"):
    """pix2pix's generator loss (Isola et al., eq. 4 as G minimises it):
    `adversarial + l1_weight · L1`, where `adversarial` is `generator_loss` of the patch
    logits `fake_logits = D(x, G(x))` (every logit of the grid averaged) and `L1` is
    `l1_loss(targets, fakes)`.

    Returns `(total, adversarial, l1)`.
    """
    adversarial = generator_loss(fake_logits, gan_loss)
    l1 = l1_loss(targets, fakes)
    return adversarial + l1_weight * l1, adversarial, l1


@keras.saving.register_keras_serializable(package="keras_dl")
class Pix2PixTrainer(GANTrainer):
    """A U-Net generator and a conditional PatchGAN trained in alternation (Isola et al. 2017).

    `fit` takes batches `(inputs, targets)`: input images `x` and the target images `y`. It is
    `GANTrainer` with an image for the condition and no noise: the condition `x` goes to the
    generator (`G(x)`) and, beside the real or generated target, to the discriminator
    (`D(x, y)`, `D(x, G(x))`). Each `train_step` is `GANTrainer.discriminator_step` (the
    same discriminator loss, on every patch logit) then `generator_step`, whose loss adds
    `l1_weight · L1` (`translation_generator_loss`). Logged: `d_loss`, `g_loss` (the
    generator's whole loss), `adversarial_loss`, `l1_loss`, `real_score`, `fake_score`.

    Args:
        generator: a model from an image to an image (`keras_dl.models.pix2pix.unet_generator`).
        discriminator: a model from `[input_image, target_image]` to patch logits.
        l1_weight: λ of eq. 4 (the paper's 100); 0 leaves the conditional GAN alone.
        gan_weight: the weight of the adversarial term (1; 0 leaves L1 alone, Isola et al.'s
            "L1" row of table 1, though the discriminator still trains).
        gan_loss: the adversarial term of the generator, "non_saturating" or "minimax".
        seed, shared_learning_rate: as for `GANTrainer`.

    Example:
    ```python
    trainer = Pix2PixTrainer(unet_generator((28, 28, 1)), patchgan_discriminator((28, 28, 1)))
    trainer.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                    generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    trainer.fit(edges, images, epochs=10, batch_size=64)
    ```

    Reference:
        Isola, Zhu, Zhou, Efros. "Image-to-Image Translation with Conditional Adversarial
        Networks", CVPR 2017, eq. 1, 3, 4.
    """

    def __init__(self, generator, discriminator, l1_weight=DEFAULT_L1_WEIGHT, gan_weight=1.0,
                 gan_loss="non_saturating", seed=None, shared_learning_rate=True, **kwargs):
        super().__init__(generator, discriminator, gan_loss=gan_loss, seed=seed,
                         shared_learning_rate=shared_learning_rate, **kwargs)
        self.l1_weight = check_weight("l1_weight", l1_weight)
        self.gan_weight = check_weight("gan_weight", gan_weight)
        self.conditional = True
        for key in ("adversarial_loss", "l1_loss"):
            self.trackers[key] = keras.metrics.Mean(name=key)

    # GANTrainer's hooks, with "images" the targets y and "labels" the condition x

    def _unpack(self, data):
        """`(targets, inputs)` of a batch `(inputs, targets)` (or with a sample weight)."""
        if not isinstance(data, (tuple, list)) or len(data) < 2 or data[1] is None:
            raise ValueError("pix2pix trains on (input images, target images); the batch "
                             "holds input images only")
        return data[1], data[0]

    def _generate(self, targets, inputs, training=True):
        return self.generator(inputs, training=training)

    def _discriminate(self, images, inputs, training=True):
        return self.discriminator([ops.convert_to_tensor(inputs), ops.convert_to_tensor(images)],
                                  training=training)

    def generator_step(self, targets, inputs):
        """One update of the generator on `adversarial + l1_weight · L1` against the current
        discriminator (whose weights are not touched): the losses before the update."""
        def losses():
            fakes = self._generate(targets, inputs)
            return self.generator_losses(self._discriminate(fakes, inputs), fakes, targets)

        return self.descend(losses, "g_loss", self.generator, self.generator_optimizer)

    def generator_losses(self, fake_logits, fakes, targets) -> dict:
        """`{"g_loss", "adversarial_loss", "l1_loss"}`: `gan_weight · adversarial +
        l1_weight · L1` and its two terms."""
        _, adversarial, l1 = translation_generator_loss(fake_logits, fakes, targets,
                                                        self.l1_weight, self.gan_loss)
        return {"g_loss": self.gan_weight * adversarial + self.l1_weight * l1,
                "adversarial_loss": adversarial, "l1_loss": l1}

    def scores(self, data):
        targets, inputs = self._unpack(data)
        fakes = self._generate(targets, inputs, training=False)
        real_logits = self._discriminate(targets, inputs, training=False)
        fake_logits = self._discriminate(fakes, inputs, training=False)
        return self._record({
            "d_loss": discriminator_loss(real_logits, fake_logits),
            **self.generator_losses(fake_logits, fakes, targets),
            "real_score": ops.mean(ops.sigmoid(real_logits)),
            "fake_score": ops.mean(ops.sigmoid(fake_logits)),
        })

    def get_config(self):
        return {**super().get_config(), "l1_weight": self.l1_weight,
                "gan_weight": self.gan_weight}

