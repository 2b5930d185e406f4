"""keras_dl.evaluation.attacks: FGSM, the iterative method and PGD, checked against a NumPy
finite-difference FGSM and IBM's adversarial-robustness-toolbox on the same model and inputs."""

import json

import keras
import numpy as np
import pytest

from _scripts import load_script
from keras_dl.evaluation import attacks

FEATURES, CLASSES = 6, 3


def tiny_classifier(logits=False, seed=0):
    """A 6-4-3 tanh MLP with fixed random weights (softmax output, or logits)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(FEATURES,))
    hidden = keras.layers.Dense(4, activation="tanh", name="hidden")(inputs)
    outputs = keras.layers.Dense(CLASSES, activation=None if logits else "softmax",
                                 name="out")(hidden)
    return keras.Model(inputs, outputs)


def examples(count=16, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 0.9, size=(count, FEATURES)).astype("float32")
    y = rng.integers(0, CLASSES, size=count).astype("int32")
    return x, y


def numpy_loss(model, x, label):
    """Cross-entropy of one example, the forward pass written in NumPy (float64)."""
    w1, b1 = (np.asarray(v, "float64") for v in model.get_layer("hidden").get_weights())
    w2, b2 = (np.asarray(v, "float64") for v in model.get_layer("out").get_weights())
    z = np.tanh(x @ w1 + b1) @ w2 + b2
    z = z - z.max()
    return -(z[label] - np.log(np.exp(z).sum()))


def finite_difference_sign(model, x, label, h=1e-5):
    grad = np.empty(len(x))
    for i in range(len(x)):
        step = np.zeros(len(x))
        step[i] = h
        grad[i] = (numpy_loss(model, x + step, label) - numpy_loss(model, x - step, label)) / (2 * h)
    return np.sign(grad), np.abs(grad)


def test_fgsm_is_eps_times_the_sign_of_a_finite_difference_gradient():
    """Catches a wrong sign (descending the loss), a step other than ε, a missing clip, and a
    gradient of something other than the cross-entropy of the true label."""
    model, (x, y) = tiny_classifier(), examples()
    eps = 0.05
    adversarial = attacks.fgsm(model, x, y, eps)
    for row in range(len(x)):
        sign, size = finite_difference_sign(model, x[row].astype("float64"), y[row])
        clear = size > 1e-7  # coordinates where the difference quotient's sign is reliable
        expected = np.clip(x[row] + eps * sign, 0, 1)
        np.testing.assert_allclose(adversarial[row][clear], expected[clear], atol=1e-6)


def test_fgsm_clips_to_the_input_range():
    model = tiny_classifier()
    x, y = examples()
    x[:, 0], x[:, 1] = 0.0, 1.0  # on the range's edges: a step out must be clipped back
    adversarial = attacks.fgsm(model, x, y, 0.3)
    assert adversarial.min() >= 0.0 and adversarial.max() <= 1.0
    assert np.all(np.abs(adversarial - x) <= 0.3 + 1e-6)
    custom = attacks.fgsm(model, x * 2 - 1, y, 0.3, clip=(-1.0, 1.0))
    assert custom.min() >= -1.0 and custom.max() <= 1.0


def test_probabilities_and_logits_give_the_same_attack():
    """The same weights with and without the softmax: the loss is taken from each output the
    right way (from_logits), so the adversarial inputs agree."""
    probs, logits = tiny_classifier(), tiny_classifier(logits=True)
    logits.set_weights(probs.get_weights())
    x, y = examples()
    for name in ("fgsm", "iterative_fgsm"):
        np.testing.assert_allclose(attacks.attack(probs, x, y, name, 0.1),
                                   attacks.attack(logits, x, y, name, 0.1), atol=1e-6)


@pytest.mark.filterwarnings("ignore:PyTorch not found")
def test_fgsm_and_the_iterative_method_match_the_adversarial_robustness_toolbox():
    """An independent implementation on the same model and inputs: ART's FastGradientMethod,
    and its ProjectedGradientDescent without a random start (= the basic iterative method)."""
    from art.attacks import evasion  # the test extra installs it (setup.cfg)
    from art.estimators import classification as art_classification

    model, (x, y) = tiny_classifier(logits=True), examples(32)
    classifier = art_classification.TensorFlowV2Classifier(
        model=model, nb_classes=CLASSES, input_shape=(FEATURES,),
        loss_object=keras.losses.CategoricalCrossentropy(from_logits=True), clip_values=(0, 1))
    one_hot = np.eye(CLASSES, dtype="float32")[y]
    theirs = evasion.FastGradientMethod(classifier, norm=np.inf, eps=0.1).generate(x, one_hot)
    np.testing.assert_allclose(attacks.fgsm(model, x, y, 0.1), theirs, atol=1e-6)
    theirs = evasion.ProjectedGradientDescent(
        classifier, norm=np.inf, eps=0.1, eps_step=0.02, max_iter=7, num_random_init=0,
        verbose=False).generate(x, one_hot)
    ours = attacks.iterative_fgsm(model, x, y, 0.1, steps=7, step_size=0.02)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_pgd_stays_in_the_eps_ball_and_the_range_and_its_start_follows_the_seed():
    model, (x, y) = tiny_classifier(), examples()
    first = attacks.pgd(model, x, y, 0.08, steps=5, seed=3)
    assert np.all(np.abs(first - x) <= 0.08 + 1e-6)
    assert first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, attacks.pgd(model, x, y, 0.08, steps=5, seed=3))
    assert not np.array_equal(first, attacks.pgd(model, x, y, 0.08, steps=5, seed=4))
    without_start = attacks.pgd(model, x, y, 0.08, steps=5, random_start=False)
    np.testing.assert_array_equal(without_start,
                                  attacks.iterative_fgsm(model, x, y, 0.08, steps=5))


def test_the_targeted_attack_raises_the_targets_probability():
    model, (x, _) = tiny_classifier(), examples(32)
    target = np.full(len(x), 2, dtype="int32")
    before = model.predict(x, verbose=0)[:, 2]
    for name in attacks.ATTACKS:
        after = model.predict(attacks.attack(model, x, None, name, 0.1, target=target,
                                             seed=0), verbose=0)[:, 2]
        assert np.mean(after > before) > 0.9, name
        assert after.mean() > before.mean() + 0.01, name


def trained_digits_mlp():
    from keras_dl import data

    x, y = data.load_numpy("digits", "train", limit=600)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=x.shape[1:]), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    return model, data.load_numpy("digits", "test", limit=200)


def test_attack_curves_pgd_is_never_weaker_than_fgsm_and_eps_zero_is_clean():
    """Catches an attack that does not attack (accuracy not falling with ε), PGD weaker than
    its own first step, and a curve whose ε = 0 row is not the clean accuracy."""
    model, (x, y) = trained_digits_mlp()
    epsilons = [0.0, 0.05, 0.1, 0.2]
    fgsm = attacks.attack_curve(model, x, y, epsilons, "fgsm")
    pgd = attacks.attack_curve(model, x, y, epsilons, "pgd", steps=10, seed=0)
    clean = float(np.mean(model.predict(x, verbose=0).argmax(1) == y))
    assert fgsm[0]["accuracy"] == pytest.approx(clean) and clean > 0.8
    assert [row["eps"] for row in fgsm] == epsilons
    assert fgsm[-1]["accuracy"] < clean - 0.3
    assert all(a["accuracy"] >= b["accuracy"] for a, b in zip(fgsm, fgsm[1:]))
    for f, p in zip(fgsm[1:], pgd[1:]):
        assert p["accuracy"] <= f["accuracy"], (f, p)
    for row in fgsm + pgd:
        assert 0 < row["mean_confidence"] <= 1
        assert row["error"] == pytest.approx(1 - row["accuracy"])


def test_attack_curve_confidence_of_the_mistakes():
    model, (x, y) = tiny_classifier(), examples(32)
    row = attacks.attack_curve(model, x, y, [0.2])[0]
    probs = model.predict(attacks.fgsm(model, x, y, 0.2), verbose=0)
    wrong = probs.argmax(1) != y
    assert row["mean_confidence"] == pytest.approx(probs.max(1).mean(), abs=1e-6)
    assert row["mean_confidence_wrong"] == pytest.approx(probs.max(1)[wrong].mean(), abs=1e-6)


def test_transfer_counts_the_targets_mistakes_on_the_sources_examples():
    source, target = tiny_classifier(seed=0), tiny_classifier(seed=5)
    x, y = examples(64)
    row = attacks.transfer(source, target, x, y, 0.3)
    adversarial = attacks.fgsm(source, x, y, 0.3)
    source_wrong = source.predict(adversarial, verbose=0).argmax(1) != y
    target_wrong = target.predict(adversarial, verbose=0).argmax(1) != y
    assert row["source_error"] == pytest.approx(source_wrong.mean())
    assert row["target_error"] == pytest.approx(target_wrong.mean())
    assert row["target_error_where_source_fooled"] == pytest.approx(
        target_wrong[source_wrong].mean())
    itself = attacks.transfer(source, source, x, y, 0.3)
    assert itself["target_error"] == itself["source_error"]
    with pytest.raises(ValueError, match="differ in input shape or classes"):
        attacks.transfer(source, five_class_classifier(), x, y, 0.3)


def five_class_classifier():
    inputs = keras.Input(shape=(FEATURES,))
    return keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(inputs))


def autoencoder():
    inputs = keras.Input(shape=(FEATURES,))
    return keras.Model(inputs, keras.layers.Reshape((2, 3))(keras.layers.Dense(6)(inputs)))


@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: attacks.attack(m, x, y, "deepfool", 0.1),
     "unknown attack 'deepfool'; allowed: fgsm, iterative_fgsm, pgd"),
    (lambda m, x, y: attacks.fgsm(m, x, y, -0.1),
     "bad eps -0.1; allowed: a number in [0, 1] (the input range is [0, 1])"),
    (lambda m, x, y: attacks.fgsm(m, x, y, 1.5), "bad eps 1.5; allowed: a number in [0, 1]"),
    (lambda m, x, y: attacks.fgsm(m, x, y, float("nan")), "bad eps nan"),
    (lambda m, x, y: attacks.fgsm(autoencoder(), x, y, 0.1),
     "is not a classifier: its output has shape (None, 2, 3)"),
    (lambda m, x, y: attacks.fgsm(m, x, y + 3, 0.1),
     "is outside the model's classes 0..2"),
    (lambda m, x, y: attacks.fgsm(m, x, y, 0.1, target=7), "target 7 is outside the model's"),
    (lambda m, x, y: attacks.fgsm(m, x[:, :4], y, 0.1),
     "inputs of shape (16, 4) do not fit model"),
    (lambda m, x, y: attacks.fgsm(m, x * 3, y, 0.1), "outside the input range [0, 1]"),
    (lambda m, x, y: attacks.fgsm(m, x, y.astype("float32"), 0.1),
     "bad labels: expected 16 integer class indices"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, steps=0), "bad steps 0; allowed: a positive"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, step_size=-1),
     "bad step size -1; allowed: a positive number"),
    (lambda m, x, y: attacks.fgsm(m, x, y, 0.1, clip=(1, 0)), "bad input range (1, 0)"),
    (lambda m, x, y: attacks.attack_curve(m, x, y, []), "empty list of eps"),
])
def test_bad_arguments_are_refused_in_one_line(call, message):
    model, (x, y) = tiny_classifier(), examples()
    with pytest.raises(ValueError) as raised:
        call(model, x, y)
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.apps
def test_the_art_benchmark_quick_run_makes_the_same_images(tmp_path):
    """bench/attacks_vs_art.py --quick: both libraries' adversarial images agree and both
    rates are measured."""
    report_path = tmp_path / "report.json"
    assert load_script("bench", "attacks_vs_art").main(["--quick", "--output",
                                                        str(report_path)]) == 0
    results = json.loads(report_path.read_text())["results"]
    assert set(results) == {"clean", "fgsm", "iterative_fgsm (10 steps)"}
    for name in ("fgsm", "iterative_fgsm (10 steps)"):
        row = results[name]
        assert row["max_abs_difference"] < 1e-6, row
        assert row["keras_dl_images_per_s"] > 0 and row["art_images_per_s"] > 0
        assert row["accuracy_keras_dl"] == row["accuracy_art"] < results["clean"]["accuracy"]


@pytest.mark.apps
@pytest.mark.parametrize("argv, message", [
    (["--images", "20000"], "--images must be at most 10000"),
    (["--eps", "2"], "--eps must be at most 1"),
    (["--eps", "-1"], "argument --eps: -1 is not a positive number"),
])
def test_the_art_benchmark_refuses_bad_numbers_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        load_script("bench", "attacks_vs_art").main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
