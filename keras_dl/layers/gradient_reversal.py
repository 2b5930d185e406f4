"""The gradient reversal layer of domain-adversarial training (Ganin & Lempitsky 2015; Ganin et
al. 2016, "Domain-Adversarial Training of Neural Networks", JMLR 17).

Forward, the identity; backward, the upstream gradient times −λ. Put between a feature
extractor and a domain classifier, it lets one `fit` minimise the domain classifier's loss in
the classifier's weights while the features *maximise* it (eq. 9–10 of the JMLR paper), with no
alternating steps.
"""

import math

import keras
from keras import ops


def dann_lambda(progress, gamma=10.0):
    """λ_p = 2 / (1 + exp(−γ p)) − 1 (Ganin et al. 2016, §5.2.2; γ = 10): 0 at the start of
    training (p = 0), rising towards 1 as the training progress p goes to 1, so the domain
    classifier's noisy early signal is damped."""
    if not 0 <= progress <= 1:
        raise ValueError(f"training progress must be in [0, 1], got {progress!r}")
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


@keras.saving.register_keras_serializable(package="keras_dl")
class GradientReversal(keras.layers.Layer):
    """Identity forward; −λ × the gradient backward.

    Written as `x₀ − λ (x − x₀)` with `x₀ = stop_gradient(x)`: the forward value is `x`
    exactly (`x − x₀` is 0), and the derivative with respect to `x` is −λ. λ is held in a
    non-trainable weight, `strength`, so a callback can follow a schedule (`dann_lambda`)
    without recompiling: `layer.strength.assign(value)`.

    Args:
        strength: λ ≥ 0 at the start (1.0: plain reversal; 0: the gradient is cut).

    Reference:
        Ganin, Ustinova, Ajakan, Germain, Larochelle, Laviolette, Marchand, Lempitsky.
        "Domain-Adversarial Training of Neural Networks", JMLR 17 (2016).
    """

    def __init__(self, strength=1.0, **kwargs):
        super().__init__(**kwargs)
        if (not isinstance(strength, (int, float)) or isinstance(strength, bool)
                or not math.isfinite(strength) or strength < 0):
            raise ValueError(f"strength must be a finite number ≥ 0, got {strength!r}")
        self.initial_strength = float(strength)

    def build(self, input_shape):
        self.strength = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial_strength),
            trainable=False, name="strength")

    def call(self, inputs):
        frozen = ops.stop_gradient(inputs)
        return frozen - ops.cast(self.strength, inputs.dtype) * (inputs - frozen)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "strength": self.initial_strength}
