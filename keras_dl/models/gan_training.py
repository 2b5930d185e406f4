"""The GAN's training rule: the adversarial losses and `GANTrainer`, the model `fit` trains.

A GAN's training truly alternates (Goodfellow et al. 2014, algorithm 1): a step of the
discriminator on a batch of training images and a batch of generated ones, then a step of
the generator against the updated discriminator, each network with its own optimizer. That is
the one place in keras_dl where a model overrides `train_step`.

The discriminator outputs a logit `l`, `D(x) = σ(l)`; with `log σ(l) = −softplus(−l)` and
`log(1 − σ(l)) = −softplus(l)` the losses are

- discriminator: `−E[log D(x)] − E[log(1 − D(G(z)))]` (eq. 1, maximised by D, so minimised
  with the sign flipped);
- generator, "minimax": `E[log(1 − D(G(z)))]`, eq. 1 as written. It saturates: early on
  `D(G(z)) ≈ 0` and its gradient vanishes;
- generator, "non_saturating" (the default): `−E[log D(G(z))]`, which Goodfellow et al.
  (section 3) propose instead: the same fixed point, strong gradients early.
"""

from __future__ import annotations

import keras
from keras import ops

GAN_LOSSES = ("non_saturating", "minimax")


def check_gan_loss(gan_loss: str) -> str:
    if gan_loss not in GAN_LOSSES:
        raise ValueError(f"unknown GAN loss {gan_loss!r}; allowed: {', '.join(GAN_LOSSES)}")
    return gan_loss


def discriminator_loss(real_logits, fake_logits):
    """`−mean log D(x) − mean log(1 − D(G(z)))` from the discriminator's logits on training
    images (`real_logits`) and generated ones (`fake_logits`)."""
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def generator_loss(fake_logits, gan_loss: str = "non_saturating"):
    """The generator's loss from the discriminator's logits on generated images:
    `−mean log D(G(z))` ("non_saturating") or `mean log(1 − D(G(z)))` ("minimax")."""
    if check_gan_loss(gan_loss) == "minimax":
        return -ops.mean(ops.softplus(fake_logits))
    return ops.mean(ops.softplus(-fake_logits))


@keras.saving.register_keras_serializable(package="keras_dl")
class GANTrainer(keras.Model):
    """A generator and a discriminator trained in alternation (Goodfellow et al. 2014, alg. 1).

    `fit` takes batches of training images, or of `(images, labels)`; an unconditional
    generator ignores the labels, a conditional one (inputs "noise" and "label") is asked for
    the batch's labels and its discriminator sees them. Each `train_step` is
    `discriminator_step` (one update of the discriminator's weights by `optimizer`) then
    `generator_step` (one update of the generator's weights by `generator_optimizer`); both
    networks run in training mode in both half-steps, as in the reference implementations, so
    batch-norm statistics follow the batches each sees. `test_step` reports the same losses
    without updating anything. Logged: `d_loss`, `g_loss`, and the discriminator's mean
    output on training images (`real_score`, D(x)) and on generated ones (`fake_score`,
    D(G(z))).

    Calling the trainer calls the generator. It saves whole (`.keras`: both networks, both
    optimizers) and `BackupAndRestore` restores both networks and both optimizers.

    Args:
        generator: a model from noise `(batch, latent_dim)` (and an integer label) to images.
        discriminator: a model from images (and a label) to one logit per image.
        gan_loss: the generator's loss, "non_saturating" or "minimax".
        seed: seed of the noise.
        shared_learning_rate: the generator's learning rate follows the discriminator's
            (`optimizer`'s, the one Keras' schedule callbacks set), so a run's schedule
            anneals both; False leaves each optimizer its own (e.g. two time-scale rates,
            Heusel et al. 2017).

    Example:
    ```python
    trainer = GANTrainer(generator, discriminator)
    trainer.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                    generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    trainer.fit(images, epochs=10, batch_size=128)
    ```
    """

    def __init__(self, generator, discriminator, gan_loss="non_saturating", seed=None,
                 shared_learning_rate=True, **kwargs):
        super().__init__(**kwargs)
        self.gan_loss = check_gan_loss(gan_loss)
        self.seed = seed
        self.shared_learning_rate = bool(shared_learning_rate)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.conditional = len(generator.inputs) > 1
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.generator_optimizer = None
        self._follow_learning_rate = False
        self.trackers = {key: keras.metrics.Mean(name=key)
                         for key in ("d_loss", "g_loss", "real_score", "fake_score")}
        self.built = True

    # === Compiling ================================================================================

    def compile(self, optimizer="adam", generator_optimizer="adam", **kwargs):
        """`optimizer` updates the discriminator, `generator_optimizer` the generator; both
        are built at once, so a restored backup finds their slots. The generator is compiled
        with `generator_optimizer` (one object: saved once, under the generator, and found
        there again by a `.keras` file's loading)."""
        if keras.backend.backend() == "jax":
            # Keras' JAX trainer carries one optimizer's state through its compiled step; the
            # generator's optimizer is a second one, so the steps run eagerly (`train_step`)
            kwargs["run_eagerly"] = True
        super().compile(optimizer=optimizer, **kwargs)
        self.generator_optimizer = keras.optimizers.get(generator_optimizer)
        if getattr(self.generator, "optimizer", None) is not self.generator_optimizer:
            self.generator.compile(optimizer=self.generator_optimizer)
        # a generator optimizer made with a schedule keeps it (its rate cannot be set)
        self._follow_learning_rate = self.shared_learning_rate and isinstance(
            self.generator_optimizer.get_config()["learning_rate"], (int, float))
        for optimizer_, network in ((self.optimizer, self.discriminator),
                                    (self.generator_optimizer, self.generator)):
            if not optimizer_.built:
                optimizer_.build(network.trainable_variables)

    def get_compile_config(self):
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer),
                "generator_optimizer":
                    keras.saving.serialize_keras_object(self.generator_optimizer)}

    def compile_from_config(self, config):
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]),
                     generator_optimizer=keras.saving.deserialize_keras_object(
                         config["generator_optimizer"]))

    @property
    def metrics(self):
        return list(self.trackers.values())

    # === The two half-steps =======================================================================

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _unpack(self, data):
        """`(images, labels)` of a batch: `images`, `(images,)`, `(images, labels)` or
        `(images, labels, sample_weight)` as Keras hands them over (labels may be None)."""
        if isinstance(data, (tuple, list)):
            images = data[0]
            labels = data[1] if len(data) > 1 else None
        else:
            images, labels = data, None
        if self.conditional and labels is None:
            raise ValueError("a conditional generator trains on (images, labels); the batch "
                             "holds images only")
        return images, labels

    def _generate(self, images, labels, training=True):
        noise = keras.random.normal((ops.shape(images)[0], self.latent_dim),
                                    seed=self.noise_seed)
        if self.conditional:
            return self.generator([noise, ops.cast(ops.reshape(labels, (-1,)), "int32")],
                                  training=training)
        return self.generator(noise, training=training)

    def _discriminate(self, images, labels, training=True):
        images = ops.convert_to_tensor(images)
        if self.conditional:
            return self.discriminator([images, ops.cast(ops.reshape(labels, (-1,)), "int32")],
                                      training=training)
        return self.discriminator(images, training=training)

    def discriminator_step(self, images, labels=None):
        """One update of the discriminator (the generator's weights are not touched):
        `{"d_loss", "real_score", "fake_score"}` before the update."""
        fakes = self._generate(images, labels)

        def losses():
            real_logits = self._discriminate(images, labels)
            fake_logits = self._discriminate(ops.stop_gradient(fakes), labels)
            return {"d_loss": discriminator_loss(real_logits, fake_logits),
                    "real_score": ops.mean(ops.sigmoid(real_logits)),
                    "fake_score": ops.mean(ops.sigmoid(fake_logits))}

        return self.descend(losses, "d_loss", self.discriminator, self.optimizer)

    def generator_step(self, images, labels=None):
        """One update of the generator against the current discriminator (whose weights are
        not touched), on as many samples as `images` holds: `{"g_loss"}` before the update."""
        def losses():
            fake_logits = self._discriminate(self._generate(images, labels), labels)
            return {"g_loss": generator_loss(fake_logits, self.gan_loss)}

        return self.descend(losses, "g_loss", self.generator, self.generator_optimizer)

    def descend(self, losses, key, network, optimizer) -> dict:
        """One step of `optimizer` on `network`'s trainable weights down the gradient of
        `losses()[key]` (`losses`: a function returning a dict of values, computed in training
        mode); returns the values, as they were before the step. The backend's autodiff:
        TensorFlow's tape, or on JAX `jax.grad` of `losses` with the weights as its argument
        (a `StatelessScope`; what the call assigns besides, such as batch-norm statistics
        and random seeds, is assigned afterwards)."""
        weights = network.trainable_variables
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                values = losses()
            optimizer.apply_gradients(zip(tape.gradient(values[key], weights), weights))
            return values
        if backend != "jax":
            raise RuntimeError(f"GAN training runs on the TensorFlow or JAX backend, not "
                               f"{backend!r}")
        import jax

        chosen = {id(w) for w in weights}
        others = [v for v in (*self.generator.variables, *self.discriminator.variables,
                              self.noise_seed.state) if id(v) not in chosen]

        def pure(values_of_weights):
            with keras.StatelessScope(state_mapping=list(zip(weights, values_of_weights))
                                      ) as scope:
                values = losses()
            return values[key], (values, [scope.get_current_value(v) for v in others])

        gradients, (values, updates) = jax.grad(pure, has_aux=True)([w.value for w in weights])
        for variable, value in zip(others, updates):
            if value is not None:
                variable.assign(value)
        optimizer.apply_gradients(zip(gradients, weights))
        return values

    def _record(self, values):
        for key, value in values.items():
            self.trackers[key].update_state(value)
        return {key: tracker.result() for key, tracker in self.trackers.items()}

    def train_step(self, *arguments):
        if keras.backend.backend() != "jax":
            return self.alternating_step(*arguments)
        # Keras' JAX trainer hands over its state and takes it back: the variables are set
        # from it, the step runs eagerly on them, and the state is read back from them
        state, data = arguments
        self._set_jax_state(state, self.trainable_variables, self.non_trainable_variables,
                            self.optimizer.variables, self.metrics_variables)
        logs = self.alternating_step(data)
        return logs, self._values(self.trainable_variables, self.non_trainable_variables,
                                  self.optimizer.variables, self.metrics_variables)

    def _set_jax_state(self, state, *variable_lists):
        for values, variables in zip(state, variable_lists):
            for variable, value in zip(variables, values):
                variable.assign(value)

    @staticmethod
    def _values(*variable_lists):
        return tuple([variable.value for variable in variables] for variables in variable_lists)

    def alternating_step(self, data):
        """A discriminator step then a generator step on one batch; the running logs."""
        images, labels = self._unpack(data)
        if self._follow_learning_rate:
            # assigned to the rate's variable (the property's setter would track a new one)
            self.generator_optimizer.learning_rate.assign(self.optimizer.learning_rate)
        values = self.discriminator_step(images, labels)
        values.update(self.generator_step(images, labels))
        return self._record(values)

    def test_step(self, *arguments):
        if keras.backend.backend() != "jax":
            return self.scores(*arguments)
        state, data = arguments  # as in train_step
        self._set_jax_state(state, self.trainable_variables, self.non_trainable_variables,
                            self.metrics_variables)
        logs = self.scores(data)
        return logs, self._values(self.trainable_variables, self.non_trainable_variables,
                                  self.metrics_variables)

    def scores(self, data):
        """The losses and scores of one batch, in inference mode; the running logs."""
        images, labels = self._unpack(data)
        real_logits = self._discriminate(images, labels, training=False)
        fake_logits = self._discriminate(self._generate(images, labels, training=False),
                                         labels, training=False)
        return self._record({
            "d_loss": discriminator_loss(real_logits, fake_logits),
            "g_loss": generator_loss(fake_logits, self.gan_loss),
            "real_score": ops.mean(ops.sigmoid(real_logits)),
            "fake_score": ops.mean(ops.sigmoid(fake_logits)),
        })

    # === Config ===================================================================================

    def get_config(self):
        return {"name": self.name, "gan_loss": self.gan_loss, "seed": self.seed,
                "shared_learning_rate": self.shared_learning_rate,
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)
