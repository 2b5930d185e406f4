"""The restricted Boltzmann machine (Smolensky 1986; Hinton 2002), trained by `fit()`.

An RBM with visible units `v` (D of them) and binary hidden units `h` (H) has the energy
(lectures 000 and 003)

    E(v, h) = -vᵀW h - bᵀv - cᵀh                       (Bernoulli visible units)
    E(v, h) = ½‖v - b‖² - vᵀW h - cᵀh                   (Gaussian visible units, unit variance)

with `W` = `kernel` (D×H), `b` = `visible_bias`, `c` = `hidden_bias`. Summing out `h` gives the
free energy `F(v) = -bᵀv - Σⱼ softplus(cⱼ + vᵀW₋ⱼ)` (Gaussian: `½‖v - b‖²` instead of `-bᵀv`),
so `p(v) = exp(-F(v)) / Z`.

Training is contrastive divergence, CD-k (Hinton 2002), as lecture 003 spells out CD-1: sample
`h⁰ ~ Q(h | v⁰)` from a training vector, reconstruct `v¹ ~ P(v | h⁰)`, compute `Q(h¹ | v¹)` (k
Gibbs steps for CD-k), and move the weights by `ε(⟨v hᵀ⟩⁰ − ⟨v hᵀ⟩ᵏ)`, the biases by
`ε(v⁰ − vᵏ)` and `ε(h⁰ − Q(hᵏ))`. That update is the negative gradient of the free-energy gap

    F(v⁰) − F(stop_gradient(vᵏ))

(averaged over the batch; `contrastive_divergence_loss`) with the positive statistics
`Q(h⁰ | v⁰)` (the lower-variance choice of Hinton's practical guide, 2010);
`positive_phase="samples"` uses the sampled `h⁰` instead, as the lecture's procedure writes it
(the energy `E(v⁰, h⁰)` in place of `F(v⁰)`). Under `fit()` the layer does not differentiate
the gap: it computes the update once, in one matrix product of the two phases
(`keras_dl.layers.rbm_update`), and hands it to the compiled optimizer as the weights' gradient,
so the learning rate, momentum and weight decay the user compiled with apply to it. With
`persistent=True` the negative chain is not restarted at the data but continues from where the
previous batch left it (persistent CD, Tieleman 2008); its state, `chains` visible vectors, is
a non-trainable variable of the layer.

The free-energy gap is a training surrogate, not a measure of quality (it is near zero for a
model that has learned nothing as much as for a good one), so the layer never shows it. The
`loss` Keras reports is the reconstruction error: under `fit()`, the mean squared error of the
CD step's own reconstruction `P(v¹ | h⁰)`; under `evaluate()`, of the mean-field reconstruction
`reconstruct(v)`. Its gradient is still the CD update, and only that. During training the
layer also reports `reconstruction_error` and `pseudo_log_likelihood` (Bernoulli units: Besag's
pseudo-likelihood estimated by flipping one random visible unit per example, as
scikit-learn's `BernoulliRBM.score_samples` does, `D · log σ(F(ṽ) − F(v))`; higher is better),
the latter on the first `MONITORED_BATCHES` batches of each epoch only (Keras resets the
layer's metrics when an epoch starts), not at every step. On the JAX backend, where Keras gives
a layer no way to update metrics inside `fit`, only `loss` is logged;
`keras_dl.evaluation.pseudo_log_likelihood` computes the other afterwards.

Called on its own, the layer maps visible vectors to hidden probabilities `Q(h = 1 | v)`, which
is what an RBM model serves and what a DBN passes up.
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

from keras_dl import compat
from keras_dl.layers.rbm_distribution import RBMDistribution
from keras_dl.layers.rbm_update import TrainingMean, attach_gradients, cd_statistics

VISIBLE_TYPES = ("bernoulli", "gaussian")
POSITIVE_PHASES = ("probabilities", "samples")


@keras.saving.register_keras_serializable(package="keras_dl")
class RBM(RBMDistribution, keras.layers.Layer):
    """Restricted Boltzmann machine layer: `v ↦ Q(h = 1 | v)`, trained by CD-k or PCD in `fit()`.

    Args:
        units: number of hidden units H (binary).
        visible: "bernoulli" (binary units, data in [0, 1], read as probabilities) or
            "gaussian" (real-valued units of unit variance; standardise the data first:
            lecture 003's "non-binary features" demo, Hinton 2010 §13.2).
        k: Gibbs steps of the negative phase (CD-k; 1 is the lecture's CD-1).
        persistent: continue the negative chains across batches (PCD, Tieleman 2008) instead
            of restarting them at the data.
        chains: number of persistent chains (used when `persistent`); the chains start at
            zero and keep their state in the non-trainable variable `persistent_chains`.
        positive_phase: "probabilities" (⟨v Q(h|v)ᵀ⟩⁰, the default) or "samples" (⟨v h⁰ᵀ⟩ with
            the sampled h⁰, exactly the lecture's procedure).
        sample_chain_visible: sample the visible units in the chain (the lecture does); False uses
            their probabilities (Bernoulli) or means (Gaussian) instead, a common variance
            reduction (Hinton 2010 §3.2).
        kernel_initializer: initializer of `kernel`; N(0, 0.01²) as in Hinton's guide (§8).
        seed: seed of the layer's Gibbs sampling.

    Example:
    ```python
    inputs = keras.Input((784,))
    model = keras.Model(inputs, keras_dl.layers.RBM(256, name="rbm")(inputs))
    model.compile(keras.optimizers.SGD(0.1))
    model.fit(x_binary, epochs=5, batch_size=64)      # CD-1; logs loss (reconstruction MSE)
    rbm = model.get_layer("rbm")                      # and pseudo_log_likelihood
    rbm.reconstruct(x_binary[:8]), rbm.gibbs(x_binary[:8], steps=1000)
    ```

    Reference:
        Hinton, "Training products of experts by minimizing contrastive divergence", Neural
        Computation 2002; Tieleman, "Training restricted Boltzmann machines using
        approximations to the likelihood gradient", ICML 2008; Hinton, "A practical guide to
        training restricted Boltzmann machines", UTML TR 2010-003.
    """

    # the pseudo-likelihood is estimated on this many batches at the start of each epoch
    MONITORED_BATCHES = 8

    def __init__(self, units, visible="bernoulli", k=1, persistent=False, chains=64,
                 positive_phase="probabilities", sample_chain_visible=True,
                 kernel_initializer=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, numbers.Integral) or isinstance(units, bool) or units < 1:
            raise ValueError(f"RBM units (hidden layer size) must be a positive integer, "
                             f"got {units!r}")
        if visible not in VISIBLE_TYPES:
            raise ValueError(f"RBM visible must be one of {', '.join(VISIBLE_TYPES)}; "
                             f"got {visible!r}")
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"RBM k (Gibbs steps of CD-k) must be a positive integer, "
                             f"got {k!r}")
        if not isinstance(chains, numbers.Integral) or isinstance(chains, bool) or chains < 1:
            raise ValueError(f"RBM chains (persistent chains) must be a positive integer, "
                             f"got {chains!r}")
        if positive_phase not in POSITIVE_PHASES:
            raise ValueError(f"RBM positive_phase must be one of {', '.join(POSITIVE_PHASES)}; "
                             f"got {positive_phase!r}")
        self.units = int(units)
        self.visible = visible
        self.k = int(k)
        self.persistent = bool(persistent)
        self.chains = int(chains)
        self.positive_phase = positive_phase
        self.sample_chain_visible = bool(sample_chain_visible)
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.RandomNormal(0.0, 0.01, seed=seed))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Keras' JAX trainer runs the forward pass statelessly over the model's weights only, so
        # a layer cannot update metrics of its own there (reading one fails mid-step): on JAX
        # the layer keeps none, and `fit` logs just `loss`, which is the reconstruction error.
        tracked = keras.backend.backend() != "jax"
        self.reconstruction_tracker = (
            TrainingMean(name="reconstruction_error", dtype=self.dtype) if tracked else None)
        # the flip-one-unit pseudo-likelihood is defined for binary units only
        self.pseudo_likelihood_tracker = (
            TrainingMean(name="pseudo_log_likelihood", dtype=self.dtype)
            if tracked and visible == "bernoulli" else None)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"RBM takes vectors of shape (batch, visible units); got "
                             f"{tuple(input_shape)} (flatten images first)")
        visible_units = int(input_shape[-1])
        self.kernel = self.add_weight(shape=(visible_units, self.units), name="kernel",
                                      initializer=self.kernel_initializer)
        self.visible_bias = self.add_weight(shape=(visible_units,), name="visible_bias",
                                            initializer="zeros")
        self.hidden_bias = self.add_weight(shape=(self.units,), name="hidden_bias",
                                           initializer="zeros")
        if self.persistent:
            self.persistent_chains = self.add_weight(
                shape=(self.chains, visible_units), name="persistent_chains",
                initializer="zeros", trainable=False)

    @property
    def activation(self):
        """The nonlinearity of what the layer outputs, `Q(h = 1 | v) = σ(c + vW)`: the sigmoid
        (read by exporters, which serve a sigmoid output as "probabilities")."""
        return keras.activations.sigmoid

    # === Contrastive divergence ===

    def contrastive_divergence(self, v):
        """One CD-k (or PCD-k) negative phase from a batch `v⁰`.

        Returns a dict of tensors: `positive_hidden` (`Q(h⁰ = 1 | v⁰)`), `hidden_sample` (the
        sampled `h⁰`), `reconstruction` (`P(v¹ | h⁰)`, the first reconstruction's
        probabilities or mean), `negative_visible` (`vᵏ`, the end of the chain; for PCD it
        started at the persistent chains, not at `v⁰`), `negative_hidden` (`Q(hᵏ = 1 | vᵏ)`)
        and the pre-activations `positive_preactivation`, `negative_preactivation`. Nothing is
        assigned: the caller updates the persistent chains.
        """
        v = ops.convert_to_tensor(v, self.compute_dtype)
        positive_pre = self._hidden_preactivation(v)
        positive_hidden = ops.sigmoid(positive_pre)
        hidden_sample = self._bernoulli(positive_hidden)
        reconstruction = self._visible_mean(hidden_sample)
        if self.persistent:
            chain_visible = self._read(self.persistent_chains)
            hidden = self._bernoulli(ops.sigmoid(self._hidden_preactivation(chain_visible)))
            mean = self._visible_mean(hidden)
        else:
            mean = reconstruction
        for step in range(self.k):
            visible = self._sample_visible_from_mean(mean) if self.sample_chain_visible else mean
            visible = ops.stop_gradient(visible)
            negative_pre = self._hidden_preactivation(visible)
            negative_hidden = ops.sigmoid(negative_pre)
            if step + 1 < self.k:
                mean = self._visible_mean(self._bernoulli(negative_hidden))
        return {
            "positive_preactivation": positive_pre,
            "positive_hidden": positive_hidden,
            "hidden_sample": hidden_sample,
            "reconstruction": reconstruction,
            "negative_visible": visible,
            "negative_preactivation": negative_pre,
            "negative_hidden": negative_hidden,
        }

    def contrastive_divergence_loss(self, v, phase):
        """`mean F(v⁰) − mean F(vᵏ)` (or `E(v⁰, h⁰)` for the positive term with sampled
        positive statistics); its gradient is minus the CD update `⟨v hᵀ⟩⁰ − ⟨v hᵀ⟩ᵏ`."""
        v = ops.convert_to_tensor(v, self.compute_dtype)
        if self.positive_phase == "samples":
            hidden = ops.stop_gradient(phase["hidden_sample"])
            positive = self._visible_term(v) - ops.sum(
                phase["positive_preactivation"] * hidden, axis=-1)
        else:
            positive = self._free_energy_from(v, phase["positive_preactivation"])
        negative = self._free_energy_from(phase["negative_visible"],
                                          phase["negative_preactivation"])
        return ops.mean(positive) - ops.mean(negative)

    def _wide(self, x):
        """`x` in the weights' dtype: under mixed precision the products run in bfloat16 or
        float16, while the sums the user reads (errors, likelihoods) accumulate in float32."""
        return ops.cast(x, self.dtype)

    def _pseudo_log_likelihood(self, v, preactivation):
        """Per-example stochastic pseudo-log-likelihood (flip one random unit per example)."""
        visible_units = ops.shape(v)[-1]
        index = keras.random.randint((ops.shape(v)[0], 1), 0, visible_units,
                                     seed=self.seed_generator)
        value = ops.take_along_axis(v, index, axis=1)  # (batch, 1)
        change = 1.0 - 2.0 * value                       # +1 for 0 → 1, -1 for 1 → 0
        kernel_rows = ops.take(self.kernel, index[:, 0], axis=0)
        flipped_pre = preactivation + change * kernel_rows
        bias = ops.take(self.visible_bias, index[:, 0], axis=0)[:, None]
        # F(ṽ) - F(v) = -change·b_i - Σ softplus(pre') + Σ softplus(pre)
        gap = (-ops.sum(change * bias, axis=-1)
               - ops.sum(ops.softplus(flipped_pre), axis=-1)
               + ops.sum(ops.softplus(preactivation), axis=-1))
        return ops.cast(visible_units, v.dtype) * ops.log_sigmoid(gap)

    def call(self, inputs, training=None):
        # The layer casts its weights to the compute dtype itself (`_read`); Keras' autocasting
        # would also read the running sums of its metrics in bfloat16 under mixed precision,
        # where they stop growing.
        with compat.float32_reads():
            return self._call(ops.convert_to_tensor(inputs, self.compute_dtype), training)

    def _call(self, inputs, training):
        if not training:
            hidden = ops.sigmoid(self._hidden_preactivation(inputs))
            reconstruction = self._visible_mean(hidden)
            self.add_loss(ops.mean(ops.square(self._wide(inputs) - self._wide(reconstruction))))
            return hidden
        v = ops.convert_to_tensor(inputs, self.compute_dtype)
        phase = self.contrastive_divergence(v)
        if self.persistent:
            self.persistent_chains.assign(
                ops.cast(phase["negative_visible"], self.persistent_chains.dtype))
        positive = (phase["positive_hidden"] if self.positive_phase == "probabilities"
                    else phase["hidden_sample"])
        update = cd_statistics(v, positive, phase["negative_visible"], phase["negative_hidden"],
                               means_dtype=self.dtype)
        reconstruction_error = ops.stop_gradient(
            ops.mean(ops.square(self._wide(v) - self._wide(phase["reconstruction"]))))
        # The value shown is the reconstruction error (the free-energy gap says nothing about
        # how good the model is); the gradient, minus the CD update computed once above, is
        # what the compiled optimizer applies.
        self.add_loss(attach_gradients(
            reconstruction_error, [self.kernel, self.visible_bias, self.hidden_bias],
            [-u for u in update]))
        if self.reconstruction_tracker is not None:
            self.reconstruction_tracker.update_state(reconstruction_error)
        if self.pseudo_likelihood_tracker is not None:
            tracker = self.pseudo_likelihood_tracker
            # Keras resets the layer's metrics at the start of every epoch, so the estimate
            # is taken on the epoch's first few batches, not every step.
            ops.cond(tracker.count < self.MONITORED_BATCHES,
                     lambda: tracker.update_state(ops.stop_gradient(ops.mean(
                         self._pseudo_log_likelihood(
                             self._wide(v), self._wide(phase["positive_preactivation"]))))),
                     lambda: None)
        return phase["positive_hidden"]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "visible": self.visible,
            "k": self.k,
            "persistent": self.persistent,
            "chains": self.chains,
            "positive_phase": self.positive_phase,
            "sample_chain_visible": self.sample_chain_visible,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "seed": self.seed,
        })
        return config
