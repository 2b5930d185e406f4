"""Tasks: the trainer, the tuner, the exporter and the contract ask a model's task, never its
name or its layers' names; a tuning trial trains exactly what `keras-dl train` trains."""

import ast
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest

import keras_dl
from keras_dl import export, tasks, tuning
from keras_dl.tasks.base import uses_logits
from keras_dl.tuning.hypermodel import draw

ROOT = Path(__file__).resolve().parents[1]
ORCHESTRATION = ["keras_dl/training/trainer.py", "keras_dl/training/preparation.py",
                 "keras_dl/training/resolve.py", "keras_dl/tuning/search.py",
                 "keras_dl/tuning/hypermodel.py", "keras_dl/cli_commands.py",
                 "keras_dl/serving/server.py",
                 *[str(p.relative_to(ROOT)) for p in (ROOT / "keras_dl" / "export").glob("*.py")],
                 "tests/test_model_contract.py"]


def _compared_strings(source):
    """Every string constant that the code at `source` compares something with (`==`, `!=`,
    `in`, `not in`), with what is compared: the branches a name could decide."""
    tree = ast.parse(source)
    asserted = {id(node) for statement in ast.walk(tree) if isinstance(statement, ast.Assert)
                for node in ast.walk(statement)}  # a test's assertion decides no branch
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or id(node) in asserted:
            continue
        for side in (node.left, *node.comparators):
            values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
            found += [(value.value, ast.unparse(node)) for value in values
                      if isinstance(value, ast.Constant) and isinstance(value.value, str)]
    return found


@pytest.mark.parametrize("path", ORCHESTRATION)
def test_no_orchestration_code_branches_on_a_model_or_layer_name(path):
    names = set(keras_dl.list_models())
    for value, comparison in _compared_strings((ROOT / path).read_text()):
        assert value not in names, f"{path}: {comparison}"
        assert not (".name" in comparison and value in LAYER_NAMES), f"{path}: {comparison}"


LAYER_NAMES = {"reconstruction", "decoder_output", "predictions", "code", "z_mean"}


def test_the_branch_finder_finds_the_branches_it_is_for():
    found = _compared_strings('if model_name == "googlenet" or last.name in ("code", "x"):\n'
                              '    pass\n')
    assert {value for value, _ in found} == {"googlenet", "code", "x"}


def test_served_names_come_from_the_task_not_the_layer_names():
    inputs = keras.Input((4,), name="inputs")
    # a classifier whose output layer happens to be called "reconstruction"
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax",
                                                   name="reconstruction")(inputs))
    assert export.output_names(model, "classification") == ("probabilities",)
    logits = keras.Model(inputs, keras.layers.Dense(3, name="scores")(inputs))
    assert export.output_names(logits, "classification") == ("logits",)
    assert export.output_names(logits, "reconstruction") == ("reconstruction",)
    assert export.output_names(keras_dl.create_model(
        "autoencoder", input_shape=(8, 8, 1), code_size=3)) == ("reconstruction",)


def test_unknown_tasks_fail_with_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown task 'no_such_task'; allowed: classification, "):
        tasks.get("no_such_task")
    with pytest.raises(ValueError, match="unknown task 'no_such_task'"):
        keras_dl.register_model("nope", family="x", task="no_such_task")


TRIAL = dict(dataset="digits", epochs=2, patience=3, limit=300, seed=0, monitor="val_accuracy",
             verbose=0)


def test_a_trials_score_equals_a_train_runs_with_the_same_settings(tmp_path):
    result = tuning.tune("mlp", directory=tmp_path / "search", max_trials=1, **TRIAL)
    (trial,) = result.trials
    builder_kwargs, training = draw("mlp", _Fixed(trial["hyperparameters"]))
    run = keras_dl.training.train("mlp", run_dir=tmp_path / "run", builder_kwargs=builder_kwargs,
                                  **training, **TRIAL)
    assert run.metrics["best_val_accuracy"] == pytest.approx(trial["score"], abs=1e-6)


class _Fixed(keras_tuner.HyperParameters):
    """HyperParameters that answer every draw with the trial's recorded value."""

    def __init__(self, values):
        super().__init__()
        self._fixed = values

    def _retrieve(self, hp):
        return self._fixed[hp.name]


def test_a_tuned_dbn_trial_pretrains_as_training_does(tmp_path, monkeypatch):
    from keras_dl.training import pretraining

    calls = []
    original = pretraining.pretrain_model
    monkeypatch.setattr(pretraining, "pretrain_model",
                        lambda *args, **kwargs: calls.append(kwargs) or original(*args, **kwargs))
    tuning.tune("dbn", directory=tmp_path, max_trials=1, objective="val_accuracy",
                dataset="digits", epochs=1, limit=200, pretrain_epochs=1, verbose=0)
    assert len(calls) == 1 and calls[0]["epochs"] == 1  # the trial pre-trained its stack


@pytest.mark.apps  # ~40 s; the model contract fits googlenet through its auxiliary heads
def test_a_model_with_auxiliary_heads_is_tuned_through_them(tmp_path):
    result = tuning.tune("googlenet", directory=tmp_path, max_trials=1, dataset="digits",
                         epochs=1, limit=64, builder_kwargs={"width_multiplier": 0.125},
                         verbose=0)
    best = keras_dl.load_model(result.best_model_path)
    assert len(best.outputs) == 1  # the inference network, the heads left behind
    assert np.isfinite(result.trials[0]["score"])


@pytest.mark.parametrize("build, logits", [
    (lambda x: keras.layers.Dense(3, activation="softmax")(x), False),
    (lambda x: keras.layers.Dense(3)(x), True),
    (lambda x: keras.layers.Activation("sigmoid")(keras.layers.Dense(3)(x)), False),
    (lambda x: keras.layers.Softmax()(keras.layers.Dense(3)(x)), False),
    (lambda x: keras.Sequential([keras.layers.Dense(3, activation="softmax")])(x), False),
    (lambda x: keras.Sequential([keras.layers.Dense(3)])(x), True),
])
def test_uses_logits_reads_the_output_layer_and_nested_models(build, logits):
    """Catches probabilities taken as logits (a softmax layer, or a sub-model ending in a
    softmax, compiled with `from_logits=True`: a wrong loss that still trains, badly)."""
    inputs = keras.Input(shape=(4,))
    assert uses_logits(keras.Model(inputs, build(inputs))) is logits
