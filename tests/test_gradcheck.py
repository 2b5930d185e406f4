"""keras_dl.autodiff.gradcheck: central differences against TensorFlow's gradients on every
keras_dl layer with a hand-derived rule (a closed-form penalty added with `add_loss`, a tied or
masked kernel, a max, a normalisation, a reparameterisation), and the checker failing on
deliberately wrong gradients."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_dl import layers
from keras_dl.autodiff import check_gradients, gradcheck

F64 = "float64"
rng = np.random.default_rng(0)


def normal(*shape, scale=1.0):
    return rng.normal(size=shape) * scale


def tied_autoencoder():
    inputs = keras.Input((4,), dtype=F64)
    encoder = keras.layers.Dense(3, activation="sigmoid", dtype=F64, name="encoder")
    outputs = layers.TiedDense(encoder, activation="sigmoid", dtype=F64)(encoder(inputs))
    return keras.Model(inputs, outputs)


def contractive_encoder(activation, deep, hidden_activation="tanh"):
    inputs = keras.Input((4,), dtype=F64)
    code = keras.layers.Dense(3, dtype=F64, name="code")
    if not deep:
        return keras.Model(inputs, layers.ContractiveActivation(
            code, activation, 0.5, dtype=F64)(code(inputs)))
    hidden = keras.layers.Dense(5, activation=hidden_activation, dtype=F64, name="hidden")
    h1 = hidden(inputs)
    outputs = layers.ContractiveActivation(code, activation, 0.5, hidden=[hidden],
                                           dtype=F64)([h1, code(h1)])
    return keras.Model(inputs, outputs)


# (id, layer or model factory, inputs, training): inputs kept away from kinks (|x| = 0 for
# SparsityPenalty, ties for Maxout) where the gradient is not defined
CASES = [
    ("Sampling-kl-inference", lambda: layers.Sampling(1.0, dtype=F64),
     [normal(3, 2), normal(3, 2, scale=0.5)], False),
    ("Sampling-reparameterised-training", lambda: layers.Sampling(2.0, seed=3, dtype=F64),
     [normal(3, 2), normal(3, 2, scale=0.5)], True),
    ("SparsityPenalty", lambda: layers.SparsityPenalty(0.1, dtype=F64), normal(3, 4), False),
    ("ReconstructionLoss-bernoulli", lambda: layers.ReconstructionLoss("bernoulli", dtype=F64),
     [rng.uniform(size=(3, 4)), rng.uniform(0.1, 0.9, size=(3, 4))], False),
    ("ReconstructionLoss-gaussian", lambda: layers.ReconstructionLoss("gaussian", 2.0, dtype=F64),
     [rng.uniform(size=(3, 4)), rng.uniform(size=(3, 4))], False),
    ("TiedDense", tied_autoencoder, normal(3, 4), False),
    ("MaskedGlobalMaxPooling1D", lambda: layers.MaskedGlobalMaxPooling1D(dtype=F64),
     normal(3, 5, 2), False),
    ("ContractiveActivation-sigmoid", lambda: contractive_encoder("sigmoid", False),
     normal(3, 4), False),
    ("ContractiveActivation-softplus", lambda: contractive_encoder("softplus", False),
     normal(3, 4), False),
    ("ContractiveActivation-deep-tanh", lambda: contractive_encoder("sigmoid", True, "tanh"),
     normal(3, 4), False),
    ("ContractiveActivation-deep-sigmoid",
     lambda: contractive_encoder("tanh", True, "sigmoid"), normal(3, 4), False),
    ("Maxout", lambda: layers.Maxout(3, dtype=F64), normal(2, 6), False),
    ("LocalResponseNormalization",
     lambda: layers.LocalResponseNormalization(1, alpha=0.1, dtype=F64), normal(1, 2, 2, 5),
     False),
    ("SlopedSigmoid", lambda: layers.SlopedSigmoid(2.5, dtype=F64), normal(3, 4), False),
    ("ScaledTanh", lambda: layers.ScaledTanh(dtype=F64), normal(3, 4), False),
    ("Subsampling2D", lambda: layers.Subsampling2D(2, dtype=F64), normal(1, 4, 4, 2), False),
    ("ConnectionTableConv2D",
     lambda: layers.ConnectionTableConv2D(2, table=("X.X", "XXX"), dtype=F64),
     normal(1, 3, 3, 2), False),
    ("ChannelPadding", lambda: layers.ChannelPadding(2, dtype=F64), normal(1, 2, 2, 2), False),
    ("PrototypicalLogits", lambda: layers.PrototypicalLogits(dtype=F64),
     [normal(4, 3), np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.3], [0.2, 0.8]]), normal(5, 3)],
     False),
    ("BinaryCode-training", lambda: layers.BinaryCode(1.0, seed=2, dtype=F64), normal(3, 4),
     True),
    ("StochasticDepth-training", lambda: layers.StochasticDepth(0.5, seed=1, dtype=F64),
     [normal(2, 3), normal(2, 3)], True),
    ("FractalJoin-training", lambda: layers.FractalJoin([0, 1], 0.3, seed=1, dtype=F64),
     [normal(2, 3), normal(2, 3), np.array([[0.0, 1.0, 0.0]] * 2)], True),
    ("GaussianCorruption-training", lambda: layers.GaussianCorruption(0.3, seed=1, dtype=F64),
     normal(3, 4), True),
    ("MaskingCorruption-training", lambda: layers.MaskingCorruption(0.5, seed=1, dtype=F64),
     normal(3, 4), True),
    ("SaltAndPepperCorruption-training",
     lambda: layers.SaltAndPepperCorruption(0.5, seed=1, dtype=F64), normal(3, 4), True),
]

# exported layers not checked here, and why
EXCEPTED = {
    "RBM": "trains by contrastive divergence: the CD update is not the gradient of any "
           "function, so central differences have nothing to compare it with",
    "FractalPathSampler": "outputs a random drop-path pattern, not a function of its input",
    "RandomErasing": "input augmentation (random pixels replaced), no weights",
    "RandomPaddedCrop": "input augmentation (random crop), no weights",
    "RandomPerspective": "input augmentation (random resampling), no weights",
    "PCAColorJitter": "input augmentation (a random colour shift), no weights",
    "GradientReversal": "its backward pass is by design not the derivative of its forward "
                        "pass (identity forward, −λ × the gradient backward); "
                        "tests/test_dann.py checks it against −λ × the upstream gradient",
}


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_every_layer_with_a_hand_derived_rule_passes_the_gradient_check(case):
    """The quality bar. Bug: a penalty's gradient cut by a misplaced stop_gradient, a tied
    kernel that is copied (no gradient to the encoder), a hand-written Jacobian that does not
    depend on the weights it should, noise that does not move with μ and σ."""
    _, factory, inputs, training = case
    report = check_gradients(factory(), inputs, training=training)
    report.assert_ok()
    assert report.errors  # something was checked
    assert max(report.errors.values()) < 1e-6


def test_every_exported_layer_is_checked_or_excepted_with_a_reason():
    """Bug: a new custom layer added to keras_dl.layers without a gradient check."""
    exported = {name for name in layers.__all__
                if inspect.isclass(getattr(layers, name))
                and issubclass(getattr(layers, name), keras.layers.Layer)}
    checked = {case[0].split("-")[0] for case in CASES}
    assert exported - checked - set(EXCEPTED) == set()
    assert checked & set(EXCEPTED) == set()


def test_the_weights_and_add_loss_penalties_are_in_the_check():
    """Bug: the checker only checking the inputs, or dropping the add_loss terms."""
    report = check_gradients(contractive_encoder("sigmoid", True), normal(2, 4))
    assert set(report.errors) == {"input_0", "hidden/kernel", "hidden/bias", "code/kernel",
                                  "code/bias"}
    only_weights = check_gradients(tied_autoencoder(), normal(2, 4), check_inputs=False)
    assert "input_0" not in only_weights.errors and "encoder/kernel" in only_weights.errors


# --- deliberately wrong gradients: the checker must fail ---------------------------------------


@tf.custom_gradient
def sin_with_a_wrong_gradient(x):
    """sin x whose gradient is 1.01·cos x: a 1 % error in a hand-derived rule."""
    return tf.sin(x), lambda upstream: upstream * 1.01 * tf.cos(x)


class WrongSin(keras.layers.Layer):
    def call(self, inputs):
        return sin_with_a_wrong_gradient(inputs)


class WrongWeightGradient(keras.layers.Layer):
    """y = x·w with ∂y/∂w written as x² instead of x (its input gradient is right)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, inputs):
        @tf.custom_gradient
        def scale(x, w):
            def grad(upstream):
                return upstream * w, tf.reduce_sum(upstream * x * x, axis=0)
            return x * w, grad
        return scale(inputs, tf.identity(self.w))


class PenaltyWithStopGradient(keras.layers.Layer):
    """Identity, adding ‖x‖² with the gradient cut by a misplaced stop_gradient."""

    def call(self, inputs):
        self.add_loss(tf.reduce_sum(tf.square(tf.stop_gradient(inputs))))
        return inputs


def test_the_checker_fails_a_wrong_custom_gradient():
    """Bug: a checker too lax to see a 1 % error (tolerance, or comparing TF with itself)."""
    report = check_gradients(WrongSin(dtype=F64), normal(3, 4))
    assert not report.passed and not report
    assert report.errors["input_0"] == pytest.approx(0.01 / 1.01, rel=1e-3)
    with pytest.raises(AssertionError, match=r"gradient check failed .*input_0: 9\.9"):
        report.assert_ok()
    assert "FAILS" in str(report)


@tf.custom_gradient
def identity_with_averaged_gradient(x):
    """y = x whose gradient averages the upstream over the elements: right for an upstream
    of ones (it sums to the same), wrong for any other."""
    return tf.identity(x), lambda upstream: tf.reduce_mean(upstream) * tf.ones_like(x)


class MixedUpGradient(keras.layers.Layer):
    def call(self, inputs):
        return identity_with_averaged_gradient(inputs)


def test_the_random_projection_catches_a_gradient_that_mixes_up_output_elements():
    """Bug: summing the outputs (r = 1), which cannot tell which output a gradient belongs to."""
    assert not check_gradients(MixedUpGradient(dtype=F64), normal(3, 4)).passed


def test_the_tolerance_is_the_boundary_and_a_1e_5_error_is_caught():
    """Bug: a tolerance looser than asked (a 1e-5 error in a rule slipping through)."""
    report = gradcheck.GradientReport({"a": 9e-7, "b": 2e-6}, tolerance=1e-6)
    assert set(report.failures) == {"b"} and not report.passed
    assert gradcheck.GradientReport({"a": float("nan")}).failures == {"a": report_nan()}

    @tf.custom_gradient
    def slightly_wrong(x):
        return tf.sin(x), lambda upstream: upstream * (1 + 1e-5) * tf.cos(x)

    class SlightlyWrong(keras.layers.Layer):
        def call(self, inputs):
            return slightly_wrong(inputs)

    assert not check_gradients(SlightlyWrong(dtype=F64), normal(3, 4)).passed


def report_nan():
    return pytest.approx(float("nan"), nan_ok=True)


def test_the_checker_names_the_weight_with_the_wrong_gradient():
    """Bug: the weights' gradients compared against the wrong variable, or not at all."""
    report = check_gradients(WrongWeightGradient(dtype=F64), normal(3, 4) + 3.0)
    assert set(report.failures) == {"wrong_weight_gradient/w"}
    assert report.errors["input_0"] < 1e-6


def test_the_checker_sees_a_penalty_cut_by_stop_gradient():
    """Bug: add_loss terms left out of the checked function (the check would then pass)."""
    report = check_gradients(PenaltyWithStopGradient(dtype=F64), normal(3, 4))
    assert set(report.failures) == {"input_0"}
    assert check_gradients(PenaltyWithStopGradient(dtype=F64), normal(3, 4),
                           include_losses=False).passed


def test_random_layers_in_training_mode_need_the_noise_rewound():
    """Bug: the seed generators not put back before each evaluation: central differences of
    two different noise draws are huge. Shown by drawing fresh noise on purpose."""
    x = normal(3, 4)
    assert check_gradients(layers.GaussianCorruption(0.3, seed=1, dtype=F64), x,
                           training=True).passed
    gradcheck_rewind = gradcheck._ScalarFunction.__call__

    def without_rewind(self, tensors):
        saved, self.generators = self.generators, []
        try:
            return gradcheck_rewind(self, tensors)
        finally:
            self.generators = saved

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradcheck._ScalarFunction, "__call__", without_rewind)
        assert not check_gradients(layers.GaussianCorruption(0.3, seed=1, dtype=F64), x,
                                   training=True).passed


def test_a_float32_layer_and_bad_settings_are_refused_in_one_line():
    """Central differences in float32 are meaningless at h = 1e-5: refuse, naming the dtype;
    a step or tolerance that is not a positive number likewise."""
    with pytest.raises(ValueError, match="needs float64 .* got float32") as error:
        check_gradients(layers.ScaledTanh(), normal(2, 3))
    assert "\n" not in str(error.value)
    for option in ({"epsilon": 0.0}, {"tolerance": -1e-6}, {"epsilon": "1e-5"}):
        with pytest.raises(ValueError, match=f"{next(iter(option))} must be a positive number"):
            check_gradients(layers.ScaledTanh(dtype=F64), normal(2, 3), **option)
    inputs = keras.Input((3,), dtype=F64)  # float64 output from a float32 Dense inside
    hidden = keras.layers.Dense(2, dtype="float32", name="single")(inputs)
    model = keras.Model(inputs, keras.layers.Activation("linear", dtype=F64)(hidden))
    with pytest.raises(ValueError, match="float64 weights .* single/kernel of dtype float32"):
        check_gradients(model, normal(2, 3))


# --- closed forms against their definitions ------------------------------------------------------


@pytest.mark.parametrize("deep", [False, True])
def test_the_contractive_penalty_is_the_squared_frobenius_norm_of_the_numerical_jacobian(deep):
    """Rifai et al.'s closed form (and the deep chain) against ∂h/∂x by central differences.
    Bug: f' squared twice, column norms over the wrong axis, a chain with W not transposed."""
    model = contractive_encoder("sigmoid", deep)
    x = normal(3, 4)
    model(x)
    penalty = float(model.losses[0])
    jacobian = gradcheck.numerical_jacobian(lambda v: model(v).numpy(), x)
    assert jacobian.shape == (3, 3, 4)
    expected = 0.5 * np.mean(np.sum(jacobian ** 2, axis=(1, 2)))
    assert penalty == pytest.approx(expected, rel=1e-7)


def test_relative_error_uses_the_larger_magnitude_with_floors():
    """Bug: an element's rounding noise (~1e-10 absolute) read as a large relative error
    because its own gradient is tiny, or a real error hidden by too large a floor."""
    assert gradcheck.relative_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 2.2)
    assert gradcheck.relative_error([1e-12], [0.0]) == pytest.approx(1e-4)  # floor 1e-8
    # the 1e-9 element is judged against 1e-3 of the largest gradient (10): 1e-10 / 1e-2
    assert gradcheck.relative_error([10.0, 1e-9], [10.0, 1.1e-9]) == pytest.approx(1e-8)
    assert gradcheck.relative_error([10.0, 0.5], [10.0, 0.6]) == pytest.approx(0.1 / 0.6)
    assert gradcheck.relative_error([np.nan], [1.0]) == np.inf
    assert gradcheck.relative_error([], []) == 0.0
