"""Stochastic depth (Huang, Sun, Liu, Sedra & Weinberger, 2016)."""

import keras
from keras import ops

SCOPES = ("batch", "sample")


def linear_survival_probability(block_index, num_blocks, final_probability=0.5):
    """The paper's linear decay rule `p_l = 1 - l / L (1 - p_L)` for block `l` of `L` (1-based).

    The first block survives with probability close to 1, the last with `p_L`
    (0.5 in the paper).
    """
    if not 1 <= block_index <= num_blocks:
        raise ValueError(f"block_index must be in [1, {num_blocks}], got {block_index!r}")
    if not 0 < final_probability <= 1:
        raise ValueError(f"final_probability must be in (0, 1], got {final_probability!r}")
    return 1.0 - block_index / num_blocks * (1.0 - final_probability)


@keras.saving.register_keras_serializable(package="keras_dl")
class StochasticDepth(keras.layers.Layer):
    """Adds a residual branch to its shortcut, dropping the branch at random while training.

    Called on `[shortcut, residual]`. Training: `shortcut + b · residual` with
    `b ~ Bernoulli(survival_probability)`; inference: `shortcut + p · residual`, the
    expected value, exactly as Huang et al. (2016, eq. 4) recalibrate at test time (no
    inverted scaling during training, so a block that survives trains as in a plain ResNet).
    The paper draws one `b` per block per mini-batch (`scope="batch"`); `scope="sample"` draws
    one per example, as timm's `drop_path` does. With `survival_probability=1` this is a plain
    addition. The ReLU that follows the addition in a ResNet block is not part of this layer.

    Args:
        survival_probability: `p_l`, the probability that the residual branch is kept.
            `linear_survival_probability` gives the paper's linearly decaying rule.
        scope: "batch" (the paper) or "sample".
        seed: seed of the layer's `SeedGenerator`.

    Reference:
        Huang, Sun, Liu, Sedra, Weinberger. "Deep Networks with Stochastic Depth", ECCV 2016.
    """

    def __init__(self, survival_probability=0.5, scope="batch", seed=None, **kwargs):
        super().__init__(**kwargs)
        if (not isinstance(survival_probability, (int, float)) or isinstance(survival_probability, bool)
                or not 0 < survival_probability <= 1):
            raise ValueError(
                f"survival_probability must be in (0, 1], got {survival_probability!r}"
            )
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        self.survival_probability = float(survival_probability)
        self.scope = scope
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("StochasticDepth is called on [shortcut, residual]")
        shortcut, residual = inputs
        p = self.survival_probability
        if not training or p == 1.0:
            return shortcut + p * residual if p != 1.0 else shortcut + residual
        if self.scope == "batch":
            shape = (1,) * len(residual.shape)
        else:
            shape = (ops.shape(residual)[0],) + (1,) * (len(residual.shape) - 1)
        draw = keras.random.uniform(shape, seed=self.seed_generator)
        keep = ops.cast(draw < p, residual.dtype)
        return shortcut + keep * residual

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"survival_probability": self.survival_probability,
                       "scope": self.scope, "seed": self.seed})
        return config
